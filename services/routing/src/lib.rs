//! Key-user routing: the heart of kerndesk. Employees ask their key user
//! first; the key user is the buffer toward the supplier.
//!
//! Read top-down: [`api`] (KeyUserRegister, KeyUserDesk, SupplierDesk),
//! [`rules`] (who gets a ticket, who may act), [`queries`] (the one
//! transition helper and the reads), then the background workers [`router`]
//! and [`sla_clock`].

pub mod api;
pub mod desk;
pub mod queries;
pub mod router;
pub mod rules;
pub mod sla_clock;

use kerndesk_proto::routing::v1::key_user_desk_server::KeyUserDeskServer;
use kerndesk_proto::routing::v1::key_user_register_server::KeyUserRegisterServer;
use kerndesk_proto::routing::v1::supplier_desk_server::SupplierDeskServer;
use kerndesk_runtime::AppContext;
use kerndesk_runtime::auth::AuthInterceptor;
use kerndesk_runtime::server::Services;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;

pub use rules::Settings;

pub const SERVICE_NAMES: [&str; 3] = [
    "kerndesk.routing.v1.KeyUserRegister",
    "kerndesk.routing.v1.KeyUserDesk",
    "kerndesk.routing.v1.SupplierDesk",
];

/// Mounts the routing services, each behind authentication and the size limit.
pub fn mount(ctx: &AppContext, services: &mut Services) {
    let api = api::RoutingApi::new(ctx.clone(), Settings::from_config(&ctx.config));
    let auth = AuthInterceptor(ctx.auth.clone());
    let max = ctx.limits.max_request_bytes;
    services.add(InterceptedService::new(
        KeyUserRegisterServer::new(api.clone()).max_decoding_message_size(max),
        auth.clone(),
    ));
    services.add(InterceptedService::new(
        KeyUserDeskServer::new(api.clone()).max_decoding_message_size(max),
        auth.clone(),
    ));
    services.add(InterceptedService::new(
        SupplierDeskServer::new(api).max_decoding_message_size(max),
        auth,
    ));
}

/// Starts the router and the SLA clock; they stop when `stop` turns true.
pub fn spawn_workers(ctx: &AppContext, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let settings = Settings::from_config(&ctx.config);
    vec![
        tokio::spawn(router::run(ctx.clone(), settings.clone(), stop.clone())),
        tokio::spawn(sla_clock::run(ctx.clone(), settings, stop)),
    ]
}

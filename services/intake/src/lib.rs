//! Ticket intake: the employee's side of kerndesk.
//!
//! - [`tickets`]: `kerndesk.intake.v1.Tickets`: filing, reading, commenting,
//!   rating and withdrawing tickets.
//! - [`directory`]: `kerndesk.intake.v1.Directory`: employees, departments and
//!   the application catalogue.
//!
//! Each module reads top-down: the proto impl (`api`), the domain rules
//! (`rules`), the queries (`queries`). Intake has no background workers: the
//! routing service picks new tickets up from the database.

pub mod convert;
pub mod directory;
pub mod tickets;

use kerndesk_proto::intake::v1::directory_server::DirectoryServer;
use kerndesk_proto::intake::v1::tickets_server::TicketsServer;
use kerndesk_runtime::AppContext;
use kerndesk_runtime::auth::AuthInterceptor;
use kerndesk_runtime::server::Services;
use tonic::service::interceptor::InterceptedService;

/// Health names of the intake services.
pub const SERVICE_NAMES: [&str; 2] = ["kerndesk.intake.v1.Tickets", "kerndesk.intake.v1.Directory"];

/// Mounts the intake services, each behind authentication and the size limit.
pub fn mount(ctx: &AppContext, services: &mut Services) {
    let auth = AuthInterceptor(ctx.auth.clone());
    let max = ctx.limits.max_request_bytes;
    services.add(InterceptedService::new(
        TicketsServer::new(tickets::api::TicketsApi::new(ctx.clone()))
            .max_decoding_message_size(max),
        auth.clone(),
    ));
    services.add(InterceptedService::new(
        DirectoryServer::new(directory::api::DirectoryApi::new(ctx.clone()))
            .max_decoding_message_size(max),
        auth,
    ));
}

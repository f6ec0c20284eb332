//! Shared by both desks: loading a ticket for a desk call, the desk view of
//! a ticket, paging.

use kerndesk_proto::routing::v1 as pb;
use kerndesk_runtime::Error;
use kerndesk_store::entity::ticket;

use crate::queries;

pub fn desk_ticket(t: ticket::Model) -> pb::DeskTicket {
    let ts =
        |at: Option<chrono::DateTime<chrono::Utc>>| at.map(kerndesk_intake::convert::timestamp);
    pb::DeskTicket {
        response_due_time: ts(t.response_due_at),
        resolution_due_time: ts(t.resolution_due_at),
        routing_reason: t.routing_reason.clone().unwrap_or_default(),
        ticket: Some(kerndesk_intake::tickets::api::ticket_to_pb(t, None)),
    }
}

pub async fn load<C: sea_orm::ConnectionTrait>(db: &C, id: i64) -> Result<ticket::Model, Error> {
    queries::find(db, id)
        .await?
        .ok_or_else(|| Error::not_found("ticket", id))
}

pub use kerndesk_intake::tickets::rules::text;

//! Appending to the audit trail. Every state change of a ticket is one
//! transaction that updates the ticket row and appends here; followers in
//! other processes are woken by the NOTIFY this sends on PostgreSQL (and
//! poll on SQLite).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

use crate::entity::ticket_event;
use crate::model::{EventKind, TicketStatus};

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub ticket_id: i64,
    pub kind: EventKind,
    pub actor: String,
    pub from_status: Option<TicketStatus>,
    pub to_status: Option<TicketStatus>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// Appends one event inside the caller's transaction; returns it.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    event: NewEvent,
) -> Result<ticket_event::Model, DbErr> {
    append_and_notify(db, event, &[]).await
}

/// As [`append`], also notifying `more_channels` (payload: the ticket id) in
/// the same round trip.
pub async fn append_and_notify<C: ConnectionTrait>(
    db: &C,
    event: NewEvent,
    more_channels: &[&str],
) -> Result<ticket_event::Model, DbErr> {
    let row = insert(db, event).await?;
    let mut channels = vec![crate::TICKET_EVENT_CHANNEL];
    channels.extend_from_slice(more_channels);
    crate::notify_all(db, &channels, &row.ticket_id.to_string()).await?;
    Ok(row)
}

/// Appends without notifying: for batches that notify once at the end.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    event: NewEvent,
) -> Result<ticket_event::Model, DbErr> {
    let row = ticket_event::ActiveModel {
        ticket_id: Set(event.ticket_id),
        kind: Set(event.kind.as_str().to_owned()),
        actor: Set(event.actor),
        from_status: Set(event.from_status.map(|s| s.as_str().to_owned())),
        to_status: Set(event.to_status.map(|s| s.as_str().to_owned())),
        note: Set(event.note),
        created_at: Set(event.at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row)
}

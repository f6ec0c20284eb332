//! The one way a ticket changes: an UPDATE guarded by the version the change
//! was decided on, plus its event, in the caller's transaction. Every service
//! uses it, so every change is audited and no change overwrites another.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};

use crate::entity::ticket;
use crate::events::{self, NewEvent};
use crate::model::{EventKind, TicketStatus};

/// A change of a ticket: maybe a new status, its event, and other columns.
#[derive(Debug, Clone)]
pub struct Change {
    pub to: Option<TicketStatus>,
    pub kind: EventKind,
    pub note: Option<String>,
    pub set: Vec<(ticket::Column, Value)>,
}

impl Change {
    /// A change to status `to`.
    pub fn to(to: TicketStatus, kind: EventKind) -> Self {
        Self {
            to: Some(to),
            kind,
            note: None,
            set: Vec::new(),
        }
    }

    /// A change that keeps the status (a rating, a reply).
    pub fn same_status(kind: EventKind) -> Self {
        Self {
            to: None,
            kind,
            note: None,
            set: Vec::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn set(mut self, column: ticket::Column, value: impl Into<Value>) -> Self {
        self.set.push((column, value.into()));
        self
    }
}

#[derive(Debug)]
pub enum Applied {
    /// The ticket as it is now.
    Done(Box<ticket::Model>),
    /// Someone changed the ticket since it was read.
    Stale { current_version: i64 },
}

/// Applies `change` to `t`, appends its event (notifying followers on
/// commit) and returns the ticket as it is now.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    actor: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<Applied, DbErr> {
    if !apply_quietly(db, t, actor, change, now).await? {
        let current_version = ticket::Entity::find_by_id(t.id)
            .one(db)
            .await?
            .map_or(t.version, |t| t.version);
        return Ok(Applied::Stale { current_version });
    }
    crate::notify(db, crate::TICKET_EVENT_CHANNEL, &t.id.to_string()).await?;
    let now_row = ticket::Entity::find_by_id(t.id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("ticket {}", t.id)))?;
    Ok(Applied::Done(Box::new(now_row)))
}

/// As [`apply`] for batches (the router): no notification and no re-read;
/// `false` when the ticket changed since it was read. The caller notifies
/// once for the batch.
pub async fn apply_quietly<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    actor: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = ticket::Entity::update_many()
        .col_expr(ticket::Column::Version, Expr::value(t.version + 1))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now));
    if let Some(to) = change.to {
        update = update.col_expr(ticket::Column::Status, Expr::value(to.as_str()));
    }
    for (column, value) in change.set {
        update = update.col_expr(column, Expr::value(value));
    }
    let result = update
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Version.eq(t.version))
        .exec(db)
        .await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    events::insert(
        db,
        NewEvent {
            ticket_id: t.id,
            kind: change.kind,
            actor: actor.to_owned(),
            from_status: change.to.and_then(|_| TicketStatus::parse(&t.status)),
            to_status: change.to,
            note: change.note,
            at: now,
        },
    )
    .await?;
    Ok(true)
}

//! Routing's reads and writes. Every state change goes through [`apply`]:
//! one UPDATE guarded by the version the change was decided on, plus its
//! event, in the caller's transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use kerndesk_runtime::Error;
use kerndesk_store::entity::{
    key_user_absence as absence, key_user_assignment as assignment, ticket, time_entry,
};
use kerndesk_store::events::{self, NewEvent};
use kerndesk_store::model::{EventKind, TicketStatus};
use kerndesk_store::transitions::{self, Applied};
use sea_orm::sea_query::{Expr, Func, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::rules::Availability;

pub use kerndesk_store::transitions::Change;

/// Applies `change` to `t` if nobody changed `t` since it was read; else
/// ABORTED. Returns the ticket as it is now.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    actor: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<ticket::Model, Error> {
    match transitions::apply(db, t, actor, change, now).await? {
        Applied::Done(now_row) => Ok(*now_row),
        Applied::Stale { current_version } => Err(Error::stale_version(t.version, current_version)),
    }
}

/// An event that changes no state (a supplier update, logged time).
pub async fn note_event<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    actor: &str,
    kind: EventKind,
    note: String,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    events::append(
        db,
        NewEvent {
            ticket_id: t.id,
            kind,
            actor: actor.to_owned(),
            from_status: None,
            to_status: None,
            note: Some(note),
            at: now,
        },
    )
    .await?;
    Ok(())
}

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<ticket::Model>, Error> {
    Ok(ticket::Entity::find_by_id(id).one(db).await?)
}

/// Claims up to `limit` NEW tickets, oldest first. On PostgreSQL the rows are
/// locked `FOR UPDATE SKIP LOCKED`: concurrent routers take disjoint
/// batches, and a router that dies releases its batch with its transaction.
/// On SQLite the caller's IMMEDIATE transaction already excludes others.
pub async fn claim_new<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<ticket::Model>, Error> {
    let mut query = ticket::Entity::find()
        .filter(ticket::Column::Status.eq(TicketStatus::New.as_str()))
        .order_by_asc(ticket::Column::Id)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    Ok(query.all(db).await?)
}

/// Key-user assignments for these applications.
pub async fn assignments_for<C: ConnectionTrait>(
    db: &C,
    applications: Vec<String>,
) -> Result<Vec<assignment::Model>, Error> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::Application.is_in(applications))
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?)
}

pub async fn assignments_of<C: ConnectionTrait>(
    db: &C,
    employee: &str,
) -> Result<Vec<assignment::Model>, Error> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::Employee.eq(employee))
        .all(db)
        .await?)
}

/// Absences, budget use this week and open load of `employees`, at `now`.
pub async fn availability<C: ConnectionTrait>(
    db: &C,
    employees: Vec<String>,
    now: DateTime<Utc>,
    week_start: DateTime<Utc>,
) -> Result<Availability, Error> {
    let mut availability = Availability::default();
    if employees.is_empty() {
        return Ok(availability);
    }
    availability.absent = absence::Entity::find()
        .filter(absence::Column::Employee.is_in(employees.clone()))
        .filter(absence::Column::StartsAt.lte(now))
        .filter(absence::Column::EndsAt.gt(now))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.employee)
        .collect::<HashSet<_>>();
    let minutes: Vec<(String, Option<i64>)> = time_entry::Entity::find()
        .select_only()
        .column(time_entry::Column::Employee)
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(time_entry::Column::Minutes)),
                "bigint",
            )),
            "minutes",
        )
        .filter(time_entry::Column::Employee.is_in(employees.clone()))
        .filter(time_entry::Column::CreatedAt.gte(week_start))
        .group_by(time_entry::Column::Employee)
        .into_tuple()
        .all(db)
        .await?;
    availability.minutes_this_week = minutes
        .into_iter()
        .map(|(e, m)| (e, m.unwrap_or(0)))
        .collect();
    let load: Vec<(Option<String>, i64)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Assignee)
        .column_as(
            Expr::from(Func::count(Expr::col(ticket::Column::Id))),
            "open",
        )
        .filter(ticket::Column::Assignee.is_in(employees))
        .filter(ticket::Column::Status.is_in([
            TicketStatus::WithKeyUser.as_str(),
            TicketStatus::WaitingOnEmployee.as_str(),
        ]))
        .group_by(ticket::Column::Assignee)
        .into_tuple()
        .all(db)
        .await?;
    availability.open_load = load
        .into_iter()
        .filter_map(|(e, n)| e.map(|e| (e, n)))
        .collect();
    Ok(availability)
}

/// Tickets a key user has not accepted by their response due time.
pub async fn overdue_unaccepted<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<ticket::Model>, Error> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Status.eq(TicketStatus::WithKeyUser.as_str()))
        .filter(ticket::Column::AcceptedAt.is_null())
        .filter(ticket::Column::ResponseDueAt.lt(now))
        .order_by_asc(ticket::Column::ResponseDueAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Minutes `employee` logged on `ticket_id` so far.
pub async fn minutes_on<C: ConnectionTrait>(
    db: &C,
    ticket_id: i64,
    employee: &str,
) -> Result<i64, Error> {
    let total: Option<Option<i64>> = time_entry::Entity::find()
        .select_only()
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(time_entry::Column::Minutes)),
                "bigint",
            )),
            "minutes",
        )
        .filter(time_entry::Column::TicketId.eq(ticket_id))
        .filter(time_entry::Column::Employee.eq(employee))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

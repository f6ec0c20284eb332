//! Intake's reads and writes. Each write is one transaction that changes the
//! ticket and appends its event.

use chrono::{DateTime, Utc};
use kerndesk_proto::reason;
use kerndesk_runtime::Error;
use kerndesk_runtime::auth::Caller;
use kerndesk_runtime::calendar::Sla;
use kerndesk_store::Store;
use kerndesk_store::entity::{comment, rating, ticket};
use kerndesk_store::events::{self, NewEvent};
use kerndesk_store::idempotency::{self, IdempotencyKey, Seen};
use kerndesk_store::model::{EventKind, TicketStatus};
use kerndesk_store::transitions::{self, Applied, Change};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};

use super::rules::{self, Visibility};

/// Who a new ticket is for, as the directory knows them.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub id: String,
    pub department: String,
}

/// What a create call with a request id came to.
pub enum Created<T> {
    New(T),
    /// An earlier call with this request id and payload made resource `id`.
    Replay(i64),
    /// The request id was used before with another payload.
    Conflict,
}

/// Looks for an earlier call with this request id.
pub async fn earlier_call<T>(
    store: &Store,
    key: &IdempotencyKey,
    hash: &str,
) -> Result<Option<Created<T>>, Error> {
    Ok(
        match idempotency::find(store.connection(), key, hash).await? {
            Some(Seen::Replay(id)) => Some(Created::Replay(id)),
            Some(Seen::Conflict) => Some(Created::Conflict),
            None => None,
        },
    )
}

/// Records the request id in `txn`; when another call with it won the race,
/// rolls back and answers with that call's result.
async fn finish_create<T>(
    txn: DatabaseTransaction,
    store: &Store,
    key: &IdempotencyKey,
    hash: &str,
    resource_id: i64,
    created: T,
) -> Result<Created<T>, Error> {
    if idempotency::record(&txn, key, hash, resource_id).await? {
        txn.commit().await?;
        return Ok(Created::New(created));
    }
    txn.rollback().await?;
    earlier_call(store, key, hash)
        .await?
        .ok_or_else(|| Error::Internal("idempotency record vanished after a conflict".into()))
}

/// A ticket the caller may see, else NOT_FOUND (whether it exists or not:
/// an employee learns nothing about other people's tickets).
pub async fn visible_ticket<C: ConnectionTrait>(
    db: &C,
    id: i64,
    visibility: &Visibility,
) -> Result<ticket::Model, Error> {
    ticket::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| visibility.allows(t))
        .ok_or_else(|| Error::not_found("ticket", id))
}

pub async fn rating_of<C: ConnectionTrait>(
    db: &C,
    ticket_id: i64,
) -> Result<Option<rating::Model>, Error> {
    Ok(rating::Entity::find_by_id(ticket_id).one(db).await?)
}

pub async fn ratings_of<C: ConnectionTrait>(
    db: &C,
    ticket_ids: Vec<i64>,
) -> Result<Vec<rating::Model>, Error> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(rating::Entity::find()
        .filter(rating::Column::TicketId.is_in(ticket_ids))
        .all(db)
        .await?)
}

pub async fn comments_of<C: ConnectionTrait>(
    db: &C,
    ticket_id: i64,
) -> Result<Vec<comment::Model>, Error> {
    Ok(comment::Entity::find()
        .filter(comment::Column::TicketId.eq(ticket_id))
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub statuses: Vec<TicketStatus>,
    pub application: Option<String>,
    pub reporter: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// Newest first, keyset on the id: a page never repeats or skips a ticket
/// that existed when paging began, however many are created meanwhile
/// (new ones get higher ids, before the cursor).
pub async fn list_tickets<C: ConnectionTrait>(
    db: &C,
    visibility: &Visibility,
    filter: &ListFilter,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ticket::Model>, Error> {
    let mut query = ticket::Entity::find();
    if !visibility.all {
        let s = &visibility.subject;
        let mut may_see = Condition::any()
            .add(ticket::Column::Reporter.eq(s))
            .add(ticket::Column::CreatedBy.eq(s));
        if visibility.assigned_to_me {
            may_see = may_see.add(ticket::Column::Assignee.eq(s));
        }
        if visibility.with_supplier {
            may_see = may_see.add(ticket::Column::Status.eq(TicketStatus::WithSupplier.as_str()));
        }
        query = query.filter(may_see);
    }
    if !filter.statuses.is_empty() {
        query = query.filter(
            ticket::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str().to_owned())),
        );
    }
    if let Some(app) = &filter.application {
        query = query.filter(ticket::Column::Application.eq(app));
    }
    if let Some(reporter) = &filter.reporter {
        query = query.filter(ticket::Column::Reporter.eq(reporter));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(ticket::Column::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(ticket::Column::CreatedAt.lt(before));
    }
    if let Some(id) = before_id {
        query = query.filter(ticket::Column::Id.lt(id));
    }
    Ok(query
        .order_by_desc(ticket::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Applies a change to a ticket read in this transaction; ABORTED when
/// someone changed it since.
async fn apply<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    actor: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<ticket::Model, Error> {
    match transitions::apply(db, t, actor, change, now).await? {
        Applied::Done(row) => Ok(*row),
        Applied::Stale { current_version } => Err(Error::stale_version(t.version, current_version)),
    }
}

pub async fn withdraw_ticket(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    id: i64,
    expected_version: i64,
    reason_text: Option<String>,
    now: DateTime<Utc>,
) -> Result<ticket::Model, Error> {
    let txn = store.begin_write().await?;
    let t = visible_ticket(&txn, id, visibility).await?;
    rules::check_withdraw(caller, &t)?;
    if expected_version != 0 && expected_version != t.version {
        return Err(Error::stale_version(expected_version, t.version));
    }
    let mut change = Change::to(TicketStatus::Withdrawn, EventKind::Withdrawn);
    change.note = reason_text;
    let updated = apply(&txn, &t, &caller.subject, change, now).await?;
    txn.commit().await?;
    Ok(updated)
}

pub async fn rate_ticket(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    id: i64,
    score: i32,
    remark: String,
    now: DateTime<Utc>,
) -> Result<(ticket::Model, rating::Model), Error> {
    let already_rated = || Error::FailedPrecondition {
        reason: reason::ALREADY_RATED,
        message: format!("ticket {id} was already rated"),
    };
    let txn = store.begin_write().await?;
    let t = visible_ticket(&txn, id, visibility).await?;
    rules::check_rate(caller, &t)?;
    if rating_of(&txn, id).await?.is_some() {
        return Err(already_rated());
    }
    let rating = rating::ActiveModel {
        ticket_id: Set(id),
        score: Set(score),
        remark: Set(remark),
        rater: Set(caller.subject.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        // A concurrent rating committed first (PostgreSQL).
        Some(SqlErr::UniqueConstraintViolation(_)) => already_rated(),
        _ => e.into(),
    })?;
    let updated = apply(
        &txn,
        &t,
        &caller.subject,
        Change::same_status(EventKind::Rated).note(format!("score {score}")),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((updated, rating))
}

#[allow(clippy::too_many_arguments)]
pub async fn add_comment(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    key: &IdempotencyKey,
    hash: &str,
    ticket_id: i64,
    body: String,
    now: DateTime<Utc>,
) -> Result<Created<comment::Model>, Error> {
    let txn = store.begin_write().await?;
    let t = visible_ticket(&txn, ticket_id, visibility).await?;
    rules::check_comment(&t)?;
    let row = comment::ActiveModel {
        ticket_id: Set(ticket_id),
        author: Set(caller.subject.clone()),
        body: Set(body),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    events::append(
        &txn,
        NewEvent {
            ticket_id,
            kind: EventKind::CommentAdded,
            actor: caller.subject.clone(),
            from_status: None,
            to_status: None,
            note: Some(format!("comment {}", row.id)),
            at: now,
        },
    )
    .await?;
    let id = row.id;
    finish_create(txn, store, key, hash, id, row).await
}

pub async fn comment_by_id<C: ConnectionTrait>(db: &C, id: i64) -> Result<comment::Model, Error> {
    comment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Internal(format!("comment {id} of an idempotency record is gone")))
}

/// Opens a write transaction on a ticket the caller reported, in one of the
/// `allowed` states at `version` (0: any): the prologue of every
/// employee-side transition.
async fn reporters_ticket(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    id: i64,
    version: i64,
    allowed: &[TicketStatus],
    what: &str,
) -> Result<(DatabaseTransaction, ticket::Model), Error> {
    let txn = store.begin_write().await?;
    let t = visible_ticket(&txn, id, visibility).await?;
    rules::check_reporter(caller, &t, what)?;
    rules::require_status(&t, allowed)?;
    rules::check_version(version, &t)?;
    Ok((txn, t))
}

/// The reporter answers the desk: the ticket returns to whoever asked, and
/// the SLA due times move later by the business time spent waiting.
pub async fn reply_to_ticket(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    sla: &Sla,
    id: i64,
    body: String,
    now: DateTime<Utc>,
) -> Result<ticket::Model, Error> {
    let (txn, t) = reporters_ticket(
        store,
        caller,
        visibility,
        id,
        0,
        &[TicketStatus::WaitingOnEmployee],
        "reply to",
    )
    .await?;
    let waited = t.waiting_since.map_or(chrono::Duration::zero(), |since| {
        sla.calendar.between(since, now)
    });
    let resume = t
        .resume_status
        .as_deref()
        .and_then(TicketStatus::parse)
        .unwrap_or(TicketStatus::WithKeyUser);
    let later = |due: Option<DateTime<Utc>>| due.map(|d| sla.calendar.add(d, waited));
    let change = Change::to(resume, EventKind::EmployeeReplied)
        .note(format!("waited {} business minutes", waited.num_minutes()))
        .set(ticket::Column::WaitingSince, Option::<DateTime<Utc>>::None)
        .set(ticket::Column::ResumeStatus, Option::<String>::None)
        .set(ticket::Column::ResponseDueAt, later(t.response_due_at))
        .set(ticket::Column::ResolutionDueAt, later(t.resolution_due_at));
    let updated = apply(&txn, &t, &caller.subject, change, now).await?;
    comment::ActiveModel {
        ticket_id: Set(id),
        author: Set(caller.subject.clone()),
        body: Set(body),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// The reporter reopens a resolved ticket within `reopen_days`: back to the
/// key user who had it (a new response target), or to the router when the
/// supplier had it without a key user.
#[allow(clippy::too_many_arguments)]
pub async fn reopen_ticket(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    sla: &Sla,
    reopen_days: u32,
    id: i64,
    version: i64,
    reason_text: String,
    now: DateTime<Utc>,
) -> Result<ticket::Model, Error> {
    let (txn, t) = reporters_ticket(
        store,
        caller,
        visibility,
        id,
        version,
        &[TicketStatus::Resolved],
        "reopen",
    )
    .await?;
    let resolved = t.resolved_at.unwrap_or(t.updated_at);
    if now - resolved > chrono::Duration::days(reopen_days.into()) {
        return Err(Error::invalid_state(format!(
            "ticket {id} was resolved more than {reopen_days} days ago; file a new ticket"
        )));
    }
    let none = Option::<DateTime<Utc>>::None;
    let change = match &t.assignee {
        Some(key_user) => Change::to(TicketStatus::WithKeyUser, EventKind::Reopened)
            .note(format!("to {key_user}: {reason_text}"))
            .set(ticket::Column::AcceptedAt, none)
            .set(
                ticket::Column::ResponseDueAt,
                Some(sla.response_due(&t.priority, now)),
            ),
        None => Change::to(TicketStatus::New, EventKind::Reopened).note(reason_text),
    }
    .set(ticket::Column::ResolvedAt, none)
    .set(ticket::Column::ResolutionKind, Option::<String>::None);
    let to_router = t.assignee.is_none();
    let updated = apply(&txn, &t, &caller.subject, change, now).await?;
    if to_router {
        kerndesk_store::notify(&txn, kerndesk_store::NEW_TICKET_CHANNEL, &id.to_string()).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

pub async fn close_ticket(
    store: &Store,
    caller: &Caller,
    visibility: &Visibility,
    id: i64,
    version: i64,
    now: DateTime<Utc>,
) -> Result<ticket::Model, Error> {
    let (txn, t) = reporters_ticket(
        store,
        caller,
        visibility,
        id,
        version,
        &[TicketStatus::Resolved],
        "close",
    )
    .await?;
    let updated = apply(
        &txn,
        &t,
        &caller.subject,
        Change::to(TicketStatus::Closed, EventKind::Closed),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Events of a ticket after `after_id`, oldest first.
pub async fn events_after<C: ConnectionTrait>(
    db: &C,
    ticket_id: i64,
    after_id: i64,
    limit: u64,
) -> Result<Vec<kerndesk_store::entity::ticket_event::Model>, Error> {
    use kerndesk_store::entity::ticket_event;
    Ok(ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(ticket_id))
        .filter(ticket_event::Column::Id.gt(after_id))
        .order_by_asc(ticket_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

//! Group commit for new tickets. Concurrent CreateTicket calls hand their
//! validated tickets to one writer task, which writes whatever is waiting
//! (up to [`MAX_BATCH`]) in one transaction: one commit, one fsync and one
//! NOTIFY for the batch instead of one each. PostgreSQL serialises commits
//! that NOTIFY, so per-ticket transactions cap intake near one ticket per
//! fsync (docs/BENCHMARKS.md). A lone call is a batch of one: no added wait.
//!
//! Per batch: check every ticket's catalogue and directory references (one
//! query per table); allocate ticket ids for the valid ones; insert the idempotency records with
//! `ON CONFLICT DO NOTHING RETURNING resource_id` (a request id that exists,
//! or appears twice in the batch, is not inserted); insert the tickets and
//! their CREATED events for exactly the records that were; notify; commit.
//! Callers whose record was not inserted get the earlier call's ticket (or
//! REQUEST_ID_REUSED) after the commit.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use kerndesk_proto::reason;
use kerndesk_runtime::{Error, Violations};
use kerndesk_store::Store;
use kerndesk_store::entity::{
    application, application_module, application_topic, employee, idempotency_record as record,
    ticket, ticket_event,
};
use kerndesk_store::idempotency::IdempotencyKey;
use kerndesk_store::model::{EventKind, TicketStatus};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set, Statement};
use tokio::sync::{mpsc, oneshot};

use super::queries::{Created, Reporter, earlier_call};
use super::rules::NewTicket;

/// Most tickets in one transaction (bounded by SQLite's 32766 parameters).
pub const MAX_BATCH: usize = 64;

pub struct Pending {
    pub ticket: NewTicket,
    /// The employee the ticket is for: the caller, or `on_behalf_of`.
    pub reporter: String,
    pub created_by: String,
    pub key: IdempotencyKey,
    pub hash: String,
    pub now: DateTime<Utc>,
    pub reply: oneshot::Sender<Result<Created<ticket::Model>, Error>>,
}

#[derive(Clone)]
pub struct TicketWriter {
    queue: mpsc::Sender<Pending>,
}

impl TicketWriter {
    /// Starts the writer task (inside the Tokio runtime). One per process:
    /// measured, several overlapping writers split the waiting calls into
    /// smaller batches and lose more to extra commits than they gain
    /// (docs/BENCHMARKS.md).
    pub fn spawn(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(MAX_BATCH * 16);
        tokio::spawn(run(store, rx));
        Self { queue }
    }

    pub async fn create(&self, pending: Pending) -> Result<(), Error> {
        self.queue
            .send(pending)
            .await
            .map_err(|_| Error::Unavailable("the ticket writer stopped".into()))
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        match write_batch(&store, &batch).await {
            Ok(results) => {
                for (p, result) in batch.into_iter().zip(results) {
                    let outcome = match result {
                        Err(refusal) => Err(refusal),
                        Ok(Some(row)) => Ok(Created::New(row)),
                        Ok(None) => earlier_call(&store, &p.key, &p.hash).await.and_then(|e| {
                            e.ok_or_else(|| {
                                Error::Internal(
                                    "idempotency record vanished after a conflict".into(),
                                )
                            })
                        }),
                    };
                    let _ = p.reply.send(outcome);
                }
            }
            Err(e) => {
                let text = e.to_string();
                let unavailable = matches!(e, Error::Unavailable(_));
                for p in batch {
                    let _ = p.reply.send(Err(if unavailable {
                        Error::Unavailable(text.clone())
                    } else {
                        Error::Internal(text.clone())
                    }));
                }
            }
        }
    }
}

/// Checks what each ticket refers to, with one query per table for the
/// whole batch: the application, module and topic must be active in the
/// catalogue, the reporter an active employee.
async fn check_references<C: ConnectionTrait>(
    db: &C,
    batch: &[Pending],
) -> Result<Vec<Result<Reporter, Error>>, Error> {
    let apps: Vec<String> = batch
        .iter()
        .map(|p| p.ticket.application.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let active_apps: HashSet<String> = application::Entity::find()
        .filter(application::Column::Code.is_in(apps.clone()))
        .filter(application::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.code)
        .collect();
    let modules: HashSet<(String, String)> = application_module::Entity::find()
        .filter(application_module::Column::Application.is_in(apps.clone()))
        .filter(application_module::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.application, m.code))
        .collect();
    let topics: HashSet<(String, String)> = application_topic::Entity::find()
        .filter(application_topic::Column::Application.is_in(apps))
        .filter(application_topic::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.application, t.code))
        .collect();
    let people: Vec<String> = batch
        .iter()
        .map(|p| p.reporter.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let departments: HashMap<String, String> = employee::Entity::find()
        .filter(employee::Column::Id.is_in(people))
        .filter(employee::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.department))
        .collect();

    Ok(batch
        .iter()
        .map(|p| {
            let t = &p.ticket;
            let mut v = Violations::default();
            if !active_apps.contains(&t.application) {
                v.add("application", "no active application with this code");
            } else {
                let known = |set: &HashSet<(String, String)>, code: &String| {
                    set.contains(&(t.application.clone(), code.clone()))
                };
                if let Some(module) = &t.module {
                    v.check(
                        known(&modules, module),
                        "module",
                        format!("not an active module of {}", t.application),
                    );
                }
                if let Some(topic) = &t.topic {
                    v.check(
                        known(&topics, topic),
                        "topic",
                        format!("not an active topic of {}", t.application),
                    );
                }
            }
            let department = departments.get(&p.reporter);
            if department.is_none() && t.on_behalf_of.is_some() {
                v.add("on_behalf_of", "no active employee with this id");
            }
            v.finish()?;
            let department = department.ok_or_else(|| Error::FailedPrecondition {
                reason: reason::NOT_IN_DIRECTORY,
                message: format!(
                    "{} is not an active employee in the directory; ask an admin to import them",
                    p.reporter
                ),
            })?;
            Ok(Reporter {
                id: p.reporter.clone(),
                department: department.clone(),
            })
        })
        .collect())
}

/// Writes the batch in one transaction; per entry the ticket it created,
/// `None` when its request id was taken, or why it was refused.
async fn write_batch(
    store: &Store,
    batch: &[Pending],
) -> Result<Vec<Result<Option<ticket::Model>, Error>>, Error> {
    let txn = store.begin_write().await?;
    let checked = check_references(&txn, batch).await?;
    let valid: Vec<(&Pending, &Reporter)> = batch
        .iter()
        .zip(&checked)
        .filter_map(|(p, c)| c.as_ref().ok().map(|r| (p, r)))
        .collect();
    if valid.is_empty() {
        sea_orm::TransactionSession::rollback(txn).await?;
        return Ok(checked.into_iter().map(|c| c.map(|_| None)).collect());
    }
    let ids = allocate_ids(&txn, valid.len()).await?;

    let mut claim = Query::insert()
        .into_table(record::Entity)
        .columns([
            record::Column::Caller,
            record::Column::Operation,
            record::Column::RequestId,
            record::Column::PayloadHash,
            record::Column::ResourceId,
            record::Column::CreatedAt,
        ])
        .on_conflict(
            OnConflict::columns([
                record::Column::Caller,
                record::Column::Operation,
                record::Column::RequestId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .returning_col(record::Column::ResourceId)
        .to_owned();
    // Claim in key order: two concurrent batches (of two intake replicas)
    // that share request ids then wait for each other in the same order,
    // never in a cycle.
    let mut claims: Vec<(&Pending, &i64)> = valid.iter().map(|(p, _)| *p).zip(&ids).collect();
    claims.sort_by(|(a, _), (b, _)| {
        (&a.key.caller, a.key.operation, &a.key.request_id).cmp(&(
            &b.key.caller,
            b.key.operation,
            &b.key.request_id,
        ))
    });
    for (p, id) in claims {
        claim.values_panic([
            p.key.caller.clone().into(),
            p.key.operation.into(),
            p.key.request_id.clone().into(),
            p.hash.clone().into(),
            (*id).into(),
            p.now.into(),
        ]);
    }
    let claimed: HashSet<i64> = txn
        .query_all(&claim)
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "resource_id"))
        .collect::<Result<_, _>>()?;

    let mut rows: Vec<Option<ticket::Model>> = valid
        .iter()
        .zip(&ids)
        .map(|((p, reporter), id)| claimed.contains(id).then(|| new_row(p, reporter, *id)))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let written: Vec<&ticket::Model> = rows.iter().flatten().collect();
    if !written.is_empty() {
        ticket::Entity::insert_many(written.iter().map(|t| active(t)))
            .exec_without_returning(&txn)
            .await?;
        ticket_event::Entity::insert_many(written.iter().map(|t| ticket_event::ActiveModel {
            ticket_id: Set(t.id),
            kind: Set(EventKind::Created.as_str().to_owned()),
            actor: Set(t.created_by.clone()),
            from_status: Set(None),
            to_status: Set(Some(TicketStatus::New.as_str().to_owned())),
            note: Set(None),
            created_at: Set(t.created_at),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await?;
        // One notification per channel for the batch, delivered on commit:
        // it wakes the routers and the watchers; the payload lists the ids.
        let payload = written
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        kerndesk_store::notify_all(
            &txn,
            &[
                kerndesk_store::NEW_TICKET_CHANNEL,
                kerndesk_store::TICKET_EVENT_CHANNEL,
            ],
            &payload,
        )
        .await?;
    }
    sea_orm::TransactionSession::commit(txn).await?;
    // Back in batch order: each valid entry takes the next row.
    Ok(checked
        .into_iter()
        .map(|c| c.map(|_| rows.pop().expect("one row per valid entry")))
        .collect())
}

/// `n` new ticket ids, increasing. PostgreSQL: from the id sequence. SQLite:
/// after the highest id ever handed out; the IMMEDIATE transaction holds the
/// write lock, so nobody else allocates meanwhile.
async fn allocate_ids<C: ConnectionTrait>(db: &C, n: usize) -> Result<Vec<i64>, Error> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT nextval(pg_get_serial_sequence('tickets', 'id')) AS id FROM generate_series(1, $1)",
                [(n as i64).into()],
            ))
            .await?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<i64>("", "id"))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        return Ok(ids);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0), \
             COALESCE((SELECT MAX(id) FROM tickets), 0)) AS last",
        ))
        .await?
        .ok_or_else(|| Error::Internal("no row from id allocation".into()))?;
    let last: i64 = row.try_get("", "last")?;
    Ok((1..=n as i64).map(|i| last + i).collect())
}

fn new_row(p: &Pending, reporter: &Reporter, id: i64) -> ticket::Model {
    let t = &p.ticket;
    // The databases keep microseconds: answer with what a later read returns.
    let now = p.now.trunc_subsecs(6);
    ticket::Model {
        id,
        application: t.application.clone(),
        module: t.module.clone(),
        topic: t.topic.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        category: t.category.as_str().to_owned(),
        impact: t.impact.as_str().to_owned(),
        urgency: t.urgency.as_str().to_owned(),
        priority: t.priority.as_str().to_owned(),
        channel: t.channel.as_str().to_owned(),
        status: TicketStatus::New.as_str().to_owned(),
        reporter: reporter.id.clone(),
        created_by: p.created_by.clone(),
        department: reporter.department.clone(),
        assignee: None,
        version: 1,
        created_at: now,
        updated_at: now,
        routing_reason: None,
        response_due_at: None,
        resolution_due_at: None,
        accepted_at: None,
        escalated_at: None,
        acknowledged_at: None,
        resolved_at: None,
        waiting_since: None,
        resume_status: None,
        resolution_kind: None,
    }
}

/// Every column set, including the explicit id.
fn active(t: &ticket::Model) -> ticket::ActiveModel {
    use sea_orm::ActiveModelTrait;
    sea_orm::IntoActiveModel::into_active_model(t.clone()).reset_all()
}

//! The proto impl of `kerndesk.intake.v1.Tickets`: authorise, parse, call
//! the queries, convert. Domain errors become `Status` in one place
//! ([`kerndesk_runtime::errors`]).

use std::collections::HashMap;
use std::pin::Pin;

use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::intake::v1::tickets_server::Tickets;
use kerndesk_proto::reason;
use kerndesk_runtime::auth::Caller;
use kerndesk_runtime::calendar::Sla;
use kerndesk_runtime::{AppContext, Error, Violations, paging};
use kerndesk_store::entity::{comment, rating, ticket};
use kerndesk_store::idempotency::{self, IdempotencyKey};
use kerndesk_store::wakeup::Wakeup;
use prost::Message;
use sea_orm::EntityTrait as _;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::queries::{self, Created, ListFilter};
use super::rules::{self, NewTicket, RequestId, Visibility};
use super::writer::{Pending, TicketWriter};
use crate::convert;

pub struct TicketsApi {
    ctx: AppContext,
    writer: TicketWriter,
    sla: Sla,
    /// Wakes WatchTicket streams when any service appends an event.
    events: Wakeup,
}

impl TicketsApi {
    /// Must be called inside the Tokio runtime (it starts the LISTEN task).
    pub fn new(ctx: AppContext) -> Self {
        let events = Wakeup::listen(&ctx.store, &[kerndesk_store::TICKET_EVENT_CHANNEL]);
        Self {
            writer: TicketWriter::spawn(ctx.store.clone()),
            sla: Sla::from_config(&ctx.config),
            ctx,
            events,
        }
    }
}

/// Events sent per query while catching up.
const WATCH_BATCH: u64 = 100;

#[tonic::async_trait]
impl Tickets for TicketsApi {
    type WatchTicketStream =
        Pin<Box<dyn Stream<Item = Result<pb::WatchTicketResponse, Status>> + Send + 'static>>;

    async fn watch_ticket(
        &self,
        request: Request<pb::WatchTicketRequest>,
    ) -> Result<Response<Self::WatchTicketStream>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        if req.after_event_id < 0 {
            return Err(Error::invalid_field("after_event_id", "must not be negative").into());
        }
        let store = self.ctx.store.clone();
        queries::visible_ticket(store.connection(), req.ticket_id, &Visibility::of(&caller))
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_BATCH as usize);
        let mut waiter = self.events.subscribe();
        let mut stopping = self.ctx.stopping.subscribe();
        let poll = std::time::Duration::from_millis(self.ctx.config.routing.poll_interval_ms);
        let (ticket_id, mut cursor) = (req.ticket_id, req.after_event_id);
        // Follows the event table from the cursor: whatever process wrote the
        // event, it is in the table; NOTIFY (PostgreSQL) only makes it quick.
        tokio::spawn(async move {
            loop {
                let events =
                    match queries::events_after(store.connection(), ticket_id, cursor, WATCH_BATCH)
                        .await
                    {
                        Ok(events) => events,
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                    };
                let full = events.len() as u64 == WATCH_BATCH;
                for event in events {
                    cursor = event.id;
                    if tx
                        .send(Ok(pb::WatchTicketResponse {
                            event: Some(event_to_pb(event)),
                        }))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                if full {
                    continue;
                }
                if *stopping.borrow() {
                    // Shutting down: end the stream; the client resumes
                    // from its last event id on another replica.
                    return;
                }
                tokio::select! {
                    _ = waiter.wait(poll) => {}
                    _ = tx.closed() => return,
                    _ = stopping.changed() => {}
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn reply_to_ticket(
        &self,
        request: Request<pb::ReplyToTicketRequest>,
    ) -> Result<Response<pb::ReplyToTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let body = rules::text(&mut v, "body", &req.body, 1, rules::COMMENT_MAX_CHARS);
        v.finish()?;
        let t = queries::reply_to_ticket(
            &self.ctx.store,
            &caller,
            &Visibility::of(&caller),
            &self.sla,
            req.ticket_id,
            body,
            self.ctx.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::ReplyToTicketResponse {
            ticket: Some(ticket_to_pb(t, None)),
        }))
    }

    async fn reopen_ticket(
        &self,
        request: Request<pb::ReopenTicketRequest>,
    ) -> Result<Response<pb::ReopenTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let reason_text = rules::text(&mut v, "reason", &req.reason, 1, rules::REASON_MAX_CHARS);
        v.check(req.version >= 0, "version", "must not be negative");
        v.finish()?;
        let t = queries::reopen_ticket(
            &self.ctx.store,
            &caller,
            &Visibility::of(&caller),
            &self.sla,
            self.ctx.config.routing.reopen_days,
            req.ticket_id,
            req.version,
            reason_text,
            self.ctx.clock.now(),
        )
        .await?;
        let rating = queries::rating_of(self.ctx.store.connection(), t.id).await?;
        Ok(Response::new(pb::ReopenTicketResponse {
            ticket: Some(ticket_to_pb(t, rating)),
        }))
    }

    async fn close_ticket(
        &self,
        request: Request<pb::CloseTicketRequest>,
    ) -> Result<Response<pb::CloseTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        if req.version < 0 {
            return Err(Error::invalid_field("version", "must not be negative").into());
        }
        let t = queries::close_ticket(
            &self.ctx.store,
            &caller,
            &Visibility::of(&caller),
            req.ticket_id,
            req.version,
            self.ctx.clock.now(),
        )
        .await?;
        let rating = queries::rating_of(self.ctx.store.connection(), t.id).await?;
        Ok(Response::new(pb::CloseTicketResponse {
            ticket: Some(ticket_to_pb(t, rating)),
        }))
    }

    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::CreateTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let ticket = self.file_ticket(&caller, req).await?;
        Ok(Response::new(pb::CreateTicketResponse {
            ticket: Some(ticket),
        }))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let id = request.into_inner().id;
        let db = self.ctx.store.connection();
        let t = queries::visible_ticket(db, id, &Visibility::of(&caller)).await?;
        let rating = queries::rating_of(db, id).await?;
        let comments = queries::comments_of(db, id).await?;
        Ok(Response::new(pb::GetTicketResponse {
            ticket: Some(ticket_to_pb(t, rating)),
            comments: comments.into_iter().map(comment_to_pb).collect(),
        }))
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let (filter, fingerprint) = parse_list_filter(&req, &caller)?;
        let size = paging::page_size(req.page_size, 50, 500)?;
        let before = paging::decode_id(&req.page_token, &fingerprint)?;
        let db = self.ctx.store.connection();
        let mut rows =
            queries::list_tickets(db, &Visibility::of(&caller), &filter, before, size + 1).await?;
        let next_page_token = paging::next_page(&mut rows, size, |t| t.id, &fingerprint);
        let mut ratings: HashMap<i64, rating::Model> =
            queries::ratings_of(db, rows.iter().map(|t| t.id).collect())
                .await?
                .into_iter()
                .map(|r| (r.ticket_id, r))
                .collect();
        Ok(Response::new(pb::ListTicketsResponse {
            tickets: rows
                .into_iter()
                .map(|t| {
                    let r = ratings.remove(&t.id);
                    ticket_to_pb(t, r)
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn add_comment(
        &self,
        request: Request<pb::AddCommentRequest>,
    ) -> Result<Response<pb::AddCommentResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let request_id = RequestId::parse(&req.request_id)
            .map_err(|why| v.add("request_id", why))
            .ok();
        let body = rules::text(&mut v, "body", &req.body, 1, rules::COMMENT_MAX_CHARS);
        v.finish()?;
        let request_id = request_id.expect("checked above");
        let key = idempotency_key(&caller, "AddComment", &request_id);
        let hash = payload_hash(&pb::AddCommentRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let store = &self.ctx.store;
        let outcome = match queries::earlier_call(store, &key, &hash).await? {
            Some(earlier) => earlier,
            None => {
                queries::add_comment(
                    store,
                    &caller,
                    &Visibility::of(&caller),
                    &key,
                    &hash,
                    req.ticket_id,
                    body,
                    self.ctx.clock.now(),
                )
                .await?
            }
        };
        let comment = match outcome {
            Created::New(c) => c,
            Created::Replay(id) => queries::comment_by_id(store.connection(), id).await?,
            Created::Conflict => return Err(request_id_reused().into()),
        };
        Ok(Response::new(pb::AddCommentResponse {
            comment: Some(comment_to_pb(comment)),
        }))
    }

    async fn rate_ticket(
        &self,
        request: Request<pb::RateTicketRequest>,
    ) -> Result<Response<pb::RateTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        v.check((1..=5).contains(&req.score), "score", "must be 1-5");
        let remark = rules::text(&mut v, "remark", &req.remark, 0, rules::REMARK_MAX_CHARS);
        v.finish()?;
        let (t, rating) = queries::rate_ticket(
            &self.ctx.store,
            &caller,
            &Visibility::of(&caller),
            req.ticket_id,
            req.score,
            remark,
            self.ctx.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::RateTicketResponse {
            ticket: Some(ticket_to_pb(t, Some(rating))),
        }))
    }

    async fn withdraw_ticket(
        &self,
        request: Request<pb::WithdrawTicketRequest>,
    ) -> Result<Response<pb::WithdrawTicketResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        v.check(req.version >= 0, "version", "must not be negative");
        let reason_text = rules::text(&mut v, "reason", &req.reason, 0, rules::REASON_MAX_CHARS);
        v.finish()?;
        let t = queries::withdraw_ticket(
            &self.ctx.store,
            &caller,
            &Visibility::of(&caller),
            req.ticket_id,
            req.version,
            (!reason_text.is_empty()).then_some(reason_text),
            self.ctx.clock.now(),
        )
        .await?;
        let rating = queries::rating_of(self.ctx.store.connection(), t.id).await?;
        Ok(Response::new(pb::WithdrawTicketResponse {
            ticket: Some(ticket_to_pb(t, rating)),
        }))
    }
}

impl TicketsApi {
    /// CreateTicket for an authenticated caller (also used by the demo loader).
    pub async fn file_ticket(
        &self,
        caller: &Caller,
        req: pb::CreateTicketRequest,
    ) -> Result<pb::Ticket, Error> {
        let store = &self.ctx.store;
        let hash = payload_hash(&pb::CreateTicketRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let outcome = match self.write_new_ticket(caller, &req, &hash).await {
            Ok(outcome) => outcome,
            // A refused request may be the retry of one that succeeded before
            // the catalogue changed: it gets its ticket. The happy path needs
            // no look-up: the idempotency record written with the ticket
            // settles retries and races.
            Err(
                refusal @ (Error::InvalidFields(_)
                | Error::FailedPrecondition { .. }
                | Error::PermissionDenied { .. }),
            ) => {
                let Ok(id) = RequestId::parse(&req.request_id) else {
                    return Err(refusal);
                };
                let key = idempotency_key(caller, "CreateTicket", &id);
                return match queries::earlier_call(store, &key, &hash).await? {
                    Some(outcome) => self.created_ticket(outcome).await,
                    None => Err(refusal),
                };
            }
            Err(other) => return Err(other),
        };
        if let Created::New(row) = &outcome {
            tracing::info!(
                ticket = row.id,
                application = %row.application,
                priority = %row.priority,
                "ticket filed"
            );
        }
        self.created_ticket(outcome).await
    }

    /// Checks the fields and who may file for whom, then hands the ticket to
    /// the writer, which checks the catalogue and the directory for its
    /// whole batch and writes it.
    async fn write_new_ticket(
        &self,
        caller: &Caller,
        req: &pb::CreateTicketRequest,
        hash: &str,
    ) -> Result<Created<ticket::Model>, Error> {
        let mut v = Violations::default();
        let Some(t) = NewTicket::parse(req, &mut v) else {
            return Err(Error::InvalidFields(v.into_vec()));
        };
        if t.on_behalf_of.is_some() {
            rules::may_file_on_behalf(caller)?;
        }
        let key = idempotency_key(caller, "CreateTicket", &t.request_id);
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.writer
            .create(Pending {
                reporter: t
                    .on_behalf_of
                    .clone()
                    .unwrap_or_else(|| caller.subject.clone()),
                ticket: t,
                created_by: caller.subject.clone(),
                key,
                hash: hash.to_owned(),
                now: self.ctx.clock.now(),
                reply,
            })
            .await?;
        outcome
            .await
            .map_err(|_| Error::Unavailable("the ticket writer stopped".into()))?
    }

    async fn created_ticket(&self, outcome: Created<ticket::Model>) -> Result<pb::Ticket, Error> {
        let db = self.ctx.store.connection();
        match outcome {
            Created::New(t) => Ok(ticket_to_pb(t, None)),
            Created::Replay(id) => {
                let t = ticket::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .ok_or_else(|| {
                        Error::Internal(format!("ticket {id} of a request id is gone"))
                    })?;
                let rating = queries::rating_of(db, id).await?;
                Ok(ticket_to_pb(t, rating))
            }
            Created::Conflict => Err(request_id_reused()),
        }
    }
}

fn idempotency_key(caller: &Caller, operation: &'static str, id: &RequestId) -> IdempotencyKey {
    IdempotencyKey {
        caller: caller.subject.clone(),
        operation,
        request_id: id.as_str().to_owned(),
    }
}

/// Fingerprint of a request without its request id: prost encodes a message
/// deterministically, so equal payloads hash equally.
fn payload_hash<M: Message>(without_request_id: &M) -> String {
    idempotency::payload_hash(&without_request_id.encode_to_vec())
}

fn request_id_reused() -> Error {
    Error::AlreadyExists {
        reason: reason::REQUEST_ID_REUSED,
        message: "this request_id was already used with a different payload".into(),
    }
}

/// The filters of a list request and their fingerprint for the page token.
fn parse_list_filter(
    req: &pb::ListTicketsRequest,
    caller: &Caller,
) -> Result<(ListFilter, String), Error> {
    let mut v = Violations::default();
    let mut statuses = Vec::new();
    for (i, s) in req.statuses.iter().enumerate() {
        match convert::status_from_pb(*s) {
            Some(status) => statuses.push(status),
            None => v.add(
                format!("statuses[{i}]"),
                format!("{s} is not a ticket status"),
            ),
        }
    }
    let application = match req.application.trim() {
        "" => None,
        code if rules::is_code(code) => Some(code.to_owned()),
        _ => {
            v.add("application", "is not a catalogue code");
            None
        }
    };
    let reporter = match req.reporter.trim() {
        "" => None,
        id if rules::is_employee_id(id) => Some(id.to_owned()),
        _ => {
            v.add("reporter", "is not an employee id");
            None
        }
    };
    let mut when = |ts: &Option<prost_types::Timestamp>, field: &str| {
        ts.as_ref().and_then(|ts| {
            let parsed = convert::from_timestamp(ts);
            if parsed.is_none() {
                v.add(field, "is not a valid timestamp");
            }
            parsed
        })
    };
    let created_after = when(&req.created_after, "created_after");
    let created_before = when(&req.created_before, "created_before");
    v.finish()?;
    let fingerprint = format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        caller.subject, req.statuses, application, reporter, created_after, created_before
    );
    Ok((
        ListFilter {
            statuses,
            application,
            reporter,
            created_after,
            created_before,
        },
        fingerprint,
    ))
}

pub fn ticket_to_pb(t: ticket::Model, rating: Option<rating::Model>) -> pb::Ticket {
    pb::Ticket {
        id: t.id,
        category: convert::category_to_pb(&t.category).into(),
        impact: convert::impact_to_pb(&t.impact).into(),
        urgency: convert::urgency_to_pb(&t.urgency).into(),
        priority: convert::priority_to_pb(&t.priority).into(),
        channel: convert::channel_to_pb(&t.channel).into(),
        status: convert::status_to_pb(&t.status).into(),
        application: t.application,
        module: t.module.unwrap_or_default(),
        topic: t.topic.unwrap_or_default(),
        title: t.title,
        description: t.description,
        reporter: t.reporter,
        created_by: t.created_by,
        department: t.department,
        assignee: t.assignee.unwrap_or_default(),
        version: t.version,
        create_time: Some(convert::timestamp(t.created_at)),
        update_time: Some(convert::timestamp(t.updated_at)),
        rating: rating.map(|r| pb::Rating {
            score: r.score,
            remark: r.remark,
            create_time: Some(convert::timestamp(r.created_at)),
        }),
    }
}

pub fn event_to_pb(e: kerndesk_store::entity::ticket_event::Model) -> pb::TicketEvent {
    let status =
        |s: Option<String>| s.map_or(pb::TicketStatus::Unspecified, |s| convert::status_to_pb(&s));
    pb::TicketEvent {
        id: e.id,
        ticket_id: e.ticket_id,
        from_status: status(e.from_status).into(),
        to_status: status(e.to_status).into(),
        kind: e.kind,
        actor: e.actor,
        note: e.note.unwrap_or_default(),
        create_time: Some(convert::timestamp(e.created_at)),
    }
}

pub fn comment_to_pb(c: comment::Model) -> pb::Comment {
    pb::Comment {
        id: c.id,
        ticket_id: c.ticket_id,
        author: c.author,
        body: c.body,
        create_time: Some(convert::timestamp(c.created_at)),
    }
}

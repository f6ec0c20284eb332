//! The proto impls of `kerndesk.routing.v1`: KeyUserRegister, KeyUserDesk,
//! SupplierDesk.

use std::collections::HashSet;

use kerndesk_intake::tickets::rules::{RequestId, is_code, is_employee_id};
use kerndesk_proto::routing::v1 as pb;
use kerndesk_proto::routing::v1::key_user_desk_server::KeyUserDesk;
use kerndesk_proto::routing::v1::key_user_register_server::KeyUserRegister;
use kerndesk_proto::routing::v1::supplier_desk_server::SupplierDesk;
use kerndesk_proto::{intake::v1 as intake_pb, reason};
use kerndesk_runtime::auth::{Caller, Role};
use kerndesk_runtime::{AppContext, Error, Violations, paging};
use kerndesk_store::entity::{
    application, application_module, comment, employee, key_user_absence as absence,
    key_user_assignment as assignment, ticket, time_entry,
};
use kerndesk_store::idempotency::{self, IdempotencyKey, Seen};
use kerndesk_store::model::{EventKind, KeyUserRole, ResolutionKind, RoutingReason, TicketStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tonic::{Request, Response, Status};

use crate::desk::{desk_ticket, load, text};
use crate::queries::{self, Change};
use crate::rules::{self, Settings};

const NOTE_MAX: usize = 10_000;

#[derive(Clone)]
pub struct RoutingApi {
    ctx: AppContext,
    settings: Settings,
}

impl RoutingApi {
    pub fn new(ctx: AppContext, settings: Settings) -> Self {
        Self { ctx, settings }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ctx.clock.now()
    }
}

// ---------------------------------------------------------------- register

fn role_from_pb(value: i32) -> Option<KeyUserRole> {
    match pb::KeyUserRole::try_from(value).ok()? {
        pb::KeyUserRole::Primary => Some(KeyUserRole::Primary),
        pb::KeyUserRole::Deputy => Some(KeyUserRole::Deputy),
        pb::KeyUserRole::Unspecified => None,
    }
}

fn role_to_pb(text: &str) -> pb::KeyUserRole {
    match KeyUserRole::parse(text) {
        Some(KeyUserRole::Primary) => pb::KeyUserRole::Primary,
        Some(KeyUserRole::Deputy) => pb::KeyUserRole::Deputy,
        None => pb::KeyUserRole::Unspecified,
    }
}

fn assignment_to_pb(a: assignment::Model) -> pb::Assignment {
    pb::Assignment {
        id: a.id,
        role: role_to_pb(&a.role).into(),
        employee: a.employee,
        application: a.application,
        module: a.module,
        hours_per_week: a.hours_per_week,
        create_time: Some(kerndesk_intake::convert::timestamp(a.created_at)),
    }
}

fn absence_to_pb(a: absence::Model) -> pb::Absence {
    let ts = kerndesk_intake::convert::timestamp;
    pb::Absence {
        id: a.id,
        employee: a.employee,
        start_time: Some(ts(a.starts_at)),
        end_time: Some(ts(a.ends_at)),
        reason: a.reason,
    }
}

/// An assignment request that passed every check.
struct NewAssignment {
    employee: String,
    application: String,
    /// '' for the whole application.
    module: String,
    role: KeyUserRole,
    hours_per_week: i32,
}

/// A valid assignment request, checked against the directory; violations
/// are named with `prefix` (empty for a single call, `assignments[3].` in bulk).
async fn parse_assignment<C: ConnectionTrait>(
    db: &C,
    req: &pb::AssignKeyUserRequest,
    prefix: &str,
    v: &mut Violations,
) -> Result<Option<NewAssignment>, Error> {
    let before = v.len();
    let employee = req.employee.trim().to_owned();
    let application = req.application.trim().to_owned();
    let module = req.module.trim().to_owned();
    let role = role_from_pb(req.role);
    v.check(
        role.is_some(),
        format!("{prefix}role"),
        "must be PRIMARY or DEPUTY",
    );
    v.check(
        (0..=40).contains(&req.hours_per_week),
        format!("{prefix}hours_per_week"),
        "must be 0-40",
    );
    if !is_employee_id(&employee)
        || employee::Entity::find_by_id(employee.clone())
            .one(db)
            .await?
            .is_none_or(|e| !e.active)
    {
        v.add(
            format!("{prefix}employee"),
            "no active employee with this id",
        );
    }
    if !is_code(&application)
        || application::Entity::find_by_id(application.clone())
            .one(db)
            .await?
            .is_none()
    {
        v.add(
            format!("{prefix}application"),
            "no application with this code",
        );
    } else if !module.is_empty()
        && application_module::Entity::find_by_id((application.clone(), module.clone()))
            .one(db)
            .await?
            .is_none()
    {
        v.add(
            format!("{prefix}module"),
            format!("not a module of {application}"),
        );
    }
    if v.len() > before {
        return Ok(None);
    }
    Ok(Some(NewAssignment {
        employee,
        application,
        module,
        role: role.expect("checked"),
        hours_per_week: req.hours_per_week,
    }))
}

/// What an upsert did.
enum Upserted {
    Created(assignment::Model),
    Updated(assignment::Model),
    Unchanged(assignment::Model),
}

impl Upserted {
    fn row(self) -> assignment::Model {
        match self {
            Self::Created(a) | Self::Updated(a) | Self::Unchanged(a) => a,
        }
    }
}

/// Inserts the assignment, or updates role and hours of the existing one
/// for the same (employee, application, module).
async fn upsert_assignment<C: ConnectionTrait>(
    db: &C,
    new: NewAssignment,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Upserted, Error> {
    let existing = assignment::Entity::find()
        .filter(assignment::Column::Employee.eq(new.employee.clone()))
        .filter(assignment::Column::Application.eq(new.application.clone()))
        .filter(assignment::Column::Module.eq(new.module.clone()))
        .one(db)
        .await?;
    let role = new.role.as_str().to_owned();
    Ok(match existing {
        Some(a) if a.role == role && a.hours_per_week == new.hours_per_week => {
            Upserted::Unchanged(a)
        }
        Some(a) => {
            let mut row = a.into_active_model();
            row.role = Set(role);
            row.hours_per_week = Set(new.hours_per_week);
            row.updated_at = Set(now);
            Upserted::Updated(row.update(db).await?)
        }
        None => Upserted::Created(
            assignment::ActiveModel {
                employee: Set(new.employee),
                application: Set(new.application),
                module: Set(new.module),
                role: Set(role),
                hours_per_week: Set(new.hours_per_week),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?,
        ),
    })
}

#[tonic::async_trait]
impl KeyUserRegister for RoutingApi {
    async fn assign_key_user(
        &self,
        request: Request<pb::AssignKeyUserRequest>,
    ) -> Result<Response<pb::AssignKeyUserResponse>, Status> {
        Caller::of(&request)?.require_any(&[Role::Admin])?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let parsed = parse_assignment(self.ctx.store.connection(), &req, "", &mut v).await?;
        v.finish()?;
        let txn = self.ctx.store.begin_write().await.map_err(Error::from)?;
        let row = upsert_assignment(&txn, parsed.expect("valid"), self.now())
            .await?
            .row();
        txn.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::AssignKeyUserResponse {
            assignment: Some(assignment_to_pb(row)),
        }))
    }

    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> Result<Response<pb::ListAssignmentsResponse>, Status> {
        Caller::of(&request)?.require_any(&[Role::Admin])?;
        let req = request.into_inner();
        let size = paging::page_size(req.page_size, 100, 500)?;
        let filters = format!("{}|{}", req.application, req.employee);
        let after = paging::decode_id(&req.page_token, &filters)?;
        let mut query = assignment::Entity::find();
        if !req.application.is_empty() {
            query = query.filter(assignment::Column::Application.eq(req.application.clone()));
        }
        if !req.employee.is_empty() {
            query = query.filter(assignment::Column::Employee.eq(req.employee.clone()));
        }
        if let Some(after) = after {
            query = query.filter(assignment::Column::Id.gt(after));
        }
        let mut rows = query
            .order_by_asc(assignment::Column::Id)
            .limit(size + 1)
            .all(self.ctx.store.connection())
            .await
            .map_err(Error::from)?;
        let next_page_token = paging::next_page(&mut rows, size, |a| a.id, &filters);
        Ok(Response::new(pb::ListAssignmentsResponse {
            assignments: rows.into_iter().map(assignment_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn remove_assignment(
        &self,
        request: Request<pb::RemoveAssignmentRequest>,
    ) -> Result<Response<pb::RemoveAssignmentResponse>, Status> {
        Caller::of(&request)?.require_any(&[Role::Admin])?;
        let id = request.into_inner().id;
        let result = assignment::Entity::delete_by_id(id)
            .exec(self.ctx.store.connection())
            .await
            .map_err(Error::from)?;
        if result.rows_affected == 0 {
            return Err(Error::not_found("assignment", id).into());
        }
        Ok(Response::new(pb::RemoveAssignmentResponse {}))
    }

    async fn import_assignments(
        &self,
        request: Request<pb::ImportAssignmentsRequest>,
    ) -> Result<Response<pb::ImportAssignmentsResponse>, Status> {
        Caller::of(&request)?.require_any(&[Role::Admin])?;
        let req = request.into_inner();
        let mut v = Violations::default();
        v.check(
            (1..=5000).contains(&req.assignments.len()),
            "assignments",
            "1-5000 rows per call",
        );
        v.finish()?;
        let now = self.now();
        let mut out = pb::ImportAssignmentsResponse::default();
        let txn = self.ctx.store.begin_write().await.map_err(Error::from)?;
        let mut seen = HashSet::new();
        for (i, row) in req.assignments.iter().enumerate() {
            let prefix = format!("assignments[{i}].");
            let mut v = Violations::default();
            let parsed = parse_assignment(&txn, row, &prefix, &mut v).await?;
            let key = (
                row.employee.trim().to_owned(),
                row.application.trim().to_owned(),
                row.module.trim().to_owned(),
            );
            if !seen.insert(key) {
                v.add(
                    format!("{prefix}employee"),
                    "this assignment appears twice in the request",
                );
            }
            match (parsed, v.is_empty()) {
                (Some(parsed), true) => match upsert_assignment(&txn, parsed, now).await? {
                    Upserted::Created(_) => out.created += 1,
                    Upserted::Updated(_) => out.updated += 1,
                    Upserted::Unchanged(_) => out.unchanged += 1,
                },
                _ => out.refused.push(intake_pb::RowRefusal {
                    index: i as i32,
                    key: row.employee.clone(),
                    violations: v
                        .into_vec()
                        .into_iter()
                        .map(|f| format!("{}: {}", f.field, f.description))
                        .collect(),
                }),
            }
        }
        txn.commit().await.map_err(Error::from)?;
        Ok(Response::new(out))
    }

    async fn record_absence(
        &self,
        request: Request<pb::RecordAbsenceRequest>,
    ) -> Result<Response<pb::RecordAbsenceResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        // A key user records their own absence; an admin anyone's.
        if !caller.has(Role::Admin) {
            caller.require_any(&[Role::KeyUser])?;
            if req.employee != caller.subject {
                return Err(Error::permission_denied(
                    reason::NOT_YOURS,
                    "key users record only their own absences",
                )
                .into());
            }
        }
        let mut v = Violations::default();
        let from = |ts: &Option<prost_types::Timestamp>| {
            ts.as_ref()
                .and_then(kerndesk_intake::convert::from_timestamp)
        };
        let (start, end) = (from(&req.start_time), from(&req.end_time));
        v.check(start.is_some(), "start_time", "is required");
        v.check(end.is_some(), "end_time", "is required");
        if let (Some(s), Some(e)) = (start, end) {
            v.check(s < e, "end_time", "must be after start_time");
        }
        let reason_text = text(&mut v, "reason", &req.reason, 0, 200);
        let known = employee::Entity::find_by_id(req.employee.clone())
            .one(self.ctx.store.connection())
            .await
            .map_err(Error::from)?;
        v.check(known.is_some(), "employee", "no employee with this id");
        v.finish()?;
        let row = absence::ActiveModel {
            employee: Set(req.employee),
            starts_at: Set(start.expect("checked")),
            ends_at: Set(end.expect("checked")),
            reason: Set(reason_text),
            created_at: Set(self.now()),
            ..Default::default()
        }
        .insert(self.ctx.store.connection())
        .await
        .map_err(Error::from)?;
        Ok(Response::new(pb::RecordAbsenceResponse {
            absence: Some(absence_to_pb(row)),
        }))
    }

    async fn list_absences(
        &self,
        request: Request<pb::ListAbsencesRequest>,
    ) -> Result<Response<pb::ListAbsencesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let employee = if caller.has(Role::Admin) {
            req.employee.clone()
        } else {
            caller.require_any(&[Role::KeyUser])?;
            caller.subject.clone()
        };
        let size = paging::page_size(req.page_size, 100, 500)?;
        let after = paging::decode_id(&req.page_token, &employee)?;
        let mut query = absence::Entity::find();
        if !employee.is_empty() {
            query = query.filter(absence::Column::Employee.eq(employee.clone()));
        }
        if let Some(after) = after {
            query = query.filter(absence::Column::Id.gt(after));
        }
        let mut rows = query
            .order_by_asc(absence::Column::Id)
            .limit(size + 1)
            .all(self.ctx.store.connection())
            .await
            .map_err(Error::from)?;
        let next_page_token = paging::next_page(&mut rows, size, |a| a.id, &employee);
        Ok(Response::new(pb::ListAbsencesResponse {
            absences: rows.into_iter().map(absence_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn remove_absence(
        &self,
        request: Request<pb::RemoveAbsenceRequest>,
    ) -> Result<Response<pb::RemoveAbsenceResponse>, Status> {
        let caller = Caller::of(&request)?;
        caller.require_any(&[Role::Admin, Role::KeyUser])?;
        let id = request.into_inner().id;
        let db = self.ctx.store.connection();
        let row = absence::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(Error::from)?
            .filter(|a| {
                caller.has(Role::Admin)
                    || (caller.has(Role::KeyUser) && a.employee == caller.subject)
            })
            .ok_or_else(|| Error::not_found("absence", id))?;
        absence::Entity::delete_by_id(row.id)
            .exec(db)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::RemoveAbsenceResponse {}))
    }
}

// --------------------------------------------------------- key-user desk

impl RoutingApi {
    /// Loads `id` in `txn` and checks the caller holds it as key user.
    async fn held<C: ConnectionTrait>(
        &self,
        db: &C,
        caller: &Caller,
        id: i64,
        version: i64,
        allowed: &[TicketStatus],
    ) -> Result<ticket::Model, Error> {
        caller.require_any(&[Role::KeyUser])?;
        let t = load(db, id).await?;
        let mine = queries::assignments_of(db, &caller.subject).await?;
        rules::check_key_user_holds(caller, &t, &mine, allowed)?;
        rules::check_version(version, &t)?;
        Ok(t)
    }

    /// Runs `change` on a ticket the caller holds, in one transaction.
    async fn key_user_change(
        &self,
        caller: &Caller,
        id: i64,
        version: i64,
        allowed: &[TicketStatus],
        decide: impl FnOnce(&ticket::Model) -> Result<Change, Error>,
        comment_body: Option<String>,
    ) -> Result<pb::DeskTicket, Error> {
        let desk = Desk::KeyUser(allowed);
        self.desk_change(desk, caller, id, version, decide, comment_body)
            .await
    }

    /// One desk action: load and check the ticket for `desk`, decide, apply,
    /// add what the desk tells the employee as a comment, commit.
    async fn desk_change(
        &self,
        desk: Desk<'_>,
        caller: &Caller,
        id: i64,
        version: i64,
        decide: impl FnOnce(&ticket::Model) -> Result<Change, Error>,
        comment_body: Option<String>,
    ) -> Result<pb::DeskTicket, Error> {
        let now = self.now();
        let txn = self.ctx.store.begin_write().await?;
        let t = match desk {
            Desk::KeyUser(allowed) => self.held(&txn, caller, id, version, allowed).await?,
            Desk::Supplier => self.escalated(&txn, caller, id, version).await?,
        };
        let change = decide(&t)?;
        let updated = queries::apply(&txn, &t, &caller.subject, change, now).await?;
        if let Some(body) = comment_body {
            add_comment(&txn, id, &caller.subject, body, now).await?;
        }
        txn.commit().await?;
        Ok(desk_ticket(updated))
    }
}

/// Which desk acts, and so which check a ticket must pass.
enum Desk<'a> {
    /// A key user holding the ticket in one of these states.
    KeyUser(&'a [TicketStatus]),
    /// A supplier agent, on a ticket with the supplier.
    Supplier,
}

/// What the desk asks or tells the employee is also a comment on the
/// ticket, so the employee sees it with GetTicket.
async fn add_comment<C: ConnectionTrait>(
    db: &C,
    ticket_id: i64,
    author: &str,
    body: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    comment::ActiveModel {
        ticket_id: Set(ticket_id),
        author: Set(author.to_owned()),
        body: Set(body),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

fn resolution_from_pb(value: i32) -> Option<ResolutionKind> {
    use pb::ResolutionKind as P;
    Some(match P::try_from(value).ok()? {
        P::HowTo => ResolutionKind::HowTo,
        P::Fixed => ResolutionKind::Fixed,
        P::Configuration => ResolutionKind::Configuration,
        P::WishRecorded => ResolutionKind::WishRecorded,
        P::TrainingNeeded => ResolutionKind::TrainingNeeded,
        P::Unspecified => return None,
    })
}

type DeskResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl KeyUserDesk for RoutingApi {
    async fn list_my_queue(
        &self,
        request: Request<pb::ListMyQueueRequest>,
    ) -> DeskResult<pb::ListMyQueueResponse> {
        let caller = Caller::of(&request)?;
        caller.require_any(&[Role::KeyUser])?;
        let req = request.into_inner();
        let size = paging::page_size(req.page_size, 50, 500)?;
        let after = paging::decode_id(&req.page_token, &caller.subject)?;
        let mut query = ticket::Entity::find()
            .filter(ticket::Column::Assignee.eq(caller.subject.clone()))
            .filter(ticket::Column::Status.is_in([
                TicketStatus::WithKeyUser.as_str(),
                TicketStatus::WaitingOnEmployee.as_str(),
            ]));
        if let Some(after) = after {
            query = query.filter(ticket::Column::Id.gt(after));
        }
        let mut rows = query
            .order_by_asc(ticket::Column::Id)
            .limit(size + 1)
            .all(self.ctx.store.connection())
            .await
            .map_err(Error::from)?;
        let next_page_token = paging::next_page(&mut rows, size, |t| t.id, &caller.subject);
        Ok(Response::new(pb::ListMyQueueResponse {
            tickets: rows.into_iter().map(desk_ticket).collect(),
            next_page_token,
        }))
    }

    async fn accept_ticket(
        &self,
        request: Request<pb::AcceptTicketRequest>,
    ) -> DeskResult<pb::AcceptTicketResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let now = self.now();
        let ticket = self
            .key_user_change(
                &caller,
                req.ticket_id,
                req.version,
                &[TicketStatus::WithKeyUser],
                |t| {
                    if t.accepted_at.is_some() {
                        return Err(Error::invalid_state(format!(
                            "ticket {} is already accepted",
                            t.id
                        )));
                    }
                    Ok(Change::to(TicketStatus::WithKeyUser, EventKind::Accepted)
                        .set(ticket::Column::AcceptedAt, Some(now)))
                },
                None,
            )
            .await?;
        Ok(Response::new(pb::AcceptTicketResponse {
            ticket: Some(ticket),
        }))
    }

    async fn resolve_ticket(
        &self,
        request: Request<pb::ResolveTicketRequest>,
    ) -> DeskResult<pb::ResolveTicketResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let kind = resolution_from_pb(req.kind);
        v.check(
            kind.is_some(),
            "kind",
            "must be HOW_TO, FIXED, CONFIGURATION, WISH_RECORDED or TRAINING_NEEDED",
        );
        let note = text(&mut v, "note", &req.note, 1, NOTE_MAX);
        v.finish()?;
        let kind = kind.expect("checked");
        let now = self.now();
        let ticket = self
            .key_user_change(
                &caller,
                req.ticket_id,
                req.version,
                &[TicketStatus::WithKeyUser],
                |t| {
                    Ok(Change::to(TicketStatus::Resolved, EventKind::Resolved)
                        .note(format!("{kind}: {note}"))
                        .set(ticket::Column::ResolvedAt, Some(now))
                        .set(
                            ticket::Column::ResolutionKind,
                            Some(kind.as_str().to_owned()),
                        )
                        .set(
                            ticket::Column::AcceptedAt,
                            Some(t.accepted_at.unwrap_or(now)),
                        ))
                },
                Some(note.clone()),
            )
            .await?;
        Ok(Response::new(pb::ResolveTicketResponse {
            ticket: Some(ticket),
        }))
    }

    async fn ask_employee(
        &self,
        request: Request<pb::AskEmployeeRequest>,
    ) -> DeskResult<pb::AskEmployeeResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let question = text(&mut v, "question", &req.question, 1, NOTE_MAX);
        v.finish()?;
        let now = self.now();
        let ticket = self
            .key_user_change(
                &caller,
                req.ticket_id,
                req.version,
                &[TicketStatus::WithKeyUser],
                |t| {
                    // Asking is responding: the response clock stops too.
                    Ok(
                        Change::to(TicketStatus::WaitingOnEmployee, EventKind::AskedEmployee)
                            .note(question.clone())
                            .set(ticket::Column::WaitingSince, Some(now))
                            .set(
                                ticket::Column::ResumeStatus,
                                Some(TicketStatus::WithKeyUser.as_str().to_owned()),
                            )
                            .set(
                                ticket::Column::AcceptedAt,
                                Some(t.accepted_at.unwrap_or(now)),
                            ),
                    )
                },
                Some(question.clone()),
            )
            .await?;
        Ok(Response::new(pb::AskEmployeeResponse {
            ticket: Some(ticket),
        }))
    }

    async fn reassign_ticket(
        &self,
        request: Request<pb::ReassignTicketRequest>,
    ) -> DeskResult<pb::ReassignTicketResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let to = req.to_employee.trim().to_owned();
        v.check(is_employee_id(&to), "to_employee", "is required");
        v.check(to != caller.subject, "to_employee", "must be someone else");
        let note = text(&mut v, "note", &req.note, 0, NOTE_MAX);
        v.finish()?;
        let db = self.ctx.store.connection();
        let t = load(db, req.ticket_id).await?;
        let colleague = queries::assignments_of(db, &to).await?;
        if !colleague.iter().any(|a| a.application == t.application) {
            return Err(Error::invalid_field(
                "to_employee",
                format!("not a key user of {}", t.application),
            )
            .into());
        }
        let now = self.now();
        let settings = self.settings.clone();
        let ticket = self
            .key_user_change(
                &caller,
                req.ticket_id,
                req.version,
                &[TicketStatus::WithKeyUser],
                |t| {
                    Ok(Change::to(TicketStatus::WithKeyUser, EventKind::Reassigned)
                        .note(if note.is_empty() {
                            format!("to {to}")
                        } else {
                            format!("to {to}: {note}")
                        })
                        .set(ticket::Column::Assignee, Some(to.clone()))
                        .set(
                            ticket::Column::AcceptedAt,
                            Option::<chrono::DateTime<chrono::Utc>>::None,
                        )
                        .set(
                            ticket::Column::ResponseDueAt,
                            Some(settings.response_due(&t.priority, now)),
                        ))
                },
                None,
            )
            .await?;
        Ok(Response::new(pb::ReassignTicketResponse {
            ticket: Some(ticket),
        }))
    }

    async fn escalate_ticket(
        &self,
        request: Request<pb::EscalateTicketRequest>,
    ) -> DeskResult<pb::EscalateTicketResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let triage = text(&mut v, "triage_note", &req.triage_note, 10, NOTE_MAX);
        v.finish()?;
        let now = self.now();
        let settings = self.settings.clone();
        let ticket = self
            .key_user_change(
                &caller,
                req.ticket_id,
                req.version,
                &[TicketStatus::WithKeyUser],
                |t| {
                    Ok(Change::to(TicketStatus::WithSupplier, EventKind::Escalated)
                        .note(triage.clone())
                        .set(ticket::Column::EscalatedAt, Some(now))
                        .set(
                            ticket::Column::AcknowledgedAt,
                            Option::<chrono::DateTime<chrono::Utc>>::None,
                        )
                        .set(
                            ticket::Column::AcceptedAt,
                            Some(t.accepted_at.unwrap_or(now)),
                        )
                        .set(
                            ticket::Column::RoutingReason,
                            Some(RoutingReason::EscalatedByKeyUser.as_str().to_owned()),
                        )
                        .set(
                            ticket::Column::ResponseDueAt,
                            Some(settings.response_due(&t.priority, now)),
                        ))
                },
                None,
            )
            .await?;
        Ok(Response::new(pb::EscalateTicketResponse {
            ticket: Some(ticket),
        }))
    }

    async fn log_time(
        &self,
        request: Request<pb::LogTimeRequest>,
    ) -> DeskResult<pb::LogTimeResponse> {
        let caller = Caller::of(&request)?;
        caller.require_any(&[Role::KeyUser])?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let request_id = RequestId::parse(&req.request_id)
            .map_err(|why| v.add("request_id", why))
            .ok();
        v.check((1..=480).contains(&req.minutes), "minutes", "must be 1-480");
        let note = text(&mut v, "note", &req.note, 0, 2000);
        v.finish()?;
        let key = IdempotencyKey {
            caller: caller.subject.clone(),
            operation: "LogTime",
            request_id: request_id.expect("checked").as_str().to_owned(),
        };
        let hash = idempotency::payload_hash(
            format!("{}|{}|{}", req.ticket_id, req.minutes, note).as_bytes(),
        );
        let db = self.ctx.store.connection();
        match idempotency::find(db, &key, &hash)
            .await
            .map_err(Error::from)?
        {
            Some(Seen::Replay(id)) => {
                let total = queries::minutes_on(db, req.ticket_id, &caller.subject).await?;
                return Ok(Response::new(pb::LogTimeResponse {
                    id,
                    total_minutes: total as i32,
                }));
            }
            Some(Seen::Conflict) => {
                return Err(Error::AlreadyExists {
                    reason: reason::REQUEST_ID_REUSED,
                    message: "this request_id was already used with a different payload".into(),
                }
                .into());
            }
            None => {}
        }
        let now = self.now();
        let txn = self.ctx.store.begin_write().await.map_err(Error::from)?;
        let t = load(&txn, req.ticket_id).await?;
        let mine = queries::assignments_of(&txn, &caller.subject).await?;
        if !mine.iter().any(|a| a.application == t.application) {
            return Err(Error::permission_denied(
                reason::NOT_YOURS,
                format!("you are not a key user of {}", t.application),
            )
            .into());
        }
        let entry = time_entry::ActiveModel {
            ticket_id: Set(t.id),
            employee: Set(caller.subject.clone()),
            minutes: Set(req.minutes),
            note: Set(note),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(Error::from)?;
        queries::note_event(
            &txn,
            &t,
            &caller.subject,
            EventKind::TimeLogged,
            format!("{} minutes", req.minutes),
            now,
        )
        .await?;
        if !idempotency::record(&txn, &key, &hash, entry.id)
            .await
            .map_err(Error::from)?
        {
            txn.rollback().await.map_err(Error::from)?;
            let total = queries::minutes_on(db, req.ticket_id, &caller.subject).await?;
            return match idempotency::find(db, &key, &hash)
                .await
                .map_err(Error::from)?
            {
                Some(Seen::Replay(id)) => Ok(Response::new(pb::LogTimeResponse {
                    id,
                    total_minutes: total as i32,
                })),
                _ => Err(Error::AlreadyExists {
                    reason: reason::REQUEST_ID_REUSED,
                    message: "this request_id was already used with a different payload".into(),
                }
                .into()),
            };
        }
        let total = queries::minutes_on(&txn, t.id, &caller.subject).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::LogTimeResponse {
            id: entry.id,
            total_minutes: total as i32,
        }))
    }
}

// ---------------------------------------------------------- supplier desk

impl RoutingApi {
    /// A ticket with the supplier; others are NOT_FOUND to agents.
    async fn escalated<C: ConnectionTrait>(
        &self,
        db: &C,
        caller: &Caller,
        id: i64,
        version: i64,
    ) -> Result<ticket::Model, Error> {
        caller.require_any(&[Role::SupplierAgent])?;
        let t = load(db, id).await?;
        if t.status != TicketStatus::WithSupplier.as_str() {
            return Err(Error::not_found("ticket", id));
        }
        rules::check_version(version, &t)?;
        Ok(t)
    }

    async fn supplier_change(
        &self,
        caller: &Caller,
        id: i64,
        version: i64,
        decide: impl FnOnce(&ticket::Model) -> Result<Change, Error>,
        comment_body: Option<String>,
    ) -> Result<pb::DeskTicket, Error> {
        self.desk_change(Desk::Supplier, caller, id, version, decide, comment_body)
            .await
    }
}

#[tonic::async_trait]
impl SupplierDesk for RoutingApi {
    async fn list_escalations(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> DeskResult<pb::ListEscalationsResponse> {
        let caller = Caller::of(&request)?;
        caller.require_any(&[Role::SupplierAgent])?;
        let req = request.into_inner();
        let size = paging::page_size(req.page_size, 50, 500)?;
        let filters = format!("{}|{}", req.application, req.unacknowledged_only);
        let after = paging::decode_id(&req.page_token, &filters)?;
        let mut query = ticket::Entity::find()
            .filter(ticket::Column::Status.eq(TicketStatus::WithSupplier.as_str()));
        if !req.application.is_empty() {
            query = query.filter(ticket::Column::Application.eq(req.application.clone()));
        }
        if req.unacknowledged_only {
            query = query.filter(ticket::Column::AcknowledgedAt.is_null());
        }
        if let Some(after) = after {
            query = query.filter(ticket::Column::Id.gt(after));
        }
        let mut rows = query
            .order_by_asc(ticket::Column::Id)
            .limit(size + 1)
            .all(self.ctx.store.connection())
            .await
            .map_err(Error::from)?;
        let next_page_token = paging::next_page(&mut rows, size, |t| t.id, &filters);
        Ok(Response::new(pb::ListEscalationsResponse {
            tickets: rows.into_iter().map(desk_ticket).collect(),
            next_page_token,
        }))
    }

    async fn acknowledge_escalation(
        &self,
        request: Request<pb::AcknowledgeEscalationRequest>,
    ) -> DeskResult<pb::AcknowledgeEscalationResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let now = self.now();
        let ticket = self
            .supplier_change(
                &caller,
                req.ticket_id,
                req.version,
                |t| {
                    if t.acknowledged_at.is_some() {
                        return Err(Error::invalid_state(format!(
                            "ticket {} is already acknowledged",
                            t.id
                        )));
                    }
                    Ok(
                        Change::to(TicketStatus::WithSupplier, EventKind::Acknowledged)
                            .set(ticket::Column::AcknowledgedAt, Some(now)),
                    )
                },
                None,
            )
            .await?;
        Ok(Response::new(pb::AcknowledgeEscalationResponse {
            ticket: Some(ticket),
        }))
    }

    async fn post_update(
        &self,
        request: Request<pb::PostUpdateRequest>,
    ) -> DeskResult<pb::PostUpdateResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let note = text(&mut v, "note", &req.note, 1, NOTE_MAX);
        v.finish()?;
        let now = self.now();
        let txn = self.ctx.store.begin_write().await.map_err(Error::from)?;
        let t = self.escalated(&txn, &caller, req.ticket_id, 0).await?;
        queries::note_event(
            &txn,
            &t,
            &caller.subject,
            EventKind::SupplierUpdate,
            note.clone(),
            now,
        )
        .await?;
        add_comment(&txn, t.id, &caller.subject, note, now).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::PostUpdateResponse {
            ticket: Some(desk_ticket(t)),
        }))
    }

    async fn resolve_escalation(
        &self,
        request: Request<pb::ResolveEscalationRequest>,
    ) -> DeskResult<pb::ResolveEscalationResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let note = text(&mut v, "note", &req.note, 1, NOTE_MAX);
        v.finish()?;
        let now = self.now();
        let ticket = self
            .supplier_change(
                &caller,
                req.ticket_id,
                req.version,
                |t| {
                    Ok(Change::to(TicketStatus::Resolved, EventKind::Resolved)
                        .note(note.clone())
                        .set(ticket::Column::ResolvedAt, Some(now))
                        .set(
                            ticket::Column::ResolutionKind,
                            Some(ResolutionKind::Fixed.as_str().to_owned()),
                        )
                        .set(
                            ticket::Column::AcknowledgedAt,
                            Some(t.acknowledged_at.unwrap_or(now)),
                        ))
                },
                Some(note.clone()),
            )
            .await?;
        Ok(Response::new(pb::ResolveEscalationResponse {
            ticket: Some(ticket),
        }))
    }

    async fn hand_back(
        &self,
        request: Request<pb::HandBackRequest>,
    ) -> DeskResult<pb::HandBackResponse> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let note = text(&mut v, "note", &req.note, 1, NOTE_MAX);
        v.finish()?;
        let now = self.now();
        let settings = self.settings.clone();
        let ticket = self
            .supplier_change(&caller, req.ticket_id, req.version, |t| {
                let Some(key_user) = t.assignee.clone() else {
                    return Err(Error::invalid_state(format!(
                        "ticket {} came to the supplier without a key user ({}); there is nobody to hand it back to",
                        t.id,
                        t.routing_reason.as_deref().unwrap_or("unrouted")
                    )));
                };
                Ok(Change::to(TicketStatus::WithKeyUser, EventKind::HandedBack)
                    .note(format!("to {key_user}: {note}"))
                    .set(ticket::Column::AcceptedAt, Option::<chrono::DateTime<chrono::Utc>>::None)
                    .set(ticket::Column::AcknowledgedAt, Some(t.acknowledged_at.unwrap_or(now)))
                    .set(ticket::Column::ResponseDueAt, Some(settings.response_due(&t.priority, now))))
            }, Some(note.clone()))
            .await?;
        Ok(Response::new(pb::HandBackResponse {
            ticket: Some(ticket),
        }))
    }
}

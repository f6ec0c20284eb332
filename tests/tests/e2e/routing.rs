//! Key-user routing through the public APIs: the router, both desks, the
//! employee's side, every refusal.

use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::routing::v1 as rpb;
use kerndesk_proto::routing::v1::KeyUserRole;
use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use tonic::Code;

async fn with_key_users() -> TestApp {
    let app = spawn_app().await;
    app.seed().await;
    app.assign("ku1", "erp", KeyUserRole::Primary, 8).await;
    app.assign("e3", "erp", KeyUserRole::Deputy, 4).await;
    app
}

#[tokio::test]
async fn the_full_lifecycle_through_the_public_apis() {
    let app = with_key_users().await;
    let mut employee = app.tickets_as("e1", &[Role::Employee]);
    let mut ku = app.key_user_desk("ku1");
    let mut agent = app.supplier_desk("agent");

    let filed = file_ticket(&app, "e1", "r-1").await;
    let t = app.routed(filed.id).await;
    assert_eq!(t.status(), pb::TicketStatus::WithKeyUser);
    assert_eq!(t.assignee, "ku1");

    let queue = ku
        .list_my_queue(rpb::ListMyQueueRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mine = &queue.tickets[0];
    assert_eq!(mine.ticket.as_ref().unwrap().id, t.id);
    assert_eq!(mine.routing_reason, "PRIMARY_KEY_USER");
    assert!(mine.response_due_time.is_some() && mine.resolution_due_time.is_some());

    let accepted = ku
        .accept_ticket(rpb::AcceptTicketRequest {
            ticket_id: t.id,
            version: t.version,
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .ticket
        .unwrap();
    let waiting = ku
        .ask_employee(rpb::AskEmployeeRequest {
            ticket_id: t.id,
            version: accepted.version,
            question: "Welk complex?".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .ticket
        .unwrap();
    assert_eq!(waiting.status(), pb::TicketStatus::WaitingOnEmployee);
    let replied = employee
        .reply_to_ticket(pb::ReplyToTicketRequest {
            ticket_id: t.id,
            body: "Complex 12".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(replied.status(), pb::TicketStatus::WithKeyUser);

    let status = ku
        .escalate_ticket(rpb::EscalateTicketRequest {
            ticket_id: t.id,
            version: 0,
            triage_note: "help".into(),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["triage_note"]);
    let escalated = ku
        .escalate_ticket(rpb::EscalateTicketRequest {
            ticket_id: t.id,
            version: replied.version,
            triage_note: "Rechten gecontroleerd, cache geleegd; fout blijft".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(escalated.routing_reason, "ESCALATED_BY_KEY_USER");

    let list = agent
        .list_escalations(rpb::ListEscalationsRequest {
            unacknowledged_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.tickets.len(), 1);
    agent
        .acknowledge_escalation(rpb::AcknowledgeEscalationRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap();
    let status = agent
        .acknowledge_escalation(rpb::AcknowledgeEscalationRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);
    agent
        .post_update(rpb::PostUpdateRequest {
            ticket_id: t.id,
            note: "Patch staat klaar".into(),
        })
        .await
        .unwrap();
    let resolved = agent
        .resolve_escalation(rpb::ResolveEscalationRequest {
            ticket_id: t.id,
            version: 0,
            note: "Patch geïnstalleerd".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .ticket
        .unwrap();
    assert_eq!(resolved.status(), pb::TicketStatus::Resolved);

    let reopened = employee
        .reopen_ticket(pb::ReopenTicketRequest {
            ticket_id: t.id,
            version: resolved.version,
            reason: "Fout is terug".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(
        (reopened.status(), reopened.assignee.as_str()),
        (pb::TicketStatus::WithKeyUser, "ku1")
    );
    let done = ku
        .resolve_ticket(rpb::ResolveTicketRequest {
            ticket_id: t.id,
            version: reopened.version,
            kind: rpb::ResolutionKind::HowTo.into(),
            note: "Uitgelegd hoe de selectie werkt".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .ticket
        .unwrap();
    let closed = employee
        .close_ticket(pb::CloseTicketRequest {
            ticket_id: t.id,
            version: done.version,
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(closed.status(), pb::TicketStatus::Closed);

    assert_eq!(
        app.event_kinds(t.id).await,
        [
            "CREATED",
            "ROUTED",
            "ACCEPTED",
            "ASKED_EMPLOYEE",
            "EMPLOYEE_REPLIED",
            "ESCALATED",
            "ACKNOWLEDGED",
            "SUPPLIER_UPDATE",
            "RESOLVED",
            "REOPENED",
            "RESOLVED",
            "CLOSED"
        ]
    );
    // The desk's question, the reply and the resolutions are comments the
    // employee reads with the ticket.
    let comments = employee
        .get_ticket(pb::GetTicketRequest { id: t.id })
        .await
        .unwrap()
        .into_inner()
        .comments;
    assert_eq!(comments.len(), 5, "{comments:?}");
}

#[tokio::test]
async fn deputy_and_supplier_fallbacks() {
    let app = with_key_users().await;
    let now = chrono::Utc::now();
    let mut register = app.register_as("admin", &[Role::Admin]);
    let absent = |who: &str| rpb::RecordAbsenceRequest {
        employee: who.into(),
        start_time: Some(prost_types::Timestamp {
            seconds: now.timestamp() - 3600,
            nanos: 0,
        }),
        end_time: Some(prost_types::Timestamp {
            seconds: now.timestamp() + 86_400,
            nanos: 0,
        }),
        reason: "Vakantie".into(),
    };
    register.record_absence(absent("ku1")).await.unwrap();
    let t = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;
    assert_eq!(
        (t.status(), t.assignee.as_str()),
        (pb::TicketStatus::WithKeyUser, "e3")
    );

    register.record_absence(absent("e3")).await.unwrap();
    let t = app.routed(file_ticket(&app, "e1", "r-2").await.id).await;
    assert_eq!(t.status(), pb::TicketStatus::WithSupplier);
    let desk = app
        .supplier_desk("agent")
        .list_escalations(rpb::ListEscalationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(desk.tickets[0].routing_reason, "ALL_ABSENT");

    // No key user for Teams at all.
    let mut req = new_ticket("r-3", "Teams");
    req.application = "teams".into();
    req.module.clear();
    req.topic.clear();
    let teams = app
        .tickets_as("e1", &[Role::Employee])
        .create_ticket(req)
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let teams = app.routed(teams.id).await;
    assert_eq!(teams.status(), pb::TicketStatus::WithSupplier);
    // Nobody to hand it back to.
    let status = app
        .supplier_desk("agent")
        .hand_back(rpb::HandBackRequest {
            ticket_id: teams.id,
            version: 0,
            note: "Graag lokaal oppakken".into(),
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);
}

#[tokio::test]
async fn a_key_user_over_the_agreed_hours_gets_no_new_tickets() {
    let app = with_key_users().await;
    let first = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;
    assert_eq!(first.assignee, "ku1");
    // ku1 agreed 8 hours a week and logs them all.
    let mut ku = app.key_user_desk("ku1");
    for i in 0..2 {
        ku.log_time(rpb::LogTimeRequest {
            request_id: format!("t{i}"),
            ticket_id: first.id,
            minutes: 240,
            note: String::new(),
        })
        .await
        .unwrap();
    }
    let retry = ku
        .log_time(rpb::LogTimeRequest {
            request_id: "t1".into(),
            ticket_id: first.id,
            minutes: 240,
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        retry.total_minutes, 480,
        "a retried log is not counted twice"
    );
    let next = app.routed(file_ticket(&app, "e1", "r-2").await.id).await;
    assert_eq!(next.assignee, "e3", "to the deputy");
}

#[tokio::test]
async fn refusals_by_role_application_state_and_version() {
    let app = with_key_users().await;
    app.assign("e2", "teams", KeyUserRole::Primary, 4).await;
    let t = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;

    // An employee cannot use the desks or the register.
    let employee = [Role::Employee];
    let status = app
        .key_user_desk_as("e1", &employee)
        .list_my_queue(rpb::ListMyQueueRequest::default())
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);
    let status = app
        .supplier_desk_as("e1", &employee)
        .list_escalations(rpb::ListEscalationsRequest::default())
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);
    let status = app
        .register_as("ku1", &[Role::KeyUser])
        .list_assignments(rpb::ListAssignmentsRequest::default())
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);

    // The Teams key user cannot act on an ERP ticket.
    let status = app
        .key_user_desk("e2")
        .accept_ticket(rpb::AcceptTicketRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::NOT_YOURS);
    // The deputy may not act on the primary's ticket without a reassign.
    let status = app
        .key_user_desk("e3")
        .accept_ticket(rpb::AcceptTicketRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);

    let mut ku = app.key_user_desk("ku1");
    let status = ku
        .accept_ticket(rpb::AcceptTicketRequest {
            ticket_id: t.id,
            version: t.version + 3,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::Aborted, reason::VERSION_CONFLICT);
    ku.accept_ticket(rpb::AcceptTicketRequest {
        ticket_id: t.id,
        version: t.version,
    })
    .await
    .unwrap();
    let status = ku
        .accept_ticket(rpb::AcceptTicketRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);

    // Reassign only to a key user of the same application.
    let status = ku
        .reassign_ticket(rpb::ReassignTicketRequest {
            ticket_id: t.id,
            version: 0,
            to_employee: "e2".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["to_employee"]);
    let moved = ku
        .reassign_ticket(rpb::ReassignTicketRequest {
            ticket_id: t.id,
            version: 0,
            to_employee: "e3".into(),
            note: "Jij kent dit".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .ticket
        .unwrap();
    assert_eq!(moved.assignee, "e3");

    // An agent cannot see a ticket that was not escalated.
    let status = app
        .supplier_desk("agent")
        .acknowledge_escalation(rpb::AcknowledgeEscalationRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::NotFound, reason::NOT_FOUND);

    // Resolve needs a kind and a note; reply needs WAITING_ON_EMPLOYEE.
    let status = app
        .key_user_desk("e3")
        .resolve_ticket(rpb::ResolveTicketRequest {
            ticket_id: t.id,
            version: 0,
            kind: 0,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["kind", "note"]);
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .reply_to_ticket(pb::ReplyToTicketRequest {
            ticket_id: t.id,
            body: "Hier".into(),
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);
    // Only the reporter closes.
    let status = app
        .tickets_as("admin", &[Role::Admin])
        .close_ticket(pb::CloseTicketRequest {
            ticket_id: t.id,
            version: 0,
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::NOT_YOURS);
}

#[tokio::test]
async fn the_register_validates_and_upserts() {
    let app = spawn_app().await;
    app.seed().await;
    let mut register = app.register_as("admin", &[Role::Admin]);
    let status = register
        .assign_key_user(rpb::AssignKeyUserRequest {
            employee: "nobody".into(),
            application: "sap".into(),
            module: String::new(),
            role: 0,
            hours_per_week: 99,
        })
        .await
        .unwrap_err();
    assert_bad_fields(
        &status,
        &["employee", "application", "role", "hours_per_week"],
    );

    let out = register
        .import_assignments(rpb::ImportAssignmentsRequest {
            assignments: vec![
                rpb::AssignKeyUserRequest {
                    employee: "ku1".into(),
                    application: "erp".into(),
                    module: "huur".into(),
                    role: KeyUserRole::Primary.into(),
                    hours_per_week: 4,
                },
                rpb::AssignKeyUserRequest {
                    employee: "e3".into(),
                    application: "erp".into(),
                    module: String::new(),
                    role: KeyUserRole::Deputy.into(),
                    hours_per_week: 2,
                },
                rpb::AssignKeyUserRequest {
                    employee: "e3".into(),
                    application: "erp".into(),
                    module: "nope".into(),
                    role: KeyUserRole::Deputy.into(),
                    hours_per_week: 2,
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((out.created, out.refused.len()), (2, 1));
    assert!(out.refused[0].violations[0].starts_with("assignments[2].module"));
    let again = register
        .assign_key_user(rpb::AssignKeyUserRequest {
            employee: "ku1".into(),
            application: "erp".into(),
            module: "huur".into(),
            role: KeyUserRole::Primary.into(),
            hours_per_week: 6,
        })
        .await
        .unwrap()
        .into_inner()
        .assignment
        .unwrap();
    assert_eq!(again.hours_per_week, 6);
    let list = register
        .list_assignments(rpb::ListAssignmentsRequest {
            application: "erp".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.assignments.len(), 2, "updated in place");
    register
        .remove_assignment(rpb::RemoveAssignmentRequest { id: again.id })
        .await
        .unwrap();
    let status = register
        .remove_assignment(rpb::RemoveAssignmentRequest { id: again.id })
        .await
        .unwrap_err();
    assert_refused(&status, Code::NotFound, reason::NOT_FOUND);

    // A key user records only their own absence.
    let status = app
        .register_as("e3", &[Role::KeyUser])
        .record_absence(rpb::RecordAbsenceRequest {
            employee: "ku1".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            end_time: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 0,
            }),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::NOT_YOURS);
    let status = register
        .record_absence(rpb::RecordAbsenceRequest {
            employee: "ku1".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 0,
            }),
            end_time: Some(prost_types::Timestamp {
                seconds: 5,
                nanos: 0,
            }),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["end_time"]);
}

/// Calls every routing RPC; returns each refusal.
async fn call_every_routing_rpc(
    register: &mut Register,
    desk: &mut KeyUserDesk,
    supplier: &mut SupplierDesk,
) -> Vec<(&'static str, tonic::Status)> {
    let mut refusals = Vec::new();
    macro_rules! call {
        ($name:literal, $fut:expr) => {
            match $fut.await {
                Ok(_) => panic!("{} was not refused", $name),
                Err(status) => refusals.push(($name, status)),
            }
        };
    }
    let assign = rpb::AssignKeyUserRequest {
        employee: "ku1".into(),
        application: "erp".into(),
        module: String::new(),
        role: KeyUserRole::Primary.into(),
        hours_per_week: 4,
    };
    call!("AssignKeyUser", register.assign_key_user(assign.clone()));
    call!(
        "ListAssignments",
        register.list_assignments(rpb::ListAssignmentsRequest::default())
    );
    call!(
        "RemoveAssignment",
        register.remove_assignment(rpb::RemoveAssignmentRequest { id: 1 })
    );
    call!(
        "ImportAssignments",
        register.import_assignments(rpb::ImportAssignmentsRequest {
            assignments: vec![assign]
        })
    );
    call!(
        "RecordAbsence",
        register.record_absence(rpb::RecordAbsenceRequest {
            employee: "ku1".into(),
            ..Default::default()
        })
    );
    call!(
        "ListAbsences",
        register.list_absences(rpb::ListAbsencesRequest::default())
    );
    call!(
        "RemoveAbsence",
        register.remove_absence(rpb::RemoveAbsenceRequest { id: 1 })
    );
    call!(
        "ListMyQueue",
        desk.list_my_queue(rpb::ListMyQueueRequest::default())
    );
    call!(
        "AcceptTicket",
        desk.accept_ticket(rpb::AcceptTicketRequest {
            ticket_id: 1,
            version: 0
        })
    );
    call!(
        "ResolveTicket",
        desk.resolve_ticket(rpb::ResolveTicketRequest {
            ticket_id: 1,
            version: 0,
            kind: rpb::ResolutionKind::Fixed.into(),
            note: "x".into()
        })
    );
    call!(
        "AskEmployee",
        desk.ask_employee(rpb::AskEmployeeRequest {
            ticket_id: 1,
            version: 0,
            question: "x".into()
        })
    );
    call!(
        "ReassignTicket",
        desk.reassign_ticket(rpb::ReassignTicketRequest {
            ticket_id: 1,
            version: 0,
            to_employee: "e3".into(),
            note: String::new()
        })
    );
    call!(
        "EscalateTicket",
        desk.escalate_ticket(rpb::EscalateTicketRequest {
            ticket_id: 1,
            version: 0,
            triage_note: "Alles geprobeerd".into()
        })
    );
    call!(
        "LogTime",
        desk.log_time(rpb::LogTimeRequest {
            request_id: "t".into(),
            ticket_id: 1,
            minutes: 5,
            note: String::new()
        })
    );
    call!(
        "ListEscalations",
        supplier.list_escalations(rpb::ListEscalationsRequest::default())
    );
    call!(
        "AcknowledgeEscalation",
        supplier.acknowledge_escalation(rpb::AcknowledgeEscalationRequest {
            ticket_id: 1,
            version: 0
        })
    );
    call!(
        "PostUpdate",
        supplier.post_update(rpb::PostUpdateRequest {
            ticket_id: 1,
            note: "x".into()
        })
    );
    call!(
        "ResolveEscalation",
        supplier.resolve_escalation(rpb::ResolveEscalationRequest {
            ticket_id: 1,
            version: 0,
            note: "x".into()
        })
    );
    call!(
        "HandBack",
        supplier.hand_back(rpb::HandBackRequest {
            ticket_id: 1,
            version: 0,
            note: "x".into()
        })
    );
    refusals
}

#[tokio::test]
async fn every_routing_rpc_is_authenticated_and_authorised_by_role() {
    let app = with_key_users().await;
    let ticket = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;
    assert_eq!(ticket.id, 1, "the RPCs below name ticket 1");

    use kerndesk_proto::routing::v1::key_user_desk_client::KeyUserDeskClient;
    use kerndesk_proto::routing::v1::key_user_register_client::KeyUserRegisterClient;
    use kerndesk_proto::routing::v1::supplier_desk_client::SupplierDeskClient;
    let anonymous = Bearer::none();
    let refusals = call_every_routing_rpc(
        &mut KeyUserRegisterClient::with_interceptor(app.channel.clone(), anonymous.clone()),
        &mut KeyUserDeskClient::with_interceptor(app.channel.clone(), anonymous.clone()),
        &mut SupplierDeskClient::with_interceptor(app.channel.clone(), anonymous),
    )
    .await;
    assert_eq!(refusals.len(), 19);
    for (rpc, status) in &refusals {
        assert_eq!(status.code(), Code::Unauthenticated, "{rpc}");
    }

    // A plain employee may call none of them.
    let employee = [Role::Employee];
    let refusals = call_every_routing_rpc(
        &mut app.register_as("e1", &employee),
        &mut app.key_user_desk_as("e1", &employee),
        &mut app.supplier_desk_as("e1", &employee),
    )
    .await;
    for (rpc, status) in &refusals {
        assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}");
    }

    // Nothing changed.
    assert_eq!(app.event_kinds(1).await, ["CREATED", "ROUTED"]);
    assert_eq!(app.count("key_user_assignments").await, 2);
    assert_eq!(app.count("time_entries").await, 0);
}

//! Filing, reading, commenting, rating and withdrawing tickets.

use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use tonic::Code;

async fn file(tickets: &mut Tickets, req: pb::CreateTicketRequest) -> pb::Ticket {
    tickets
        .create_ticket(req)
        .await
        .expect("ticket filed")
        .into_inner()
        .ticket
        .expect("ticket in response")
}

#[tokio::test]
async fn an_employee_files_a_ticket_and_reads_it_back() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut tickets = app.tickets_as("e1", &[Role::Employee]);
    let mut req = new_ticket("r-1", "  Huurverhoging terugwerkende kracht  ");
    req.impact = pb::Impact::High.into();
    req.urgency = pb::Urgency::High.into();
    req.channel = pb::Channel::Phone.into();
    let t = file(&mut tickets, req).await;

    assert!(t.id > 0);
    assert_eq!(
        t.title, "Huurverhoging terugwerkende kracht",
        "title is trimmed"
    );
    assert_eq!(t.status(), pb::TicketStatus::New);
    assert_eq!(t.priority(), pb::Priority::Critical, "HIGH x HIGH");
    assert_eq!(t.channel(), pb::Channel::Phone);
    assert_eq!(
        (t.application.as_str(), t.module.as_str(), t.topic.as_str()),
        ("erp", "huur", "werkwijze")
    );
    assert_eq!((t.reporter.as_str(), t.created_by.as_str()), ("e1", "e1"));
    assert_eq!(t.department, "verhuur", "department from the directory");
    assert_eq!(t.version, 1);
    assert!(t.assignee.is_empty() && t.rating.is_none());

    let got = tickets
        .get_ticket(pb::GetTicketRequest { id: t.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.ticket.unwrap(), t);
    assert!(got.comments.is_empty());

    // The audit trail has the creation, by the reporter.
    assert_eq!(app.count("ticket_events").await, 1);
}

#[tokio::test]
async fn defaults_apply_when_optional_enums_are_unset() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut tickets = app.tickets_as("e1", &[Role::Employee]);
    let mut req = new_ticket("r-1", "Geen module of onderwerp");
    req.module.clear();
    req.topic.clear();
    let t = file(&mut tickets, req).await;
    assert_eq!(t.impact(), pb::Impact::Medium);
    assert_eq!(t.urgency(), pb::Urgency::Medium);
    assert_eq!(t.priority(), pb::Priority::Medium);
    assert_eq!(t.channel(), pb::Channel::Portal);
    assert!(t.module.is_empty() && t.topic.is_empty());
}

#[tokio::test]
async fn bad_input_names_every_field_and_writes_nothing() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut tickets = app.tickets_as("e1", &[Role::Employee]);

    let status = tickets
        .create_ticket(pb::CreateTicketRequest {
            request_id: "has spaces".into(),
            application: "ERP!".into(),
            title: "x".into(),
            description: "   ".into(),
            category: 0,
            impact: 17,
            urgency: -1,
            channel: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_bad_fields(
        &status,
        &[
            "request_id",
            "application",
            "title",
            "description",
            "category",
            "impact",
            "urgency",
            "channel",
        ],
    );
    assert!(
        status.message().contains("title"),
        "message names fields: {}",
        status.message()
    );

    // Syntactically fine, but the catalogue does not know these.
    let mut req = new_ticket("r-2", "Onbekende module");
    req.module = "nope".into();
    req.topic = "nope".into();
    let status = tickets.create_ticket(req).await.unwrap_err();
    assert_bad_fields(&status, &["module", "topic"]);

    let mut req = new_ticket("r-3", "Onbekende applicatie");
    req.application = "sap".into();
    let status = tickets.create_ticket(req).await.unwrap_err();
    assert_bad_fields(&status, &["application"]);

    let mut req = new_ticket("r-4", "Inactieve applicatie");
    req.application = "fax".into();
    req.module.clear();
    req.topic.clear();
    let status = tickets.create_ticket(req).await.unwrap_err();
    assert_bad_fields(&status, &["application"]);

    let mut req = new_ticket("r-5", "Te lang");
    req.description = "x".repeat(10_001);
    let status = tickets.create_ticket(req).await.unwrap_err();
    assert_bad_fields(&status, &["description"]);

    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("ticket_events").await, 0);
    assert_eq!(app.count("idempotency_records").await, 0);
}

#[tokio::test]
async fn a_subject_outside_the_directory_cannot_file() {
    let app = spawn_intake().await;
    app.seed().await;
    for subject in ["stranger", "gone"] {
        let status = app
            .tickets_as(subject, &[Role::Employee])
            .create_ticket(new_ticket("r-1", "Mag ik melden?"))
            .await
            .unwrap_err();
        assert_refused(&status, Code::FailedPrecondition, reason::NOT_IN_DIRECTORY);
    }
    assert_eq!(app.count("tickets").await, 0);
}

#[tokio::test]
async fn a_key_user_files_on_behalf_of_a_colleague() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut key_user = app.tickets_as("ku1", &[Role::Employee, Role::KeyUser]);
    let mut req = new_ticket("r-1", "Collega belde: ERP hangt");
    req.on_behalf_of = "e2".into();
    req.channel = pb::Channel::Phone.into();
    let t = file(&mut key_user, req).await;
    assert_eq!((t.reporter.as_str(), t.created_by.as_str()), ("e2", "ku1"));
    assert_eq!(t.department, "verhuur", "the colleague's department");

    // The colleague sees it as theirs.
    let mine = app
        .tickets_as("e2", &[Role::Employee])
        .get_ticket(pb::GetTicketRequest { id: t.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.ticket.unwrap().id, t.id);

    // Unknown or inactive colleagues are bad input.
    for who in ["nobody", "gone"] {
        let mut req = new_ticket(&format!("r-{who}"), "Voor wie?");
        req.on_behalf_of = who.into();
        let status = key_user.create_ticket(req).await.unwrap_err();
        assert_bad_fields(&status, &["on_behalf_of"]);
    }

    // An employee may not file for someone else.
    let mut req = new_ticket("r-2", "Voor mijn buurman");
    req.on_behalf_of = "e2".into();
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .create_ticket(req)
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);
    assert_eq!(app.count("tickets").await, 1);
}

#[tokio::test]
async fn employees_only_see_their_own_tickets() {
    let app = spawn_intake().await;
    app.seed().await;
    let t = file(
        &mut app.tickets_as("e1", &[Role::Employee]),
        new_ticket("r-1", "Van e1"),
    )
    .await;

    for (subject, roles) in [
        ("e2", vec![Role::Employee]),
        ("e3", vec![Role::KeyUser]),
        ("e3", vec![Role::SupplierAgent]),
        ("e3", vec![Role::ContractManager]),
    ] {
        let status = app
            .tickets_as(subject, &roles)
            .get_ticket(pb::GetTicketRequest { id: t.id })
            .await
            .unwrap_err();
        assert_refused(&status, Code::NotFound, reason::NOT_FOUND);
    }
    // A missing ticket looks the same as someone else's.
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .get_ticket(pb::GetTicketRequest { id: t.id + 1000 })
        .await
        .unwrap_err();
    assert_refused(&status, Code::NotFound, reason::NOT_FOUND);

    // An admin sees every ticket.
    app.tickets_as("admin", &[Role::Admin])
        .get_ticket(pb::GetTicketRequest { id: t.id })
        .await
        .unwrap();
    // A supplier agent sees tickets that are with the supplier.
    app.set_status_as_other_service(t.id, "WITH_SUPPLIER").await;
    app.tickets_as("agent", &[Role::SupplierAgent])
        .get_ticket(pb::GetTicketRequest { id: t.id })
        .await
        .unwrap();
}

#[tokio::test]
async fn comments_are_added_once_and_shown_in_order() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let t = file(&mut e1, new_ticket("r-1", "Met opmerkingen")).await;
    let add = |request_id: &str, body: &str| pb::AddCommentRequest {
        request_id: request_id.into(),
        ticket_id: t.id,
        body: body.into(),
    };
    let first = e1
        .add_comment(add("c-1", "Het gaat om complex 12"))
        .await
        .unwrap()
        .into_inner()
        .comment
        .unwrap();
    let again = e1
        .add_comment(add("c-1", "Het gaat om complex 12"))
        .await
        .unwrap()
        .into_inner()
        .comment
        .unwrap();
    assert_eq!(first, again, "a retry returns the first comment");
    let status = e1.add_comment(add("c-1", "Iets anders")).await.unwrap_err();
    assert_refused(&status, Code::AlreadyExists, reason::REQUEST_ID_REUSED);
    e1.add_comment(add("c-2", "En ook complex 14"))
        .await
        .unwrap();

    let got = e1
        .get_ticket(pb::GetTicketRequest { id: t.id })
        .await
        .unwrap()
        .into_inner();
    let bodies: Vec<_> = got.comments.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies, ["Het gaat om complex 12", "En ook complex 14"]);
    assert_eq!(got.comments[0].author, "e1");

    let status = e1.add_comment(add("c-3", "   ")).await.unwrap_err();
    assert_bad_fields(&status, &["body"]);
    let status = e1
        .add_comment(pb::AddCommentRequest {
            request_id: String::new(),
            ticket_id: t.id,
            body: String::new(),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["request_id", "body"]);

    let status = app
        .tickets_as("e2", &[Role::Employee])
        .add_comment(add("c-4", "Ik bemoei me ermee"))
        .await
        .unwrap_err();
    assert_refused(&status, Code::NotFound, reason::NOT_FOUND);

    e1.withdraw_ticket(pb::WithdrawTicketRequest {
        ticket_id: t.id,
        ..Default::default()
    })
    .await
    .unwrap();
    let status = e1.add_comment(add("c-5", "Nog iets")).await.unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);
    assert_eq!(app.count("comments").await, 2);
}

#[tokio::test]
async fn the_reporter_rates_once_after_resolution() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let t = file(&mut e1, new_ticket("r-1", "Graag beoordelen")).await;
    let rate = |score: i32| pb::RateTicketRequest {
        ticket_id: t.id,
        score,
        remark: "Snel geholpen".into(),
    };

    let status = e1.rate_ticket(rate(5)).await.unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);

    app.set_status_as_other_service(t.id, "RESOLVED").await;
    for bad in [0, 6, -1] {
        let status = e1.rate_ticket(rate(bad)).await.unwrap_err();
        assert_bad_fields(&status, &["score"]);
    }
    let status = e1
        .rate_ticket(pb::RateTicketRequest {
            ticket_id: t.id,
            score: 4,
            remark: "x".repeat(2001),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["remark"]);

    // Someone who can see the ticket but did not report it.
    let status = app
        .tickets_as("admin", &[Role::Admin])
        .rate_ticket(rate(1))
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::NOT_YOURS);

    let rated = e1
        .rate_ticket(rate(4))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let rating = rated.rating.expect("rating shown");
    assert_eq!((rating.score, rating.remark.as_str()), (4, "Snel geholpen"));
    assert_eq!(
        rated.version,
        t.version + 2,
        "status change and rating each bump the version"
    );

    let status = e1.rate_ticket(rate(5)).await.unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::ALREADY_RATED);
    assert_eq!(app.count("ratings").await, 1);
}

#[tokio::test]
async fn the_reporter_withdraws_an_open_ticket_with_optimistic_concurrency() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let t = file(&mut e1, new_ticket("r-1", "Toch niet nodig")).await;

    let status = app
        .tickets_as("e2", &[Role::Employee])
        .withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: t.id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::NotFound, reason::NOT_FOUND);
    let status = app
        .tickets_as("admin", &[Role::Admin])
        .withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: t.id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::NOT_YOURS);

    let status = e1
        .withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: t.id,
            version: t.version + 5,
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::Aborted, reason::VERSION_CONFLICT);

    let withdrawn = e1
        .withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: t.id,
            version: t.version,
            reason: "Zelf opgelost".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(withdrawn.status(), pb::TicketStatus::Withdrawn);
    assert_eq!(withdrawn.version, t.version + 1);

    let status = e1
        .withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: t.id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);

    // A resolved ticket can no longer be withdrawn either.
    let t2 = file(&mut e1, new_ticket("r-2", "Opgelost door key user")).await;
    app.set_status_as_other_service(t2.id, "RESOLVED").await;
    let status = e1
        .withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: t2.id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::INVALID_STATE);

    // created, withdrawn, created, test transition to RESOLVED
    assert_eq!(app.count("ticket_events").await, 4);
}

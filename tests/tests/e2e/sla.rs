//! The SLA clock on a clock the test moves: business hours, a weekend and
//! Easter Monday, the escalation chain, the pause while waiting on the
//! employee. No sleeps: the test moves time and runs the clock's check.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::routing::v1 as rpb;
use kerndesk_proto::routing::v1::KeyUserRole;
use kerndesk_routing::{Settings, sla_clock};
use kerndesk_runtime::auth::Role;
use kerndesk_runtime::clock::ManualClock;
use kerndesk_tests::*;

/// Local time in Amsterdam.
fn ams(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Amsterdam
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

async fn app_at(clock: &Arc<ManualClock>) -> TestApp {
    // The background check runs once at start, then the test drives it.
    let app = spawn_app_at(
        clock.clone(),
        &[("KERNDESK__ROUTING__SLA_CHECK_INTERVAL_SECS", "86400")],
    )
    .await;
    app.seed().await;
    app.assign("ku1", "erp", KeyUserRole::Primary, 0).await;
    app.assign("e3", "erp", KeyUserRole::Deputy, 0).await;
    app
}

async fn desk_view(app: &TestApp, key_user: &str, id: i64) -> Option<rpb::DeskTicket> {
    app.key_user_desk(key_user)
        .list_my_queue(rpb::ListMyQueueRequest::default())
        .await
        .unwrap()
        .into_inner()
        .tickets
        .into_iter()
        .find(|t| t.ticket.as_ref().unwrap().id == id)
}

#[tokio::test]
async fn an_unaccepted_ticket_goes_to_the_deputy_then_the_supplier_in_business_hours() {
    // Friday 3 April 2026, 14:00: Easter weekend and Easter Monday follow.
    let clock = Arc::new(ManualClock::new(ams(4, 3, 14, 0)));
    let app = app_at(&clock).await;
    let settings = Settings::from_config(&app.ctx.config);
    let t = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;
    assert_eq!(
        (t.assignee.as_str(), t.priority()),
        ("ku1", pb::Priority::Medium)
    );

    // MEDIUM: 8 business hours. Friday 14:00-17:00 is 3 h; Saturday, Sunday
    // and Easter Monday do not count; Tuesday 08:30 + 5 h = 13:30.
    let view = desk_view(&app, "ku1", t.id).await.unwrap();
    assert_eq!(view.response_due_time, Some(ts(ams(4, 7, 13, 30))));

    clock.set(ams(4, 6, 16, 0)); // Easter Monday afternoon: not late yet
    assert_eq!(
        sla_clock::escalate_overdue(&app.ctx, &settings)
            .await
            .unwrap(),
        0
    );
    clock.set(ams(4, 7, 13, 29));
    assert_eq!(
        sla_clock::escalate_overdue(&app.ctx, &settings)
            .await
            .unwrap(),
        0
    );

    clock.set(ams(4, 7, 13, 31));
    assert_eq!(
        sla_clock::escalate_overdue(&app.ctx, &settings)
            .await
            .unwrap(),
        1
    );
    let view = desk_view(&app, "e3", t.id)
        .await
        .expect("with the deputy now");
    assert_eq!(view.routing_reason, "SLA_RESPONSE_MISSED");
    // A fresh 8 business hours for the deputy: Wednesday 13:01.
    assert_eq!(view.response_due_time, Some(ts(ams(4, 8, 13, 1))));

    clock.set(ams(4, 8, 13, 2));
    assert_eq!(
        sla_clock::escalate_overdue(&app.ctx, &settings)
            .await
            .unwrap(),
        1
    );
    let escalations = app
        .supplier_desk("agent")
        .list_escalations(rpb::ListEscalationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(escalations.tickets.len(), 1);
    assert_eq!(escalations.tickets[0].routing_reason, "SLA_RESPONSE_MISSED");
    assert_eq!(
        app.event_kinds(t.id).await,
        ["CREATED", "ROUTED", "SLA_TO_DEPUTY", "SLA_TO_SUPPLIER"]
    );

    // Nothing more to do: a ticket with the supplier is not the key users' clock.
    clock.set(ams(4, 20, 12, 0));
    assert_eq!(
        sla_clock::escalate_overdue(&app.ctx, &settings)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn accepted_tickets_are_not_escalated_and_waiting_pauses_the_clock() {
    let clock = Arc::new(ManualClock::new(ams(11, 24, 9, 0))); // Tuesday
    let app = app_at(&clock).await;
    let settings = Settings::from_config(&app.ctx.config);
    let t = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;
    let mut ku = app.key_user_desk("ku1");
    ku.accept_ticket(rpb::AcceptTicketRequest {
        ticket_id: t.id,
        version: 0,
    })
    .await
    .unwrap();
    let before = desk_view(&app, "ku1", t.id).await.unwrap();
    // MEDIUM: 40 business hours to resolve, from Tuesday 09:00: 8 + 8.5 +
    // 8.5 + 8.5 to Friday evening, 6.5 more on Monday: 30 November 15:00.
    assert_eq!(before.resolution_due_time, Some(ts(ams(11, 30, 15, 0))));

    clock.set(ams(11, 30, 12, 0));
    assert_eq!(
        sla_clock::escalate_overdue(&app.ctx, &settings)
            .await
            .unwrap(),
        0,
        "accepted in time"
    );

    // Asked on Monday 30 November 12:00, answered Tuesday 1 December 12:00:
    // 8.5 business hours of waiting move the resolution target later by 8.5.
    app.key_user_desk("ku1")
        .ask_employee(rpb::AskEmployeeRequest {
            ticket_id: t.id,
            version: 0,
            question: "Welk complex?".into(),
        })
        .await
        .unwrap();
    clock.set(ams(12, 1, 12, 0));
    app.tickets_as("e1", &[Role::Employee])
        .reply_to_ticket(pb::ReplyToTicketRequest {
            ticket_id: t.id,
            body: "Complex 12".into(),
        })
        .await
        .unwrap();
    let after = desk_view(&app, "ku1", t.id).await.unwrap();
    // 30 November 15:00 + 8.5 business hours = 1 December 15:00.
    assert_eq!(after.resolution_due_time, Some(ts(ams(12, 1, 15, 0))));
}

#[tokio::test]
async fn reopening_is_possible_only_within_the_configured_days() {
    let clock = Arc::new(ManualClock::new(ams(11, 2, 10, 0)));
    let app = spawn_app_at(clock.clone(), &[("KERNDESK__ROUTING__REOPEN_DAYS", "14")]).await;
    app.seed().await;
    app.assign("ku1", "erp", KeyUserRole::Primary, 0).await;
    let resolve = |id: i64| rpb::ResolveTicketRequest {
        ticket_id: id,
        version: 0,
        kind: rpb::ResolutionKind::HowTo.into(),
        note: "Uitgelegd".into(),
    };
    let reopen = |id: i64| pb::ReopenTicketRequest {
        ticket_id: id,
        version: 0,
        reason: "Werkt nog niet".into(),
    };

    let early = app.routed(file_ticket(&app, "e1", "r-1").await.id).await;
    let late = app.routed(file_ticket(&app, "e1", "r-2").await.id).await;
    app.key_user_desk("ku1")
        .resolve_ticket(resolve(early.id))
        .await
        .unwrap();
    app.key_user_desk("ku1")
        .resolve_ticket(resolve(late.id))
        .await
        .unwrap();

    clock.set(ams(11, 15, 10, 0)); // 13 days later
    let reopened = app
        .tickets_as("e1", &[Role::Employee])
        .reopen_ticket(reopen(early.id))
        .await
        .unwrap();
    assert_eq!(
        reopened.into_inner().ticket.unwrap().status(),
        pb::TicketStatus::WithKeyUser
    );

    clock.set(ams(11, 17, 10, 0)); // 15 days later
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .reopen_ticket(reopen(late.id))
        .await
        .unwrap_err();
    assert_refused(
        &status,
        tonic::Code::FailedPrecondition,
        reason::INVALID_STATE,
    );
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .reopen_ticket(pb::ReopenTicketRequest {
            ticket_id: late.id,
            version: 0,
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["reason"]);
}

//! ListTickets: visibility, filters and keyset paging (AIP-158).

use std::collections::HashSet;

use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use tonic::Code;

async fn list_all(client: &mut Tickets, mut req: pb::ListTicketsRequest) -> Vec<pb::Ticket> {
    let mut all = Vec::new();
    loop {
        let page = client.list_tickets(req.clone()).await.unwrap().into_inner();
        all.extend(page.tickets);
        if page.next_page_token.is_empty() {
            return all;
        }
        req.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn lists_show_what_the_caller_may_see_newest_first() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let mut e2 = app.tickets_as("e2", &[Role::Employee]);
    for i in 0..3 {
        e1.create_ticket(new_ticket(&format!("a{i}"), "Van e1"))
            .await
            .unwrap();
        e2.create_ticket(new_ticket(&format!("b{i}"), "Van e2"))
            .await
            .unwrap();
    }
    let mine = list_all(&mut e1, pb::ListTicketsRequest::default()).await;
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|t| t.reporter == "e1"));
    let ids: Vec<_> = mine.iter().map(|t| t.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");

    // Asking for someone else's tickets yields nothing, not an error.
    let theirs = list_all(
        &mut e1,
        pb::ListTicketsRequest {
            reporter: "e2".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(theirs.is_empty());

    let mut admin = app.tickets_as("admin", &[Role::Admin]);
    assert_eq!(
        list_all(&mut admin, pb::ListTicketsRequest::default())
            .await
            .len(),
        6
    );
    let e2s = list_all(
        &mut admin,
        pb::ListTicketsRequest {
            reporter: "e2".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(e2s.len(), 3);
}

#[tokio::test]
async fn filters_on_status_application_and_creation_time() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let erp = e1
        .create_ticket(new_ticket("r1", "ERP"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let mut teams = new_ticket("r2", "Teams");
    teams.application = "teams".into();
    teams.module.clear();
    teams.topic = "vergaderen".into();
    let teams = e1
        .create_ticket(teams)
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    app.set_status_as_other_service(erp.id, "RESOLVED").await;

    let by_app = list_all(
        &mut e1,
        pb::ListTicketsRequest {
            application: "teams".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_app.iter().map(|t| t.id).collect::<Vec<_>>(), [teams.id]);

    let resolved = list_all(
        &mut e1,
        pb::ListTicketsRequest {
            statuses: vec![pb::TicketStatus::Resolved.into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(resolved.iter().map(|t| t.id).collect::<Vec<_>>(), [erp.id]);

    let created = teams.create_time.unwrap();
    let before = list_all(
        &mut e1,
        pb::ListTicketsRequest {
            created_before: Some(created),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(before.iter().map(|t| t.id).collect::<Vec<_>>(), [erp.id]);
    let from = list_all(
        &mut e1,
        pb::ListTicketsRequest {
            created_after: Some(created),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(from.iter().map(|t| t.id).collect::<Vec<_>>(), [teams.id]);

    let status = e1
        .list_tickets(pb::ListTicketsRequest {
            statuses: vec![0, 42],
            application: "Not Valid".into(),
            reporter: "bad id!".into(),
            created_after: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -5,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_bad_fields(
        &status,
        &[
            "statuses[0]",
            "statuses[1]",
            "application",
            "reporter",
            "created_after",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paging_never_skips_or_repeats_while_tickets_are_being_created() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let mut before = HashSet::new();
    for i in 0..45 {
        let t = e1
            .create_ticket(new_ticket(&format!("pre-{i}"), "Bestaand"))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        before.insert(t.id);
    }
    // Another client keeps filing while we page.
    let writer = {
        let mut client = app.tickets_as("e1", &[Role::Employee]);
        tokio::spawn(async move {
            for i in 0..30 {
                client
                    .create_ticket(new_ticket(&format!("during-{i}"), "Tijdens"))
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    let mut req = pb::ListTicketsRequest {
        page_size: 4,
        ..Default::default()
    };
    loop {
        let page = e1.list_tickets(req.clone()).await.unwrap().into_inner();
        assert!(page.tickets.len() <= 4);
        seen.extend(page.tickets.iter().map(|t| t.id));
        tokio::task::yield_now().await;
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    writer.await.unwrap();
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no ticket repeated");
    assert!(
        before.is_subset(&unique),
        "no ticket that existed was skipped"
    );
}

#[tokio::test]
async fn page_tokens_and_sizes_are_checked() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    for i in 0..3 {
        e1.create_ticket(new_ticket(&format!("r{i}"), "Pagina"))
            .await
            .unwrap();
    }
    let page = e1
        .list_tickets(pb::ListTicketsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.tickets.len(), 1);
    assert!(!page.next_page_token.is_empty());

    // Same token, other filters.
    let status = e1
        .list_tickets(pb::ListTicketsRequest {
            page_size: 1,
            page_token: page.next_page_token.clone(),
            application: "teams".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::InvalidArgument, reason::INVALID_PAGE_TOKEN);
    assert_eq!(bad_fields(&status), ["page_token"]);

    // Someone else's token.
    let status = app
        .tickets_as("e2", &[Role::Employee])
        .list_tickets(pb::ListTicketsRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::InvalidArgument, reason::INVALID_PAGE_TOKEN);

    let status = e1
        .list_tickets(pb::ListTicketsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::InvalidArgument, reason::INVALID_PAGE_TOKEN);

    for size in [-1, 501] {
        let status = e1
            .list_tickets(pb::ListTicketsRequest {
                page_size: size,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_bad_fields(&status, &["page_size"]);
    }
}

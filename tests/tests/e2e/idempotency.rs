//! AIP-155: a retried create returns the first result; nothing is done twice.

use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use tonic::Code;

#[tokio::test]
async fn a_retry_returns_the_first_ticket_and_a_changed_payload_is_refused() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let first = e1
        .create_ticket(new_ticket("same-id", "Eerste poging"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let retry = e1
        .create_ticket(new_ticket("same-id", "Eerste poging"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(first, retry);

    let status = e1
        .create_ticket(new_ticket("same-id", "Andere titel"))
        .await
        .unwrap_err();
    assert_refused(&status, Code::AlreadyExists, reason::REQUEST_ID_REUSED);

    // Request ids belong to their caller: another employee's "same-id" is new.
    let other = app
        .tickets_as("e2", &[Role::Employee])
        .create_ticket(new_ticket("same-id", "Eerste poging"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(app.count("tickets").await, 2);
    assert_eq!(app.count("ticket_events").await, 2);
}

#[tokio::test]
async fn a_retry_after_the_catalogue_changed_still_returns_the_ticket() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);
    let first = e1
        .create_ticket(new_ticket("r-1", "Voor de wijziging"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let mut apps = seed_applications();
    apps.applications[0].active = false;
    app.directory_as("admin", &[Role::Admin])
        .upsert_applications(apps)
        .await
        .unwrap();
    let retry = e1
        .create_ticket(new_ticket("r-1", "Voor de wijziging"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(first.id, retry.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_with_one_request_id_make_one_ticket() {
    let app = spawn_intake().await;
    app.seed().await;
    let calls = (0..50).map(|_| {
        let mut client = app.tickets_as("e1", &[Role::Employee]);
        tokio::spawn(async move {
            client
                .create_ticket(new_ticket("storm", "Vijftig keer tegelijk"))
                .await
        })
    });
    let mut ids = Vec::new();
    for call in futures::future::join_all(calls).await {
        let ticket = call
            .unwrap()
            .expect("every call succeeds")
            .into_inner()
            .ticket
            .unwrap();
        ids.push(ticket.id);
    }
    ids.dedup();
    assert_eq!(
        ids.len(),
        1,
        "every response names the same ticket: {ids:?}"
    );
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("ticket_events").await, 1);
    assert_eq!(app.count("idempotency_records").await, 1);

    let listed = app
        .tickets_as("e1", &[Role::Employee])
        .list_tickets(pb::ListTicketsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_distinct_ids_all_land() {
    let app = spawn_intake().await;
    app.seed().await;
    let calls = (0..40).map(|i| {
        let mut client = app.tickets_as(if i % 2 == 0 { "e1" } else { "e2" }, &[Role::Employee]);
        tokio::spawn(async move {
            client
                .create_ticket(new_ticket(&format!("r-{i}"), "Druk"))
                .await
        })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().expect("acknowledged");
    }
    assert_eq!(app.count("tickets").await, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_overlapping_request_ids_neither_fail_nor_duplicate() {
    let app = spawn_intake().await;
    app.seed().await;
    // 16 clients each send the same 10 new requests at once, each client in
    // another order: concurrent batches claim overlapping request ids that
    // are all still in flight. (The writer claims in key order so that two
    // such batches cannot deadlock; this test cannot force that
    // interleaving, it checks the outcome.)
    let calls = (0..16)
        .flat_map(|client| (0..10).map(move |i| (client, (i * 7 + client * 3) % 10)))
        .map(|(_, n)| {
            let mut tickets = app.tickets_as("e1", &[Role::Employee]);
            tokio::spawn(async move {
                let t = tickets
                    .create_ticket(new_ticket(&format!("retry-{n}"), &format!("Vraag {n}")))
                    .await
                    .expect("a retry never fails")
                    .into_inner()
                    .ticket
                    .unwrap();
                vec![(n, t.id)]
            })
        });
    let mut by_request = std::collections::HashMap::new();
    for call in futures::future::join_all(calls).await {
        for (n, id) in call.unwrap() {
            assert_eq!(
                *by_request.entry(n).or_insert(id),
                id,
                "request {n} answered with two tickets"
            );
        }
    }
    assert_eq!(by_request.len(), 10);
    assert_eq!(app.count("tickets").await, 10);
}

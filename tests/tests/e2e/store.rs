//! Guarantees the database itself keeps.

use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use sea_orm::ConnectionTrait;

#[tokio::test]
async fn the_audit_trail_cannot_be_rewritten() {
    let app = spawn_intake().await;
    app.seed().await;
    app.tickets_as("e1", &[Role::Employee])
        .create_ticket(new_ticket("r", "Audit"))
        .await
        .unwrap();
    let db = app.ctx.store.connection();
    assert!(
        db.execute_unprepared("UPDATE ticket_events SET actor = 'someone-else'")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM ticket_events")
            .await
            .is_err()
    );
    assert_eq!(app.count("ticket_events").await, 1);
}

#[tokio::test]
async fn migrating_again_is_a_no_op() {
    let app = spawn_intake().await;
    app.ctx.store.migrate().await.unwrap();
    let applied = app.ctx.store.applied_migrations().await.unwrap();
    use sea_orm_migration::MigratorTrait;
    let defined = kerndesk_store::migration::Migrator::migrations().len();
    assert_eq!(applied.len(), defined, "{applied:?}");
    assert!(defined >= 6);
}

/// On PostgreSQL, filing a ticket notifies `kerndesk_new_ticket` with its id
/// when (and only when) the creating transaction commits. The router of the
/// routing service listens there. SQLite has no notifications.
#[tokio::test]
async fn filing_a_ticket_notifies_the_router_on_postgres() {
    use sea_orm::sqlx::postgres::PgListener;

    let app = spawn_intake().await;
    if !app.db.is_postgres() {
        return;
    }
    app.seed().await;
    let mut listener = PgListener::connect(&app.db.url).await.unwrap();
    listener
        .listen_all([
            kerndesk_store::NEW_TICKET_CHANNEL,
            kerndesk_store::TICKET_EVENT_CHANNEL,
        ])
        .await
        .unwrap();
    let mut e1 = app.tickets_as("e1", &[Role::Employee]);

    // A refused call commits nothing, so notifies nothing.
    let mut bad = new_ticket("bad", "Onbekend");
    bad.application = "sap".into();
    e1.create_ticket(bad).await.unwrap_err();

    let t = e1
        .create_ticket(new_ticket("r", "Meld het de router"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
            .await
            .expect("notification within 5 s")
            .unwrap();
        got.push((n.channel().to_owned(), n.payload().to_owned()));
    }
    got.sort();
    assert_eq!(
        got,
        [
            (
                kerndesk_store::NEW_TICKET_CHANNEL.to_owned(),
                t.id.to_string()
            ),
            (
                kerndesk_store::TICKET_EVENT_CHANNEL.to_owned(),
                t.id.to_string()
            ),
        ]
    );
}

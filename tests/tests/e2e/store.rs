//! Guarantees the database itself keeps.

use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use sea_orm::ConnectionTrait;

#[tokio::test]
async fn the_audit_trail_cannot_be_rewritten() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    app.ctx.store.migrate().await.unwrap();
    let applied = app.ctx.store.applied_migrations().await.unwrap();
    assert_eq!(applied.len(), 4, "{applied:?}");
}

//! End-to-end tests: real servers on real listeners, real tonic clients, a
//! fresh database per test (SQLite, or PostgreSQL with
//! KERNDESK_TEST_DATABASE_URL).

mod e2e {
    mod auth;
    mod directory;
    mod idempotency;
    mod listing;
    mod routing;
    mod server;
    mod sla;
    mod store;
    mod tickets;
}

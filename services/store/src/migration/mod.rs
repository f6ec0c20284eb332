//! Schema migrations, one per file (sea-orm-migration names a migration after
//! its file). The same statements run on SQLite and PostgreSQL; where the two
//! differ (triggers), the migration says so.

use sea_orm_migration::prelude::*;

mod m20261127_000001_create_directory;
mod m20261127_000002_create_tickets;
mod m20261127_000003_create_idempotency_records;
mod m20261127_000004_make_ticket_events_append_only;
mod m20261127_000005_create_key_user_register;
mod m20261127_000006_add_ticket_routing_columns;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_directory::Migration),
            Box::new(m20261127_000002_create_tickets::Migration),
            Box::new(m20261127_000003_create_idempotency_records::Migration),
            Box::new(m20261127_000004_make_ticket_events_append_only::Migration),
            Box::new(m20261127_000005_create_key_user_register::Migration),
            Box::new(m20261127_000006_add_ticket_routing_columns::Migration),
        ]
    }
}

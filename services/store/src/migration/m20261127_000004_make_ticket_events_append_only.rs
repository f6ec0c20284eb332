//! The audit trail must not be rewritten, not even by a bug: the database
//! itself refuses UPDATE and DELETE on `ticket_events`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events \
     BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END",
    "CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events \
     BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN RAISE EXCEPTION 'ticket_events is append-only'; END $$",
    "CREATE TRIGGER ticket_events_no_update_or_delete BEFORE UPDATE OR DELETE ON ticket_events \
     FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER ticket_events_no_update_or_delete ON ticket_events",
                "DROP FUNCTION ticket_events_append_only()",
            ],
            _ => &[
                "DROP TRIGGER ticket_events_no_update",
                "DROP TRIGGER ticket_events_no_delete",
            ],
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

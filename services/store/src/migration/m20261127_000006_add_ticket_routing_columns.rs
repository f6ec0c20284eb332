//! What the router, the desks and the SLA clock keep on a ticket. One ALTER
//! per column: SQLite takes one ADD COLUMN per statement.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            string_len_null(Tickets::RoutingReason, 40),
            timestamp_with_time_zone_null(Tickets::ResponseDueAt),
            timestamp_with_time_zone_null(Tickets::ResolutionDueAt),
            timestamp_with_time_zone_null(Tickets::AcceptedAt),
            timestamp_with_time_zone_null(Tickets::EscalatedAt),
            timestamp_with_time_zone_null(Tickets::AcknowledgedAt),
            timestamp_with_time_zone_null(Tickets::ResolvedAt),
            timestamp_with_time_zone_null(Tickets::WaitingSince),
            string_len_null(Tickets::ResumeStatus, 32),
            string_len_null(Tickets::ResolutionKind, 32),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // The SLA clock scans tickets by status and due time.
        manager
            .create_index(
                Index::create()
                    .name("ix_tickets_status_response_due")
                    .table(Tickets::Table)
                    .col(Tickets::Status)
                    .col(Tickets::ResponseDueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_tickets_status_response_due")
                    .table(Tickets::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Tickets::RoutingReason,
            Tickets::ResponseDueAt,
            Tickets::ResolutionDueAt,
            Tickets::AcceptedAt,
            Tickets::EscalatedAt,
            Tickets::AcknowledgedAt,
            Tickets::ResolvedAt,
            Tickets::WaitingSince,
            Tickets::ResumeStatus,
            Tickets::ResolutionKind,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tickets {
    Table,
    Status,
    RoutingReason,
    ResponseDueAt,
    ResolutionDueAt,
    AcceptedAt,
    EscalatedAt,
    AcknowledgedAt,
    ResolvedAt,
    WaitingSince,
    ResumeStatus,
    ResolutionKind,
}

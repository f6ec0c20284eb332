use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecords::Table)
                    .col(string_len(IdempotencyRecords::Caller, 64))
                    .col(string_len(IdempotencyRecords::Operation, 64))
                    .col(string_len(IdempotencyRecords::RequestId, 64))
                    .col(string_len(IdempotencyRecords::PayloadHash, 64))
                    .col(big_integer(IdempotencyRecords::ResourceId))
                    .col(timestamp_with_time_zone(IdempotencyRecords::CreatedAt))
                    .primary_key(
                        Index::create()
                            .name("pk_idempotency_records")
                            .col(IdempotencyRecords::Caller)
                            .col(IdempotencyRecords::Operation)
                            .col(IdempotencyRecords::RequestId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyRecords::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    Caller,
    Operation,
    RequestId,
    PayloadHash,
    ResourceId,
    CreatedAt,
}

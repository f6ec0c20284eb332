use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(big_pk_auto(Tickets::Id))
                    .col(string_len(Tickets::Application, 40))
                    .col(string_len_null(Tickets::Module, 40))
                    .col(string_len_null(Tickets::Topic, 40))
                    .col(string_len(Tickets::Title, 200))
                    .col(text(Tickets::Description))
                    .col(string_len(Tickets::Category, 32))
                    .col(string_len(Tickets::Impact, 32))
                    .col(string_len(Tickets::Urgency, 32))
                    .col(string_len(Tickets::Priority, 32))
                    .col(string_len(Tickets::Channel, 32))
                    .col(string_len(Tickets::Status, 32))
                    .col(string_len(Tickets::Reporter, 64))
                    .col(string_len(Tickets::CreatedBy, 64))
                    .col(string_len(Tickets::Department, 40))
                    .col(string_len_null(Tickets::Assignee, 64))
                    .col(big_integer(Tickets::Version))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Every list pages by id (newest first) within one of these filters.
        for (name, col) in [
            ("ix_tickets_reporter", Tickets::Reporter),
            ("ix_tickets_created_by", Tickets::CreatedBy),
            ("ix_tickets_status", Tickets::Status),
            ("ix_tickets_application", Tickets::Application),
            ("ix_tickets_assignee", Tickets::Assignee),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tickets::Table)
                        .col(col)
                        .col(Tickets::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TicketEvents::Table)
                    .col(big_pk_auto(TicketEvents::Id))
                    .col(big_integer(TicketEvents::TicketId))
                    .col(string_len(TicketEvents::Kind, 40))
                    .col(string_len(TicketEvents::Actor, 80))
                    .col(string_len_null(TicketEvents::FromStatus, 32))
                    .col(string_len_null(TicketEvents::ToStatus, 32))
                    .col(text_null(TicketEvents::Note))
                    .col(timestamp_with_time_zone(TicketEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TicketEvents::Table, TicketEvents::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ticket_events_ticket")
                    .table(TicketEvents::Table)
                    .col(TicketEvents::TicketId)
                    .col(TicketEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(big_pk_auto(Comments::Id))
                    .col(big_integer(Comments::TicketId))
                    .col(string_len(Comments::Author, 64))
                    .col(text(Comments::Body))
                    .col(timestamp_with_time_zone(Comments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comments::Table, Comments::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_comments_ticket")
                    .table(Comments::Table)
                    .col(Comments::TicketId)
                    .col(Comments::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Ratings::Table)
                    .col(big_integer(Ratings::TicketId).primary_key())
                    .col(integer(Ratings::Score))
                    .col(text(Ratings::Remark))
                    .col(string_len(Ratings::Rater, 64))
                    .col(timestamp_with_time_zone(Ratings::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ratings::Table, Ratings::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Ratings::Table.into_iden(),
            Comments::Table.into_iden(),
            TicketEvents::Table.into_iden(),
            Tickets::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tickets {
    Table,
    Id,
    Application,
    Module,
    Topic,
    Title,
    Description,
    Category,
    Impact,
    Urgency,
    Priority,
    Channel,
    Status,
    Reporter,
    CreatedBy,
    Department,
    Assignee,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
    TicketId,
    Kind,
    Actor,
    FromStatus,
    ToStatus,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    TicketId,
    Author,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Ratings {
    Table,
    TicketId,
    Score,
    Remark,
    Rater,
    CreatedAt,
}

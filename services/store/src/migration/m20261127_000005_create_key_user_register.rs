use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyUserAssignments::Table)
                    .col(big_pk_auto(KeyUserAssignments::Id))
                    .col(string_len(KeyUserAssignments::Employee, 64))
                    .col(string_len(KeyUserAssignments::Application, 40))
                    // '' is the whole application: NULL would not be unique.
                    .col(string_len(KeyUserAssignments::Module, 40))
                    .col(string_len(KeyUserAssignments::Role, 16))
                    .col(integer(KeyUserAssignments::HoursPerWeek))
                    .col(timestamp_with_time_zone(KeyUserAssignments::CreatedAt))
                    .col(timestamp_with_time_zone(KeyUserAssignments::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_key_user_assignments")
                    .table(KeyUserAssignments::Table)
                    .col(KeyUserAssignments::Employee)
                    .col(KeyUserAssignments::Application)
                    .col(KeyUserAssignments::Module)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_key_user_assignments_application")
                    .table(KeyUserAssignments::Table)
                    .col(KeyUserAssignments::Application)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KeyUserAbsences::Table)
                    .col(big_pk_auto(KeyUserAbsences::Id))
                    .col(string_len(KeyUserAbsences::Employee, 64))
                    .col(timestamp_with_time_zone(KeyUserAbsences::StartsAt))
                    .col(timestamp_with_time_zone(KeyUserAbsences::EndsAt))
                    .col(string_len(KeyUserAbsences::Reason, 200))
                    .col(timestamp_with_time_zone(KeyUserAbsences::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_key_user_absences_employee")
                    .table(KeyUserAbsences::Table)
                    .col(KeyUserAbsences::Employee)
                    .col(KeyUserAbsences::EndsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TimeEntries::Table)
                    .col(big_pk_auto(TimeEntries::Id))
                    .col(big_integer(TimeEntries::TicketId))
                    .col(string_len(TimeEntries::Employee, 64))
                    .col(integer(TimeEntries::Minutes))
                    .col(text(TimeEntries::Note))
                    .col(timestamp_with_time_zone(TimeEntries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_time_entries_employee")
                    .table(TimeEntries::Table)
                    .col(TimeEntries::Employee)
                    .col(TimeEntries::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TimeEntries::Table.into_iden(),
            KeyUserAbsences::Table.into_iden(),
            KeyUserAssignments::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum KeyUserAssignments {
    Table,
    Id,
    Employee,
    Application,
    Module,
    Role,
    HoursPerWeek,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KeyUserAbsences {
    Table,
    Id,
    Employee,
    StartsAt,
    EndsAt,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TimeEntries {
    Table,
    Id,
    TicketId,
    Employee,
    Minutes,
    Note,
    CreatedAt,
}

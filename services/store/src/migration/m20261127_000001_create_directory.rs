use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Departments::Table)
                    .col(string_len(Departments::Code, 40).primary_key())
                    .col(string_len(Departments::Name, 200))
                    .col(timestamp_with_time_zone(Departments::CreatedAt))
                    .col(timestamp_with_time_zone(Departments::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Employees::Table)
                    .col(string_len(Employees::Id, 64).primary_key())
                    .col(string_len(Employees::DisplayName, 200))
                    .col(string_len_null(Employees::Email, 254))
                    .col(string_len(Employees::Department, 40))
                    .col(boolean(Employees::Active))
                    .col(timestamp_with_time_zone(Employees::CreatedAt))
                    .col(timestamp_with_time_zone(Employees::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Employees::Table, Employees::Department)
                            .to(Departments::Table, Departments::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_employees_department")
                    .table(Employees::Table)
                    .col(Employees::Department)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(string_len(Applications::Code, 40).primary_key())
                    .col(string_len(Applications::Name, 200))
                    .col(boolean(Applications::Active))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .col(timestamp_with_time_zone(Applications::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (table, name) in [
            (CatalogueChild::ApplicationModules, "pk_application_modules"),
            (CatalogueChild::ApplicationTopics, "pk_application_topics"),
        ] {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .col(string_len(CatalogueChild::Application, 40))
                        .col(string_len(CatalogueChild::Code, 40))
                        .col(string_len(CatalogueChild::Name, 200))
                        .col(boolean(CatalogueChild::Active))
                        .col(integer(CatalogueChild::Position))
                        .primary_key(
                            Index::create()
                                .name(name)
                                .col(CatalogueChild::Application)
                                .col(CatalogueChild::Code),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .from(table, CatalogueChild::Application)
                                .to(Applications::Table, Applications::Code),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CatalogueChild::ApplicationTopics.into_iden(),
            CatalogueChild::ApplicationModules.into_iden(),
            Applications::Table.into_iden(),
            Employees::Table.into_iden(),
            Departments::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Code,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Employees {
    Table,
    Id,
    DisplayName,
    Email,
    Department,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Applications {
    Table,
    Code,
    Name,
    Active,
    CreatedAt,
    UpdatedAt,
}

/// Modules and topics have the same shape: named children of an application.
#[derive(DeriveIden, Clone, Copy)]
enum CatalogueChild {
    ApplicationModules,
    ApplicationTopics,
    Application,
    Code,
    Name,
    Active,
    Position,
}

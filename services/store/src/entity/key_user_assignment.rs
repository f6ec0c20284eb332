use sea_orm::entity::prelude::*;

/// An employee's formal key-user role for an application (or one module).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_user_assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub employee: String,
    pub application: String,
    /// '' for the whole application.
    pub module: String,
    /// PRIMARY or DEPUTY.
    pub role: String,
    pub hours_per_week: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

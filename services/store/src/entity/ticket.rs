use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub application: String,
    pub module: Option<String>,
    pub topic: Option<String>,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub category: String,
    pub impact: String,
    pub urgency: String,
    pub priority: String,
    pub channel: String,
    pub status: String,
    pub reporter: String,
    pub created_by: String,
    pub department: String,
    pub assignee: Option<String>,
    /// Optimistic concurrency: bumped by every change.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

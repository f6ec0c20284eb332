use sea_orm::entity::prelude::*;

/// The audit trail: one row per thing that happened to a ticket. Append-only
/// (a trigger refuses UPDATE and DELETE); the SLA clock and every report read
/// from it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    /// Subject that caused it (an employee id, or `system:<worker>`).
    pub actor: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

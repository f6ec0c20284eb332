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
    /// Why the router or the SLA clock put it where it is (NO_KEY_USER, ...).
    pub routing_reason: Option<String>,
    /// When the current holder (key user, or supplier once escalated) must respond.
    pub response_due_at: Option<DateTimeUtc>,
    /// When it must be resolved; moved later by time spent waiting on the employee.
    pub resolution_due_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    /// Set while WAITING_ON_EMPLOYEE: the SLA clock is paused since then.
    pub waiting_since: Option<DateTimeUtc>,
    /// The status to return to when the employee replies.
    pub resume_status: Option<String>,
    pub resolution_kind: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

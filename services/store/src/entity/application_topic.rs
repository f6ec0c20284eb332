use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "application_topics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub application: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name: String,
    pub active: bool,
    /// Position in the upsert that last listed it: the portal shows this order.
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

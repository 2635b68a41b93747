//! A fan-out: one parent over ordinary runs in many tenants, started by one user. Its status
//! is `running` until every child run is terminal, then its children's outcome.

use sea_orm::entity::prelude::*;

use crate::enums::{RunOperation, RunStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fanouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub initiator_id: Uuid,
    /// `capture_snapshot`, `restore_preview` or `restore`: every child's operation.
    pub operation: RunOperation,
    /// What every child does (the restore's source and selection), as the API took it.
    #[sea_orm(column_type = "JsonBinary")]
    pub params: Json,
    pub status: RunStatus,
    pub tenant_count: i32,
    pub summary: Option<String>,
    /// Set once every child was started (or failed to start): only then can it settle.
    pub started_at: Option<DateTimeUtc>,
    pub cancel_requested_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::fanout_runs::Entity")]
    Runs,
}

impl Related<super::fanout_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Runs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

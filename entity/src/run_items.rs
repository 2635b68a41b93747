//! One row per internal record (backup or snapshot item) a run acted on.
//!
//! Unique per (run, item key), so a re-delivered run upserts and resumes instead of redoing.

use sea_orm::entity::prelude::*;

use crate::enums::{ItemAction, RunItemStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "run_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub run_id: Uuid,
    pub tenant_id: Uuid,
    /// Stable key of the item within the run.
    pub item_key: String,
    pub policy_type: String,
    pub display_name: String,
    /// The backup or snapshot item acted on (not a foreign key: it may be either).
    pub source_ref: Option<Uuid>,
    pub status: RunItemStatus,
    /// What was done or would be done: `captured`, `created`, `updated`, `unchanged`,
    /// `would_create`, `would_update`, `conflict`, ...
    pub action: Option<ItemAction>,
    pub error_code: Option<String>,
    /// Short safe message built from whitelisted fields only.
    pub error_message: Option<String>,
    /// Whitelisted context of the error: HTTP status, Graph code, request id and Graph's
    /// own message (truncated, control characters removed, secrets redacted).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub error_context: Option<Json>,
    /// How a restore found the item's target: `mapping`, `same_id`, `name` or `none`.
    pub match_kind: Option<String>,
    /// Preview diff between the stored item and the target tenant's object.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub diff: Option<Json>,
    /// Graph id of the object created or updated in the target tenant.
    pub result_graph_id: Option<String>,
    /// Recorded before a Graph write so a retry can detect a write that already happened.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub write_intent: Option<Json>,
    pub attempts: i32,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::runs::Entity",
        from = "Column::RunId",
        to = "super::runs::Column::Id",
        on_delete = "Cascade"
    )]
    Run,
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    Tenant,
}

impl Related<super::runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

//! The Run Record: one background operation, its lease, attempts, counts and outcome.
//!
//! The database, not the job queue, owns run state. A partial unique index
//! (`ux_runs_active` on `(tenant_id, operation, target_id) WHERE status IN ('queued',
//! 'running')`, `selection_digest`) makes "one active run per target" an invariant; the counts are derived from
//! `run_items`.

use sea_orm::entity::prelude::*;

use crate::enums::{RunOperation, RunStatus, TargetType};

/// Serializable so a start can be answered from the run Redis remembers as active (see the
/// orchestrator's dedupe keys).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub operation: RunOperation,
    /// What `target_id` names: `tenant`, `backup_set`, `snapshot` or `run`.
    pub target_type: TargetType,
    pub target_id: Uuid,
    /// Digest of the item selection (and mode options) the run acts on; part of the
    /// de-duplication key, empty for runs that act on everything of their target.
    pub selection_digest: String,
    pub status: RunStatus,
    pub initiator_id: Uuid,
    /// The run this one re-runs or follows from (e.g. a rerun of a restore).
    pub parent_run_id: Option<Uuid>,
    /// The run's `RunSpec` body (the operation column says which variant); read it only
    /// through `RunSpec::from_stored`.
    #[sea_orm(column_type = "JsonBinary")]
    pub params: Json,
    /// Claims so far; the claim increments it.
    pub attempt: i32,
    /// The last attempt that recorded an item result: `max_attempts` bounds the attempts
    /// in a row without progress, not all attempts.
    pub progress_attempt: i32,
    pub max_attempts: i32,
    /// Worker holding the lease while `running`.
    pub lease_owner: Option<String>,
    /// Fresh per claim; terminal transitions compare-and-set on it.
    pub lease_token: Option<Uuid>,
    pub heartbeat_at: Option<DateTimeUtc>,
    pub queued_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// A run still active after this instant is failed with `timed_out`.
    pub deadline_at: Option<DateTimeUtc>,
    pub total_items: i32,
    pub succeeded_items: i32,
    pub failed_items: i32,
    pub skipped_items: i32,
    /// Outcome counts by action (previews count what they would do), derived from items.
    pub created_items: i32,
    pub updated_items: i32,
    pub unchanged_items: i32,
    pub conflict_items: i32,
    pub deleted_items: i32,
    /// The snapshot holding the target's objects as they were before this run changed them.
    pub pre_restore_snapshot_id: Option<Uuid>,
    /// Safe error code (never secrets or raw responses).
    pub error_code: Option<String>,
    /// Whitelisted context of the error (HTTP status, Graph error code, request id, ...).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub error_context: Option<Json>,
    pub summary: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    Tenant,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::InitiatorId",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    Initiator,
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::ParentRunId",
        to = "Column::Id",
        on_delete = "SetNull"
    )]
    ParentRun,
    #[sea_orm(has_many = "super::run_items::Entity")]
    Items,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Initiator.def()
    }
}

impl Related<super::run_items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Items.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

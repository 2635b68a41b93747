//! The public shape of a run (`RUN` in the API contract), shared by the JSON API, the SSE
//! stream and the active-runs feed.

use chrono::{DateTime, Utc};
use entity::enums::TargetType;
use entity::runs;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::spec::RunSpec;

/// Item counts by status and by what was done (a preview counts what it would do; an undo
/// counts reverted objects as updated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunCounts {
    pub total: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub skipped: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub conflict: i32,
    pub deleted: i32,
}

/// Which part of its target a run acts on: everything, or a selection of items named by
/// its digest (two starts with the same digest are one run).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunSelection {
    pub all: bool,
    /// How many items were selected (`null` for all).
    pub item_count: Option<usize>,
    /// SHA-256 of the sorted item ids; empty for all.
    pub digest: String,
}

impl RunSelection {
    /// A run whose stored spec cannot be read shows no selection count (the worker fails it
    /// with `invalid_run_spec`; its page still renders).
    pub fn of(run: &runs::Model) -> Self {
        let spec = RunSpec::of(run).ok();
        let ids = spec.as_ref().and_then(|s| s.selection().item_ids());
        Self {
            all: spec.is_some() && ids.is_none(),
            item_count: ids.map(<[Uuid]>::len),
            digest: run.selection_digest.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[schemars(schema_with = "operation_schema")]
    pub operation: String,
    #[schemars(with = "String", extend("enum" = ["tenant", "backup_set", "snapshot", "run"]))]
    pub target_type: TargetType,
    pub target_id: Uuid,
    #[schemars(schema_with = "status_schema")]
    pub status: String,
    /// The user who started the run — for a scheduled run, the schedule's owner, whose
    /// rights it runs with.
    pub initiator: Uuid,
    /// The schedule that started the run; absent when a person did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<Uuid>,
    pub parent_run_id: Option<Uuid>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempt: i32,
    pub counts: RunCounts,
    pub selection: RunSelection,
    /// The snapshot of the target's objects as this run found them before changing them
    /// (live restores, re-runs and undo); what undo puts back.
    pub pre_restore_snapshot_id: Option<Uuid>,
    pub error_code: Option<String>,
    pub error_context: Option<serde_json::Value>,
    pub summary: Option<String>,
    /// The run's page in the web UI.
    pub url: String,
}

impl RunView {
    pub fn new(run: &runs::Model, public_url: &str) -> Self {
        Self {
            id: run.id,
            tenant_id: run.tenant_id,
            operation: run.operation.as_str().to_string(),
            target_type: run.target_type,
            target_id: run.target_id,
            status: run.status.as_str().to_string(),
            initiator: run.initiator_id,
            schedule_id: RunSpec::of(run).ok().and_then(|s| s.schedule_id()),
            parent_run_id: run.parent_run_id,
            queued_at: run.queued_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            attempt: run.attempt,
            counts: RunCounts {
                total: run.total_items,
                succeeded: run.succeeded_items,
                failed: run.failed_items,
                skipped: run.skipped_items,
                created: run.created_items,
                updated: run.updated_items,
                unchanged: run.unchanged_items,
                conflict: run.conflict_items,
                deleted: run.deleted_items,
            },
            selection: RunSelection::of(run),
            pre_restore_snapshot_id: run.pre_restore_snapshot_id,
            error_code: run.error_code.clone(),
            error_context: run.error_context.clone(),
            summary: run.summary.clone(),
            url: format!(
                "{}/tenants/{}/runs/{}",
                public_url.trim_end_matches('/'),
                run.tenant_id,
                run.id
            ),
        }
    }
}

/// The closed vocabularies of a run, listed from the enums themselves so the document cannot
/// fall behind a new value.
fn operation_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let values: Vec<&str> = entity::enums::RunOperation::ALL
        .iter()
        .map(|o| o.as_str())
        .collect();
    schemars::json_schema!({"type": "string", "enum": values})
}

fn status_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let values: Vec<&str> = entity::enums::RunStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    schemars::json_schema!({"type": "string", "enum": values})
}

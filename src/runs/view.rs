//! The public shape of a run (`RUN` in the API contract), shared by the JSON API, the SSE
//! stream and the active-runs feed.

use chrono::{DateTime, Utc};
use entity::runs;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunCounts {
    pub total: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub skipped: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub operation: String,
    pub target_type: String,
    pub target_id: Uuid,
    pub status: String,
    pub initiator: Uuid,
    pub parent_run_id: Option<Uuid>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempt: i32,
    pub counts: RunCounts,
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
            target_type: run.target_type.clone(),
            target_id: run.target_id,
            status: run.status.as_str().to_string(),
            initiator: run.initiator_id,
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
            },
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

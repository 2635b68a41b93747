//! Run orchestration — the protocol of design section 5.
//!
//! * [`start`]: authorize → Redis `SET NX` fast path → Run Record insert guarded by the
//!   partial unique index (+ notification and audit in the same transaction) → push the job.
//! * [`lifecycle`]: claim (guarded update, fair share per tenant), heartbeat, item results,
//!   terminal compare-and-set, notifications, audit, dedupe-key release, live events.
//! * [`reaper`]: re-pushes queued runs without a live job, re-queues runs of dead workers,
//!   fails overdue runs — every run reaches a terminal state.
//!
//! The worker process that executes runs (`crate::worker`) sits above this module: `runs`
//! knows neither `jobs` nor `web`.
//!
//! The database owns run state, de-duplication, attempts and the terminal guarantee;
//! Redis only delivers work and live events.

pub mod cancel;
pub mod email;
pub mod events;
pub mod fanout;
pub mod fleet;
pub mod lifecycle;
pub mod queue;
pub mod reaper;
pub mod scheduler;
pub mod spec;
pub mod start;
pub mod view;
pub mod webhooks;

use entity::enums::{Role, RunOperation};

pub use lifecycle::{ExecError, Execution, Orchestrator};
pub use spec::{RestoreSpec, RunSpec, Selection, Side, Source, SpecError};
pub use view::RunView;

/// The membership role an operation needs, at start and again at execution time.
pub fn required_role(operation: RunOperation) -> Role {
    match operation {
        RunOperation::CaptureSnapshot
        | RunOperation::BackupSetCapture
        | RunOperation::RestorePreview
        | RunOperation::Compare
        | RunOperation::Import
        | RunOperation::ConnectionTest => Role::Operator,
        // Pruning deletes stored content for good.
        RunOperation::Restore
        | RunOperation::RestoreRerun
        | RunOperation::RestoreUndo
        | RunOperation::Prune
        | RunOperation::TenantPurge => Role::Admin,
    }
}

/// The audit action prefix of an operation that writes to a tenant: `restore.live` for
/// restores and re-runs, `restore.undo` for undo (`.queued`, `.started`, `.finished`).
pub fn audit_prefix(operation: RunOperation) -> &'static str {
    match operation {
        RunOperation::RestoreUndo => "restore.undo",
        _ => "restore.live",
    }
}

/// A safe error for a run or an item: a stable code plus a short message built only from
/// whitelisted facts (HTTP status, Graph error code, policy type, request id, Graph's own
/// sanitized message), and those facts as JSON for pages and the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeError {
    pub code: String,
    pub message: String,
    pub context: Option<serde_json::Value>,
}

impl SafeError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            context: None,
        }
    }

    pub fn with_context(mut self, context: serde_json::Value) -> Self {
        self.context = Some(context);
        self
    }
}

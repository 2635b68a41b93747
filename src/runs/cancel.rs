//! Cancel: a queued run is canceled at once (its job, when delivered, finds nothing to claim);
//! a running run stops cooperatively — its worker notices the request after the item in
//! flight, records the rest `skipped` (`canceled`) and ends the run `canceled`. Asking twice
//! is asking once.

use entity::enums::RunStatus;
use entity::runs;
use serde_json::json;
use uuid::Uuid;

use super::lifecycle::{Orchestrator, operation_label};
use crate::store::runs::{self as run_store, FinishGuard, Terminal};
use crate::store::{StoreError, TenantScope, accounts};

/// Why a run could not be canceled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// It ended before the request (succeeded, failed or partial).
    #[error("the run already finished ({0})")]
    Finished(RunStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Orchestrator {
    /// Cancels a run of `scope`'s tenant on behalf of `by`; returns the run as it is now
    /// (`canceled`, or still `running` until its worker stops after the item in flight).
    pub async fn cancel(
        &self,
        scope: &TenantScope,
        run_id: Uuid,
        by: Uuid,
    ) -> Result<runs::Model, CancelError> {
        let db = &self.services.db;
        let run = run_store::get_in_tenant(db, scope, run_id).await?;
        match run.status {
            RunStatus::Canceled => return Ok(run),
            s if s.is_terminal() => return Err(CancelError::Finished(s)),
            _ => {}
        }
        let first = run_store::cancel_request(db, run.id).await?.is_none();
        run_store::request_cancel(db, scope, run.id, by).await?;
        if first && run.operation.writes_to_tenant() {
            self.audit_as(
                &run,
                by,
                &format!("{}.cancel_requested", super::audit_prefix(run.operation)),
                json!({"status_when_asked": run.status.as_str()}),
            )
            .await;
        }
        if run.status == RunStatus::Queued {
            let who = who(self, by).await;
            let terminal = Terminal {
                status: RunStatus::Canceled,
                error_code: Some("canceled".into()),
                error_context: None,
                summary: format!(
                    "{} canceled by {who} before it started.",
                    operation_label(run.operation)
                ),
            };
            // Lost to a worker's claim: that worker sees the request before its first item.
            self.finish(&run, FinishGuard::Queued, terminal).await?;
        }
        Ok(run_store::get(db, run.id).await?.unwrap_or(run))
    }

    /// The terminal state of a running run its worker stopped for a cancel request.
    pub async fn canceled_terminal(&self, run: &runs::Model, done: i64, total: i64) -> Terminal {
        let by = run_store::cancel_request(&self.services.db, run.id)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.requested_by);
        let who = match by {
            Some(by) => who(self, by).await,
            None => "a user".into(),
        };
        Terminal {
            status: RunStatus::Canceled,
            error_code: Some("canceled".into()),
            error_context: None,
            summary: format!(
                "{} canceled by {who} after {done} of {total} items.",
                operation_label(run.operation)
            ),
        }
    }
}

async fn who(orchestrator: &Orchestrator, user: Uuid) -> String {
    accounts::emails_of(&orchestrator.services.db, &[user])
        .await
        .ok()
        .and_then(|m| m.get(&user).cloned())
        .unwrap_or_else(|| "a user".into())
}

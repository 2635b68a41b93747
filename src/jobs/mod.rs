//! The work runs exist for, one module per kind of operation: each turns a claimed run into
//! item results through the Graph layer. `execute` is the dispatcher the worker calls.

mod capture;
mod compare;
mod connection;
mod import;
mod prune;
mod purge;
mod restore;
mod undo;

use serde_json::Value;

use crate::graph::{ErrorKind, GraphClient, GraphError};
use crate::runs::{ExecError, Execution, RunSpec, SafeError};
use crate::store::tenants;

/// Runs the claimed run's spec.
pub async fn execute(execution: &Execution) -> Result<(), ExecError> {
    execution.begin_pass();
    match &execution.spec {
        RunSpec::CaptureSnapshot { policy_types, .. } => {
            capture::capture_snapshot(execution, policy_types).await
        }
        RunSpec::BackupSetCapture { backup_set_id, .. } => {
            capture::capture_backup_set(execution, *backup_set_id).await
        }
        RunSpec::Restore(spec) | RunSpec::RestoreRerun { restore: spec, .. } => {
            restore::restore(execution, spec).await
        }
        RunSpec::RestorePreview(spec) => restore::preview(execution, spec).await,
        RunSpec::RestoreUndo {
            original_run_id,
            delete_created,
            ..
        } => undo::undo(execution, *original_run_id, *delete_created).await,
        RunSpec::Compare { left, right } => compare::compare(execution, *left, *right).await,
        RunSpec::Import {
            upload_id,
            backup_set_id,
        } => import::import(execution, *upload_id, *backup_set_id).await,
        RunSpec::Prune { .. } => prune::prune(execution).await,
        RunSpec::ConnectionTest => connection::test(execution).await,
        RunSpec::TenantPurge => purge::purge(execution).await,
    }
}

/// The Graph client of a tenant, with its secret decrypted for this run only.
async fn client_for(
    execution: &Execution,
    tenant_id: uuid::Uuid,
) -> Result<GraphClient, ExecError> {
    let services = execution.services();
    let tenant = match execution.take_claimed_tenant(tenant_id) {
        Some(tenant) => tenant,
        None => tenants::get(&services.db, tenant_id).await?,
    };
    // Disabled after the run was queued: it does not reach Graph any more.
    if let Some(why) = tenants::refusal(&tenant) {
        return Err(ExecError::Failed(SafeError::new("tenant_disabled", why)));
    }
    let connection = tenants::connection(&services.secrets, services.shared_app.as_ref(), &tenant)
        .map_err(|e| {
            tracing::error!(error = %e, "tenant credential unusable");
            ExecError::Failed(SafeError::new(e.code(), e.to_string()))
        })?;
    let fence = LeaseFence {
        db: services.db.clone(),
        run_id: execution.run.id,
        lease: execution.lease,
    };
    Ok(GraphClient::fenced(
        &connection,
        &execution.graph,
        Some(std::sync::Arc::new(fence)),
    ))
}

/// The run's lease, confirmed in the database (a guarded heartbeat) before each create. An
/// unreachable database counts as "not confirmed": nothing is sent, and the run waits for
/// the database like any other interruption.
struct LeaseFence {
    db: crate::store::Db,
    run_id: uuid::Uuid,
    lease: uuid::Uuid,
}

impl crate::graph::WriteFence for LeaseFence {
    fn still_ours(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            matches!(
                crate::store::runs::heartbeat(&self.db, self.run_id, self.lease).await,
                Ok(true)
            )
        })
    }
}

/// A Graph error as a safe item/run error (its message and context hold whitelisted facts
/// and Graph's sanitized message only).
fn safe(error: &GraphError) -> SafeError {
    SafeError::new(error.code(), error.message()).with_context(error.context())
}

/// Errors after which no further call to this tenant can succeed in this run.
fn is_fatal(error: &GraphError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::TokenFailed | ErrorKind::Unauthorized | ErrorKind::Forbidden
    )
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn item_key(policy_type: &str, source_id: &str) -> String {
    format!("{policy_type}/{source_id}")
}

/// Stops a run from grinding through every remaining item while its tenant's Graph is down:
/// each call retries for `graph.retry_budget_secs` (an outage shorter than that is ridden
/// out), and after `graph.outage_item_limit` consecutive items failed for unavailability
/// even so, the rest are recorded as not attempted, so the run ends within a bounded time.
struct OutageBreaker {
    limit: u32,
    consecutive: u32,
    budget_secs: u64,
}

impl OutageBreaker {
    fn new(execution: &Execution) -> Self {
        Self {
            limit: execution.services().settings.graph.outage_item_limit.max(1),
            consecutive: 0,
            budget_secs: execution.services().settings.graph.retry_budget_secs,
        }
    }

    fn observe(&mut self, error: Option<&GraphError>) {
        match error {
            Some(e) if is_unavailability(e) => self.consecutive += 1,
            _ => self.consecutive = 0,
        }
    }

    fn is_open(&self) -> bool {
        self.consecutive >= self.limit
    }

    fn error(&self) -> SafeError {
        SafeError::new(
            "tenant_unavailable",
            format!(
                "not attempted: Graph stayed unavailable for this tenant past the retry budget of {} s ({} consecutive items failed)",
                self.budget_secs, self.consecutive
            ),
        )
    }
}

fn is_unavailability(error: &GraphError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Unavailable | ErrorKind::Throttled | ErrorKind::Timeout | ErrorKind::Connection
    )
}

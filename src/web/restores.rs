//! Restores: start a preview or a live restore from a backup set or snapshot, and re-run a
//! finished restore. Live writes need the admin role and a confirmation naming the tenant.

use axum::extract::State;
use axum::response::Response;
use entity::enums::{Role, RunItemStatus, RunOperation, TargetType};
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess, member_access};
use super::error::ApiError;
use super::extract::{self, Path};
use super::routes::{Access, Routes};
use super::runs::{started_doc, started_response};
use crate::runs::start::{StartRequest, Started};
use crate::runs::{RestoreSpec, RunSpec, Selection, Source};
use crate::store::{content, runs as run_store};

pub fn routes() -> Routes {
    Routes::new()
        // Previews need operator; a live restore (same route) needs admin, checked below.
        .post(
            "/tenants/{tenant}/restores",
            Access::Tenant(Role::Operator),
            start_restore,
        )
        .doc(
            started_doc("Start a restore preview, or (admin, confirmed) a live restore")
                .body::<RestoreBody>(),
        )
        .post(
            "/tenants/{tenant}/runs/{run}/rerun",
            Access::Tenant(Role::Admin),
            rerun,
        )
        .doc(
            started_doc("Re-run a finished live restore (optionally only its failed items)")
                .body::<RerunBody>(),
        )
        .post(
            "/tenants/{tenant}/runs/{run}/undo",
            Access::Tenant(Role::Admin),
            undo,
        )
        .doc(
            started_doc(
                "Undo a finished live restore: put updated objects back to their pre-restore \
                 state and (optionally) delete the objects it created",
            )
            .body::<UndoBody>(),
        )
}

/// Exactly one of the two.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceRef {
    pub backup_set_id: Option<Uuid>,
    pub snapshot_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Mode {
    Preview,
    Live,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RestoreBody {
    pub source: SourceRef,
    /// Items of the source to restore; absent means all, an empty list is refused.
    pub item_ids: Option<Vec<Uuid>>,
    pub mode: Mode,
    /// A live restore needs the target tenant's name, exactly.
    pub confirm: Option<String>,
    /// Write conditional access policies in their captured state. Without it they are
    /// written report-only (`enabledForReportingButNotEnforced`), so a restore cannot lock
    /// anyone out by accident.
    #[serde(default)]
    pub keep_conditional_access_state: bool,
}

/// A live write names the tenant it writes to, exactly as it is called.
fn check_confirmation(access: &TenantAccess, confirm: Option<&str>) -> Result<(), ApiError> {
    match confirm.map(str::trim) {
        Some(c) if c == access.tenant.name => Ok(()),
        Some(_) => Err(ApiError::Validation(format!(
            "confirm: type the tenant's name exactly ({:?}) to confirm a live restore",
            access.tenant.name
        ))),
        None => Err(ApiError::Validation(format!(
            "confirm: a live restore needs \"confirm\": {:?}",
            access.tenant.name
        ))),
    }
}

/// Checks a restore's source and selection for `user` (a member of the source's tenant, every
/// selected item an item of it) and builds what every target's run does.
pub(super) async fn restore_spec(
    state: &AppState,
    user: &CurrentUser,
    body: &RestoreBody,
) -> Result<RestoreSpec, ApiError> {
    let db = &state.services().db;
    // The source may live in another tenant the caller belongs to (cross-tenant restore):
    // reading it takes a scope of that tenant, i.e. a membership there.
    type SourceOf = fn(Uuid, Uuid) -> Source;
    let (kind, id, source_of): (_, _, SourceOf) =
        match (body.source.backup_set_id, body.source.snapshot_id) {
            (Some(id), None) => (TargetType::BackupSet, id, |id, tenant_id| {
                Source::BackupSet { id, tenant_id }
            }),
            (None, Some(id)) => (TargetType::Snapshot, id, |id, tenant_id| Source::Snapshot {
                id,
                tenant_id,
            }),
            _ => {
                return Err(ApiError::Validation(
                    "source: give exactly one of backup_set_id or snapshot_id".into(),
                ));
            }
        };
    let owner = content::content_owner(db, kind, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let source_scope = *member_access(state, user.clone(), owner).await?.scope();
    let source = source_of(id, owner);
    let item_ids = match body.item_ids.clone() {
        Some(ids) if ids.is_empty() => {
            return Err(ApiError::Validation(
                "item_ids: select at least one item (leave item_ids out to restore everything)"
                    .into(),
            ));
        }
        Some(ids) => {
            let known =
                content::source_item_ids(db, &source_scope, source.target_type(), source.id())
                    .await?;
            if let Some(missing) = ids.iter().find(|id| !known.contains(id)) {
                return Err(ApiError::Validation(format!(
                    "item_ids: {missing} is not an item of this {}",
                    source.target_type().as_str().replace('_', " ")
                )));
            }
            Some(ids)
        }
        None => None,
    };
    Ok(RestoreSpec {
        source,
        selection: Selection::of(item_ids).map_err(|e| ApiError::Validation(e.to_string()))?,
        keep_enforcement: body.keep_conditional_access_state,
    })
}

/// Re-runs and undos act on a finished live restore. `verb`: (participle, imperative).
fn check_finished_restore(
    original: &entity::runs::Model,
    (done, act): (&str, &str),
) -> Result<(), ApiError> {
    if !original.operation.is_live_restore() {
        return Err(ApiError::Validation(format!(
            "only restores can be {done}; this run is a {}",
            original.operation
        )));
    }
    if !original.status.is_terminal() {
        return Err(ApiError::Conflict(format!(
            "the restore is still queued or running; {act} it once it has finished"
        )));
    }
    Ok(())
}

async fn start_restore(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<RestoreBody>,
) -> Result<Response, ApiError> {
    let started = restore(&state, &access, body).await?;
    Ok(started_response(&state, &started))
}

/// Starts (or joins) a preview or a live restore into the tenant of `access`.
pub(super) async fn restore(
    state: &AppState,
    access: &TenantAccess,
    body: RestoreBody,
) -> Result<Started, ApiError> {
    match body.mode {
        Mode::Preview => access.require(Role::Operator)?,
        Mode::Live => {
            access.require(Role::Admin)?;
            check_confirmation(access, body.confirm.as_deref())?;
        }
    }
    let restore = restore_spec(state, &access.user, &body).await?;
    let started = state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: match body.mode {
                Mode::Preview => RunSpec::RestorePreview(restore),
                Mode::Live => RunSpec::Restore(restore),
            },
        })
        .await?;
    Ok(started)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RerunBody {
    /// The tenant's name, exactly.
    pub confirm: Option<String>,
    #[serde(default)]
    pub only_failed: bool,
}

async fn rerun(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
    extract::Json(body): extract::Json<RerunBody>,
) -> Result<Response, ApiError> {
    let started = rerun_restore(&state, &access, run_id, body).await?;
    Ok(started_response(&state, &started))
}

/// Re-runs a finished live restore of the tenant of `access` (all items, or the failed ones).
pub(super) async fn rerun_restore(
    state: &AppState,
    access: &TenantAccess,
    run_id: Uuid,
    body: RerunBody,
) -> Result<Started, ApiError> {
    access.require(Role::Admin)?;
    let db = &state.services().db;
    let original = run_store::get_in_tenant(db, access.scope(), run_id).await?;
    check_finished_restore(&original, ("re-run", "re-run"))?;
    check_confirmation(access, body.confirm.as_deref())?;
    // A cross-tenant restore reads the source tenant's content again: the caller must still
    // be a member there, as for the first start.
    let original_spec = stored_spec(&original)?;
    let Some(restored) = original_spec.restore() else {
        return Err(ApiError::Validation(format!(
            "only restores can be re-run; this run is a {}",
            original.operation
        )));
    };
    let source = restored.source;
    if source.tenant_id() != access.tenant_id() {
        member_access(state, access.user.clone(), source.tenant_id()).await?;
    }
    let mut selection = restored.selection.clone();
    if body.only_failed {
        // Failed items include those the restore never attempted (it ended early).
        let failed: Vec<Uuid> = run_store::all_items(db, access.scope(), original.id)
            .await?
            .into_iter()
            .filter(|i| i.status == RunItemStatus::Failed)
            .filter_map(|i| i.source_ref)
            .collect();
        if failed.is_empty() {
            return Err(ApiError::Validation(
                "only_failed: the restore has no failed items to re-run".into(),
            ));
        }
        selection = Selection::of(Some(failed)).map_err(|e| ApiError::Validation(e.to_string()))?;
    }
    let started = state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::RestoreRerun {
                original_run_id: original.id,
                restore: RestoreSpec {
                    source,
                    selection,
                    keep_enforcement: restored.keep_enforcement,
                },
                only_failed: body.only_failed,
            },
        })
        .await?;
    Ok(started)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UndoBody {
    /// The tenant's name, exactly.
    pub confirm: Option<String>,
    /// Also delete the objects the restore created (only those, by their recorded ids).
    #[serde(default)]
    pub delete_created: bool,
}

async fn undo(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
    extract::Json(body): extract::Json<UndoBody>,
) -> Result<Response, ApiError> {
    let started = undo_restore(&state, &access, run_id, body).await?;
    Ok(started_response(&state, &started))
}

/// Starts a `restore_undo` of a finished live restore of the tenant of `access`.
pub(super) async fn undo_restore(
    state: &AppState,
    access: &TenantAccess,
    run_id: Uuid,
    body: UndoBody,
) -> Result<Started, ApiError> {
    access.require(Role::Admin)?;
    let db = &state.services().db;
    let original = run_store::get_in_tenant(db, access.scope(), run_id).await?;
    if original.operation == RunOperation::RestoreUndo {
        return Err(ApiError::Validation(
            match original.pre_restore_snapshot_id {
                Some(snapshot) => format!(
                    "an undo is undone by restoring its pre-restore snapshot {snapshot} into this tenant"
                ),
                None => "this undo changed nothing, so there is nothing to undo".into(),
            },
        ));
    }
    check_finished_restore(&original, ("undone", "undo"))?;
    check_confirmation(access, body.confirm.as_deref())?;
    if original.updated_items == 0 && original.created_items == 0 {
        return Err(ApiError::Validation(
            "the restore neither updated nor created anything, so there is nothing to undo".into(),
        ));
    }
    let started = state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            // One undo of a restore at a time, whatever it was asked to delete.
            spec: RunSpec::RestoreUndo {
                original_run_id: original.id,
                delete_created: body.delete_created,
                pre_restore_snapshot_id: original.pre_restore_snapshot_id,
            },
        })
        .await?;
    Ok(started)
}

/// The stored spec of an existing run; one that cannot be read is the server's fault, not
/// the caller's (the worker fails such runs with `invalid_run_spec`).
pub(super) fn stored_spec(run: &entity::runs::Model) -> Result<RunSpec, ApiError> {
    RunSpec::of(run).map_err(|e| ApiError::Internal(anyhow::anyhow!("run {}: {e}", run.id)))
}

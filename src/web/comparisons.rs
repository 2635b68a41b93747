//! `POST /tenants/{tenant}/comparisons`: start a comparison run of two captures, or of a
//! capture and the tenant now. Either capture may belong to another tenant the caller is a
//! member of (a baseline); the live side is always the path's tenant.

use axum::extract::State;
use axum::response::Response;
use entity::enums::{Role, TargetType};
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::auth::{TenantAccess, member_access};
use super::error::ApiError;
use super::extract;
use super::routes::{Access, Routes};
use super::runs::{started_doc, started_response};
use crate::runs::start::{StartRequest, Started};
use crate::runs::{RunSpec, Side, Source};
use crate::store::content;

pub fn routes() -> Routes {
    Routes::new()
        .post(
            "/tenants/{tenant}/comparisons",
            Access::Tenant(Role::Operator),
            start_comparison,
        )
        .doc(
            started_doc(
                "Compare two captures, or a capture and the tenant now: a background run whose \
                 items are the objects added, removed and changed, with their settings",
            )
            .body::<ComparisonBody>(),
        )
}

/// Exactly one of the three.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SideRef {
    snapshot_id: Option<Uuid>,
    backup_set_id: Option<Uuid>,
    /// The path's tenant as Graph serves it now.
    live: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ComparisonBody {
    left: SideRef,
    right: SideRef,
}

async fn start_comparison(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<ComparisonBody>,
) -> Result<Response, ApiError> {
    let left = side(&state, &access, body.left, "left").await?;
    let right = side(&state, &access, body.right, "right").await?;
    let started = compare(&state, &access, left, right).await?;
    Ok(started_response(&state, &started))
}

/// Starts (or joins) a comparison in the tenant of `access`: the API's and the web UI's start.
pub(super) async fn compare(
    state: &AppState,
    access: &TenantAccess,
    left: Side,
    right: Side,
) -> Result<Started, ApiError> {
    access.require(Role::Operator)?;
    if left == right {
        return Err(ApiError::Validation(
            "left and right are the same; compare two different sides".into(),
        ));
    }
    Ok(state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::Compare { left, right },
        })
        .await?)
}

/// A side as the run reads it; stored content of another tenant needs a membership there.
async fn side(
    state: &AppState,
    access: &TenantAccess,
    side: SideRef,
    name: &str,
) -> Result<Side, ApiError> {
    let (kind, id) = match (side.snapshot_id, side.backup_set_id, side.live) {
        (Some(id), None, None | Some(false)) => (TargetType::Snapshot, id),
        (None, Some(id), None | Some(false)) => (TargetType::BackupSet, id),
        (None, None, Some(true)) => return Ok(Side::Live),
        _ => {
            return Err(ApiError::Validation(format!(
                "{name}: give exactly one of snapshot_id, backup_set_id or \"live\": true"
            )));
        }
    };
    let owner = content::content_owner(&state.services().db, kind, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if owner != access.tenant_id() {
        member_access(state, access.user.clone(), owner).await?;
    }
    Ok(Side::Stored(match kind {
        TargetType::Snapshot => Source::Snapshot {
            id,
            tenant_id: owner,
        },
        _ => Source::BackupSet {
            id,
            tenant_id: owner,
        },
    }))
}

//! Retention: what a tenant keeps (the global settings with the tenant's overrides), and
//! pruning now. Pruning is an ordinary run (`prune`, admins only) with one item per deletion;
//! schedule it like a capture (`"operation": "prune"`).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use entity::enums::Role;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use super::runs::{started_doc, started_response};
use crate::runs::RunSpec;
use crate::runs::start::StartRequest;
use crate::store::retention::{self, Overrides, Policy};

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/tenants/{tenant}/retention",
            Access::Tenant(Role::Viewer),
            read,
        )
        .doc(
            Doc::new("What the tenant keeps when it is pruned: the global settings, its overrides and the rules in effect")
                .returns::<RetentionBody>(200, "The tenant's retention"),
        )
        .put(
            "/tenants/{tenant}/retention",
            Access::Tenant(Role::Admin),
            write,
        )
        .doc(
            Doc::new("Replace the tenant's overrides of the global retention settings (null keeps the global value)")
                .body::<OverridesBody>()
                .returns::<RetentionBody>(200, "The tenant's retention"),
        )
        .post(
            "/tenants/{tenant}/prunes",
            Access::Tenant(Role::Admin),
            prune,
        )
        .doc(started_doc(
            "Prune the tenant now: delete the snapshots, backup-set versions and runs its retention no longer keeps",
        ))
}

#[derive(Debug, Serialize, JsonSchema)]
struct Retention {
    /// The rules a prune of this tenant applies now.
    effective: Policy,
    /// The installation's settings (`[retention]`).
    global: Policy,
    /// This tenant's own values; null: the global one.
    overrides: Overrides,
}

#[derive(Debug, Serialize, JsonSchema)]
struct RetentionBody {
    retention: Retention,
}

/// Each value: a whole number, 0 turning its rule off; null or absent keeps the global one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OverridesBody {
    #[serde(default)]
    snapshot_days: Option<u32>,
    #[serde(default)]
    snapshot_keep: Option<u32>,
    #[serde(default)]
    backup_versions_keep: Option<u32>,
    #[serde(default)]
    run_days: Option<u32>,
}

const MAX_DAYS: u32 = 36_500;

async fn body(state: &AppState, access: &TenantAccess) -> Result<RetentionBody, ApiError> {
    let db = &state.services().db;
    let global = Policy::of(&state.services().settings.retention);
    let overrides = retention::overrides(db, access.scope()).await?;
    Ok(RetentionBody {
        retention: Retention {
            effective: overrides.apply(global),
            global,
            overrides,
        },
    })
}

async fn read(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<RetentionBody>, ApiError> {
    Ok(Json(body(&state, &access).await?))
}

async fn write(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(input): extract::Json<OverridesBody>,
) -> Result<Json<RetentionBody>, ApiError> {
    access.require(Role::Admin)?;
    for (name, value) in [
        ("snapshot_days", input.snapshot_days),
        ("run_days", input.run_days),
        ("snapshot_keep", input.snapshot_keep),
        ("backup_versions_keep", input.backup_versions_keep),
    ] {
        if value.is_some_and(|v| v > MAX_DAYS) {
            return Err(ApiError::Validation(format!(
                "{name}: at most {MAX_DAYS} (0 turns the rule off)"
            )));
        }
    }
    let overrides = Overrides {
        snapshot_days: input.snapshot_days,
        snapshot_keep: input.snapshot_keep,
        backup_versions_keep: input.backup_versions_keep,
        run_days: input.run_days,
    };
    retention::set_overrides(
        &state.services().db,
        access.scope(),
        overrides,
        access.user.id(),
    )
    .await?;
    access
        .audit(
            &state,
            "retention.updated",
            serde_json::to_value(overrides).unwrap_or_else(|_| json!({})),
        )
        .await?;
    Ok(Json(body(&state, &access).await?))
}

async fn prune(State(state): State<AppState>, access: TenantAccess) -> Result<Response, ApiError> {
    access.require(Role::Admin)?;
    let started = state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::Prune { schedule_id: None },
        })
        .await?;
    Ok(started_response(&state, &started))
}

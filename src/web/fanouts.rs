//! Fan-outs over many tenants: "capture all my tenants now", "preview/restore this backup
//! set into these tenants". One parent; one ordinary run per tenant; the parent's page lists
//! them. A live fan-out restore is confirmed by typing the number of target tenants, and
//! each tenant's run is audited there (`restore.live.queued`, naming the fan-out).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::{Role, RunOperation};
use entity::fanouts;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess, member_access};
use super::error::ApiError;
use super::extract::{self, Path, Query, next_cursor, page_limit};
use super::openapi::Doc;
use super::restores::{Mode, RestoreBody, SourceRef, restore_spec};
use super::routes::{Access, Routes};
use crate::runs::fanout::{FanoutCounts, FanoutRequest};
use crate::runs::{RunSpec, RunView};
use crate::store::{accounts, fanouts as fanout_store};

pub fn routes() -> Routes {
    Routes::new()
        .post("/fanouts", Access::User, create)
        .doc(
            Doc::new(
                "Start one operation in several, or all, of your tenants: a snapshot capture, \
                 a restore preview, or (admin in each, confirmed by the number of tenants) a \
                 live restore of one backup set or snapshot",
            )
            .body::<FanoutBody>()
            .returns::<StartedFanout>(202, "The fan-out and its children"),
        )
        .get("/fanouts", Access::User, list)
        .doc(
            Doc::new("List the fan-outs you started, newest first")
                .query::<ListQuery>()
                .returns::<FanoutList>(200, "A page of fan-outs"),
        )
        .get("/fanouts/{id}", Access::User, detail)
        .doc(
            Doc::new("Read a fan-out you started, with its children")
                .returns::<FanoutEnvelope>(200, "The fan-out"),
        )
        .post("/fanouts/{id}/cancel", Access::User, cancel)
        .doc(
            Doc::new("Cancel a fan-out: every open child it started is canceled (idempotent)")
                .returns::<FanoutEnvelope>(202, "The fan-out as it is now"),
        )
}

/// A tenant left out of a start over "all my tenants", and why.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Skipped {
    pub tenant_id: Uuid,
    pub reason: String,
}

/// The tenants a many-tenant call acts on, each checked for `role`: a named list must be all
/// of the caller's tenants with that role (or nothing happens); `all_tenants` takes those
/// where the caller has it and lists the others as skipped.
pub(super) async fn resolve_tenants(
    state: &AppState,
    user: &CurrentUser,
    tenant_ids: Option<&[Uuid]>,
    all_tenants: bool,
    role: Role,
    what: &str,
) -> Result<(Vec<TenantAccess>, Vec<Skipped>), ApiError> {
    let ids: Vec<Uuid> = match (tenant_ids, all_tenants) {
        (Some(ids), false) if !ids.is_empty() => {
            let mut ids = ids.to_vec();
            ids.sort();
            ids.dedup();
            ids
        }
        (None, true) => accounts::tenants_of(&state.services().db, user.id())
            .await?
            .into_iter()
            .map(|m| m.tenant.id)
            .collect(),
        _ => {
            return Err(ApiError::Validation(
                "tenant_ids: give a non-empty list of tenant ids, or \"all_tenants\": true".into(),
            ));
        }
    };
    let mut accesses = Vec::new();
    let mut skipped = Vec::new();
    let mut foreign = 0;
    let mut disabled = 0;
    for tenant_id in ids {
        match member_access(state, user.clone(), tenant_id).await {
            Ok(access) if access.tenant.disabled_at.is_some() => {
                disabled += 1;
                skipped.push(Skipped {
                    tenant_id,
                    reason: crate::store::tenants::refusal(&access.tenant).unwrap_or_default(),
                });
            }
            Ok(access) if access.require(role).is_ok() => accesses.push(access),
            Ok(access) => skipped.push(Skipped {
                tenant_id,
                reason: format!("you are {} there; {what} need {role}", access.role),
            }),
            Err(ApiError::NotFound) => foreign += 1,
            Err(e) => return Err(e),
        }
    }
    if foreign > 0 {
        return Err(ApiError::Validation(format!(
            "tenant_ids: {foreign} of the ids are not tenants of yours; nothing was started"
        )));
    }
    if tenant_ids.is_some() && disabled > 0 {
        return Err(ApiError::Validation(format!(
            "tenant_ids: {disabled} of the tenants named are disabled; nothing was started"
        )));
    }
    if tenant_ids.is_some() && !skipped.is_empty() {
        return Err(ApiError::Validation(format!(
            "tenant_ids: {what} need the {role} role in every tenant named; you are not {role} in {} of them; nothing was started",
            skipped.len()
        )));
    }
    if accesses.is_empty() {
        return Err(ApiError::Validation(format!(
            "all_tenants: you are {role} in none of your tenants; nothing was started"
        )));
    }
    Ok((accesses, skipped))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FanoutBody {
    /// `capture_snapshot`, `restore_preview` or `restore`.
    pub operation: String,
    /// The tenants to act on; or `all_tenants`.
    #[serde(default)]
    pub tenant_ids: Option<Vec<Uuid>>,
    /// Every tenant where you have the role the operation needs (the others are skipped).
    #[serde(default)]
    pub all_tenants: bool,
    /// Restores and previews: the backup set or snapshot every tenant is restored from.
    #[serde(default)]
    pub source: Option<SourceRef>,
    /// Restores and previews: items of the source (absent: all).
    #[serde(default)]
    pub item_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub keep_conditional_access_state: bool,
    /// A live restore: the number of target tenants, typed to confirm.
    #[serde(default)]
    pub confirm_tenant_count: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ChildView {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    /// An identical run was already active there; the fan-out counts its outcome.
    pub joined: bool,
    pub run: RunView,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct FanoutView {
    pub id: Uuid,
    pub operation: String,
    /// `running` until every child ended; then `succeeded`, `partial`, `failed` or
    /// `canceled`.
    pub status: String,
    pub tenant_count: i32,
    pub counts: FanoutCounts,
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// The fan-out's page in the web UI.
    pub url: String,
    /// In tenant order (absent from lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<ChildView>>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct StartedFanout {
    fanout: FanoutView,
    skipped: Vec<Skipped>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct FanoutEnvelope {
    fanout: FanoutView,
}

#[derive(Debug, Serialize, JsonSchema)]
struct FanoutList {
    fanouts: Vec<FanoutView>,
    next_cursor: Option<Uuid>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::extract::opt_uuid")]
    cursor: Option<Uuid>,
}

/// The fan-out as the API and its page show it; `with_children` lists every child.
pub(super) async fn view(
    state: &AppState,
    fanout: &fanouts::Model,
    with_children: bool,
) -> Result<FanoutView, ApiError> {
    let db = &state.services().db;
    let children = fanout_store::children(db, fanout.id).await?;
    let counts = FanoutCounts::of(children.iter().map(|(_, run)| run.status));
    let children = if with_children {
        // Names of the tenants the caller still belongs to (a child of one they left shows
        // its id only).
        let names: std::collections::HashMap<Uuid, String> =
            accounts::tenants_of(db, fanout.initiator_id)
                .await?
                .into_iter()
                .map(|m| (m.tenant.id, m.tenant.name))
                .collect();
        Some(
            children
                .iter()
                .map(|(child, run)| ChildView {
                    tenant_id: child.tenant_id,
                    tenant_name: names.get(&child.tenant_id).cloned().unwrap_or_default(),
                    joined: child.joined,
                    run: state.orchestrator.view(run),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(FanoutView {
        id: fanout.id,
        operation: fanout.operation.as_str().to_string(),
        status: fanout.status.as_str().to_string(),
        tenant_count: fanout.tenant_count,
        counts,
        summary: fanout.summary.clone(),
        created_at: fanout.created_at,
        finished_at: fanout.finished_at,
        cancel_requested_at: fanout.cancel_requested_at,
        url: format!(
            "{}/fanouts/{}",
            state
                .services()
                .settings
                .server
                .public_url
                .trim_end_matches('/'),
            fanout.id
        ),
        children,
    })
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    extract::Json(body): extract::Json<FanoutBody>,
) -> Result<Response, ApiError> {
    let (fanout, skipped) = start(&state, &user, body).await?;
    let fanout = view(&state, &fanout, true).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StartedFanout { fanout, skipped }),
    )
        .into_response())
}

/// Validates a fan-out (all or nothing) and starts it: the API's and the web UI's.
pub(super) async fn start(
    state: &AppState,
    user: &CurrentUser,
    body: FanoutBody,
) -> Result<(fanouts::Model, Vec<Skipped>), ApiError> {
    let operation: RunOperation =
        body.operation
            .trim()
            .parse()
            .map_err(|e: entity::enums::UnknownValue| {
                ApiError::Validation(format!("operation: {e}"))
            })?;
    let role = match operation {
        RunOperation::CaptureSnapshot | RunOperation::RestorePreview => Role::Operator,
        RunOperation::Restore => Role::Admin,
        other => {
            return Err(ApiError::Validation(format!(
                "operation: {other} cannot fan out; use capture_snapshot, restore_preview or restore"
            )));
        }
    };
    let what = match operation {
        RunOperation::CaptureSnapshot => "captures",
        RunOperation::RestorePreview => "restore previews",
        _ => "live restores",
    };
    let (accesses, skipped) = resolve_tenants(
        state,
        user,
        body.tenant_ids.as_deref(),
        body.all_tenants,
        role,
        what,
    )
    .await?;
    let spec = match operation {
        RunOperation::CaptureSnapshot => {
            if body.source.is_some() || body.item_ids.is_some() {
                return Err(ApiError::Validation(
                    "source: a capture takes no source or item_ids".into(),
                ));
            }
            RunSpec::CaptureSnapshot {
                policy_types: Vec::new(),
                schedule_id: None,
            }
        }
        _ => {
            let Some(source) = body.source else {
                return Err(ApiError::Validation(
                    "source: a restore needs {\"backup_set_id\"} or {\"snapshot_id\"}".into(),
                ));
            };
            let restore = restore_spec(
                state,
                user,
                &RestoreBody {
                    source,
                    item_ids: body.item_ids.clone(),
                    mode: if operation == RunOperation::Restore {
                        Mode::Live
                    } else {
                        Mode::Preview
                    },
                    confirm: None,
                    keep_conditional_access_state: body.keep_conditional_access_state,
                },
            )
            .await?;
            if operation == RunOperation::Restore {
                let n = accesses.len();
                if body.confirm_tenant_count != Some(u32::try_from(n).unwrap_or(u32::MAX)) {
                    return Err(ApiError::Validation(format!(
                        "confirm_tenant_count: a live restore into {n} tenant(s) needs \"confirm_tenant_count\": {n}"
                    )));
                }
                RunSpec::Restore(restore)
            } else {
                RunSpec::RestorePreview(restore)
            }
        }
    };
    let fanout = state
        .orchestrator
        .start_fanout(FanoutRequest {
            initiator_id: user.id(),
            spec,
            params: json!({
                "operation": operation.as_str(),
                "tenant_ids": accesses.iter().map(TenantAccess::tenant_id).collect::<Vec<_>>(),
                "all_tenants": body.all_tenants,
                "item_ids": body.item_ids,
                "keep_conditional_access_state": body.keep_conditional_access_state,
            }),
            targets: accesses.iter().map(|a| *a.scope()).collect(),
        })
        .await?;
    Ok((fanout, skipped))
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<FanoutList>, ApiError> {
    let limit = page_limit(query.limit);
    let mut rows =
        fanout_store::list(&state.services().db, user.id(), query.cursor, limit + 1).await?;
    let next = next_cursor(&mut rows, limit, |f| f.id);
    let mut fanouts = Vec::with_capacity(rows.len());
    for row in &rows {
        fanouts.push(view(&state, row, false).await?);
    }
    Ok(Json(FanoutList {
        fanouts,
        next_cursor: next,
    }))
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<FanoutEnvelope>, ApiError> {
    let fanout = fanout_store::get(&state.services().db, user.id(), id).await?;
    Ok(Json(FanoutEnvelope {
        fanout: view(&state, &fanout, true).await?,
    }))
}

async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let db = &state.services().db;
    let fanout = fanout_store::get(db, user.id(), id).await?;
    state.orchestrator.cancel_fanout(&fanout, user.id()).await?;
    let fanout = fanout_store::get(db, user.id(), id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(FanoutEnvelope {
            fanout: view(&state, &fanout, true).await?,
        }),
    )
        .into_response())
}

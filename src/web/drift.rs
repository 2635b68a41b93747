//! Baselines and drift: a tenant's baseline (a backup set, possibly of another tenant), the
//! drift its latest capture found, the differences its admins accepted, and the estate's
//! drift summary across the caller's tenants, worst first.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::{Role, TargetType};
use entity::{baselines, drift_exceptions, drift_reports};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess, member_access};
use super::error::ApiError;
use super::extract::{self, Path, Query, page_limit};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::graph::drift::{DriftEntry, WHOLE_OBJECT};
use crate::graph::registry::PolicyType;
use crate::store::drift::{self as drift_store, NewException};
use crate::store::{StoreError, accounts, content};

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    const ADMIN: Access = Access::Tenant(Role::Admin);
    Routes::new()
        .get("/tenants/{tenant}/baseline", VIEWER, baseline)
        .doc(
            Doc::new("The tenant's baseline, if it has one")
                .returns::<BaselineBody>(200, "The baseline or null"),
        )
        .put("/tenants/{tenant}/baseline", ADMIN, set_baseline)
        .doc(
            Doc::new(
                "Make a backup set (of this tenant, or of another tenant you are a member of) the \
                 tenant's baseline; every later capture computes drift against it",
            )
            .body::<BaselineRequest>()
            .returns::<BaselineBody>(200, "The baseline"),
        )
        .delete("/tenants/{tenant}/baseline", ADMIN, clear_baseline)
        .doc(
            Doc::new("Remove the tenant's baseline (idempotent)")
                .no_content("Removed, or had none"),
        )
        .get("/tenants/{tenant}/drift", VIEWER, tenant_drift)
        .doc(
            Doc::new("The drift the tenant's latest capture found against its baseline")
                .returns::<DriftBody>(200, "The latest drift report, or null"),
        )
        .get(
            "/tenants/{tenant}/drift/exceptions",
            VIEWER,
            list_exceptions,
        )
        .doc(
            Doc::new("Differences from the baseline accepted for this tenant")
                .returns::<ExceptionList>(200, "The exceptions"),
        )
        .post("/tenants/{tenant}/drift/exceptions", ADMIN, accept)
        .doc(
            Doc::new("Accept one difference for this tenant (audited); later drift ignores it")
                .body::<ExceptionRequest>()
                .returns::<ExceptionBody>(201, "The exception"),
        )
        .delete(
            "/tenants/{tenant}/drift/exceptions/{id}",
            ADMIN,
            remove_exception,
        )
        .doc(
            Doc::new("Withdraw an accepted difference (idempotent, audited)")
                .no_content("Withdrawn, or was none"),
        )
        .get("/drift", Access::User, estate)
        .doc(
            Doc::new("Drift of every tenant of yours that has a baseline, worst alignment first")
                .query::<EstateQuery>()
                .returns::<EstateDrift>(200, "A page of tenants"),
        )
}

#[derive(Debug, Serialize, JsonSchema)]
struct Baseline {
    backup_set_id: Uuid,
    /// The tenant the backup set belongs to.
    backup_set_tenant_id: Uuid,
    backup_set_name: String,
    set_by: Option<Uuid>,
    set_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct BaselineBody {
    baseline: Option<Baseline>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BaselineRequest {
    backup_set_id: Uuid,
}

async fn baseline_view(
    state: &AppState,
    access: &TenantAccess,
    row: Option<baselines::Model>,
) -> Result<BaselineBody, ApiError> {
    let Some(row) = row else {
        return Ok(BaselineBody { baseline: None });
    };
    let source = drift_store::baseline_source(&state.services().db, access.scope()).await?;
    Ok(BaselineBody {
        baseline: source.map(|s| Baseline {
            backup_set_id: row.backup_set_id,
            backup_set_tenant_id: s.set.tenant_id,
            backup_set_name: s.set.name,
            set_by: row.set_by,
            set_at: row.set_at,
        }),
    })
}

async fn baseline(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<BaselineBody>, ApiError> {
    let row = drift_store::baseline(&state.services().db, access.scope()).await?;
    Ok(Json(baseline_view(&state, &access, row).await?))
}

/// Sets the baseline: the API's and the web UI's.
pub(super) async fn make_baseline(
    state: &AppState,
    access: &TenantAccess,
    backup_set_id: Uuid,
) -> Result<baselines::Model, ApiError> {
    access.require(Role::Admin)?;
    let db = &state.services().db;
    let owner = content::content_owner(db, TargetType::BackupSet, backup_set_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if owner != access.tenant_id() {
        // A baseline of another tenant needs a membership there: non-members see 404.
        member_access(state, access.user.clone(), owner).await?;
    }
    let row =
        drift_store::set_baseline(db, access.scope(), backup_set_id, access.user.id()).await?;
    access
        .audit(
            state,
            "baseline.set",
            json!({"backup_set_id": backup_set_id, "backup_set_tenant_id": owner}),
        )
        .await?;
    Ok(row)
}

async fn set_baseline(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<BaselineRequest>,
) -> Result<Json<BaselineBody>, ApiError> {
    let row = make_baseline(&state, &access, body.backup_set_id).await?;
    Ok(Json(baseline_view(&state, &access, Some(row)).await?))
}

/// Removes the baseline (audited when there was one): the API's and the web UI's.
pub(super) async fn remove_baseline(
    state: &AppState,
    access: &TenantAccess,
) -> Result<(), ApiError> {
    access.require(Role::Admin)?;
    if drift_store::clear_baseline(&state.services().db, access.scope()).await? {
        access.audit(state, "baseline.cleared", json!({})).await?;
    }
    Ok(())
}

async fn clear_baseline(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<StatusCode, ApiError> {
    remove_baseline(&state, &access).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Report {
    id: Uuid,
    /// The capture compared.
    snapshot_id: Uuid,
    backup_set_id: Uuid,
    run_id: Option<Uuid>,
    computed_at: DateTime<Utc>,
    /// Share of the baseline's settings the tenant matches, 0 to 1.
    score: f64,
    baseline_settings: i32,
    matching_settings: i32,
    missing: i32,
    extra: i32,
    differing: i32,
    /// Differences left out because an exception accepts them.
    excepted: i32,
    /// Missing objects, differing settings, extra objects.
    entries: Vec<DriftEntry>,
}

impl From<&drift_reports::Model> for Report {
    fn from(r: &drift_reports::Model) -> Self {
        Self {
            id: r.id,
            snapshot_id: r.snapshot_id,
            backup_set_id: r.backup_set_id,
            run_id: r.run_id,
            computed_at: r.computed_at,
            score: r.score,
            baseline_settings: r.baseline_settings,
            matching_settings: r.matching_settings,
            missing: r.missing,
            extra: r.extra,
            differing: r.differing,
            excepted: r.excepted,
            entries: drift_store::entries(r),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct DriftBody {
    drift: Option<Report>,
}

async fn tenant_drift(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<DriftBody>, ApiError> {
    let report = drift_store::latest_report(&state.services().db, access.scope()).await?;
    Ok(Json(DriftBody {
        drift: report.as_ref().map(Report::from),
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
struct Exception {
    id: Uuid,
    policy_type: String,
    graph_id: String,
    /// The accepted setting, or `*` for a whole missing or extra object.
    path: String,
    reason: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<&drift_exceptions::Model> for Exception {
    fn from(e: &drift_exceptions::Model) -> Self {
        Self {
            id: e.id,
            policy_type: e.policy_type.clone(),
            graph_id: e.graph_id.clone(),
            path: e.path.clone(),
            reason: e.reason.clone(),
            created_by: e.created_by,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct ExceptionList {
    exceptions: Vec<Exception>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ExceptionBody {
    exception: Exception,
}

/// What a drift entry names: its `policy_type`, `graph_id` and `path`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExceptionRequest {
    pub policy_type: String,
    pub graph_id: String,
    /// The setting's path; `*` (the default) accepts a whole missing or extra object.
    #[serde(default)]
    pub path: Option<String>,
    /// Why this tenant may differ (1 to 500 characters).
    pub reason: String,
}

async fn list_exceptions(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<ExceptionList>, ApiError> {
    let rows = drift_store::exceptions(&state.services().db, access.scope()).await?;
    Ok(Json(ExceptionList {
        exceptions: rows.iter().map(Exception::from).collect(),
    }))
}

/// Records an exception: the API's and the web UI's.
pub(super) async fn accept_difference(
    state: &AppState,
    access: &TenantAccess,
    body: ExceptionRequest,
) -> Result<drift_exceptions::Model, ApiError> {
    access.require(Role::Admin)?;
    let policy_type = PolicyType::parse(body.policy_type.trim())
        .map_err(|e| ApiError::Validation(format!("policy_type: {e}")))?;
    let graph_id = body.graph_id.trim();
    if graph_id.is_empty() || graph_id.len() > 512 || graph_id.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "graph_id: the id of the object the drift entry names".into(),
        ));
    }
    let path = body
        .path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(WHOLE_OBJECT);
    if path.len() > 2048 || path.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "path: the setting path the drift entry names".into(),
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::Validation(
            "reason: say why this tenant may differ (1 to 500 characters)".into(),
        ));
    }
    let row = drift_store::add_exception(
        &state.services().db,
        access.scope(),
        NewException {
            policy_type: policy_type.key().to_string(),
            graph_id: graph_id.to_string(),
            path: path.to_string(),
            reason: reason.to_string(),
            created_by: access.user.id(),
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => {
            ApiError::Conflict("this difference is already accepted for the tenant".into())
        }
        other => other.into(),
    })?;
    access
        .audit(
            state,
            "drift.exception.accepted",
            json!({"exception_id": row.id, "policy_type": row.policy_type, "graph_id": row.graph_id,
               "path": row.path, "reason": row.reason}),
        )
        .await?;
    Ok(row)
}

async fn accept(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<ExceptionRequest>,
) -> Result<Response, ApiError> {
    let row = accept_difference(&state, &access, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(ExceptionBody {
            exception: Exception::from(&row),
        }),
    )
        .into_response())
}

/// Withdraws an exception: the API's and the web UI's.
pub(super) async fn withdraw(
    state: &AppState,
    access: &TenantAccess,
    id: Uuid,
) -> Result<(), ApiError> {
    access.require(Role::Admin)?;
    if let Some(row) =
        drift_store::remove_exception(&state.services().db, access.scope(), id).await?
    {
        access.audit(
            state,
            "drift.exception.removed",
            json!({"exception_id": row.id, "policy_type": row.policy_type, "graph_id": row.graph_id,
                   "path": row.path}),
        )
        .await?;
    }
    Ok(())
}

async fn remove_exception(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    withdraw(&state, &access, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, JsonSchema)]
struct EstateQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct TenantDriftLine {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub backup_set_id: Uuid,
    /// `null` until the tenant's first capture after the baseline was set.
    pub score: Option<f64>,
    pub missing: Option<i32>,
    pub extra: Option<i32>,
    pub differing: Option<i32>,
    pub computed_at: Option<DateTime<Utc>>,
    /// The tenant's drift page in the web UI.
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
struct EstateDrift {
    tenants: Vec<TenantDriftLine>,
    next_cursor: Option<String>,
}

/// The drift lines of the user's tenants, worst first.
pub(super) async fn estate_lines(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<TenantDriftLine>, ApiError> {
    let db = &state.services().db;
    let tenants = accounts::tenants_of(db, user.id()).await?;
    let scopes: Vec<_> = tenants.iter().map(|m| m.scope).collect();
    let base = state
        .services()
        .settings
        .server
        .public_url
        .trim_end_matches('/');
    Ok(drift_store::estate(db, &scopes)
        .await?
        .into_iter()
        .map(|t| TenantDriftLine {
            tenant_id: t.tenant.id,
            tenant_name: t.tenant.name.clone(),
            backup_set_id: t.baseline.backup_set_id,
            score: t.report.as_ref().map(|r| r.score),
            missing: t.report.as_ref().map(|r| r.missing),
            extra: t.report.as_ref().map(|r| r.extra),
            differing: t.report.as_ref().map(|r| r.differing),
            computed_at: t.report.as_ref().map(|r| r.computed_at),
            url: format!("{base}/tenants/{}/drift", t.tenant.id),
        })
        .collect())
}

async fn estate(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<EstateQuery>,
) -> Result<Json<EstateDrift>, ApiError> {
    let limit = page_limit(q.limit) as usize;
    // The order is by score, so the cursor is a position in it.
    let offset = match q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| ApiError::Validation("cursor: not a cursor this API issued".into()))?,
    };
    let lines = estate_lines(&state, &user).await?;
    let total = lines.len();
    let tenants: Vec<TenantDriftLine> = lines.into_iter().skip(offset).take(limit).collect();
    let next_cursor = (offset + limit < total).then(|| (offset + limit).to_string());
    Ok(Json(EstateDrift {
        tenants,
        next_cursor,
    }))
}

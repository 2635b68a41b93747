//! Run Records: list, detail, items, the active-runs feed, and the shared "start" answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::{ItemAction, Role, RunItemStatus, RunOperation, RunStatus};
use entity::run_items;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::extract::{self, Path, Query, page_limit};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::runs::start::Started;
use crate::runs::view::RunView;
use crate::store::accounts;
use crate::store::runs::{self as run_store, RunCursor, RunFilter};

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    Routes::new()
        .get("/tenants/{tenant}/runs", VIEWER, list)
        .doc(
            Doc::new("List the tenant's runs, newest first")
                .query::<ListQuery>()
                .returns::<RunList>(200, "A page of runs"),
        )
        .get("/tenants/{tenant}/runs/{run}", VIEWER, detail)
        .doc(Doc::new("Read one run").returns::<RunBody>(200, "The run"))
        .get("/tenants/{tenant}/runs/{run}/items", VIEWER, items)
        .doc(
            Doc::new("List a run's items")
                .query::<ItemsQuery>()
                .returns::<RunItemList>(200, "A page of items"),
        )
        .post(
            "/tenants/{tenant}/runs/{run}/cancel",
            Access::Tenant(Role::Operator),
            cancel,
        )
        .doc(
            Doc::new(
                "Cancel a run: a queued one at once, a running one after the item in flight \
                 (the rest skipped `canceled`); asking again changes nothing",
            )
            .returns::<RunBody>(202, "The run, `canceled` or about to be"),
        )
        .get("/runs", Access::User, list_all)
        .doc(
            Doc::new("Runs of every tenant you belong to (or of one), newest first")
                .query::<AllQuery>()
                .returns::<AllRunList>(200, "A page of runs"),
        )
        .get("/runs/active", Access::User, active)
        .doc(
            Doc::new("Queued and running runs of every tenant the caller belongs to")
                .returns::<ActiveRuns>(200, "The active runs"),
        )
}

/// The answer of every route that starts a run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StartedBody {
    pub run: RunView,
    /// True when an identical run was already queued or running and is answered instead.
    pub deduplicated: bool,
    /// The item ids the run acts on (`null`: all items of its target) — for a
    /// de-duplicated start, the selection this start shares with the run.
    pub item_ids: Option<Vec<uuid::Uuid>>,
}

/// The answer of every route that starts a run: 202 for a new run, 200 for a duplicate.
pub fn started_doc(summary: &'static str) -> Doc {
    Doc::new(summary)
        .returns::<StartedBody>(202, "The run was queued")
        .returns::<StartedBody>(200, "An identical run is already queued or running")
}

#[derive(Debug, Serialize, JsonSchema)]
struct RunList {
    runs: Vec<RunView>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct RunBody {
    run: RunView,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ActiveRun {
    #[serde(flatten)]
    run: RunView,
    tenant_name: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ActiveRuns {
    runs: Vec<ActiveRun>,
}

/// 202 + the new run, or 200 + the identical run already queued/running.
pub fn started_response(state: &AppState, started: &Started) -> Response {
    let status = if started.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let body = StartedBody {
        run: state.orchestrator.view(&started.run),
        deduplicated: started.deduplicated,
        item_ids: crate::runs::RunSpec::of(&started.run)
            .ok()
            .and_then(|spec| spec.selection().item_ids().map(<[Uuid]>::to_vec)),
    };
    (status, Json(body)).into_response()
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ListQuery {
    /// e.g. `capture_snapshot`, `restore_preview`.
    operation: Option<String>,
    /// e.g. `queued`, `running`, `succeeded`, `failed`.
    status: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<ListQuery>,
) -> Result<Json<RunList>, ApiError> {
    let filter = run_filter(
        query.operation.as_deref(),
        query.status.as_deref(),
        query.cursor.as_deref(),
    )?;
    let limit = page_limit(query.limit);
    let (rows, next) =
        run_store::list(&state.services().db, access.scope(), &filter, limit).await?;
    let runs: Vec<_> = rows.iter().map(|r| state.orchestrator.view(r)).collect();
    Ok(Json(RunList {
        runs,
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// The filter a runs list's query asks for (422 naming the parameter at fault).
fn run_filter(
    operation: Option<&str>,
    status: Option<&str>,
    cursor: Option<&str>,
) -> Result<RunFilter, ApiError> {
    Ok(RunFilter {
        operation: parse_opt::<RunOperation>(operation)?,
        status: parse_opt::<RunStatus>(status)?,
        before: match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(RunCursor::decode(c).ok_or_else(|| {
                ApiError::Validation("cursor: not a cursor this API issued".into())
            })?),
            None => None,
        },
        since: None,
    })
}

fn parse_opt<T>(text: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr<Err = entity::enums::UnknownValue>,
{
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<T>()
            .map(Some)
            .map_err(|e| ApiError::Validation(e.to_string())),
        None => Ok(None),
    }
}

async fn detail(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
) -> Result<Json<RunBody>, ApiError> {
    let run = run_store::get_in_tenant(&state.services().db, access.scope(), run_id).await?;
    Ok(Json(RunBody {
        run: state.orchestrator.view(&run),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ItemsQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    cursor: Option<String>,
}

/// One item of a run: what was (or, in a preview, would be) done with one object.
#[derive(Debug, Serialize, JsonSchema)]
struct RunItem {
    id: Uuid,
    /// Stable key of the item within the run; the items' cursor.
    item_key: String,
    policy_type: String,
    display_name: String,
    /// The backup or snapshot item acted on.
    source_ref: Option<Uuid>,
    #[schemars(schema_with = "super::openapi::vocabulary::run_item_status")]
    status: RunItemStatus,
    #[schemars(schema_with = "super::openapi::vocabulary::item_action_or_null")]
    action: Option<ItemAction>,
    error_code: Option<String>,
    error_message: Option<String>,
    error_context: Option<Value>,
    /// How a restore found the item's target: `mapping`, `same_id`, `name` or `none`.
    #[serde(rename = "match")]
    match_kind: Option<String>,
    /// A preview's difference between the stored item and the target tenant's object.
    diff: Option<Value>,
    /// Graph id of the object created or updated in the target tenant.
    result_graph_id: Option<String>,
    attempts: i32,
    finished_at: Option<DateTime<Utc>>,
    /// Comparisons: `added`, `removed` or `changed` (null for other runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<&'static str>,
    /// Comparisons: the settings that differ, `[{"path","before","after"}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<Value>,
}

impl RunItem {
    fn of(item: &run_items::Model, operation: RunOperation) -> Self {
        let mut out = Self::from(item);
        if operation == RunOperation::Compare {
            out.change = match item.action {
                Some(ItemAction::Added) => Some("added"),
                Some(ItemAction::Removed) => Some("removed"),
                Some(ItemAction::Changed) => Some("changed"),
                _ => None,
            };
            out.settings = item.diff.as_ref().and_then(|d| d.get("settings")).cloned();
        }
        out
    }
}

impl From<&run_items::Model> for RunItem {
    fn from(item: &run_items::Model) -> Self {
        Self {
            id: item.id,
            item_key: item.item_key.clone(),
            policy_type: item.policy_type.clone(),
            display_name: item.display_name.clone(),
            source_ref: item.source_ref,
            status: item.status,
            action: item.action,
            error_code: item.error_code.clone(),
            error_message: item.error_message.clone(),
            error_context: item.error_context.clone(),
            match_kind: item.match_kind.clone(),
            diff: item.diff.clone(),
            result_graph_id: item.result_graph_id.clone(),
            attempts: item.attempts,
            finished_at: item.finished_at,
            change: None,
            settings: None,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct RunItemList {
    items: Vec<RunItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

async fn items(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
    Query(query): Query<ItemsQuery>,
) -> Result<Json<RunItemList>, ApiError> {
    let db = &state.services().db;
    let run = run_store::get_in_tenant(db, access.scope(), run_id).await?;
    super::auth::require_run_content(&state, &access, &run).await?;
    let limit = page_limit(query.limit);
    let rows = run_store::items(
        db,
        access.scope(),
        run.id,
        extract::key_cursor(query.cursor.as_deref(), "cursor")?,
        limit + 1,
    )
    .await?;
    let (items, next_cursor) = extract::page(
        rows,
        limit,
        |r| r.item_key.clone(),
        |m| RunItem::of(m, run.operation),
    );
    Ok(Json(RunItemList { items, next_cursor }))
}

/// Cancels a run: the API's and the web UI's.
pub(super) async fn cancel_run(
    state: &AppState,
    access: &TenantAccess,
    run_id: Uuid,
) -> Result<entity::runs::Model, ApiError> {
    access.require(Role::Operator)?;
    state
        .orchestrator
        .cancel(access.scope(), run_id, access.user.id())
        .await
        .map_err(|e| match e {
            crate::runs::cancel::CancelError::Finished(status) => ApiError::Conflict(format!(
                "the run already finished ({status}); only queued and running runs can be canceled"
            )),
            crate::runs::cancel::CancelError::Store(e) => e.into(),
        })
}

async fn cancel(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
) -> Result<Response, ApiError> {
    let run = cancel_run(&state, &access, run_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RunBody {
            run: state.orchestrator.view(&run),
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
struct AllQuery {
    /// e.g. `capture_snapshot`, `restore`.
    operation: Option<String>,
    /// e.g. `failed`, `partial`, `running`.
    status: Option<String>,
    /// Only this tenant (one of yours).
    #[serde(default, deserialize_with = "super::extract::opt_uuid")]
    tenant: Option<Uuid>,
    /// Only runs queued at or after this instant (RFC 3339, e.g. `2026-12-01T00:00:00Z`).
    since: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct AllRunList {
    runs: Vec<ActiveRun>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

async fn list_all(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<AllQuery>,
) -> Result<Json<AllRunList>, ApiError> {
    let db = &state.services().db;
    let tenants = accounts::tenants_of(db, user.id()).await?;
    let scopes: Vec<_> = match query.tenant {
        Some(id) => {
            let Some(m) = tenants.iter().find(|m| m.tenant.id == id) else {
                return Err(ApiError::Validation("tenant: not a tenant of yours".into()));
            };
            vec![m.scope]
        }
        None => tenants.iter().map(|m| m.scope).collect(),
    };
    let mut filter = run_filter(
        query.operation.as_deref(),
        query.status.as_deref(),
        query.cursor.as_deref(),
    )?;
    filter.since = match query
        .since
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::Validation(format!(
                        "since: {s:?} is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)"
                    ))
                })?
                .with_timezone(&chrono::Utc),
        ),
        None => None,
    };
    let (rows, next) = run_store::list_in(db, &scopes, &filter, page_limit(query.limit)).await?;
    let runs = rows
        .iter()
        .map(|r| ActiveRun {
            run: state.orchestrator.view(r),
            tenant_name: tenants
                .iter()
                .find(|m| m.tenant.id == r.tenant_id)
                .map(|m| m.tenant.name.clone()),
        })
        .collect();
    Ok(Json(AllRunList {
        runs,
        next_cursor: next.map(|c| c.encode()),
    }))
}

async fn active(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<ActiveRuns>, ApiError> {
    let db = &state.services().db;
    let tenants = accounts::tenants_of(db, user.id()).await?;
    let scopes: Vec<_> = tenants.iter().map(|m| m.scope).collect();
    let rows = run_store::list_active(db, &scopes).await?;
    let runs = rows
        .iter()
        .map(|r| ActiveRun {
            run: state.orchestrator.view(r),
            tenant_name: tenants
                .iter()
                .find(|m| m.tenant.id == r.tenant_id)
                .map(|m| m.tenant.name.clone()),
        })
        .collect();
    Ok(Json(ActiveRuns { runs }))
}

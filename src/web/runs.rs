//! Run Records: list, detail, items, the active-runs feed, and the shared "start" answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use entity::enums::{Role, RunOperation, RunStatus};
use entity::run_items;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::extract::{Path, Query, page_limit};
use super::routes::{Access, Routes};
use crate::runs::start::Started;
use crate::store::accounts;
use crate::store::runs::{self as run_store, RunCursor, RunFilter};

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    Routes::new()
        .get("/tenants/{tenant}/runs", VIEWER, list)
        .get("/tenants/{tenant}/runs/{run}", VIEWER, detail)
        .get("/tenants/{tenant}/runs/{run}/items", VIEWER, items)
        .get("/runs/active", Access::User, active)
}

/// 202 + the new run, or 200 + the identical run already queued/running.
pub fn started_response(state: &AppState, started: &Started) -> Response {
    let status = if started.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let body = json!({
        "run": state.orchestrator.view(&started.run),
        "deduplicated": started.deduplicated,
    });
    (status, Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    operation: Option<String>,
    status: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = RunFilter {
        operation: parse_opt::<RunOperation>(query.operation.as_deref())?,
        status: parse_opt::<RunStatus>(query.status.as_deref())?,
        before: match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(RunCursor::decode(c).ok_or_else(|| {
                ApiError::Validation("cursor: not a cursor this API issued".into())
            })?),
            None => None,
        },
    };
    let limit = page_limit(query.limit);
    let (rows, next) =
        run_store::list(&state.services().db, access.tenant_id(), &filter, limit).await?;
    let runs: Vec<_> = rows.iter().map(|r| state.orchestrator.view(r)).collect();
    Ok(Json(
        json!({"runs": runs, "next_cursor": next.map(|c| c.encode())}),
    ))
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
) -> Result<Json<Value>, ApiError> {
    let run = run_store::get_in_tenant(&state.services().db, access.tenant_id(), run_id).await?;
    Ok(Json(json!({"run": state.orchestrator.view(&run)})))
}

#[derive(Debug, Deserialize)]
struct ItemsQuery {
    limit: Option<u64>,
    cursor: Option<String>,
}

pub fn item_json(item: &run_items::Model) -> Value {
    json!({
        "id": item.id,
        "item_key": item.item_key,
        "policy_type": item.policy_type,
        "display_name": item.display_name,
        "source_ref": item.source_ref,
        "status": item.status.as_str(),
        "action": item.action,
        "error_code": item.error_code,
        "error_message": item.error_message,
        "diff": item.diff,
        "result_graph_id": item.result_graph_id,
        "attempts": item.attempts,
        "finished_at": item.finished_at,
    })
}

async fn items(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
    Query(query): Query<ItemsQuery>,
) -> Result<Json<Value>, ApiError> {
    let db = &state.services().db;
    let run = run_store::get_in_tenant(db, access.tenant_id(), run_id).await?;
    let limit = page_limit(query.limit);
    let rows = run_store::items(
        db,
        access.tenant_id(),
        run.id,
        query.cursor.as_deref().filter(|c| !c.is_empty()),
        limit,
    )
    .await?;
    let next = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.item_key.clone()))
        .flatten();
    let items: Vec<Value> = rows.iter().map(item_json).collect();
    Ok(Json(json!({"items": items, "next_cursor": next})))
}

async fn active(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, ApiError> {
    let db = &state.services().db;
    let tenants = accounts::tenants_of(db, user.id()).await?;
    let ids: Vec<Uuid> = tenants.iter().map(|(t, _)| t.id).collect();
    let rows = run_store::list_active(db, &ids).await?;
    let runs: Vec<Value> = rows
        .iter()
        .map(|r| {
            let name = tenants
                .iter()
                .find(|(t, _)| t.id == r.tenant_id)
                .map(|(t, _)| t.name.as_str());
            let mut v = serde_json::to_value(state.orchestrator.view(r)).unwrap_or(Value::Null);
            v["tenant_name"] = json!(name);
            v
        })
        .collect();
    Ok(Json(json!({"runs": runs})))
}

//! Snapshots: start a capture, list them, read one and its items.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use entity::enums::Role;
use entity::{snapshot_items, snapshots};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract::{self, Path, Query, page_limit};
use super::openapi::{Doc, shape};
use super::routes::{Access, Routes};
use super::runs::{started_doc, started_response};
use crate::graph::registry;
use crate::runs::RunSpec;
use crate::runs::start::{StartRequest, Started};
use crate::store::content;

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    Routes::new()
        .get("/tenants/{tenant}/snapshots", VIEWER, list)
        .doc(
            Doc::new("List the tenant's snapshots, newest first")
                .query::<PageQuery>()
                .returns_shape(
                    200,
                    "A page of snapshots",
                    shape::page("snapshots", snapshot_shape(), shape::uuid()),
                ),
        )
        .post(
            "/tenants/{tenant}/snapshots",
            Access::Tenant(Role::Operator),
            start_capture,
        )
        .doc(started_doc("Start capturing a snapshot of the tenant").optional_body::<CaptureBody>())
        .get("/tenants/{tenant}/snapshots/{id}", VIEWER, detail)
        .doc(Doc::new("Read one snapshot").returns_shape(
            200,
            "The snapshot",
            shape::object(&[("snapshot", snapshot_shape())]),
        ))
        .get("/tenants/{tenant}/snapshots/{id}/items", VIEWER, items)
        .doc(
            Doc::new("List a snapshot's items (with `payload=true`, their content)")
                .query::<PageQuery>()
                .returns_shape(
                    200,
                    "A page of items",
                    shape::page("items", item_shape(), shape::uuid()),
                ),
        )
}

fn snapshot_shape() -> Value {
    use shape::{any, datetime, integer, nullable, object, uuid};
    object(&[
        ("id", uuid()),
        ("tenant_id", uuid()),
        ("run_id", nullable(uuid())),
        ("policy_types", any()),
        ("item_count", integer()),
        ("purpose", shape::string()),
        ("created_by", nullable(uuid())),
        ("created_at", datetime()),
    ])
}

/// Without `payload` and `assignments` unless asked for.
fn item_shape() -> Value {
    use shape::{object, string, uuid};
    object(&[
        ("id", uuid()),
        ("policy_type", string()),
        ("source_id", string()),
        ("display_name", string()),
        ("content_hash", string()),
    ])
}

/// Validated policy-type keys; `None` or an empty list means every supported type.
pub fn policy_types(input: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let names = input.unwrap_or_default();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let contracts = registry::parse_types(&names)
        .map_err(|e| ApiError::Validation(format!("policy_types: {e}")))?;
    Ok(contracts.iter().map(|c| c.key.to_string()).collect())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    /// Policy-type keys to capture; absent or empty means every supported type.
    policy_types: Option<Vec<String>>,
}

async fn start_capture(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::OptionalJson(body): extract::OptionalJson<CaptureBody>,
) -> Result<Response, ApiError> {
    let body = body.unwrap_or(CaptureBody { policy_types: None });
    let started = capture_snapshot(&state, &access, body.policy_types).await?;
    Ok(started_response(&state, &started))
}

/// Starts (or joins) a snapshot capture of the tenant: the API's and the web UI's start.
pub(super) async fn capture_snapshot(
    state: &AppState,
    access: &TenantAccess,
    policy_types: Option<Vec<String>>,
) -> Result<Started, ApiError> {
    access.require(Role::Operator)?;
    let types = self::policy_types(policy_types)?;
    Ok(state
        .orchestrator
        .start(StartRequest {
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::CaptureSnapshot {
                policy_types: types,
            },
        })
        .await?)
}

fn snapshot_json(s: &snapshots::Model) -> Value {
    json!({
        "id": s.id,
        "tenant_id": s.tenant_id,
        "run_id": s.run_id,
        "policy_types": s.policy_types,
        "item_count": s.item_count,
        // `capture`, or `pre_restore`: the target's objects before a restore changed them.
        "purpose": s.purpose,
        "created_by": s.created_by,
        "created_at": s.created_at,
    })
}

fn snapshot_item_json(i: &snapshot_items::Model, with_payload: bool) -> Value {
    let mut v = json!({
        "id": i.id,
        "policy_type": i.policy_type,
        "source_id": i.source_id,
        "display_name": i.display_name,
        "content_hash": i.content_hash,
    });
    if with_payload {
        v["payload"] = i.payload.clone();
        v["assignments"] = i.assignments.clone();
    }
    v
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "super::extract::opt_uuid")]
    pub cursor: Option<Uuid>,
    /// Include each item's stored payload and assignments.
    #[serde(default)]
    pub payload: bool,
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(q.limit);
    let mut rows =
        content::snapshots(&state.services().db, access.scope(), q.cursor, limit + 1).await?;
    let next = super::extract::next_cursor(&mut rows, limit, |s| s.id);
    Ok(Json(json!({
        "snapshots": rows.iter().map(snapshot_json).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

async fn detail(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<Value>, ApiError> {
    let s = content::snapshot(&state.services().db, access.scope(), id).await?;
    Ok(Json(json!({"snapshot": snapshot_json(&s)})))
}

async fn items(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let db = &state.services().db;
    let s = content::snapshot(db, access.scope(), id).await?;
    let limit = page_limit(q.limit);
    let mut rows = content::snapshot_items(db, access.scope(), s.id, q.cursor, limit + 1).await?;
    let next = super::extract::next_cursor(&mut rows, limit, |i| i.id);
    Ok(Json(json!({
        "items": rows.iter().map(|i| snapshot_item_json(i, q.payload)).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

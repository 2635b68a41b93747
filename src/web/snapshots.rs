//! Snapshots: start a capture, list them, read one and its items.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{snapshot_items, snapshots};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract::{self, Path, Query, page_limit};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use super::runs::{started_doc, started_response};
use crate::graph::registry::PolicyType;
use crate::graph::{compare, coverage, registry};
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
                .returns::<SnapshotList>(200, "A page of snapshots"),
        )
        .post(
            "/tenants/{tenant}/snapshots",
            Access::Tenant(Role::Operator),
            start_capture,
        )
        .doc(started_doc("Start capturing a snapshot of the tenant").optional_body::<CaptureBody>())
        .get("/tenants/{tenant}/snapshots/{id}", VIEWER, detail)
        .doc(Doc::new("Read one snapshot").returns::<SnapshotBody>(200, "The snapshot"))
        .get("/tenants/{tenant}/snapshots/{id}/coverage", VIEWER, coverage)
        .doc(
            Doc::new("What the snapshot holds per policy type, and what a restore will not write and why")
                .returns::<CoverageBody>(200, "Coverage per type, in restore order"),
        )
        .get("/tenants/{tenant}/snapshots/{id}/changes", VIEWER, changes)
        .doc(
            Doc::new("What changed since the tenant's previous capture of the same policy types")
                .returns::<ChangesBody>(200, "Objects added, removed and changed, with their settings"),
        )
        .get("/tenants/{tenant}/snapshots/{id}/items", VIEWER, items)
        .doc(
            Doc::new("List a snapshot's items (with `payload=true`, their content)")
                .query::<PageQuery>()
                .returns::<SnapshotItemList>(200, "A page of items"),
        )
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Snapshot {
    id: Uuid,
    tenant_id: Uuid,
    /// The capture run that produced it.
    run_id: Option<Uuid>,
    #[schemars(with = "Vec<String>")]
    policy_types: Value,
    item_count: i32,
    /// `capture`, or `pre_restore`: the target's objects before a restore changed them.
    #[schemars(schema_with = "purpose_schema")]
    purpose: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

fn purpose_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": [content::SNAPSHOT_CAPTURE, content::SNAPSHOT_PRE_RESTORE],
    })
}

impl From<&snapshots::Model> for Snapshot {
    fn from(s: &snapshots::Model) -> Self {
        Self {
            id: s.id,
            tenant_id: s.tenant_id,
            run_id: s.run_id,
            policy_types: s.policy_types.clone(),
            item_count: s.item_count,
            purpose: s.purpose.clone(),
            created_by: s.created_by,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct SnapshotList {
    snapshots: Vec<Snapshot>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<Uuid>,
}

/// A capture's coverage (snapshots and backup sets).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CoverageBody {
    pub(super) coverage: Vec<coverage::TypeCoverage>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct SnapshotBody {
    snapshot: Snapshot,
}

/// A captured object's stored content, in item answers when asked for (`payload=true`).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ItemContent {
    /// The normalized Graph object, sub-resources included.
    payload: Value,
    assignments: Value,
}

impl ItemContent {
    pub(super) fn of(asked: bool, payload: &Value, assignments: &Value) -> Option<Self> {
        asked.then(|| Self {
            payload: payload.clone(),
            assignments: assignments.clone(),
        })
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct SnapshotItem {
    id: Uuid,
    policy_type: String,
    source_id: String,
    display_name: String,
    content_hash: String,
    #[serde(flatten)]
    content: Option<ItemContent>,
}

impl SnapshotItem {
    fn new(i: &snapshot_items::Model, with_content: bool) -> Self {
        Self {
            id: i.id,
            policy_type: i.policy_type.clone(),
            source_id: i.source_id.clone(),
            display_name: i.display_name.clone(),
            content_hash: i.content_hash.clone(),
            content: ItemContent::of(with_content, &i.payload, &i.assignments),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct SnapshotItemList {
    items: Vec<SnapshotItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<Uuid>,
}

/// Validated policy types, in restore order; `None` or an empty list means every supported
/// type.
pub fn policy_types(input: Option<Vec<String>>) -> Result<Vec<PolicyType>, ApiError> {
    registry::parse_types(&input.unwrap_or_default())
        .map_err(|e| ApiError::Validation(format!("policy_types: {e}")))
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
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::CaptureSnapshot {
                policy_types: types,
                schedule_id: None,
            },
        })
        .await?)
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
) -> Result<Json<SnapshotList>, ApiError> {
    let limit = page_limit(q.limit);
    let rows =
        content::snapshots(&state.services().db, access.scope(), q.cursor, limit + 1).await?;
    let (snapshots, next_cursor) = extract::page(rows, limit, |s| s.id, |m| Snapshot::from(m));
    Ok(Json(SnapshotList {
        snapshots,
        next_cursor,
    }))
}

async fn detail(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<SnapshotBody>, ApiError> {
    let s = content::snapshot(&state.services().db, access.scope(), id).await?;
    Ok(Json(SnapshotBody {
        snapshot: Snapshot::from(&s),
    }))
}

async fn coverage(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<CoverageBody>, ApiError> {
    let db = &state.services().db;
    let s = content::snapshot(db, access.scope(), id).await?;
    let rows = content::all_snapshot_items(db, access.scope(), s.id).await?;
    Ok(Json(CoverageBody {
        coverage: coverage::of(
            rows.iter()
                .map(|i| (i.policy_type.as_str(), i.source_id.as_str(), &i.payload)),
        ),
    }))
}

/// A capture's changes since the previous capture (`GET .../snapshots/{id}/changes`).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ChangesBody {
    /// The capture compared with; null where there was none (a first capture, a pre-restore
    /// copy, or a snapshot from before changes were recorded), and `changes` is empty.
    pub(super) previous_snapshot_id: Option<Uuid>,
    /// In (type, name) order.
    pub(super) changes: Vec<compare::ObjectChange>,
}

impl ChangesBody {
    pub(super) fn of(s: &snapshots::Model) -> Self {
        let changes = s
            .changes
            .clone()
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        Self {
            previous_snapshot_id: s.previous_snapshot_id,
            changes,
        }
    }
}

async fn changes(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<ChangesBody>, ApiError> {
    let s = content::snapshot(&state.services().db, access.scope(), id).await?;
    Ok(Json(ChangesBody::of(&s)))
}

async fn items(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<SnapshotItemList>, ApiError> {
    let db = &state.services().db;
    let s = content::snapshot(db, access.scope(), id).await?;
    let limit = page_limit(q.limit);
    let rows = content::snapshot_items(db, access.scope(), s.id, q.cursor, limit + 1).await?;
    let (items, next_cursor) =
        extract::page(rows, limit, |i| i.id, |i| SnapshotItem::new(i, q.payload));
    Ok(Json(SnapshotItemList { items, next_cursor }))
}

//! Backup sets: create (optionally capturing right away), capture/sync, list, read, items.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{backup_items, backup_sets};
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
use super::snapshots::{CoverageBody, ItemContent, PageQuery, policy_types};
use crate::runs::RunSpec;
use crate::runs::start::{StartRequest, Started};
use crate::runs::view::RunView;
use crate::store::{StoreError, content};

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    const OPERATOR: Access = Access::Tenant(Role::Operator);
    Routes::new()
        .get("/tenants/{tenant}/backup-sets", VIEWER, list)
        .doc(
            Doc::new("List the tenant's backup sets")
                .query::<PageQuery>()
                .returns::<BackupSetList>(200, "A page of backup sets"),
        )
        .post("/tenants/{tenant}/backup-sets", OPERATOR, create)
        .doc(
            Doc::new("Create a backup set (with `capture: true`, start capturing it)")
                .body::<CreateBody>()
                .returns::<CreatedBody>(
                    201,
                    "The backup set, and the capture run if one was started",
                ),
        )
        .get("/tenants/{tenant}/backup-sets/{id}", VIEWER, detail)
        .doc(Doc::new("Read one backup set").returns::<BackupSetBody>(200, "The backup set"))
        .get("/tenants/{tenant}/backup-sets/{id}/coverage", VIEWER, coverage)
        .doc(
            Doc::new("What the backup set's latest versions hold per policy type, and what a restore will not write and why")
                .returns::<CoverageBody>(200, "Coverage per type, in restore order"),
        )
        .get("/tenants/{tenant}/backup-sets/{id}/changes", VIEWER, changes)
        .doc(
            Doc::new("What the set's latest capture changed against the versions it held before")
                .returns::<SetChangesBody>(200, "Objects added, removed and changed, with their settings"),
        )
        .get("/tenants/{tenant}/backup-sets/{id}/items", VIEWER, items)
        .doc(
            Doc::new("List a backup set's items (latest versions unless `all_versions`)")
                .query::<ItemsQuery>()
                .returns::<BackupItemList>(200, "A page of items"),
        )
        .post(
            "/tenants/{tenant}/backup-sets/{id}/capture",
            OPERATOR,
            capture,
        )
        .doc(started_doc("Capture (sync) the backup set now"))
}

/// A backup set capture's changes (`GET .../backup-sets/{id}/changes`).
#[derive(Debug, Serialize, JsonSchema)]
struct SetChangesBody {
    /// The capture run that computed them; null before the set's second capture.
    run_id: Option<Uuid>,
    /// When the set was captured before that run.
    since: Option<DateTime<Utc>>,
    /// In (type, name) order.
    changes: Vec<crate::graph::compare::ObjectChange>,
}

async fn changes(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<SetChangesBody>, ApiError> {
    let set = content::backup_set(&state.services().db, access.scope(), id).await?;
    Ok(Json(SetChangesBody {
        run_id: set.changes_run_id,
        since: set.changes_since,
        changes: set
            .changes
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default(),
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
struct CreatedBody {
    backup_set: BackupSet,
    run: Option<RunView>,
    deduplicated: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
struct BackupSet {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    description: Option<String>,
    /// Policy-type keys the set captures; empty means every supported type.
    #[schemars(with = "Vec<String>")]
    policy_types: Value,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_captured_at: Option<DateTime<Utc>>,
}

impl From<&backup_sets::Model> for BackupSet {
    fn from(s: &backup_sets::Model) -> Self {
        Self {
            id: s.id,
            tenant_id: s.tenant_id,
            name: s.name.clone(),
            description: s.description.clone(),
            policy_types: s.policy_types.clone(),
            created_by: s.created_by,
            created_at: s.created_at,
            updated_at: s.updated_at,
            last_captured_at: s.last_captured_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct BackupSetList {
    backup_sets: Vec<BackupSet>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<Uuid>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct BackupSetBody {
    backup_set: BackupSet,
}

/// One captured version of an object.
#[derive(Debug, Serialize, JsonSchema)]
struct BackupItem {
    id: Uuid,
    policy_type: String,
    source_id: String,
    display_name: String,
    /// 1-based, increasing per object.
    version: i32,
    is_latest: bool,
    /// Set when a capture no longer found the object in the tenant.
    missing_since: Option<DateTime<Utc>>,
    content_hash: String,
    captured_at: DateTime<Utc>,
    #[serde(flatten)]
    content: Option<ItemContent>,
}

impl BackupItem {
    fn new(i: &backup_items::Model, with_content: bool) -> Self {
        Self {
            id: i.id,
            policy_type: i.policy_type.clone(),
            source_id: i.source_id.clone(),
            display_name: i.display_name.clone(),
            version: i.version,
            is_latest: i.is_latest,
            missing_since: i.missing_since,
            content_hash: i.content_hash.clone(),
            captured_at: i.captured_at,
            content: ItemContent::of(with_content, &i.payload, &i.assignments),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct BackupItemList {
    items: Vec<BackupItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<Uuid>,
}

/// Starts (or joins) a capture of the backup set.
pub(super) async fn start_capture(
    state: &AppState,
    access: &TenantAccess,
    set: &backup_sets::Model,
) -> Result<Started, ApiError> {
    access.require(Role::Operator)?;
    Ok(state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::BackupSetCapture {
                backup_set_id: set.id,
                schedule_id: None,
            },
        })
        .await?)
}

async fn create(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<CreateBody>,
) -> Result<Response, ApiError> {
    let (set, started) = create_backup_set(&state, &access, body).await?;
    let body = CreatedBody {
        backup_set: BackupSet::from(&set),
        run: started.as_ref().map(|s| state.orchestrator.view(&s.run)),
        deduplicated: started.as_ref().is_some_and(|s| s.deduplicated),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// What creating a backup set takes, from the API's JSON or the web UI's form.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    /// Unique in the tenant.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    pub policy_types: Option<Vec<String>>,
    #[serde(default)]
    pub capture: bool,
}

/// Creates a backup set and, when asked, starts its first capture.
pub(super) async fn create_backup_set(
    state: &AppState,
    access: &TenantAccess,
    body: CreateBody,
) -> Result<(backup_sets::Model, Option<Started>), ApiError> {
    access.require(Role::Operator)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::Validation(
            "name: must be 1 to 200 characters".into(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "name: must not contain control characters".into(),
        ));
    }
    let description = body
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        return Err(ApiError::Validation(
            "description: at most 2000 characters".into(),
        ));
    }
    if description.as_ref().is_some_and(|d| {
        d.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    }) {
        return Err(ApiError::Validation(
            "description: must not contain control characters other than line breaks and tabs"
                .into(),
        ));
    }
    let types = policy_types(body.policy_types)?;
    let set = content::create_backup_set(
        &state.services().db,
        access.scope(),
        content::NewBackupSet {
            name: name.to_string(),
            description,
            policy_types: types,
            created_by: access.user.id(),
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => {
            ApiError::Conflict(format!("a backup set named {name:?} already exists"))
        }
        other => other.into(),
    })?;
    let started = if body.capture {
        Some(start_capture(state, access, &set).await?)
    } else {
        None
    };
    Ok((set, started))
}

async fn capture(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Response, ApiError> {
    let set = content::backup_set(&state.services().db, access.scope(), id).await?;
    let started = start_capture(&state, &access, &set).await?;
    Ok(started_response(&state, &started))
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<PageQuery>,
) -> Result<Json<BackupSetList>, ApiError> {
    let limit = page_limit(q.limit);
    let rows =
        content::backup_sets(&state.services().db, access.scope(), q.cursor, limit + 1).await?;
    let (backup_sets, next_cursor) = extract::page(rows, limit, |s| s.id, |m| BackupSet::from(m));
    Ok(Json(BackupSetList {
        backup_sets,
        next_cursor,
    }))
}

async fn detail(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<BackupSetBody>, ApiError> {
    let set = content::backup_set(&state.services().db, access.scope(), id).await?;
    Ok(Json(BackupSetBody {
        backup_set: BackupSet::from(&set),
    }))
}

async fn coverage(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<CoverageBody>, ApiError> {
    let db = &state.services().db;
    let set = content::backup_set(db, access.scope(), id).await?;
    let rows = content::latest_backup_items(db, access.scope(), set.id).await?;
    Ok(Json(CoverageBody {
        coverage: crate::graph::coverage::of(
            rows.iter()
                .map(|i| (i.policy_type.as_str(), i.source_id.as_str(), &i.payload)),
        ),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ItemsQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    #[serde(default, deserialize_with = "super::extract::opt_uuid")]
    cursor: Option<Uuid>,
    #[serde(default)]
    payload: bool,
    /// Every version instead of the latest of each object.
    #[serde(default)]
    all_versions: bool,
}

async fn items(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    Query(q): Query<ItemsQuery>,
) -> Result<Json<BackupItemList>, ApiError> {
    let db = &state.services().db;
    let set = content::backup_set(db, access.scope(), id).await?;
    let limit = page_limit(q.limit);
    let rows = content::backup_items(
        db,
        access.scope(),
        set.id,
        !q.all_versions,
        q.cursor,
        limit + 1,
    )
    .await?;
    let (items, next_cursor) =
        extract::page(rows, limit, |i| i.id, |i| BackupItem::new(i, q.payload));
    Ok(Json(BackupItemList { items, next_cursor }))
}

//! Schedules: a tenant's recurring captures (create, list, read with recent ticks, edit,
//! delete), and one call that creates the same capture schedule for several or all of the
//! caller's tenants. Runs a schedule starts carry its id and its owner's rights.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::{Role, RunOperation};
use entity::schedules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::extract::{self, Path, Query, page_limit};
use super::fanouts::{Skipped, resolve_tenants};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use super::snapshots::PageQuery;
use crate::domain::schedule::Timing;
use crate::runs::scheduler::timing_of;
use crate::store::content;
use crate::store::schedules::{self as schedule_store, NewSchedule};

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    const OPERATOR: Access = Access::Tenant(Role::Operator);
    Routes::new()
        .post("/tenants/{tenant}/schedules", OPERATOR, create)
        .doc(
            Doc::new("Create a schedule: a capture of the tenant (or of one of its backup sets) on a cron expression in a time zone")
                .body::<ScheduleRequest>()
                .returns::<ScheduleBody>(201, "The schedule, with its next run"),
        )
        .get("/tenants/{tenant}/schedules", VIEWER, list)
        .doc(
            Doc::new("List the tenant's schedules, newest first")
                .query::<PageQuery>()
                .returns::<ScheduleList>(200, "A page of schedules"),
        )
        .get("/tenants/{tenant}/schedules/{id}", VIEWER, detail)
        .doc(Doc::new("Read a schedule and its last 50 ticks").returns::<ScheduleDetail>(200, "The schedule"))
        .patch("/tenants/{tenant}/schedules/{id}", OPERATOR, edit)
        .doc(
            Doc::new("Change a schedule's timing or enable/disable it; whoever edits it becomes its owner")
                .body::<SchedulePatch>()
                .returns::<ScheduleBody>(200, "The schedule"),
        )
        .delete("/tenants/{tenant}/schedules/{id}", OPERATOR, remove)
        .doc(Doc::new("Delete a schedule (its runs stay)").no_content("Deleted, or was none"))
        .post("/schedules", Access::User, create_many)
        .doc(
            Doc::new("Create the same capture schedule for several, or all, of your tenants (where you are an operator)")
                .body::<ManyRequest>()
                .returns::<ManyBody>(201, "The schedules created, and the tenants skipped and why"),
        )
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ScheduleView {
    id: Uuid,
    tenant_id: Uuid,
    /// `capture_snapshot` or `backup_set_capture`.
    operation: String,
    backup_set_id: Option<Uuid>,
    cron: String,
    timezone: String,
    spread_secs: i32,
    enabled: bool,
    /// When the next run starts (its tick plus this tenant's offset inside the spread).
    next_run_at: Option<DateTime<Utc>>,
    last_tick_at: Option<DateTime<Utc>>,
    last_run_id: Option<Uuid>,
    /// Whose rights its runs use.
    owner_id: Option<Uuid>,
    /// Why it stopped itself (`owner_lost_access: ...`), if it did.
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&schedules::Model> for ScheduleView {
    fn from(s: &schedules::Model) -> Self {
        Self {
            id: s.id,
            tenant_id: s.tenant_id,
            operation: s.operation.as_str().to_string(),
            backup_set_id: s.backup_set_id,
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            spread_secs: s.spread_secs,
            enabled: s.enabled,
            next_run_at: s.next_run_at.filter(|_| s.enabled),
            last_tick_at: s.last_tick_at,
            last_run_id: s.last_run_id,
            owner_id: s.owner_id,
            disabled_reason: s.disabled_reason.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct ScheduleBody {
    schedule: ScheduleView,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ScheduleList {
    schedules: Vec<ScheduleView>,
    next_cursor: Option<Uuid>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct Tick {
    tick_at: DateTime<Utc>,
    /// The run the tick started (or joined); null while it is being started.
    run_id: Option<Uuid>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ScheduleDetail {
    schedule: ScheduleView,
    /// Oldest first.
    ticks: Vec<Tick>,
}

fn default_zone() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ScheduleRequest {
    /// `capture_snapshot`, `backup_set_capture`, or `prune` (apply the tenant's retention;
    /// admins only).
    pub operation: String,
    /// The backup set a `backup_set_capture` captures.
    #[serde(default)]
    pub backup_set_id: Option<Uuid>,
    /// Five fields (minute hour day month weekday), or six with seconds first.
    pub cron: String,
    /// An IANA time zone; default `UTC`.
    #[serde(default = "default_zone")]
    pub timezone: String,
    /// Each tenant's start is offset inside this many seconds (0 to 86400).
    #[serde(default)]
    pub spread_secs: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn operation(text: &str) -> Result<RunOperation, ApiError> {
    match text.trim() {
        "capture_snapshot" => Ok(RunOperation::CaptureSnapshot),
        "backup_set_capture" => Ok(RunOperation::BackupSetCapture),
        "prune" => Ok(RunOperation::Prune),
        other => Err(ApiError::Validation(format!(
            "operation: {other:?} cannot be scheduled; use capture_snapshot, backup_set_capture or prune"
        ))),
    }
}

fn invalid(e: crate::domain::Invalid) -> ApiError {
    ApiError::Validation(e.to_string())
}

/// The next run of a timing, from now.
fn next_run(timing: &Timing) -> Option<DateTime<Utc>> {
    timing.next_start(Utc::now())
}

async fn checked_backup_set(
    state: &AppState,
    access: &TenantAccess,
    op: RunOperation,
    backup_set_id: Option<Uuid>,
) -> Result<Option<Uuid>, ApiError> {
    match (op, backup_set_id) {
        (RunOperation::BackupSetCapture, Some(id)) => {
            content::backup_set(&state.services().db, access.scope(), id)
                .await
                .map_err(|_| {
                    ApiError::Validation(format!(
                        "backup_set_id: no backup set {id} in this tenant"
                    ))
                })?;
            Ok(Some(id))
        }
        (RunOperation::BackupSetCapture, None) => Err(ApiError::Validation(
            "backup_set_id: a backup_set_capture schedule names the set it captures".into(),
        )),
        (_, Some(_)) => Err(ApiError::Validation(
            "backup_set_id: only a backup_set_capture schedule names a backup set".into(),
        )),
        (_, None) => Ok(None),
    }
}

/// Creates one schedule in `access`'s tenant.
pub(super) async fn create_in(
    state: &AppState,
    access: &TenantAccess,
    body: ScheduleRequest,
) -> Result<schedules::Model, ApiError> {
    let op = operation(&body.operation)?;
    // Operators schedule captures; pruning deletes for good and takes an admin.
    access.require(crate::runs::required_role(op))?;
    let backup_set_id = checked_backup_set(state, access, op, body.backup_set_id).await?;
    let id = Uuid::now_v7();
    let timing = Timing::parse(&body.cron, &body.timezone, body.spread_secs, id.as_bytes())
        .map_err(invalid)?;
    let row = schedule_store::create(
        &state.services().db,
        access.scope(),
        id,
        NewSchedule {
            owner_id: access.user.id(),
            operation: op,
            backup_set_id,
            cron: body.cron.trim().to_string(),
            timezone: body.timezone.trim().to_string(),
            spread_secs: i32::try_from(body.spread_secs).unwrap_or(0),
            enabled: body.enabled,
        },
        next_run(&timing),
    )
    .await?;
    tracing::info!(schedule_id = %row.id, tenant_id = %row.tenant_id, cron = %row.cron, "schedule created");
    Ok(row)
}

async fn create(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<ScheduleRequest>,
) -> Result<Response, ApiError> {
    let row = create_in(&state, &access, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScheduleBody {
            schedule: ScheduleView::from(&row),
        }),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<PageQuery>,
) -> Result<Json<ScheduleList>, ApiError> {
    let limit = page_limit(q.limit);
    let rows =
        schedule_store::list(&state.services().db, access.scope(), q.cursor, limit + 1).await?;
    let (schedules, next_cursor) = extract::page(rows, limit, |s| s.id, |s| ScheduleView::from(s));
    Ok(Json(ScheduleList {
        schedules,
        next_cursor,
    }))
}

async fn detail(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<ScheduleDetail>, ApiError> {
    let db = &state.services().db;
    let row = schedule_store::get(db, access.scope(), id).await?;
    let ticks = schedule_store::ticks(db, access.scope(), id, 50)
        .await?
        .into_iter()
        .map(|t| Tick {
            tick_at: t.tick_at,
            run_id: t.run_id,
        })
        .collect();
    Ok(Json(ScheduleDetail {
        schedule: ScheduleView::from(&row),
        ticks,
    }))
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SchedulePatch {
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub spread_secs: Option<u32>,
    pub enabled: Option<bool>,
    pub backup_set_id: Option<Uuid>,
}

async fn edit(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    extract::Json(patch): extract::Json<SchedulePatch>,
) -> Result<Json<ScheduleBody>, ApiError> {
    let row = edit_in(&state, &access, id, patch).await?;
    Ok(Json(ScheduleBody {
        schedule: ScheduleView::from(&row),
    }))
}

/// Applies an edit: the API's and the web UI's.
pub(super) async fn edit_in(
    state: &AppState,
    access: &TenantAccess,
    id: Uuid,
    patch: SchedulePatch,
) -> Result<schedules::Model, ApiError> {
    access.require(Role::Operator)?;
    let db = &state.services().db;
    let mut row = schedule_store::get(db, access.scope(), id).await?;
    access.require(crate::runs::required_role(row.operation))?;
    if let Some(cron) = patch.cron {
        row.cron = cron.trim().to_string();
    }
    if let Some(zone) = patch.timezone {
        row.timezone = zone.trim().to_string();
    }
    if let Some(spread) = patch.spread_secs {
        row.spread_secs = i32::try_from(spread).unwrap_or(i32::MAX);
    }
    if patch.backup_set_id.is_some() {
        row.backup_set_id =
            checked_backup_set(state, access, row.operation, patch.backup_set_id).await?;
    }
    if let Some(enabled) = patch.enabled {
        row.enabled = enabled;
        if enabled {
            row.disabled_reason = None;
        }
    }
    let timing = timing_of(&row).map_err(invalid)?;
    row.next_run_at = next_run(&timing);
    // The editor's rights are the schedule's from now on.
    row.owner_id = Some(access.user.id());
    Ok(schedule_store::save(db, access.scope(), row).await?)
}

async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    access.require(Role::Operator)?;
    schedule_store::delete(&state.services().db, access.scope(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ManyRequest {
    /// The tenants to schedule (an operator of each); or `all_tenants`.
    #[serde(default)]
    pub tenant_ids: Option<Vec<Uuid>>,
    /// Every tenant where you are an operator or admin (the others are listed as skipped).
    #[serde(default)]
    pub all_tenants: bool,
    /// `capture_snapshot` or `prune` (a backup set belongs to one tenant: schedule those one
    /// by one).
    #[serde(default = "capture_snapshot")]
    pub operation: String,
    pub cron: String,
    #[serde(default = "default_zone")]
    pub timezone: String,
    #[serde(default)]
    pub spread_secs: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn capture_snapshot() -> String {
    "capture_snapshot".into()
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ManyBody {
    pub schedules: Vec<ScheduleView>,
    pub skipped: Vec<Skipped>,
}

async fn create_many(
    State(state): State<AppState>,
    user: CurrentUser,
    extract::Json(body): extract::Json<ManyRequest>,
) -> Result<Response, ApiError> {
    let created = schedule_tenants(&state, &user, body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Creates one schedule in each of the tenants (all checked first: all or nothing); the API
/// and the tenants overview's bulk action.
pub(super) async fn schedule_tenants(
    state: &AppState,
    user: &CurrentUser,
    body: ManyRequest,
) -> Result<ManyBody, ApiError> {
    let op = operation(&body.operation)?;
    if op == RunOperation::BackupSetCapture {
        return Err(ApiError::Validation(
            "operation: a backup set belongs to one tenant; schedule backup_set_capture per tenant"
                .into(),
        ));
    }
    // Checked once before anything is written: a bad expression creates nothing.
    Timing::parse(&body.cron, &body.timezone, body.spread_secs, b"check").map_err(invalid)?;
    // Every tenant is checked before anything is written: all or nothing.
    let (accesses, skipped) = resolve_tenants(
        state,
        user,
        body.tenant_ids.as_deref(),
        body.all_tenants,
        crate::runs::required_role(op),
        "these schedules",
    )
    .await?;
    let mut created = Vec::new();
    for access in accesses {
        let request = ScheduleRequest {
            operation: body.operation.clone(),
            backup_set_id: None,
            cron: body.cron.clone(),
            timezone: body.timezone.clone(),
            spread_secs: body.spread_secs,
            enabled: body.enabled,
        };
        created.push(ScheduleView::from(
            &create_in(state, &access, request).await?,
        ));
    }
    Ok(ManyBody {
        schedules: created,
        skipped,
    })
}

//! The schedules page of a tenant: its recurring captures with their next and last runs, a
//! form to add one, and enable, disable and delete.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use entity::enums::{Role, RunOperation};
use uuid::Uuid;

use super::view::{opt_time, time};
use super::{FormData, PageError, Path, Query, Shell, redirect, render};
use crate::store::{accounts, content, schedules as schedule_store};
use crate::web::AppState;
use crate::web::auth::TenantAccess;
use crate::web::error::ApiError;
use crate::web::schedules::{SchedulePatch, ScheduleRequest, create_in, edit_in};

#[derive(Template)]
#[template(path = "schedules.html")]
struct SchedulesPage {
    shell: Shell,
    can_edit: bool,
    rows: Vec<Row>,
    sets: Vec<(Uuid, String)>,
    done: Option<&'static str>,
}

struct Row {
    id: Uuid,
    what: String,
    cron: String,
    timezone: String,
    spread: String,
    enabled: bool,
    next_run: String,
    last_run: Option<(String, String)>,
    owner: String,
    disabled_reason: String,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

/// `/tenants/{tenant}/schedules`.
pub(super) async fn page(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &access.user, Some(&access), "Schedules")
        .await?
        .in_section("schedules");
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let schedules = schedule_store::list(db, access.scope(), None, 200).await?;
    let sets = content::backup_sets(db, access.scope(), None, 200).await?;
    let set_name = |id: Option<Uuid>| {
        sets.iter()
            .find(|s| Some(s.id) == id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "a deleted backup set".into())
    };
    let owners = accounts::emails_of(
        db,
        &schedules
            .iter()
            .filter_map(|s| s.owner_id)
            .collect::<Vec<_>>(),
    )
    .await?;
    let rows = schedules
        .iter()
        .map(|s| Row {
            id: s.id,
            what: match s.operation {
                RunOperation::BackupSetCapture => {
                    format!("Capture of {}", set_name(s.backup_set_id))
                }
                _ => "Snapshot capture".into(),
            },
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            spread: if s.spread_secs > 0 {
                format!("within {} s", s.spread_secs)
            } else {
                "—".into()
            },
            enabled: s.enabled,
            next_run: if s.enabled {
                opt_time(s.next_run_at)
            } else {
                "—".into()
            },
            last_run: s.last_run_id.map(|r| {
                (
                    format!("/tenants/{tenant_id}/runs/{r}"),
                    s.last_tick_at.map(time).unwrap_or_default(),
                )
            }),
            owner: s
                .owner_id
                .and_then(|o| owners.get(&o).cloned())
                .unwrap_or_default(),
            disabled_reason: s.disabled_reason.clone().unwrap_or_default(),
        })
        .collect();
    let done = match query.done.as_deref() {
        Some("created") => Some("Schedule created."),
        Some("enabled") => Some("Schedule enabled; you are its owner now."),
        Some("disabled") => Some("Schedule disabled."),
        Some("deleted") => Some("Schedule deleted; its runs stay."),
        _ => None,
    };
    render(&SchedulesPage {
        shell,
        can_edit: access.role.allows(Role::Operator),
        rows,
        sets: sets.iter().map(|s| (s.id, s.name.clone())).collect(),
        done,
    })
}

fn back(tenant_id: Uuid, done: &str) -> Response {
    redirect(&format!("/tenants/{tenant_id}/schedules?done={done}"))
}

/// `POST /tenants/{tenant}/schedules`: add a schedule.
pub(super) async fn create(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    let (operation, backup_set_id) = match form.get("what") {
        None | Some("snapshot") => ("capture_snapshot", None),
        Some(set) => (
            "backup_set_capture",
            Some(Uuid::parse_str(set).map_err(|_| {
                ApiError::Validation("what: choose the tenant or one of its backup sets".into())
            })?),
        ),
    };
    let spread_secs = match form.get("spread_secs") {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            ApiError::Validation("spread_secs: a number of seconds (0 to 86400)".into())
        })?,
    };
    create_in(
        &state,
        &access,
        ScheduleRequest {
            operation: operation.into(),
            backup_set_id,
            cron: form.get("cron").unwrap_or_default().to_string(),
            timezone: form.get("timezone").unwrap_or("UTC").to_string(),
            spread_secs,
            enabled: true,
        },
    )
    .await?;
    Ok(back(access.tenant_id(), "created"))
}

/// `POST /tenants/{tenant}/schedules/{id}/enable` and `/disable`.
pub(super) async fn enable(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    _form: FormData,
) -> Result<Response, PageError> {
    set_enabled(&state, &access, id, true).await
}

pub(super) async fn disable(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    _form: FormData,
) -> Result<Response, PageError> {
    set_enabled(&state, &access, id, false).await
}

async fn set_enabled(
    state: &AppState,
    access: &TenantAccess,
    id: Uuid,
    enabled: bool,
) -> Result<Response, PageError> {
    let patch = SchedulePatch {
        enabled: Some(enabled),
        ..SchedulePatch::default()
    };
    edit_in(state, access, id, patch).await?;
    Ok(back(
        access.tenant_id(),
        if enabled { "enabled" } else { "disabled" },
    ))
}

/// `POST /tenants/{tenant}/schedules/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    _form: FormData,
) -> Result<Response, PageError> {
    access.require(Role::Operator)?;
    schedule_store::delete(&state.services().db, access.scope(), id).await?;
    Ok(back(access.tenant_id(), "deleted"))
}

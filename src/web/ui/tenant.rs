//! The landing page, the tenant list (switcher) and a tenant's dashboard.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use entity::enums::RunOperation;
use entity::runs;

use super::view::{RunRow, TenantLink, time};
use super::{PageError, Shell, redirect, render};
use crate::store::accounts;
use crate::store::content;
use crate::store::runs::{self as run_store, RunFilter};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, TenantAccess};

/// `/`: the only tenant's dashboard, or the list to choose from.
pub(super) async fn home(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let tenants = accounts::tenants_of(&state.services().db, user.id()).await?;
    match tenants.as_slice() {
        [only] => Ok(redirect(&format!("/tenants/{}", only.tenant.id))),
        _ => Ok(redirect("/tenants")),
    }
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    shell: Shell,
    rows: Vec<TenantRow>,
    /// An operator somewhere: offer "capture all my tenants now".
    can_operate_any: bool,
}

struct TenantRow {
    tenant: TenantLink,
    latest: Option<RunRow>,
    active: usize,
}

/// `/tenants`: every tenant of the user with its latest run.
pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &user, None, "Your tenants").await?;
    let db = &state.services().db;
    let mut rows = Vec::with_capacity(shell.tenants.len());
    for tenant in &shell.tenants {
        let (latest, _) = run_store::list(db, &tenant.scope, &RunFilter::default(), 1).await?;
        rows.push(TenantRow {
            tenant: tenant.clone(),
            latest: latest.first().map(|r| RunRow::new(r, "")),
            active: shell
                .active
                .iter()
                .filter(|a| a.tenant_id == tenant.id)
                .count(),
        });
    }
    let can_operate_any = rows.iter().any(|r| r.tenant.can_operate);
    render(&TenantsPage {
        shell,
        rows,
        can_operate_any,
    })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    latest: Vec<LatestRow>,
    recent: Vec<RunRow>,
    snapshot: Option<(String, String, i32)>,
    backup_sets: Vec<(String, String, String)>,
}

/// The latest run of one operation.
struct LatestRow {
    operation: &'static str,
    run: Option<RunRow>,
    runs_url: String,
}

const OPERATIONS: [RunOperation; 7] = [
    RunOperation::CaptureSnapshot,
    RunOperation::BackupSetCapture,
    RunOperation::RestorePreview,
    RunOperation::Restore,
    RunOperation::RestoreRerun,
    RunOperation::RestoreUndo,
    RunOperation::Compare,
];

/// `/tenants/{tenant}`: the latest run of every operation, recent runs and quick starts.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Response, PageError> {
    let shell = Shell::new(
        &state,
        &access.user,
        Some(&access),
        access.tenant.name.clone(),
    )
    .await?
    .in_section("dashboard");
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let mut latest = Vec::with_capacity(OPERATIONS.len());
    let mut initiators = Vec::new();
    let mut found: Vec<Option<runs::Model>> = Vec::new();
    for operation in OPERATIONS {
        let filter = RunFilter {
            operation: Some(operation),
            ..RunFilter::default()
        };
        let (rows, _) = run_store::list(db, access.scope(), &filter, 1).await?;
        let run = rows.into_iter().next();
        if let Some(r) = &run {
            initiators.push(r.initiator_id);
        }
        found.push(run);
    }
    let (recent_rows, _) = run_store::list(db, access.scope(), &RunFilter::default(), 10).await?;
    initiators.extend(recent_rows.iter().map(|r| r.initiator_id));
    let emails = accounts::emails_of(db, &initiators).await?;
    let who = |r: &runs::Model| emails.get(&r.initiator_id).cloned().unwrap_or_default();
    for (operation, run) in OPERATIONS.into_iter().zip(found) {
        latest.push(LatestRow {
            operation: super::view::operation_label(operation),
            run: run.as_ref().map(|r| RunRow::new(r, &who(r))),
            runs_url: format!("/tenants/{tenant_id}/runs?operation={}", operation.as_str()),
        });
    }
    let recent = recent_rows
        .iter()
        .map(|r| RunRow::new(r, &who(r)))
        .collect();
    let snapshot = content::snapshots(db, access.scope(), None, 1)
        .await?
        .first()
        .map(|s| {
            (
                format!("/tenants/{tenant_id}/snapshots/{}", s.id),
                time(s.created_at),
                s.item_count,
            )
        });
    let backup_sets = content::backup_sets(db, access.scope(), None, 5)
        .await?
        .iter()
        .map(|s| {
            (
                format!("/tenants/{tenant_id}/backup-sets/{}", s.id),
                s.name.clone(),
                super::view::opt_time(s.last_captured_at),
            )
        })
        .collect();
    render(&DashboardPage {
        shell,
        latest,
        recent,
        snapshot,
        backup_sets,
    })
}

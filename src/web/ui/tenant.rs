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
    /// An operator somewhere: offer "capture all my tenants now" and the bulk actions.
    can_operate_any: bool,
    /// May register tenants.
    platform_admin: bool,
    query: OverviewQuery,
    /// Tenants matching the search and filter, over all pages.
    matching: usize,
    total: usize,
    /// Counts per filter, for the filter's options ("Failing (3)").
    counts: Vec<(&'static str, &'static str, usize)>,
    sorts: [(&'static str, &'static str); 4],
    previous: Option<String>,
    next: Option<String>,
    page: usize,
    pages: usize,
}

struct TenantRow {
    tenant: TenantLink,
    disabled_reason: Option<String>,
    latest: Option<RunRow>,
    failing: bool,
    /// "3 days ago", "never".
    last_backup: String,
    stale: bool,
    schedule: String,
    drift: String,
    active: usize,
}

/// The overview's search, filter, sort and page (`/tenants?q=&state=&sort=&page=`).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(super) struct OverviewQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<usize>,
}

/// Tenants per page of the overview.
const PAGE_SIZE: usize = 50;
/// A tenant whose last successful backup is older than this is stale.
const STALE_AFTER_DAYS: i64 = 7;

const FILTERS: [(&str, &str); 8] = [
    ("", "All tenants"),
    ("failing", "Failing"),
    ("stale", "No backup in 7 days"),
    ("never", "Never backed up"),
    ("drift", "Drifting from baseline"),
    ("scheduled", "Scheduled"),
    ("unscheduled", "No schedule"),
    ("disabled", "Disabled"),
];

const SORTS: [(&str, &str); 4] = [
    ("", "Needs attention first"),
    ("name", "Name"),
    ("backup", "Oldest backup first"),
    ("drift", "Most drift first"),
];

struct Entry {
    link: TenantLink,
    tenant: entity::tenants::Model,
    health: crate::store::overview::Health,
}

impl Entry {
    fn stale(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.health
            .last_backup_at
            .is_none_or(|at| now - at > chrono::Duration::days(STALE_AFTER_DAYS))
    }

    fn matches(&self, state: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
        let h = &self.health;
        match state {
            "failing" => h.failing(),
            "stale" => self.stale(now),
            "never" => h.last_backup_at.is_none(),
            "drift" => h.drift.is_some_and(|d| d.entries > 0),
            "scheduled" => h.schedules_enabled > 0,
            "unscheduled" => h.schedules_enabled == 0,
            "disabled" => self.tenant.disabled_at.is_some(),
            _ => true,
        }
    }

    /// Lower is more urgent: failing, then disabled last, then stale, then the rest.
    fn urgency(&self, now: chrono::DateTime<chrono::Utc>) -> u8 {
        if self.tenant.disabled_at.is_some() {
            4
        } else if self.health.failing() {
            0
        } else if self.health.last_backup_at.is_none() {
            1
        } else if self.stale(now) {
            2
        } else {
            3
        }
    }
}

/// `/tenants`: every tenant of the user with its health — searchable, filtered, sorted and
/// paged for estates of hundreds of tenants.
pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    super::Query(query): super::Query<OverviewQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &user, None, "Your tenants").await?;
    let db = &state.services().db;
    let now = chrono::Utc::now();
    let memberships = accounts::tenants_of(db, user.id()).await?;
    let scopes: Vec<_> = memberships.iter().map(|m| m.scope).collect();
    let mut health = crate::store::overview::health(db, &scopes).await?;
    let entries: Vec<Entry> = memberships
        .into_iter()
        .map(|m| Entry {
            link: TenantLink::new(&m.tenant, m.role, m.scope),
            health: health.remove(&m.tenant.id).unwrap_or_default(),
            tenant: m.tenant,
        })
        .collect();
    let total = entries.len();
    let needle = query.q.trim().to_lowercase();
    let searched: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            needle.is_empty()
                || e.tenant.name.to_lowercase().contains(&needle)
                || e.tenant.entra_tenant_id.to_lowercase().contains(&needle)
        })
        .collect();
    let counts = FILTERS
        .iter()
        .map(|(value, label)| {
            let n = searched.iter().filter(|e| e.matches(value, now)).count();
            (*value, *label, n)
        })
        .collect();
    let state_filter = FILTERS
        .iter()
        .find(|(v, _)| *v == query.state)
        .map_or("", |(v, _)| *v);
    let mut selected: Vec<&Entry> = searched
        .into_iter()
        .filter(|e| e.matches(state_filter, now))
        .collect();
    let by_name = |a: &&Entry, b: &&Entry| {
        a.tenant
            .name
            .to_lowercase()
            .cmp(&b.tenant.name.to_lowercase())
    };
    match query.sort.as_str() {
        "name" => selected.sort_by(by_name),
        "backup" => selected.sort_by(|a, b| {
            a.health
                .last_backup_at
                .cmp(&b.health.last_backup_at)
                .then_with(|| by_name(a, b))
        }),
        "drift" => selected.sort_by(|a, b| {
            let score = |e: &Entry| e.health.drift.map_or(2.0, |d| d.score);
            score(a).total_cmp(&score(b)).then_with(|| by_name(a, b))
        }),
        _ => selected.sort_by(|a, b| {
            a.urgency(now)
                .cmp(&b.urgency(now))
                .then_with(|| by_name(a, b))
        }),
    }
    let matching = selected.len();
    let pages = matching.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let link = |page: usize| {
        format!(
            "/tenants?q={}&state={}&sort={}&page={page}",
            super::view::encode(query.q.trim()),
            super::view::encode(state_filter),
            super::view::encode(&query.sort),
        )
    };
    let rows = selected
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|e| {
            let h = &e.health;
            TenantRow {
                tenant: e.link.clone(),
                disabled_reason: e
                    .tenant
                    .disabled_at
                    .map(|_| e.tenant.disabled_reason.clone().unwrap_or_default()),
                latest: h.latest.as_ref().map(|r| RunRow::new(r, "")),
                failing: h.failing(),
                last_backup: h
                    .last_backup_at
                    .map_or_else(|| "never".to_string(), |at| super::view::ago(at, now)),
                stale: e.stale(now),
                schedule: match (h.schedules, h.schedules_enabled) {
                    (0, _) => "none".into(),
                    (n, 0) => format!("{n} paused"),
                    (_, on) => format!("{on} on"),
                },
                drift: match h.drift {
                    None => "no baseline".into(),
                    Some(d) if d.entries == 0 => format!("aligned ({:.0} %)", d.score * 100.0),
                    Some(d) => format!(
                        "{} differences ({:.0} % aligned)",
                        d.entries,
                        d.score * 100.0
                    ),
                },
                active: shell
                    .active
                    .iter()
                    .filter(|a| a.tenant_id == e.tenant.id)
                    .count(),
            }
        })
        .collect::<Vec<_>>();
    let can_operate_any = entries.iter().any(|e| e.link.can_operate);
    let previous = (page > 1).then(|| link(page - 1));
    let next = (page < pages).then(|| link(page + 1));
    let query = OverviewQuery {
        state: state_filter.to_string(),
        ..query
    };
    render(&TenantsPage {
        shell,
        rows,
        can_operate_any,
        platform_admin: user.user.platform_admin,
        previous,
        next,
        query,
        matching,
        total,
        counts,
        sorts: SORTS,
        page,
        pages,
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

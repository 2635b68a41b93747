//! Pages across tenants: every run of every tenant of the caller (filtered by status,
//! operation, tenant and time; restores say what they restored), and the operations page —
//! queues, workers, throughput, reaper actions and Graph throttling, in the spirit of the
//! Sidekiq and Oban dashboards. Operators see their tenants' share; a platform admin sees
//! the whole fleet.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use entity::enums::{Role, RunOperation, RunStatus};
use uuid::Uuid;

use super::view::{self, RunRow, ago};
use super::{PageError, Query, Shell, render};
use crate::runs::{RunSpec, Source};
use crate::store::runs::{self as run_store, RunCursor, RunFilter};
use crate::store::{accounts, ops, overview};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::ApiError;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct RunsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    tenant: String,
    /// `1h`, `24h`, `7d`, `30d` or empty (any time).
    #[serde(default)]
    since: String,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "all_runs.html")]
struct AllRunsPage {
    shell: Shell,
    rows: Vec<AllRunRow>,
    query: RunsQuery,
    operations: Vec<(&'static str, &'static str)>,
    statuses: [&'static str; 6],
    periods: [(&'static str, &'static str); 5],
    tenants: Vec<(Uuid, String)>,
    next: Option<String>,
    filtered: bool,
}

struct AllRunRow {
    run: RunRow,
    tenant_id: Uuid,
    tenant: String,
    /// "backup set Weekly of Contoso → all items" for restores; empty otherwise.
    what: String,
    error: String,
}

const PAGE: u64 = 50;

/// The backup sets and snapshots the restores among `runs` read from.
pub(super) fn sources_of<'a>(
    runs: impl Iterator<Item = &'a entity::runs::Model>,
) -> (Vec<Uuid>, Vec<Uuid>) {
    let (mut sets, mut snaps) = (Vec::new(), Vec::new());
    for run in runs {
        let source = match RunSpec::of(run) {
            Ok(RunSpec::Restore(r) | RunSpec::RestorePreview(r)) => Some(r.source),
            Ok(RunSpec::RestoreRerun { restore, .. }) => Some(restore.source),
            _ => None,
        };
        match source {
            Some(Source::BackupSet { id, .. }) => sets.push(id),
            Some(Source::Snapshot { id, .. }) => snaps.push(id),
            None => {}
        }
    }
    (sets, snaps)
}

/// What a restore restored: its source (and the source's tenant) and its selection.
pub(super) fn describe(
    spec: &RunSpec,
    names: &HashMap<Uuid, String>,
    tenant_names: &HashMap<Uuid, String>,
    run_tenant: Uuid,
) -> String {
    let restore = match spec {
        RunSpec::Restore(r) | RunSpec::RestorePreview(r) => r,
        RunSpec::RestoreRerun {
            restore,
            only_failed,
            original_run_id,
        } => {
            return format!(
                "re-run of {}{}: {}",
                view::short_id(*original_run_id),
                if *only_failed { " (failed items)" } else { "" },
                describe(
                    &RunSpec::Restore(restore.clone()),
                    names,
                    tenant_names,
                    run_tenant
                )
            );
        }
        RunSpec::RestoreUndo {
            original_run_id, ..
        } => return format!("undo of restore {}", view::short_id(*original_run_id)),
        _ => return String::new(),
    };
    let source = &restore.source;
    let kind = match source {
        Source::Snapshot { .. } => "a snapshot",
        Source::BackupSet { .. } => "a backup set",
    };
    let name = names
        .get(&source.id())
        .cloned()
        .unwrap_or_else(|| format!("{kind} no longer kept"));
    let of = if source.tenant_id() == run_tenant {
        String::new()
    } else {
        format!(
            " of {}",
            tenant_names
                .get(&source.tenant_id())
                .map_or("another tenant", String::as_str)
        )
    };
    let selection = match restore.selection.item_ids() {
        None => "all items".to_string(),
        Some(ids) => format!(
            "{} selected item{}",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        ),
    };
    format!("from {name}{of}, {selection}")
}

/// `/runs`.
pub(super) async fn all_runs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<RunsQuery>,
) -> Result<Response, PageError> {
    let db = &state.services().db;
    let memberships = accounts::tenants_of(db, user.id()).await?;
    let tenant_names: HashMap<Uuid, String> = memberships
        .iter()
        .map(|m| (m.tenant.id, m.tenant.name.clone()))
        .collect();
    let all_scopes: Vec<_> = memberships.iter().map(|m| m.scope).collect();
    let scopes: Vec<_> = match query.tenant.trim() {
        "" => all_scopes.clone(),
        t => {
            let id = Uuid::parse_str(t)
                .map_err(|_| ApiError::Validation(format!("tenant: {t:?} is not a tenant id")))?;
            let m = memberships
                .iter()
                .find(|m| m.tenant.id == id)
                .ok_or_else(|| ApiError::Validation("tenant: not a tenant of yours".into()))?;
            vec![m.scope]
        }
    };
    let bad = |what: &str, text: &str| -> PageError {
        ApiError::Validation(format!("{what}: {text:?} is not one this page offers")).into()
    };
    let operation = match query.operation.trim() {
        "" => None,
        o => match o.parse::<RunOperation>() {
            Ok(op) => Some(op),
            Err(_) => return Err(bad("operation", o)),
        },
    };
    let status = match query.status.trim() {
        "" => None,
        s => match s.parse::<RunStatus>() {
            Ok(st) => Some(st),
            Err(_) => return Err(bad("status", s)),
        },
    };
    let since = match query.since.as_str() {
        "" => None,
        "1h" => Some(Utc::now() - chrono::Duration::hours(1)),
        "24h" => Some(Utc::now() - chrono::Duration::hours(24)),
        "7d" => Some(Utc::now() - chrono::Duration::days(7)),
        "30d" => Some(Utc::now() - chrono::Duration::days(30)),
        other => return Err(bad("since", other)),
    };
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(RunCursor::decode(c).ok_or_else(|| {
            ApiError::Validation("cursor: not a page link this site made".into())
        })?),
        None => None,
    };
    let filter = RunFilter {
        operation,
        status,
        before,
        since,
    };
    let (rows, next) = run_store::list_in(db, &scopes, &filter, PAGE).await?;
    let specs: Vec<Option<RunSpec>> = rows.iter().map(|r| RunSpec::of(r).ok()).collect();
    let (sets, snaps) = sources_of(rows.iter());
    let names = overview::source_names(db, &all_scopes, &sets, &snaps).await?;
    let initiators: Vec<Uuid> = rows.iter().map(|r| r.initiator_id).collect();
    let emails = accounts::emails_of(db, &initiators).await?;
    let rows = rows
        .iter()
        .zip(specs)
        .map(|(r, spec)| AllRunRow {
            run: RunRow::new(r, emails.get(&r.initiator_id).map_or("", String::as_str)),
            tenant_id: r.tenant_id,
            tenant: tenant_names.get(&r.tenant_id).cloned().unwrap_or_default(),
            what: spec
                .map(|s| describe(&s, &names, &tenant_names, r.tenant_id))
                .unwrap_or_default(),
            error: r.error_code.clone().unwrap_or_default(),
        })
        .collect();
    let base = format!(
        "/runs?status={}&operation={}&tenant={}&since={}",
        view::encode(query.status.trim()),
        view::encode(query.operation.trim()),
        view::encode(query.tenant.trim()),
        view::encode(&query.since),
    );
    let next = next.map(|c| format!("{base}&cursor={}", c.encode()));
    let filtered = operation.is_some()
        || status.is_some()
        || since.is_some()
        || scopes.len() != all_scopes.len();
    let shell = Shell::new(&state, &user, None, "Runs of all tenants").await?;
    let mut tenants: Vec<(Uuid, String)> = tenant_names.into_iter().collect();
    tenants.sort_by_key(|t| t.1.to_lowercase());
    render(&AllRunsPage {
        shell,
        rows,
        operations: RunOperation::ALL
            .iter()
            .map(|op| (op.as_str(), view::operation_label(*op)))
            .collect(),
        statuses: [
            "queued",
            "running",
            "succeeded",
            "partial",
            "failed",
            "canceled",
        ],
        periods: [
            ("", "Any time"),
            ("1h", "Last hour"),
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
        ],
        tenants,
        next,
        filtered,
        query,
    })
}

// ---- operations ----

#[derive(Template)]
#[template(path = "ops.html")]
struct OpsPage {
    shell: Shell,
    /// A platform admin sees every tenant.
    fleet_wide: bool,
    queues: Vec<QueueRow>,
    workers: Vec<WorkerRow>,
    /// Running runs no live worker holds (the reaper re-queues them).
    orphans: Vec<RunningRow>,
    chart: Chart,
    finished: u64,
    failed: u64,
    failure_rate: String,
    reaper: Vec<ReaperRow>,
    throttling: Vec<(String, u64, String)>,
    redis_error: Option<String>,
}

struct QueueRow {
    name: &'static str,
    depth: u64,
    oldest: String,
}

struct WorkerRow {
    name: String,
    host: String,
    pid: u32,
    version: String,
    started: String,
    seen: String,
    runs: Vec<RunningRow>,
}

struct RunningRow {
    run: RunRow,
    tenant: String,
    can_cancel: bool,
    tenant_id: Uuid,
}

struct ReaperRow {
    at: String,
    action: String,
    url: Option<String>,
    what: String,
}

/// An SVG bar chart of the last hour: one bar per five minutes, failures stacked on top.
struct Chart {
    bars: Vec<(u32, u32, u32, u32, String)>,
    max: u64,
}

impl Chart {
    fn of(buckets: &[ops::Bucket]) -> Self {
        let max = buckets
            .iter()
            .map(|b| b.succeeded + b.failed + b.canceled)
            .max()
            .unwrap_or(0)
            .max(1);
        let height = 80.0;
        let bars = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let scale = |n: u64| ((n as f64 / max as f64) * height).round() as u32;
                let ok = scale(b.succeeded + b.canceled);
                let bad = scale(b.failed);
                let label = format!(
                    "{}: {} succeeded, {} failed, {} canceled",
                    b.start
                        .map(|s| s.format("%H:%M").to_string())
                        .unwrap_or_default(),
                    b.succeeded,
                    b.failed,
                    b.canceled
                );
                (i as u32 * 25 + 5, ok, bad, 90 - ok - bad, label)
            })
            .collect();
        Self { bars, max }
    }
}

fn queue_name(operation: RunOperation) -> &'static str {
    crate::runs::queue::Family::of(operation).as_str()
}

/// `/ops`.
pub(super) async fn ops_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let services = state.services();
    let db = &services.db;
    let now = Utc::now();
    let memberships = accounts::tenants_of(db, user.id()).await?;
    let fleet_wide = user.user.platform_admin;
    let (tenant_names, mine): (HashMap<Uuid, String>, Vec<Uuid>) = if fleet_wide {
        let all = crate::store::tenants::list_all(db).await?;
        (
            all.iter().map(|t| (t.id, t.name.clone())).collect(),
            Vec::new(),
        )
    } else {
        (
            memberships
                .iter()
                .map(|m| (m.tenant.id, m.tenant.name.clone()))
                .collect(),
            memberships.iter().map(|m| m.tenant.id).collect(),
        )
    };
    let scope = (!fleet_wide).then_some(mine.as_slice());
    let operator_of: HashMap<Uuid, bool> = memberships
        .iter()
        .map(|m| (m.tenant.id, m.role.allows(Role::Operator)))
        .collect();

    let mut depth: HashMap<&'static str, (u64, Option<chrono::DateTime<Utc>>)> = HashMap::new();
    for w in ops::waiting(db, scope).await? {
        let entry = depth.entry(queue_name(w.operation)).or_default();
        entry.0 += w.depth;
        entry.1 = match (entry.1, w.oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let queues = ["capture", "restore", "preview"]
        .into_iter()
        .map(|name| {
            let (n, oldest) = depth.get(name).copied().unwrap_or_default();
            QueueRow {
                name,
                depth: n,
                oldest: oldest.map_or_else(|| "—".into(), |at| ago(at, now)),
            }
        })
        .collect();

    let running = ops::running(db, scope, 500).await?;
    let row = |r: &entity::runs::Model| RunningRow {
        run: RunRow::new(r, ""),
        tenant: tenant_names.get(&r.tenant_id).cloned().unwrap_or_default(),
        can_cancel: operator_of.get(&r.tenant_id).copied().unwrap_or(false),
        tenant_id: r.tenant_id,
    };
    let mut redis_error = None;
    let beats = match crate::runs::fleet::alive(&services.redis).await {
        Ok(b) => b,
        Err(e) => {
            redis_error = Some(format!(
                "Redis cannot be read right now ({e}); workers and throttling are not shown."
            ));
            Vec::new()
        }
    };
    let workers: Vec<WorkerRow> = beats
        .iter()
        .map(|b| WorkerRow {
            name: b.name.clone(),
            host: b.host.clone(),
            pid: b.pid,
            version: b.version.clone(),
            started: ago(b.started_at, now),
            seen: ago(b.seen_at, now),
            runs: running
                .iter()
                .filter(|r| r.lease_owner.as_deref() == Some(b.name.as_str()))
                .map(row)
                .collect(),
        })
        .collect();
    let orphans = running
        .iter()
        .filter(|r| {
            !beats
                .iter()
                .any(|b| r.lease_owner.as_deref() == Some(b.name.as_str()))
        })
        .map(row)
        .collect();

    let buckets = ops::last_hour(db, scope, now).await?;
    let finished: u64 = buckets
        .iter()
        .map(|b| b.succeeded + b.failed + b.canceled)
        .sum();
    let failed: u64 = buckets.iter().map(|b| b.failed).sum();
    let failure_rate = if finished == 0 {
        "—".into()
    } else {
        format!("{:.1} %", failed as f64 * 100.0 / finished as f64)
    };

    let reaper = crate::runs::reaper::recent_actions(&services.redis, 200)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| tenant_names.contains_key(&a.tenant_id))
        .take(20)
        .map(|a| ReaperRow {
            at: ago(a.at, now),
            what: format!(
                "{} in {}{}",
                view::operation_label(a.operation),
                tenant_names.get(&a.tenant_id).cloned().unwrap_or_default(),
                a.worker
                    .map(|w| format!(" (held by {w})"))
                    .unwrap_or_default()
            ),
            action: match a.action.as_str() {
                "requeued" => "re-queued: its worker stopped".into(),
                "worker_lost" => "failed: its worker was lost too often".into(),
                "timed_out" => "failed: over its time limit".into(),
                "repushed" => "pushed again: its job was lost".into(),
                other => other.to_string(),
            },
            url: Some(view::run_path(a.tenant_id, a.run_id)),
        })
        .collect();

    // Throttling by the tenants' app registrations (Graph counts per app per directory).
    let tenants = if fleet_wide {
        crate::store::tenants::list_all(db).await?
    } else {
        memberships.iter().map(|m| m.tenant.clone()).collect()
    };
    let keys: Vec<String> = tenants
        .iter()
        .map(|t| crate::graph::limiter::quota_key(&t.entra_tenant_id, &t.client_id))
        .collect();
    let throttled = match crate::graph::limiter::throttling(&services.redis, &keys).await {
        Ok(t) => t,
        Err(e) => {
            redis_error.get_or_insert(format!("Redis cannot be read right now ({e})."));
            Default::default()
        }
    };
    let mut throttling: Vec<(String, u64, String)> = tenants
        .iter()
        .zip(&keys)
        .filter_map(|(t, key)| {
            let n = throttled.throttled.get(key).copied().unwrap_or(0);
            let paused = throttled.paused.get(key);
            (n > 0 || paused.is_some()).then(|| {
                (
                    t.name.clone(),
                    n,
                    paused.map_or_else(
                        || "no".into(),
                        |d| format!("paused {:.0} s more", d.as_secs_f64().ceil()),
                    ),
                )
            })
        })
        .collect();
    throttling.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let shell = Shell::new(&state, &user, None, "Operations").await?;
    render(&OpsPage {
        shell,
        fleet_wide,
        queues,
        workers,
        orphans,
        chart: Chart::of(&buckets),
        finished,
        failed,
        failure_rate,
        reaper,
        throttling,
        redis_error,
    })
}

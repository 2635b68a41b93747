//! Snapshots and backup sets: lists, details with items and their JSON, and their starts.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::view::{Badge, encode, item_json, opt_time, policy_type_label, time};
use super::{FormData, PageError, Shell, redirect, render, started};
use super::{Path, Query};
use crate::store::{accounts, content};
use crate::web::AppState;
use crate::web::auth::TenantAccess;
use crate::web::backup_sets::{self as set_api, CreateBody};
use crate::web::error::ApiError;
use crate::web::extract::{next_cursor, opt_uuid};
use crate::web::snapshots as snapshot_api;

/// Items and sets per page.
const PAGE: u64 = 50;

#[derive(Debug, Deserialize)]
pub(super) struct PageQuery {
    #[serde(default, deserialize_with = "opt_uuid")]
    cursor: Option<Uuid>,
    /// `all`: every version of a backup set's items.
    versions: Option<String>,
    /// A run this page's action just started (`?run=`), to confirm it.
    #[serde(default, deserialize_with = "opt_uuid")]
    run: Option<Uuid>,
    /// `failed`: the capture asked for on creation did not start.
    capture: Option<String>,
}

// ---- snapshots ----

#[derive(Template)]
#[template(path = "snapshots.html")]
struct SnapshotsPage {
    shell: Shell,
    rows: Vec<SnapshotRow>,
    next: Option<String>,
}

struct SnapshotRow {
    url: String,
    created_at: String,
    items: i32,
    types: usize,
    created_by: String,
    run_url: Option<String>,
}

pub(super) async fn snapshots(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &access.user, Some(&access), "Snapshots")
        .await?
        .in_section("snapshots");
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let mut rows = content::snapshots(db, access.scope(), query.cursor, PAGE + 1).await?;
    let creators: Vec<Uuid> = rows.iter().filter_map(|s| s.created_by).collect();
    let emails = accounts::emails_of(db, &creators).await?;
    let next = next_cursor(&mut rows, PAGE, |s| s.id)
        .map(|c| format!("/tenants/{tenant_id}/snapshots?cursor={c}"));
    let rows = rows
        .iter()
        .map(|s| SnapshotRow {
            url: format!("/tenants/{tenant_id}/snapshots/{}", s.id),
            created_at: time(s.created_at),
            items: s.item_count,
            types: s.policy_types.as_array().map_or(0, Vec::len),
            created_by: s
                .created_by
                .and_then(|id| emails.get(&id).cloned())
                .unwrap_or_default(),
            run_url: s.run_id.map(|r| super::view::run_path(tenant_id, r)),
        })
        .collect();
    render(&SnapshotsPage { shell, rows, next })
}

/// `POST /tenants/{tenant}/snapshots`: capture a snapshot now.
pub(super) async fn capture(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    _form: FormData,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    let run = snapshot_api::capture_snapshot(&state, &access, None)
        .await
        .map_err(fail)?;
    started(&headers, &run)
}

/// "Compare with the tenant now": a comparison run of the snapshot and the live tenant.
pub(super) async fn compare_with_now(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    Path((_, id)): Path<(String, Uuid)>,
    _form: FormData,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    let snapshot = content::snapshot(&state.services().db, access.scope(), id)
        .await
        .map_err(|e| fail(ApiError::from(e)))?;
    let left = crate::runs::Side::Stored(crate::runs::Source::Snapshot {
        id: snapshot.id,
        tenant_id: snapshot.tenant_id,
    });
    let run = crate::web::comparisons::compare(&state, &access, left, crate::runs::Side::Live)
        .await
        .map_err(fail)?;
    started(&headers, &run)
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    shell: Shell,
    label: String,
    name: String,
    graph_id: String,
    /// Newest first.
    versions: Vec<VersionRow>,
}

struct VersionRow {
    first_seen: String,
    last_seen: String,
    captures: u32,
    snapshot_url: String,
    changed_by: Option<String>,
    changes: Vec<(String, String, String)>,
    first: bool,
}

/// One object's captured versions, newest first, with what changed and who changed it.
pub(super) async fn history(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    Path((_, policy_type, graph_id)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    let body = crate::web::policies::history_of(&state, &access, &policy_type, graph_id.clone())
        .await
        .map_err(fail)?;
    let tenant_id = access.tenant_id();
    let name = body
        .versions
        .last()
        .map(|v| v.display_name.clone())
        .unwrap_or_default();
    let show = |v: &Option<serde_json::Value>| match v {
        None => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let versions = body
        .versions
        .iter()
        .enumerate()
        .rev()
        .map(|(i, v)| VersionRow {
            first_seen: time(v.first_seen_at),
            last_seen: time(v.last_seen_at),
            captures: v.captures,
            snapshot_url: format!("/tenants/{tenant_id}/snapshots/{}", v.snapshot_id),
            changed_by: v.changed_by.clone(),
            changes: v
                .changes
                .iter()
                .map(|s| (s.path.clone(), show(&s.before), show(&s.after)))
                .collect(),
            first: i == 0,
        })
        .collect();
    let title = format!("History of {name}");
    let shell = Shell::new(&state, &access.user, Some(&access), title)
        .await?
        .in_section("snapshots");
    render(&HistoryPage {
        shell,
        label: policy_type_label(&body.policy_type),
        name,
        graph_id,
        versions,
    })
}

#[derive(Template)]
#[template(path = "snapshot.html")]
struct SnapshotPage {
    shell: Shell,
    created_at: String,
    item_count: i32,
    run_url: Option<String>,
    restore_url: String,
    compare_url: String,
    export_url: String,
    /// Per type: captured, restorable, and what a restore will not write and why.
    coverage: Vec<crate::graph::coverage::TypeCoverage>,
    /// What changed since the previous capture, when one was compared.
    changes: Option<ChangesView>,
    items: Vec<ItemRow>,
    next: Option<String>,
}

/// The snapshot page's lead: "12 changed, 3 added, 1 removed since <date>", and the changes.
struct ChangesView {
    changed: usize,
    added: usize,
    removed: usize,
    since: String,
    previous_url: String,
    rows: Vec<ChangeRow>,
    /// Changes beyond the first rows (all are in the API).
    more: usize,
}

struct ChangeRow {
    change: &'static str,
    history_url: Option<String>,
    policy_type: String,
    name: String,
    ambiguous: bool,
    changed_by: Option<String>,
    settings: Vec<(String, String, String)>,
    more_settings: usize,
}

/// The history page of one object.
fn history_path(tenant_id: Uuid, policy_type: &str, graph_id: &str) -> String {
    format!(
        "/tenants/{tenant_id}/policies/{}/{}/history",
        encode(policy_type),
        encode(graph_id)
    )
}

const CHANGE_ROWS: usize = 100;
const SETTING_ROWS: usize = 20;

/// `since` is when the earlier side was captured; `previous_url` its page (the earlier
/// snapshot, or the run that compared a backup set).
fn changes_view(
    tenant_id: Uuid,
    since: String,
    previous_url: String,
    changes: &[crate::graph::compare::ObjectChange],
) -> ChangesView {
    use crate::graph::compare::{ChangeKind, summary};
    let (changed, added, removed) = summary(changes);
    let show = |v: &Option<serde_json::Value>| match v {
        None => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let rows = changes
        .iter()
        .take(CHANGE_ROWS)
        .map(|c| ChangeRow {
            // A removed object's history is in the earlier captures; still reachable.
            history_url: Some(history_path(tenant_id, &c.policy_type, &c.graph_id)),
            change: match c.change {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Changed => "changed",
            },
            policy_type: policy_type_label(&c.policy_type),
            name: c.display_name.clone(),
            ambiguous: c.ambiguous,
            changed_by: c.changed_by.clone(),
            settings: c
                .settings
                .iter()
                .take(SETTING_ROWS)
                .map(|s| (s.path.clone(), show(&s.before), show(&s.after)))
                .collect(),
            more_settings: c.settings.len().saturating_sub(SETTING_ROWS),
        })
        .collect();
    ChangesView {
        changed,
        added,
        removed,
        since,
        previous_url,
        rows,
        more: changes.len().saturating_sub(CHANGE_ROWS),
    }
}

/// An item of a snapshot or backup set, with its stored JSON.
struct ItemRow {
    policy_type: String,
    /// The object's history across this tenant's captures.
    history_url: String,
    name: String,
    source_id: String,
    version: Option<i32>,
    latest: bool,
    missing: Option<String>,
    captured_at: String,
    json: String,
}

pub(super) async fn snapshot(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let snapshot = content::snapshot(db, access.scope(), id).await?;
    let mut rows =
        content::snapshot_items(db, access.scope(), snapshot.id, query.cursor, PAGE + 1).await?;
    let next = next_cursor(&mut rows, PAGE, |i| i.id)
        .map(|c| format!("/tenants/{tenant_id}/snapshots/{id}?cursor={c}"));
    let items = rows
        .iter()
        .map(|i| ItemRow {
            history_url: history_path(tenant_id, &i.policy_type, &i.source_id),
            policy_type: policy_type_label(&i.policy_type),
            name: i.display_name.clone(),
            source_id: i.source_id.clone(),
            version: None,
            latest: true,
            missing: None,
            captured_at: time(i.created_at),
            json: item_json(&i.payload, &i.assignments),
        })
        .collect();
    // The coverage table heads the first page only: it reads every item.
    let coverage = if query.cursor.is_none() {
        let all = content::all_snapshot_items(db, access.scope(), snapshot.id).await?;
        crate::graph::coverage::of(
            all.iter()
                .map(|i| (i.policy_type.as_str(), i.source_id.as_str(), &i.payload)),
        )
    } else {
        Vec::new()
    };
    let changes = match snapshot.previous_snapshot_id {
        Some(previous_id) if query.cursor.is_none() => {
            match content::snapshot(db, access.scope(), previous_id).await {
                Ok(previous) => {
                    let list: Vec<crate::graph::compare::ObjectChange> = snapshot
                        .changes
                        .clone()
                        .and_then(|c| serde_json::from_value(c).ok())
                        .unwrap_or_default();
                    Some(changes_view(
                        tenant_id,
                        time(previous.created_at),
                        format!("/tenants/{tenant_id}/snapshots/{}", previous.id),
                        &list,
                    ))
                }
                // The earlier capture was deleted since.
                Err(crate::store::StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    let title = format!("Snapshot of {}", time(snapshot.created_at));
    let shell = Shell::new(&state, &access.user, Some(&access), title)
        .await?
        .in_section("snapshots");
    render(&SnapshotPage {
        shell,
        created_at: time(snapshot.created_at),
        item_count: snapshot.item_count,
        run_url: snapshot.run_id.map(|r| super::view::run_path(tenant_id, r)),
        restore_url: format!(
            "/tenants/{tenant_id}/restore?source={}",
            encode(&format!("snapshot:{}", snapshot.id))
        ),
        compare_url: format!("/tenants/{tenant_id}/snapshots/{}/compare", snapshot.id),
        export_url: format!(
            "/api/v1/tenants/{tenant_id}/snapshots/{}/export",
            snapshot.id
        ),
        coverage,
        changes,
        items,
        next,
    })
}

// ---- backup sets ----

#[derive(Template)]
#[template(path = "backup_sets.html")]
struct BackupSetsPage {
    shell: Shell,
    rows: Vec<SetRow>,
    next: Option<String>,
}

struct SetRow {
    url: String,
    name: String,
    description: String,
    last_captured_at: String,
    created_at: String,
}

pub(super) async fn backup_sets(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &access.user, Some(&access), "Backup sets")
        .await?
        .in_section("backup-sets");
    let tenant_id = access.tenant_id();
    let mut rows =
        content::backup_sets(&state.services().db, access.scope(), query.cursor, PAGE + 1).await?;
    let next = next_cursor(&mut rows, PAGE, |s| s.id)
        .map(|c| format!("/tenants/{tenant_id}/backup-sets?cursor={c}"));
    let rows = rows
        .iter()
        .map(|s| SetRow {
            url: format!("/tenants/{tenant_id}/backup-sets/{}", s.id),
            name: s.name.clone(),
            description: s.description.clone().unwrap_or_default(),
            last_captured_at: opt_time(s.last_captured_at),
            created_at: time(s.created_at),
        })
        .collect();
    render(&BackupSetsPage { shell, rows, next })
}

/// `POST /tenants/{tenant}/backup-sets`: create a set, capturing it now when ticked.
pub(super) async fn create_set(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    let body = CreateBody {
        name: form.get("name").unwrap_or_default().to_string(),
        description: form.get("description").map(str::to_string),
        policy_types: None,
        capture: false,
    };
    let (set, _) = set_api::create_backup_set(&state, &access, body).await?;
    let mut url = format!("/tenants/{}/backup-sets/{}", access.tenant_id(), set.id);
    // The set exists either way; a capture that could not start is said on its page.
    if form.checked("capture") {
        match set_api::start_capture(&state, &access, &set).await {
            Ok(run) => url.push_str(&format!("?run={}", run.run.id)),
            Err(e) => {
                tracing::warn!(error = %e, set = %set.id, "capture of a new backup set did not start");
                url.push_str("?capture=failed");
            }
        }
    }
    Ok(redirect(&url))
}

#[derive(Template)]
#[template(path = "backup_set.html")]
struct BackupSetPage {
    shell: Shell,
    id: Uuid,
    name: String,
    description: String,
    created_at: String,
    last_captured_at: String,
    all_versions: bool,
    items: Vec<ItemRow>,
    next: Option<String>,
    restore_url: String,
    /// The capture this page's form just started.
    started: Option<(String, Badge)>,
    capture_failed: bool,
    /// What the set's latest capture changed.
    changes: Option<ChangesView>,
}

pub(super) async fn backup_set(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let set = content::backup_set(db, access.scope(), id).await?;
    let all_versions = query.versions.as_deref() == Some("all");
    let mut rows = content::backup_items(
        db,
        access.scope(),
        set.id,
        !all_versions,
        query.cursor,
        PAGE + 1,
    )
    .await?;
    let versions = if all_versions { "&versions=all" } else { "" };
    let next = next_cursor(&mut rows, PAGE, |i| i.id)
        .map(|c| format!("/tenants/{tenant_id}/backup-sets/{id}?cursor={c}{versions}"));
    let items = rows
        .iter()
        .map(|i| ItemRow {
            history_url: history_path(tenant_id, &i.policy_type, &i.source_id),
            policy_type: policy_type_label(&i.policy_type),
            name: i.display_name.clone(),
            source_id: i.source_id.clone(),
            version: Some(i.version),
            latest: i.is_latest,
            missing: i.missing_since.map(time),
            captured_at: time(i.captured_at),
            json: item_json(&i.payload, &i.assignments),
        })
        .collect();
    let started = match query.run {
        Some(run_id) => crate::store::runs::get_in_tenant(db, access.scope(), run_id)
            .await
            .ok()
            .map(|r| (super::view::run_path(tenant_id, r.id), Badge::run(r.status))),
        None => None,
    };
    let shell = Shell::new(&state, &access.user, Some(&access), set.name.clone())
        .await?
        .in_section("backup-sets");
    let changes = match (&set.changes, set.changes_since, set.changes_run_id) {
        (Some(list), Some(since), Some(run_id)) => {
            let list: Vec<crate::graph::compare::ObjectChange> =
                serde_json::from_value(list.clone()).unwrap_or_default();
            Some(changes_view(
                tenant_id,
                time(since),
                format!("/tenants/{tenant_id}/runs/{run_id}"),
                &list,
            ))
        }
        _ => None,
    };
    render(&BackupSetPage {
        shell,
        id: set.id,
        name: set.name.clone(),
        description: set.description.clone().unwrap_or_default(),
        created_at: time(set.created_at),
        last_captured_at: opt_time(set.last_captured_at),
        all_versions,
        items,
        next,
        restore_url: format!(
            "/tenants/{tenant_id}/restore?source={}",
            encode(&format!("backup_set:{}", set.id))
        ),
        started,
        capture_failed: query.capture.as_deref() == Some("failed"),
        changes,
    })
}

/// `POST /tenants/{tenant}/backup-sets/{id}/capture`: capture (sync) the set now.
pub(super) async fn capture_set(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    Path((_, id)): Path<(String, Uuid)>,
    _form: FormData,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    let set = content::backup_set(&state.services().db, access.scope(), id)
        .await
        .map_err(|e| fail(ApiError::from(e)))?;
    let run = set_api::start_capture(&state, &access, &set)
        .await
        .map_err(&fail)?;
    started(&headers, &run)
}

//! Drift pages: a tenant's baseline, its latest drift with accepted exceptions, and the
//! estate's drift across the user's tenants, worst first.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use entity::enums::Role;
use uuid::Uuid;

use super::view::{encode, policy_type_label, time};
use super::{FormData, PageError, Path, Query, Shell, redirect, render};
use crate::graph::drift::{DriftKind, WHOLE_OBJECT};
use crate::store::drift as drift_store;
use crate::store::{accounts, content};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, TenantAccess};
use crate::web::drift::{
    ExceptionRequest, accept_difference, estate_lines, make_baseline, remove_baseline, withdraw,
};
use crate::web::error::ApiError;

/// Entries shown on the page (all are in `GET /api/v1/tenants/{tenant}/drift`).
const ENTRY_ROWS: usize = 300;
/// Backup sets offered as a baseline.
const SET_CHOICES: usize = 200;

#[derive(Template)]
#[template(path = "drift.html")]
struct DriftPage {
    shell: Shell,
    is_admin: bool,
    baseline: Option<BaselineView>,
    choices: Vec<(Uuid, String)>,
    report: Option<ReportView>,
    exceptions: Vec<ExceptionRow>,
    /// What the form that led here did.
    done: Option<&'static str>,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

struct BaselineView {
    name: String,
    tenant_name: String,
    url: Option<String>,
    set_at: String,
}

struct ReportView {
    score: String,
    computed_at: String,
    snapshot_url: String,
    missing: i32,
    extra: i32,
    differing: i32,
    excepted: i32,
    baseline_settings: i32,
    matching_settings: i32,
    entries: Vec<EntryRow>,
    more: usize,
}

struct EntryRow {
    kind: &'static str,
    label: String,
    policy_type: String,
    graph_id: String,
    name: String,
    path: String,
    whole: bool,
    baseline: String,
    tenant: String,
    settings: usize,
    ambiguous: bool,
}

struct ExceptionRow {
    id: Uuid,
    label: String,
    graph_id: String,
    path: String,
    reason: String,
    by: String,
    at: String,
}

fn show(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `/tenants/{tenant}/drift`.
pub(super) async fn page(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let done = match query.done.as_deref() {
        Some("baseline") => {
            Some("Baseline set. The next capture of this tenant computes its drift.")
        }
        Some("cleared") => Some("Baseline removed."),
        Some("accepted") => Some("Difference accepted for this tenant; later drift leaves it out."),
        Some("withdrawn") => Some("Accepted difference withdrawn."),
        _ => None,
    };
    let shell = Shell::new(
        &state,
        &access.user,
        Some(&access),
        "Drift from the baseline",
    )
    .await?
    .in_section("drift");
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let source = drift_store::baseline_source(db, access.scope()).await?;
    let memberships = accounts::tenants_of(db, access.user.id()).await?;
    let baseline = source.as_ref().map(|s| {
        let member = memberships.iter().any(|m| m.tenant.id == s.set.tenant_id);
        BaselineView {
            name: s.set.name.clone(),
            tenant_name: memberships
                .iter()
                .find(|m| m.tenant.id == s.set.tenant_id)
                .map(|m| m.tenant.name.clone())
                .unwrap_or_else(|| "another tenant".into()),
            url: member.then(|| format!("/tenants/{}/backup-sets/{}", s.set.tenant_id, s.set.id)),
            set_at: time(s.baseline.set_at),
        }
    });
    let is_admin = access.role == Role::Admin;
    let mut choices = Vec::new();
    if is_admin {
        for m in &memberships {
            if choices.len() >= SET_CHOICES {
                break;
            }
            for set in content::backup_sets(db, &m.scope, None, 50).await? {
                choices.push((set.id, format!("{} — {}", m.tenant.name, set.name)));
            }
        }
        choices.truncate(SET_CHOICES);
    }
    let report = drift_store::latest_report(db, access.scope()).await?;
    let report = report.map(|r| {
        let entries = drift_store::entries(&r);
        ReportView {
            score: format!("{:.1} %", r.score * 100.0),
            computed_at: time(r.computed_at),
            snapshot_url: format!("/tenants/{tenant_id}/snapshots/{}", r.snapshot_id),
            missing: r.missing,
            extra: r.extra,
            differing: r.differing,
            excepted: r.excepted,
            baseline_settings: r.baseline_settings,
            matching_settings: r.matching_settings,
            more: entries.len().saturating_sub(ENTRY_ROWS),
            entries: entries
                .iter()
                .take(ENTRY_ROWS)
                .map(|e| EntryRow {
                    kind: match e.kind {
                        DriftKind::Missing => "missing",
                        DriftKind::Extra => "extra",
                        DriftKind::Differing => "differing",
                    },
                    label: policy_type_label(&e.policy_type),
                    policy_type: e.policy_type.clone(),
                    graph_id: e.graph_id.clone(),
                    name: e.display_name.clone(),
                    whole: e.path == WHOLE_OBJECT,
                    path: e.path.clone(),
                    baseline: show(&e.baseline),
                    tenant: show(&e.tenant),
                    settings: e.settings,
                    ambiguous: e.ambiguous,
                })
                .collect(),
        }
    });
    let rows = drift_store::exceptions(db, access.scope()).await?;
    let emails = accounts::emails_of(
        db,
        &rows.iter().filter_map(|e| e.created_by).collect::<Vec<_>>(),
    )
    .await?;
    let exceptions = rows
        .iter()
        .map(|e| ExceptionRow {
            id: e.id,
            label: policy_type_label(&e.policy_type),
            graph_id: e.graph_id.clone(),
            path: e.path.clone(),
            reason: e.reason.clone(),
            by: e
                .created_by
                .and_then(|u| emails.get(&u).cloned())
                .unwrap_or_default(),
            at: time(e.created_at),
        })
        .collect();
    render(&DriftPage {
        shell,
        is_admin,
        baseline,
        choices,
        report,
        exceptions,
        done,
    })
}

fn back(tenant_id: Uuid, note: &str) -> Response {
    redirect(&format!("/tenants/{tenant_id}/drift?done={}", encode(note)))
}

/// `POST /tenants/{tenant}/drift/baseline`: make the chosen backup set the baseline.
pub(super) async fn set_baseline(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    let id = form
        .get("backup_set_id")
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or_else(|| ApiError::Validation("backup_set_id: choose a backup set".into()))?;
    make_baseline(&state, &access, id).await?;
    Ok(back(access.tenant_id(), "baseline"))
}

/// `POST /tenants/{tenant}/drift/baseline/clear`.
pub(super) async fn clear_baseline(
    State(state): State<AppState>,
    access: TenantAccess,
    _form: FormData,
) -> Result<Response, PageError> {
    remove_baseline(&state, &access).await?;
    Ok(back(access.tenant_id(), "cleared"))
}

/// `POST /tenants/{tenant}/drift/exceptions`: accept one difference.
pub(super) async fn accept(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    let body = ExceptionRequest {
        policy_type: form.get("policy_type").unwrap_or_default().to_string(),
        graph_id: form.get("graph_id").unwrap_or_default().to_string(),
        path: form.get("path").map(str::to_string),
        reason: form.get("reason").unwrap_or_default().to_string(),
    };
    accept_difference(&state, &access, body).await?;
    Ok(back(access.tenant_id(), "accepted"))
}

/// `POST /tenants/{tenant}/drift/exceptions/{id}/withdraw`.
pub(super) async fn withdraw_exception(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
    _form: FormData,
) -> Result<Response, PageError> {
    withdraw(&state, &access, id).await?;
    Ok(back(access.tenant_id(), "withdrawn"))
}

#[derive(Template)]
#[template(path = "estate_drift.html")]
struct EstatePage {
    shell: Shell,
    rows: Vec<EstateRow>,
}

struct EstateRow {
    tenant_id: Uuid,
    name: String,
    score: String,
    missing: String,
    differing: String,
    extra: String,
    computed_at: String,
}

/// `/drift`: every tenant of the user with a baseline, worst alignment first.
pub(super) async fn estate(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &user, None, "Drift across your tenants").await?;
    let opt = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let rows = estate_lines(&state, &user)
        .await?
        .into_iter()
        .map(|l| EstateRow {
            tenant_id: l.tenant_id,
            name: l.tenant_name,
            score: l
                .score
                .map(|s| format!("{:.1} %", s * 100.0))
                .unwrap_or_else(|| "not yet computed".into()),
            missing: opt(l.missing),
            differing: opt(l.differing),
            extra: opt(l.extra),
            computed_at: l.computed_at.map(time).unwrap_or_default(),
        })
        .collect();
    render(&EstatePage { shell, rows })
}

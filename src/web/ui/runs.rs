//! Runs: the filtered list, a run's page (live progress, item results, previews' diffs,
//! re-runs) and the active runs of all the user's tenants (the header widget's page).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use entity::enums::{ItemAction, RunItemStatus, RunOperation, RunStatus};
use entity::{run_items, runs};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::view::{self, Badge, RunRow, opt_time, pretty};
use super::{PageError, Shell, path_and_query, render};
use super::{Path, Query};
use crate::store::accounts;
use crate::store::runs::{self as run_store, ItemOutcome, RunCursor, RunFilter};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, TenantAccess};
use crate::web::error::ApiError;

const PAGE: u64 = 50;

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    operation: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    shell: Shell,
    runs: Vec<RunRow>,
    operations: Vec<(&'static str, &'static str, bool)>,
    statuses: Vec<(&'static str, bool)>,
    filtered: bool,
    next: Option<String>,
}

fn parse_filter<T: std::str::FromStr>(
    text: Option<&str>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| ApiError::Validation(format!("{what}: {t:?} is not a choice here"))),
        None => Ok(None),
    }
}

/// `/tenants/{tenant}/runs`: newest first, filtered by operation and status.
pub(super) async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let operation = parse_filter::<RunOperation>(query.operation.as_deref(), "operation")?;
    let status = parse_filter::<RunStatus>(query.status.as_deref(), "status")?;
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(RunCursor::decode(c).ok_or_else(|| {
            ApiError::Validation("cursor: not a page link this site made".into())
        })?),
        None => None,
    };
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let filter = RunFilter {
        operation,
        status,
        before,
        since: None,
    };
    let (rows, next) = run_store::list(db, access.scope(), &filter, PAGE).await?;
    let initiators: Vec<Uuid> = rows.iter().map(|r| r.initiator_id).collect();
    let emails = accounts::emails_of(db, &initiators).await?;
    let runs = rows
        .iter()
        .map(|r| RunRow::new(r, emails.get(&r.initiator_id).map_or("", String::as_str)))
        .collect();
    let mut base = format!("/tenants/{tenant_id}/runs?");
    if let Some(op) = operation {
        base.push_str(&format!("operation={}&", op.as_str()));
    }
    if let Some(st) = status {
        base.push_str(&format!("status={}&", st.as_str()));
    }
    let next = next.map(|c| format!("{base}cursor={}", c.encode()));
    let operations = [
        RunOperation::CaptureSnapshot,
        RunOperation::BackupSetCapture,
        RunOperation::RestorePreview,
        RunOperation::Restore,
        RunOperation::RestoreRerun,
        RunOperation::RestoreUndo,
        RunOperation::Compare,
    ]
    .into_iter()
    .map(|op| {
        (
            op.as_str(),
            view::operation_label(op),
            Some(op) == operation,
        )
    })
    .collect();
    let statuses = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Partial,
        RunStatus::Failed,
        RunStatus::Canceled,
    ]
    .into_iter()
    .map(|st| (st.as_str(), Some(st) == status))
    .collect();
    let shell = Shell::new(&state, &access.user, Some(&access), "Runs")
        .await?
        .in_section("runs");
    render(&RunsPage {
        shell,
        runs,
        operations,
        statuses,
        filtered: operation.is_some() || status.is_some(),
        next,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct DetailQuery {
    /// `new` or `existing`: the start that led here.
    started: Option<String>,
    /// Item page cursor (the last item key of the previous page).
    after: Option<String>,
    /// Only items with this outcome: an action for previews (`would_update`), else a status.
    outcome: Option<String>,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    shell: Shell,
    self_url: String,
    run: RunRow,
    status: String,
    tenant_name: String,
    started: Option<String>,
    started_at: String,
    attempt: String,
    error_code: String,
    error_context: String,
    is_preview: bool,
    counts: Vec<OutcomeCount>,
    /// The outcome the item list is narrowed to.
    outcome: Option<Badge>,
    items: Vec<ItemRow>,
    next_items: Option<String>,
    parent: Option<RunRow>,
    reruns: Vec<RunRow>,
    /// The live restore of this preview (admin, finished preview).
    can_restore_live: bool,
    /// Re-run this live restore (admin, finished).
    can_rerun: bool,
    /// Cancel this queued or running run (operator).
    can_cancel: bool,
    /// Undo this live restore (admin, finished, it updated or created something).
    can_undo: bool,
    has_failed: bool,
    /// "Re-run of" or "Undo of" the parent run.
    parent_label: &'static str,
    /// The run's pre-restore snapshot page, if it kept one.
    pre_restore_url: String,
}

/// How many items of a run ended one way, linking to just those items.
struct OutcomeCount {
    badge: Badge,
    count: usize,
    url: String,
    /// For the link's id: `action-would_update`, `status-failed`.
    id: String,
}

struct ItemRow {
    id: Uuid,
    policy_type: String,
    name: String,
    status: Badge,
    action: Option<Badge>,
    error: String,
    changes: Vec<(String, String, String)>,
    /// Column heads of `changes`: a preview's "Now" → "After restore", a comparison's
    /// "Left" → "Right".
    change_heads: (&'static str, &'static str),
    assignments_change: bool,
    other_diff: String,
    target_id: String,
    /// How a restore found the target: "matched by name", "new object", ...
    matched: String,
}

fn compact(value: Option<&Value>) -> String {
    match value {
        None => "(not set)".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

impl ItemRow {
    fn new(item: &run_items::Model) -> Self {
        let mut changes = Vec::new();
        let mut change_heads = ("Now", "After restore");
        let mut assignments_change = false;
        let mut other_diff = String::new();
        match &item.diff {
            // A comparison's settings, or a preview's field changes.
            Some(diff) if diff.get("changes").is_some() || diff.get("settings").is_some() => {
                let list = diff.get("changes").or_else(|| {
                    change_heads = ("Left", "Right");
                    diff.get("settings")
                });
                for change in list.and_then(Value::as_array).into_iter().flatten() {
                    changes.push((
                        change["path"].as_str().unwrap_or_default().to_string(),
                        compact(change.get("before")),
                        compact(change.get("after")),
                    ));
                }
                assignments_change = diff["assignments"].as_bool().unwrap_or(false);
            }
            Some(diff) => other_diff = pretty(diff),
            None => {}
        }
        let error = match (&item.error_code, &item.error_message) {
            (Some(code), Some(message)) => format!("{message} ({code})"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => String::new(),
        };
        Self {
            id: item.id,
            policy_type: view::policy_type_label(&item.policy_type),
            name: item.display_name.clone(),
            status: Badge::word(item.status.as_str()),
            action: item.action.map(|a| Badge::word(a.as_str())),
            error,
            changes,
            change_heads,
            assignments_change,
            other_diff,
            target_id: item.result_graph_id.clone().unwrap_or_default(),
            matched: match item.match_kind.as_deref() {
                Some("mapping") => "matched by an earlier restore's mapping".into(),
                Some("same_id") => "the same object".into(),
                Some("name") => "matched by name and type".into(),
                Some("none") => "no matching object: a new one".into(),
                _ => String::new(),
            },
        }
    }
}

/// `/tenants/{tenant}/runs/{run}`: everything about one run, following it live.
pub(super) async fn detail(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
    Query(query): Query<DetailQuery>,
    parts: Parts,
) -> Result<Response, PageError> {
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let run = run_store::get_in_tenant(db, access.scope(), run_id).await?;
    crate::web::auth::require_run_content(&state, &access, &run).await?;
    let parent = match run.parent_run_id {
        Some(id) => run_store::get_in_tenant(db, access.scope(), id).await.ok(),
        None => None,
    };
    let reruns = run_store::reruns_of(db, access.scope(), run.id).await?;
    let mut people: Vec<Uuid> = vec![run.initiator_id];
    people.extend(parent.iter().map(|p| p.initiator_id));
    people.extend(reruns.iter().map(|r| r.initiator_id));
    let emails = accounts::emails_of(db, &people).await?;
    let who = |r: &runs::Model| emails.get(&r.initiator_id).cloned().unwrap_or_default();

    let is_preview = run.operation == RunOperation::RestorePreview;
    // Previews are counted by what they would do (`action:would_update`), other runs, and a
    // preview's items without a decision, by status (`status:failed`).
    let outcome_key = |status: RunItemStatus, action: Option<ItemAction>| match (is_preview, action)
    {
        (true, Some(action)) => format!("action:{action}"),
        _ => format!("status:{status}"),
    };
    let bad_outcome = |text: &str| {
        PageError::from(ApiError::Validation(format!(
            "outcome: {text:?} is not an outcome of this run"
        )))
    };
    let outcome_text = query
        .outcome
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let outcome = match outcome_text.map(|o| o.split_once(':')) {
        None => None,
        Some(Some(("action", action))) if is_preview => {
            Some(ItemOutcome::Action(action.parse().map_err(|_| {
                bad_outcome(outcome_text.unwrap_or_default())
            })?))
        }
        Some(Some(("status", status))) => {
            let status: RunItemStatus = status
                .parse()
                .map_err(|_| bad_outcome(outcome_text.unwrap_or_default()))?;
            Some(if is_preview {
                ItemOutcome::StatusWithoutAction(status)
            } else {
                ItemOutcome::Status(status)
            })
        }
        Some(_) => return Err(bad_outcome(outcome_text.unwrap_or_default())),
    };
    // The item cursor is an item key this page made: printable and short.
    let after = crate::web::extract::key_cursor(query.after.as_deref(), "after")?;
    let run_url = view::run_path(tenant_id, run.id);
    let outcome_query = |key: &str| format!("outcome={}", view::encode(key));
    let mut items = run_store::items_with(
        db,
        access.scope(),
        run.id,
        outcome.as_ref(),
        after,
        PAGE + 1,
    )
    .await?;
    let next_items = crate::web::extract::next_cursor(&mut items, PAGE, |i| i.item_key.clone())
        .map(|key| {
            let mut url = format!("{run_url}?after={}", view::encode(&key));
            if let Some(o) = outcome_text.filter(|_| outcome.is_some()) {
                url.push_str(&format!("&{}", outcome_query(o)));
            }
            url
        });
    // Outcome counts over every item of the run.
    let outcomes = run_store::item_outcomes(db, access.scope(), run.id).await?;
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for (status, action, count) in &outcomes {
        *by_outcome.entry(outcome_key(*status, *action)).or_default() += *count as usize;
    }
    let has_failed = outcomes
        .iter()
        .any(|(status, _, count)| *status == RunItemStatus::Failed && *count > 0);
    let word = |key: &str| key.split_once(':').map_or(key, |(_, w)| w).to_string();
    let counts = by_outcome
        .into_iter()
        .map(|(key, count)| OutcomeCount {
            badge: Badge::word(&word(&key)),
            count,
            url: format!("{run_url}?{}#items-heading", outcome_query(&key)),
            id: key.replace(':', "-"),
        })
        .collect();
    let outcome = outcome.map(|o| match o {
        ItemOutcome::Action(action) => Badge::word(action.as_str()),
        ItemOutcome::Status(status) | ItemOutcome::StatusWithoutAction(status) => {
            Badge::word(status.as_str())
        }
    });

    let finished_ok = matches!(run.status, RunStatus::Succeeded | RunStatus::Partial);
    let is_admin = access.role.allows(entity::enums::Role::Admin);
    let is_live = run.operation.is_live_restore();
    let mut shell = Shell::new(
        &state,
        &access.user,
        Some(&access),
        format!(
            "{} {}",
            view::operation_label(run.operation),
            view::short_id(run.id)
        ),
    )
    .await?
    .in_section("runs");
    let active = !run.status.is_terminal();
    if active {
        shell.live_run = run.id.to_string();
        shell.noscript_refresh = true;
    }
    let started = match query.started.as_deref() {
        Some("new") => Some(format!("{} queued.", view::operation_label(run.operation))),
        Some("existing") => Some(format!(
            "An identical {} was already queued or running; this is that run.",
            view::operation_label(run.operation).to_lowercase()
        )),
        _ => None,
    };
    render(&RunPage {
        shell,
        self_url: path_and_query(&parts),
        run: RunRow::new(&run, &who(&run)),
        status: run.status.as_str().to_string(),
        tenant_name: access.tenant.name.clone(),
        started,
        started_at: opt_time(run.started_at),
        attempt: if run.attempt > 1 {
            format!(
                "{} ({} in a row without progress, of {} allowed)",
                run.attempt,
                (run.attempt - run.progress_attempt).max(0),
                run.max_attempts
            )
        } else {
            run.attempt.max(1).to_string()
        },
        error_code: run.error_code.clone().unwrap_or_default(),
        error_context: run.error_context.as_ref().map(pretty).unwrap_or_default(),
        is_preview,
        counts,
        outcome,
        items: items.iter().map(ItemRow::new).collect(),
        next_items,
        parent: parent.as_ref().map(|p| RunRow::new(p, &who(p))),
        reruns: reruns.iter().map(|r| RunRow::new(r, &who(r))).collect(),
        can_restore_live: is_preview && finished_ok && is_admin,
        can_rerun: is_live && run.status.is_terminal() && is_admin,
        can_cancel: !run.status.is_terminal() && access.role.allows(entity::enums::Role::Operator),
        can_undo: is_live
            && run.status.is_terminal()
            && is_admin
            && (run.updated_items > 0 || run.created_items > 0),
        has_failed,
        parent_label: if run.operation == RunOperation::RestoreUndo {
            "Undo of"
        } else {
            "Re-run of"
        },
        pre_restore_url: run
            .pre_restore_snapshot_id
            .map(|id| format!("/tenants/{tenant_id}/snapshots/{id}"))
            .unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "active.html")]
struct ActivePage {
    shell: Shell,
}

/// `/runs/active`: queued and running runs of all the user's tenants (also the source the
/// header widget refreshes itself from).
pub(super) async fn active(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &user, None, "Active runs").await?;
    render(&ActivePage { shell })
}

/// `POST /tenants/{tenant}/runs/{run}/cancel`: cancel the run, back to its page.
pub(super) async fn cancel(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, run_id)): Path<(String, Uuid)>,
    _form: super::FormData,
) -> Result<Response, PageError> {
    crate::web::runs::cancel_run(&state, &access, run_id).await?;
    Ok(super::redirect(&format!(
        "/tenants/{}/runs/{run_id}",
        access.tenant_id()
    )))
}

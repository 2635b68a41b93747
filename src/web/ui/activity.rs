//! Notifications (the bell's list, mark read) and a tenant's audit log.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::view::{pretty, run_path, time};
use super::{FormData, PageError, Shell, redirect, render};
use super::{Path, Query};
use crate::store::{accounts, activity as store};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, TenantAccess};
use crate::web::extract::{next_cursor, opt_uuid};

const PAGE: u64 = 50;

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default, deserialize_with = "opt_uuid")]
    cursor: Option<Uuid>,
    /// `unread` shows only unread notifications.
    show: Option<String>,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    shell: Shell,
    /// This page (with its filter and cursor), where marking read returns to.
    self_url: String,
    rows: Vec<NotificationRow>,
    unread_only: bool,
    next: Option<String>,
    /// Every kind, with whether the user wants it.
    kinds: Vec<(&'static str, &'static str, bool)>,
    /// The user's tenants, with whether notifications of each are wanted (all when the
    /// choice names none).
    tenants: Vec<(Uuid, String, bool)>,
    all_tenants: bool,
    default_choice: bool,
}

/// What each notification kind means, for the preferences form.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "queued" => "a run of mine is queued",
        "running" => "a run of mine started",
        "succeeded" => "a run of mine succeeded",
        "failed" => "a run of mine failed",
        "partial" => "a run of mine partly succeeded",
        "canceled" => "a run of mine was canceled",
        "live_restore" => "a live restore, re-run or undo of mine finished",
        "drift" => "new drift from a tenant's baseline",
        "fanout" => "a fan-out of mine finished",
        _ => "other events",
    }
}

struct NotificationRow {
    id: Uuid,
    title: String,
    body: String,
    kind: String,
    tenant_name: String,
    at: String,
    unread: bool,
    run_url: Option<String>,
}

/// `/notifications`: the user's notifications, newest first.
pub(super) async fn notifications(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
    parts: axum::http::request::Parts,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &user, None, "Notifications").await?;
    let unread_only = query.show.as_deref() == Some("unread");
    let mut rows = store::notifications_for(
        &state.services().db,
        user.id(),
        unread_only,
        query.cursor,
        PAGE + 1,
    )
    .await?;
    let show = if unread_only { "show=unread&" } else { "" };
    let next =
        next_cursor(&mut rows, PAGE, |n| n.id).map(|c| format!("/notifications?{show}cursor={c}"));
    let rows = rows
        .iter()
        .map(|n| NotificationRow {
            id: n.id,
            title: n.title.clone(),
            body: n.body.clone(),
            kind: n.kind.replace('_', " "),
            tenant_name: shell
                .tenants
                .iter()
                .find(|t| t.id == n.tenant_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            at: time(n.created_at),
            unread: n.read_at.is_none(),
            run_url: n
                .run_id
                .map(|r| run_path(n.tenant_id, r))
                .or_else(|| n.fanout_id.map(|f| format!("/fanouts/{f}"))),
        })
        .collect();
    let prefs = store::preferences(&state.services().db, user.id()).await?;
    let kinds = store::KINDS
        .iter()
        .map(|k| (*k, kind_label(k), prefs.kinds.iter().any(|w| w == k)))
        .collect();
    let tenants = shell
        .tenants
        .iter()
        .map(|t| {
            let wanted = prefs
                .tenant_ids
                .as_ref()
                .is_some_and(|ids| ids.contains(&t.id));
            (t.id, t.name.clone(), wanted)
        })
        .collect();
    render(&NotificationsPage {
        self_url: super::path_and_query(&parts),
        shell,
        rows,
        unread_only,
        next,
        kinds,
        tenants,
        all_tenants: prefs.tenant_ids.is_none(),
        default_choice: prefs.default,
    })
}

/// `POST /notifications/preferences`: the form's choice of kinds and tenants.
pub(super) async fn save_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
    form: FormData,
) -> Result<Response, PageError> {
    let kinds: Vec<String> = form.all("kind").into_iter().map(str::to_string).collect();
    let tenant_ids = if form.get("tenants") == Some("some") {
        let ids = form
            .all("tenant_id")
            .into_iter()
            .map(|t| {
                Uuid::parse_str(t).map_err(|_| {
                    crate::web::error::ApiError::Validation(format!(
                        "tenant_id: {t:?} is not an id"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(ids)
    } else {
        None
    };
    crate::web::notifications::save_preferences(&state, &user, &kinds, tenant_ids.as_deref())
        .await?;
    Ok(redirect("/notifications?saved=preferences"))
}

/// Where to go after marking read: back to the list, or to a local page the form names.
fn back(form: &FormData) -> String {
    match form.get("next") {
        Some(next) => crate::web::session::safe_next(Some(next)),
        None => "/notifications".to_string(),
    }
}

/// `POST /notifications/{id}/read`.
pub(super) async fn read_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    form: FormData,
) -> Result<Response, PageError> {
    store::mark_read(&state.services().db, user.id(), id).await?;
    Ok(redirect(&back(&form)))
}

/// `POST /notifications/read-all`.
pub(super) async fn read_all(
    State(state): State<AppState>,
    user: CurrentUser,
    form: FormData,
) -> Result<Response, PageError> {
    store::mark_all_read(&state.services().db, user.id()).await?;
    Ok(redirect(&back(&form)))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    rows: Vec<AuditRow>,
    next: Option<String>,
}

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    /// What happened, as a sentence ("admin@… restored backup set Weekly into Contoso: …").
    sentence: String,
    run_url: Option<String>,
    details: String,
}

/// An audit event as a sentence: who did what, with what the run it names says about it.
fn sentence(
    actor: &str,
    tenant: &str,
    action: &str,
    details: &serde_json::Value,
    run: Option<(&entity::runs::Model, String)>,
) -> String {
    let text = |key: &str| details.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let what = run
        .as_ref()
        .map(|(_, what)| what.clone())
        .filter(|w| !w.is_empty())
        .map(|w| format!(" {w}"))
        .unwrap_or_default();
    let count = |key: &str| details.get(key).and_then(|v| v.as_i64()).unwrap_or(0);
    let status = text("status");
    let outcome = match status {
        "succeeded" | "" => String::new(),
        "partial" => " (partly)".to_string(),
        other => format!(" ({other})"),
    };
    match action.split('.').collect::<Vec<_>>().as_slice() {
        ["restore", "live", "queued"] => {
            return format!("{actor} queued a live restore{what} into {tenant}.");
        }
        ["restore", "live", "started"] => {
            return format!("A live restore{what} into {tenant}, queued by {actor}, started.");
        }
        ["restore", "live", "finished"] => {
            return format!(
                "{actor} restored{what} into {tenant}{outcome}: {} created, {} updated, {} unchanged, {} failed.",
                count("created"),
                count("updated"),
                count("unchanged"),
                count("failed")
            );
        }
        ["restore", "undo", "queued"] => {
            return format!(
                "{actor} queued an undo of{} in {tenant}.",
                what.replacen(" undo of", "", 1)
            );
        }
        ["restore", "undo", "started"] => {
            return format!("An undo in {tenant}, queued by {actor}, started.");
        }
        ["restore", "undo", "finished"] => {
            return format!(
                "{actor} undid a restore in {tenant}{outcome}: {} reverted, {} failed.",
                count("updated") + count("deleted"),
                count("failed")
            );
        }
        ["restore", _, "cancel_requested"] => {
            return format!("{actor} canceled a restore{what} into {tenant}.");
        }
        _ => {}
    }
    match action {
        "tenant.created" => format!(
            "{actor} registered {tenant} (directory {}).",
            text("entra_tenant_id")
        ),
        "tenant.updated" => {
            let fields: Vec<&str> = details
                .get("fields")
                .and_then(|f| f.as_array())
                .map(|f| f.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            format!(
                "{actor} changed {tenant}'s {}.",
                fields.join(", ").replace('_', " ")
            )
        }
        "tenant.disabled" => format!("{actor} disabled {tenant}: {}.", text("reason")),
        "tenant.enabled" => format!("{actor} enabled {tenant} again."),
        "tenant.purge.queued" => {
            format!("{actor} removed {tenant} and queued the purge of its data.")
        }
        "membership.granted" => format!(
            "{actor} {} {} the {} role in {tenant}.",
            if details.get("invited").and_then(|v| v.as_bool()) == Some(true) {
                "invited"
            } else {
                "gave"
            },
            text("email"),
            text("role")
        ),
        "membership.removed" => format!("{actor} revoked {}'s access to {tenant}.", text("email")),
        "baseline.set" => format!("{actor} set {tenant}'s drift baseline."),
        "baseline.cleared" => format!("{actor} cleared {tenant}'s drift baseline."),
        "drift.exception.accepted" => format!(
            "{actor} accepted a difference from the baseline in {tenant}: {}.",
            text("reason")
        ),
        "drift.exception.removed" => {
            format!("{actor} withdrew an accepted difference in {tenant}.")
        }
        "retention.updated" => format!("{actor} changed {tenant}'s retention."),
        other => format!("{actor}: {other}."),
    }
}

/// `/tenants/{tenant}/audit`: who did what in the tenant, newest first.
pub(super) async fn audit(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let db = &state.services().db;
    let tenant_id = access.tenant_id();
    let mut rows = store::audit_events(db, access.scope(), query.cursor, PAGE + 1).await?;
    let actors: Vec<Uuid> = rows.iter().filter_map(|e| e.actor_id).collect();
    let emails = accounts::emails_of(db, &actors).await?;
    let next = next_cursor(&mut rows, PAGE, |e| e.id)
        .map(|c| format!("/tenants/{tenant_id}/audit?cursor={c}"));
    let run_ids: Vec<Uuid> = rows.iter().filter_map(|e| e.run_id).collect();
    let runs = crate::store::runs::get_many(db, access.scope(), &run_ids).await?;
    let memberships = accounts::tenants_of(db, access.user.id()).await?;
    let scopes: Vec<_> = memberships.iter().map(|m| m.scope).collect();
    let tenant_names: std::collections::HashMap<Uuid, String> = memberships
        .iter()
        .map(|m| (m.tenant.id, m.tenant.name.clone()))
        .collect();
    let (sets, snaps) = super::estate::sources_of(runs.iter());
    let names = crate::store::overview::source_names(db, &scopes, &sets, &snaps).await?;
    let rows = rows
        .iter()
        .map(|e| {
            let actor = e
                .actor_id
                .and_then(|id| emails.get(&id).cloned())
                .unwrap_or_else(|| "system".to_string());
            let run = e
                .run_id
                .and_then(|id| runs.iter().find(|r| r.id == id))
                .map(|r| {
                    let what = crate::runs::RunSpec::of(r)
                        .map(|spec| {
                            super::estate::describe(&spec, &names, &tenant_names, r.tenant_id)
                        })
                        .unwrap_or_default();
                    (r, what)
                });
            AuditRow {
                at: time(e.created_at),
                sentence: sentence(&actor, &access.tenant.name, &e.action, &e.details, run),
                actor,
                action: e.action.clone(),
                run_url: e.run_id.map(|r| run_path(tenant_id, r)),
                details: pretty(&e.details),
            }
        })
        .collect();
    let shell = Shell::new(&state, &access.user, Some(&access), "Audit log")
        .await?
        .in_section("audit");
    render(&AuditPage { shell, rows, next })
}

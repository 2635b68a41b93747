//! Fan-out pages: `/fanouts` (the user's fan-outs and a form to start one over several or all
//! tenants) and `/fanouts/{id}` (the parent, its counts and every child run).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use uuid::Uuid;

use super::view::{Badge, opt_time, run_path, time};
use super::{FormData, PageError, Path, Query, Shell, redirect, render};
use crate::store::fanouts as fanout_store;
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::ApiError;
use crate::web::fanouts::{FanoutBody, start, view};
use crate::web::restores::SourceRef;

#[derive(Template)]
#[template(path = "fanouts.html")]
struct FanoutsPage {
    shell: Shell,
    rows: Vec<Row>,
    backup_set_id: String,
}

struct Row {
    url: String,
    what: String,
    badge: Badge,
    tenants: i32,
    created_at: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "fanout.html")]
struct FanoutPage {
    shell: Shell,
    id: Uuid,
    what: String,
    badge: Badge,
    running: bool,
    summary: String,
    created_at: String,
    finished_at: String,
    canceled: bool,
    counts: crate::runs::fanout::FanoutCounts,
    children: Vec<Child>,
}

struct Child {
    tenant: String,
    url: String,
    badge: Badge,
    joined: bool,
    summary: String,
}

fn what(operation: &str) -> String {
    operation
        .parse::<entity::enums::RunOperation>()
        .map(|op| super::view::operation_label(op).to_string())
        .unwrap_or_else(|_| operation.to_string())
}

fn status_badge(status: &str) -> Badge {
    status
        .parse::<entity::enums::RunStatus>()
        .map(Badge::run)
        .unwrap_or_else(|_| Badge::word(status))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ListQuery {
    backup_set_id: Option<String>,
}

/// `/fanouts`.
pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&state, &user, None, "Fan-outs").await?;
    let fanouts = fanout_store::list(&state.services().db, user.id(), None, 100).await?;
    let rows = fanouts
        .iter()
        .map(|f| Row {
            url: format!("/fanouts/{}", f.id),
            what: what(f.operation.as_str()),
            badge: Badge::run(f.status),
            tenants: f.tenant_count,
            created_at: time(f.created_at),
            summary: f.summary.clone().unwrap_or_default(),
        })
        .collect();
    render(&FanoutsPage {
        shell,
        rows,
        backup_set_id: query.backup_set_id.unwrap_or_default(),
    })
}

/// `POST /fanouts`: the form's start; the new fan-out's page answers.
pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    form: FormData,
) -> Result<Response, PageError> {
    let operation = form
        .get("operation")
        .unwrap_or("capture_snapshot")
        .to_string();
    let tenant_ids = form.ids("tenant_id")?;
    let all_tenants = form.checked("all_tenants");
    let source = match form.get("backup_set_id") {
        Some(id) => Some(SourceRef {
            backup_set_id: Some(Uuid::parse_str(id).map_err(|_| {
                ApiError::Validation(format!("backup_set_id: {id:?} is not an id"))
            })?),
            snapshot_id: None,
        }),
        None => None,
    };
    let confirm_tenant_count = match form.get("confirm_tenant_count") {
        Some(n) => Some(n.parse::<u32>().map_err(|_| {
            ApiError::Validation(format!(
                "confirm_tenant_count: type the number of target tenants, not {n:?}"
            ))
        })?),
        None => None,
    };
    let body = FanoutBody {
        operation,
        tenant_ids: (!all_tenants).then_some(tenant_ids),
        all_tenants,
        source,
        item_ids: None,
        keep_conditional_access_state: form.checked("keep_conditional_access_state"),
        confirm_tenant_count,
    };
    let (fanout, _) = start(&state, &user, body).await?;
    Ok(redirect(&format!("/fanouts/{}", fanout.id)))
}

/// `/fanouts/{id}`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let fanout = fanout_store::get(&state.services().db, user.id(), id).await?;
    let v = view(&state, &fanout, true).await?;
    let mut shell = Shell::new(&state, &user, None, "Fan-out").await?;
    shell.noscript_refresh = v.status == "running";
    let children = v
        .children
        .unwrap_or_default()
        .into_iter()
        .map(|c| Child {
            tenant: if c.tenant_name.is_empty() {
                c.tenant_id.to_string()
            } else {
                c.tenant_name
            },
            url: run_path(c.tenant_id, c.run.id),
            badge: status_badge(&c.run.status),
            joined: c.joined,
            summary: c.run.summary.unwrap_or_default(),
        })
        .collect();
    render(&FanoutPage {
        shell,
        id,
        what: what(&v.operation),
        badge: status_badge(&v.status),
        running: v.status == "running",
        summary: v.summary.unwrap_or_default(),
        created_at: time(v.created_at),
        finished_at: opt_time(v.finished_at),
        canceled: v.cancel_requested_at.is_some(),
        counts: v.counts,
        children,
    })
}

/// `POST /fanouts/{id}/cancel`.
pub(super) async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    _form: FormData,
) -> Result<Response, PageError> {
    let fanout = fanout_store::get(&state.services().db, user.id(), id).await?;
    state
        .orchestrator
        .cancel_fanout(&fanout, user.id())
        .await
        .map_err(ApiError::from)?;
    Ok(redirect(&format!("/fanouts/{id}")))
}

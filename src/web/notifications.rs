//! The caller's notifications (list, mark read) and a tenant's audit trail.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{audit_events, notifications};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::extract::{self, Path, Query, page_limit};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::store::activity;

pub fn routes() -> Routes {
    Routes::new()
        .get("/notifications", Access::User, list)
        .doc(
            Doc::new("The caller's notifications, newest first")
                .query::<ListQuery>()
                .returns::<NotificationList>(200, "A page of notifications, and the unread count"),
        )
        .post("/notifications/{id}/read", Access::User, mark_read)
        .doc(
            Doc::new("Mark one of the caller's notifications read")
                .returns::<NotificationBody>(200, "The notification"),
        )
        .get("/notification-preferences", Access::User, preferences)
        .doc(
            Doc::new("Which events notify the caller, and for which tenants")
                .returns::<PreferencesBody>(200, "The preferences (the defaults until changed)"),
        )
        .put("/notification-preferences", Access::User, set_preferences)
        .doc(
            Doc::new("Choose which events notify the caller (and, optionally, for which tenants)")
                .body::<PreferencesRequest>()
                .returns::<PreferencesBody>(200, "The preferences"),
        )
        .get(
            "/tenants/{tenant}/audit-events",
            Access::Tenant(Role::Viewer),
            audit_events,
        )
        .doc(
            Doc::new("The tenant's audit trail, newest first")
                .query::<PageQuery>()
                .returns::<AuditEventList>(200, "A page of audit events"),
        )
}

#[derive(Debug, Serialize, JsonSchema)]
struct Notification {
    id: Uuid,
    tenant_id: Uuid,
    run_id: Option<Uuid>,
    /// A fan-out's notification (about all its runs) names the fan-out instead.
    fanout_id: Option<Uuid>,
    kind: String,
    title: String,
    body: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl From<&notifications::Model> for Notification {
    fn from(n: &notifications::Model) -> Self {
        Self {
            id: n.id,
            tenant_id: n.tenant_id,
            run_id: n.run_id,
            fanout_id: n.fanout_id,
            kind: n.kind.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct NotificationList {
    notifications: Vec<Notification>,
    /// Unread notifications in all, not only on this page.
    unread: u64,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<Uuid>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct NotificationBody {
    notification: Notification,
}

#[derive(Debug, Serialize, JsonSchema)]
struct AuditEvent {
    id: Uuid,
    /// `null` for system actions, or once the acting user has been deleted.
    actor_id: Option<Uuid>,
    /// Dotted action name, e.g. `restore.live.queued`.
    action: String,
    run_id: Option<Uuid>,
    details: Value,
    created_at: DateTime<Utc>,
}

impl From<&audit_events::Model> for AuditEvent {
    fn from(e: &audit_events::Model) -> Self {
        Self {
            id: e.id,
            actor_id: e.actor_id,
            action: e.action.clone(),
            run_id: e.run_id,
            details: e.details.clone(),
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct AuditEventList {
    audit_events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<Uuid>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ListQuery {
    /// Only unread ones.
    #[serde(default)]
    unread: bool,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    #[serde(default, deserialize_with = "super::extract::opt_uuid")]
    cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<NotificationList>, ApiError> {
    let db = &state.services().db;
    let limit = page_limit(q.limit);
    let rows = activity::notifications_for(db, user.id(), q.unread, q.cursor, limit + 1).await?;
    let unread = activity::unread_count(db, user.id()).await?;
    let (notifications, next_cursor) =
        extract::page(rows, limit, |n| n.id, |m| Notification::from(m));
    Ok(Json(NotificationList {
        notifications,
        unread,
        next_cursor,
    }))
}

async fn mark_read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<NotificationBody>, ApiError> {
    let n = activity::mark_read(&state.services().db, user.id(), id).await?;
    Ok(Json(NotificationBody {
        notification: Notification::from(&n),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
    #[serde(default, deserialize_with = "super::extract::opt_uuid")]
    cursor: Option<Uuid>,
}

async fn audit_events(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<PageQuery>,
) -> Result<Json<AuditEventList>, ApiError> {
    access.require(Role::Viewer)?;
    let limit = page_limit(q.limit);
    let rows =
        activity::audit_events(&state.services().db, access.scope(), q.cursor, limit + 1).await?;
    let (audit_events, next_cursor) = extract::page(rows, limit, |e| e.id, |m| AuditEvent::from(m));
    Ok(Json(AuditEventList {
        audit_events,
        next_cursor,
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
struct PreferencesView {
    /// Of `queued`, `running`, `succeeded`, `failed`, `partial`, `canceled`, `live_restore`
    /// (any finished live restore, re-run or undo) and `drift`.
    kinds: Vec<String>,
    /// The tenants to be told about; null: all of the caller's.
    tenant_ids: Option<Vec<Uuid>>,
    /// True while the caller has not chosen (failures, partial results, cancellations,
    /// finished live restores and new drift).
    default: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
struct PreferencesBody {
    preferences: PreferencesView,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PreferencesRequest {
    kinds: Vec<String>,
    #[serde(default)]
    tenant_ids: Option<Vec<Uuid>>,
}

fn view(p: activity::Preferences) -> PreferencesBody {
    PreferencesBody {
        preferences: PreferencesView {
            kinds: p.kinds,
            tenant_ids: p.tenant_ids,
            default: p.default,
        },
    }
}

async fn preferences(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<PreferencesBody>, ApiError> {
    Ok(Json(view(
        activity::preferences(&state.services().db, user.id()).await?,
    )))
}

async fn set_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
    extract::Json(body): extract::Json<PreferencesRequest>,
) -> Result<Json<PreferencesBody>, ApiError> {
    let saved = save_preferences(&state, &user, &body.kinds, body.tenant_ids.as_deref()).await?;
    Ok(Json(view(saved)))
}

/// Checks and stores a user's notification preferences: the API's and the web UI's.
pub(super) async fn save_preferences(
    state: &AppState,
    user: &CurrentUser,
    kinds: &[String],
    tenant_ids: Option<&[Uuid]>,
) -> Result<activity::Preferences, ApiError> {
    let mut kinds: Vec<String> = kinds.iter().map(|k| k.trim().to_string()).collect();
    if let Some(bad) = kinds
        .iter()
        .find(|k| !activity::KINDS.contains(&k.as_str()))
    {
        return Err(ApiError::Validation(format!(
            "kinds: {bad:?} is not one of {}",
            activity::KINDS.join(", ")
        )));
    }
    kinds.sort();
    kinds.dedup();
    let db = &state.services().db;
    if let Some(ids) = tenant_ids {
        let mine = crate::store::accounts::tenants_of(db, user.id()).await?;
        let foreign = ids
            .iter()
            .filter(|id| !mine.iter().any(|m| m.tenant.id == **id))
            .count();
        if foreign > 0 {
            return Err(ApiError::Validation(format!(
                "tenant_ids: {foreign} of the ids are not tenants of yours"
            )));
        }
    }
    activity::set_preferences(db, user.id(), &kinds, tenant_ids).await?;
    Ok(activity::preferences(db, user.id()).await?)
}

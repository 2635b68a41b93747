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

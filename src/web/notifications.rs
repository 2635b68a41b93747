//! The caller's notifications (list, mark read) and a tenant's audit trail.

use axum::Json;
use axum::extract::State;
use entity::enums::Role;
use entity::notifications;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::extract::{Path, Query, page_limit};
use super::openapi::{Doc, shape};
use super::routes::{Access, Routes};
use crate::store::activity;

pub fn routes() -> Routes {
    Routes::new()
        .get("/notifications", Access::User, list)
        .doc(
            Doc::new("The caller's notifications, newest first")
                .query::<ListQuery>()
                .returns_shape(
                    200,
                    "A page of notifications, and the unread count",
                    shape::object(&[
                        ("notifications", shape::array(notification_shape())),
                        ("unread", shape::integer()),
                        ("next_cursor", shape::nullable(shape::uuid())),
                    ]),
                ),
        )
        .post("/notifications/{id}/read", Access::User, mark_read)
        .doc(
            Doc::new("Mark one of the caller's notifications read").returns_shape(
                200,
                "The notification",
                shape::object(&[("notification", notification_shape())]),
            ),
        )
        .get(
            "/tenants/{tenant}/audit-events",
            Access::Tenant(Role::Viewer),
            audit_events,
        )
        .doc(
            Doc::new("The tenant's audit trail, newest first")
                .query::<PageQuery>()
                .returns_shape(
                    200,
                    "A page of audit events",
                    shape::page("audit_events", audit_shape(), shape::uuid()),
                ),
        )
}

fn notification_shape() -> Value {
    use shape::{datetime, nullable, object, string, uuid};
    object(&[
        ("id", uuid()),
        ("tenant_id", uuid()),
        ("run_id", nullable(uuid())),
        ("kind", string()),
        ("title", string()),
        ("body", string()),
        ("created_at", datetime()),
        ("read_at", nullable(datetime())),
    ])
}

fn audit_shape() -> Value {
    use shape::{any, datetime, nullable, object, string, uuid};
    object(&[
        ("id", uuid()),
        ("actor_id", nullable(uuid())),
        ("action", string()),
        ("run_id", nullable(uuid())),
        ("details", any()),
        ("created_at", datetime()),
    ])
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

fn notification_json(n: &notifications::Model) -> Value {
    json!({
        "id": n.id,
        "tenant_id": n.tenant_id,
        "run_id": n.run_id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "created_at": n.created_at,
        "read_at": n.read_at,
    })
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let db = &state.services().db;
    let limit = page_limit(q.limit);
    let mut rows =
        activity::notifications_for(db, user.id(), q.unread, q.cursor, limit + 1).await?;
    let unread = activity::unread_count(db, user.id()).await?;
    let next = super::extract::next_cursor(&mut rows, limit, |n| n.id);
    Ok(Json(json!({
        "notifications": rows.iter().map(notification_json).collect::<Vec<_>>(),
        "unread": unread,
        "next_cursor": next,
    })))
}

async fn mark_read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let n = activity::mark_read(&state.services().db, user.id(), id).await?;
    Ok(Json(json!({"notification": notification_json(&n)})))
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
) -> Result<Json<Value>, ApiError> {
    access.require(Role::Viewer)?;
    let limit = page_limit(q.limit);
    let mut rows =
        activity::audit_events(&state.services().db, access.scope(), q.cursor, limit + 1).await?;
    let next = super::extract::next_cursor(&mut rows, limit, |e| e.id);
    let events: Vec<Value> = rows
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "actor_id": e.actor_id,
                "action": e.action,
                "run_id": e.run_id,
                "details": e.details,
                "created_at": e.created_at,
            })
        })
        .collect();
    Ok(Json(json!({"audit_events": events, "next_cursor": next})))
}

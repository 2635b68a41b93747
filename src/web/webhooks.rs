//! Outbound webhooks of a tenant (admins): add one (its signing secret is shown once), list,
//! delete, and read its delivery log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{webhook_deliveries, webhooks};
use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract::{self, Path};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::runs::webhooks::prepare;
use crate::store::webhooks as hook_store;

pub fn routes() -> Routes {
    const ADMIN: Access = Access::Tenant(Role::Admin);
    Routes::new()
        .post("/tenants/{tenant}/webhooks", ADMIN, create)
        .doc(
            Doc::new(
                "Add a webhook: run outcomes and new drift of this tenant are posted to it, signed \
                 with HMAC-SHA256 (header `X-PolicyVault-Signature: sha256=<hex>`)",
            )
            .body::<WebhookRequest>()
            .returns::<CreatedWebhook>(201, "The webhook and its signing secret (shown once)"),
        )
        .get("/tenants/{tenant}/webhooks", ADMIN, list)
        .doc(
            Doc::new("List the tenant's webhooks (addresses shown by host only)")
                .returns::<WebhookList>(200, "The webhooks"),
        )
        .delete("/tenants/{tenant}/webhooks/{id}", ADMIN, remove)
        .doc(Doc::new("Delete a webhook (idempotent)").no_content("Deleted, or was none"))
        .get(
            "/tenants/{tenant}/webhooks/{id}/deliveries",
            ADMIN,
            deliveries,
        )
        .doc(
            Doc::new("A webhook's delivery log, newest first (the last 100)")
                .returns::<DeliveryList>(200, "The deliveries"),
        )
}

#[derive(Debug, Serialize, JsonSchema)]
struct WebhookView {
    id: Uuid,
    /// The address's scheme and host; the address itself is never shown again.
    url_hint: String,
    /// `json` (the event as JSON), `teams` or `slack` (`{"text": ...}`).
    format: String,
    events: Vec<String>,
    enabled: bool,
    created_at: DateTime<Utc>,
}

impl From<&webhooks::Model> for WebhookView {
    fn from(h: &webhooks::Model) -> Self {
        Self {
            id: h.id,
            url_hint: h.url_hint.clone(),
            format: h.format.clone(),
            events: h
                .kinds
                .as_array()
                .map(|k| {
                    k.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            enabled: h.enabled,
            created_at: h.created_at,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WebhookRequest {
    /// An `https://` (or `http://`) address; it may carry a token (stored sealed).
    url: String,
    /// `json` (default), `teams` or `slack`.
    #[serde(default)]
    format: Option<String>,
    /// Of `run.failed`, `run.partial`, `run.succeeded`, `run.canceled`, `drift`; default
    /// `run.failed` and `run.partial`.
    #[serde(default)]
    events: Option<Vec<String>>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct CreatedWebhook {
    webhook: WebhookView,
    /// The HMAC-SHA256 signing secret: shown now, never again.
    secret: String,
}

#[derive(Debug, Serialize, JsonSchema)]
struct WebhookList {
    webhooks: Vec<WebhookView>,
}

async fn create(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<WebhookRequest>,
) -> Result<Response, ApiError> {
    access.require(Role::Admin)?;
    let (new, secret) = prepare(
        &body.url,
        body.format.as_deref(),
        body.events,
        Some(access.user.id()),
    )
    .map_err(ApiError::Validation)?;
    let row = hook_store::create(
        &state.services().db,
        &state.services().secrets,
        access.scope(),
        new,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: WebhookView::from(&row),
            secret: secret.expose_secret().to_string(),
        }),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<WebhookList>, ApiError> {
    let rows = hook_store::list(&state.services().db, access.scope()).await?;
    Ok(Json(WebhookList {
        webhooks: rows.iter().map(WebhookView::from).collect(),
    }))
}

async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    hook_store::delete(&state.services().db, access.scope(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, JsonSchema)]
struct Delivery {
    id: Uuid,
    event: String,
    run_id: Option<Uuid>,
    /// `pending`, `delivered` or `failed` (given up after 6 attempts).
    status: String,
    attempts: i32,
    /// HTTP status of the last attempt.
    last_status: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl From<&webhook_deliveries::Model> for Delivery {
    fn from(d: &webhook_deliveries::Model) -> Self {
        Self {
            id: d.id,
            event: d.event.clone(),
            run_id: d.run_id,
            status: d.status.clone(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct DeliveryList {
    deliveries: Vec<Delivery>,
}

async fn deliveries(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Json<DeliveryList>, ApiError> {
    let rows = hook_store::deliveries(&state.services().db, access.scope(), id, 100).await?;
    Ok(Json(DeliveryList {
        deliveries: rows.iter().map(Delivery::from).collect(),
    }))
}

//! Webhooks of a tenant and their delivery log. The address and the signing secret are sealed
//! with the installation's key (bound to the webhook's row), and never read back out through
//! the API.

use chrono::{DateTime, Utc};
use entity::{webhook_deliveries, webhooks};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use secrecy::SecretString;
use serde_json::Value as Json;
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};
use crate::crypto::SecretBox;

fn context(id: Uuid, what: &str) -> String {
    format!("webhook:{id}:{what}")
}

/// A webhook to create; `url` and `secret` are sealed before they reach the database.
pub struct NewWebhook {
    pub url: SecretString,
    pub url_hint: String,
    pub secret: SecretString,
    pub format: String,
    pub kinds: Vec<String>,
    pub created_by: Option<Uuid>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    scope: &TenantScope,
    new: NewWebhook,
) -> StoreResult<webhooks::Model> {
    insert(db, secrets, Some(scope.tenant_id()), new).await
}

/// A global webhook: it takes the events of every tenant. Only the installation's command
/// line manages these; no tenant's API lists them.
pub async fn create_global(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    new: NewWebhook,
) -> StoreResult<webhooks::Model> {
    insert(db, secrets, None, new).await
}

/// The global webhooks.
pub async fn list_global(db: &impl ConnectionTrait) -> StoreResult<Vec<webhooks::Model>> {
    Ok(webhooks::Entity::find()
        .filter(webhooks::Column::TenantId.is_null())
        .order_by_asc(webhooks::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Deletes a global webhook; false when there was none.
pub async fn delete_global(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<bool> {
    Ok(webhooks::Entity::delete_many()
        .filter(webhooks::Column::TenantId.is_null())
        .filter(webhooks::Column::Id.eq(id))
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// A global webhook's deliveries, newest first.
pub async fn global_deliveries(
    db: &impl ConnectionTrait,
    webhook_id: Uuid,
    limit: u64,
) -> StoreResult<Vec<webhook_deliveries::Model>> {
    let hook = webhooks::Entity::find_by_id(webhook_id)
        .filter(webhooks::Column::TenantId.is_null())
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(hook.id))
        .order_by_desc(webhook_deliveries::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

async fn insert(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    tenant_id: Option<Uuid>,
    new: NewWebhook,
) -> StoreResult<webhooks::Model> {
    let id = Uuid::now_v7();
    Ok(webhooks::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        url_enc: Set(secrets.seal(&new.url, &context(id, "url"))),
        url_hint: Set(new.url_hint),
        secret_enc: Set(secrets.seal(&new.secret, &context(id, "secret"))),
        format: Set(new.format),
        kinds: Set(Json::from(new.kinds)),
        enabled: Set(true),
        created_by: Set(new.created_by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

pub async fn list(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> StoreResult<Vec<webhooks::Model>> {
    Ok(webhooks::Entity::find()
        .filter(webhooks::Column::TenantId.eq(scope.tenant_id()))
        .order_by_asc(webhooks::Column::Id)
        .all(db)
        .await?)
}

pub async fn get(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<webhooks::Model> {
    webhooks::Entity::find_by_id(id)
        .filter(webhooks::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn delete(db: &impl ConnectionTrait, scope: &TenantScope, id: Uuid) -> StoreResult<bool> {
    let r = webhooks::Entity::delete_many()
        .filter(webhooks::Column::TenantId.eq(scope.tenant_id()))
        .filter(webhooks::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// The address and signing secret of a webhook, unsealed for one delivery.
pub fn unseal(
    secrets: &SecretBox,
    hook: &webhooks::Model,
) -> StoreResult<(SecretString, SecretString)> {
    Ok((
        secrets.open(&hook.url_enc, &context(hook.id, "url"))?,
        secrets.open(&hook.secret_enc, &context(hook.id, "secret"))?,
    ))
}

/// Queues `event` for every enabled webhook of the tenant, and every global one, that takes
/// it.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    run_id: Option<Uuid>,
    event: &str,
    payload: &Json,
) -> StoreResult<usize> {
    let hooks = takers(db, tenant_id, event).await?;
    enqueue_to(db, &hooks, tenant_id, run_id, event, payload).await
}

/// The enabled webhooks of `tenant_id` (and the platform-wide ones) that take `event`.
pub async fn takers(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    event: &str,
) -> StoreResult<Vec<webhooks::Model>> {
    let hooks = webhooks::Entity::find()
        .filter(
            webhooks::Column::TenantId
                .eq(tenant_id)
                .or(webhooks::Column::TenantId.is_null()),
        )
        .filter(webhooks::Column::Enabled.eq(true))
        .all(db)
        .await?;
    Ok(hooks
        .into_iter()
        .filter(|hook| {
            hook.kinds
                .as_array()
                .is_some_and(|k| k.iter().any(|v| v.as_str() == Some(event)))
        })
        .collect())
}

/// Queues one delivery of `payload` to each of `hooks` (from [`takers`]).
pub async fn enqueue_to(
    db: &impl ConnectionTrait,
    hooks: &[webhooks::Model],
    tenant_id: Uuid,
    run_id: Option<Uuid>,
    event: &str,
    payload: &Json,
) -> StoreResult<usize> {
    let now = Utc::now();
    for hook in hooks {
        webhook_deliveries::ActiveModel {
            id: Set(Uuid::now_v7()),
            webhook_id: Set(hook.id),
            tenant_id: Set(tenant_id),
            run_id: Set(run_id),
            event: Set(event.to_string()),
            payload: Set(payload.clone()),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(hooks.len())
}

/// Takes up to `limit` due deliveries for one attempt each: their next attempt is pushed to
/// `lease_until` first, so another worker does not send them at the same time.
pub async fn take_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<(webhook_deliveries::Model, webhooks::Model)>> {
    let due = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::Status.eq("pending"))
        .filter(webhook_deliveries::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_deliveries::Column::NextAttemptAt)
        .limit(limit)
        .find_also_related(webhooks::Entity)
        .all(db)
        .await?;
    let mut taken = Vec::new();
    for (delivery, hook) in due {
        let Some(hook) = hook else { continue };
        let updated = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::NextAttemptAt,
                Expr::value(lease_until),
            )
            .filter(webhook_deliveries::Column::Id.eq(delivery.id))
            .filter(webhook_deliveries::Column::Status.eq("pending"))
            .filter(webhook_deliveries::Column::NextAttemptAt.eq(delivery.next_attempt_at))
            .exec(db)
            .await?;
        if updated.rows_affected == 1 {
            taken.push((delivery, hook));
        }
    }
    Ok(taken)
}

/// Records one attempt: delivered, to be retried at `retry_at`, or given up (`retry_at`
/// `None`).
pub async fn attempted(
    db: &impl ConnectionTrait,
    id: Uuid,
    ok: bool,
    status: Option<u16>,
    error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let now = Utc::now();
    let state = match (ok, retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    let mut update = webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::Status, Expr::value(state))
        .col_expr(
            webhook_deliveries::Column::Attempts,
            Expr::col(webhook_deliveries::Column::Attempts).add(1),
        )
        .col_expr(
            webhook_deliveries::Column::LastStatus,
            Expr::value(status.map(i32::from)),
        )
        .col_expr(webhook_deliveries::Column::LastError, Expr::value(error));
    if ok {
        update = update.col_expr(webhook_deliveries::Column::DeliveredAt, Expr::value(now));
    }
    if let Some(at) = retry_at {
        update = update.col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(at));
    }
    update
        .filter(webhook_deliveries::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    webhook_id: Uuid,
    limit: u64,
) -> StoreResult<Vec<webhook_deliveries::Model>> {
    get(db, scope, webhook_id).await?;
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_deliveries::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

//! The e-mail copies of notifications (when SMTP is enabled): which are due, and how each
//! attempt went. A notification's row carries its e-mail state, so a copy is sent at most
//! once however many workers deliver.

use chrono::{DateTime, Utc};
use entity::{notifications, tenants, users};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::StoreResult;

/// Marks the notifications created since `since` that have no e-mail copy yet as pending.
pub async fn mark_new(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(notifications::Entity::update_many()
        .col_expr(notifications::Column::EmailState, Expr::value("pending"))
        .col_expr(notifications::Column::EmailNextAt, Expr::value(now))
        .filter(notifications::Column::EmailState.is_null())
        .filter(notifications::Column::CreatedAt.gte(since))
        .exec(db)
        .await?
        .rows_affected)
}

/// A pending e-mail: the notification, its recipient, and the tenant's name.
pub struct Due {
    pub notification: notifications::Model,
    pub to: String,
    pub recipient_disabled: bool,
    pub tenant_name: String,
}

/// Takes up to `limit` due e-mails for one attempt each (their next attempt is pushed to
/// `lease_until` first, so no other worker sends them meanwhile).
pub async fn take_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<Due>> {
    let due = notifications::Entity::find()
        .filter(notifications::Column::EmailState.eq("pending"))
        .filter(notifications::Column::EmailNextAt.lte(now))
        .order_by_asc(notifications::Column::EmailNextAt)
        .limit(limit)
        .all(db)
        .await?;
    let mut taken = Vec::new();
    for n in due {
        let updated = notifications::Entity::update_many()
            .col_expr(notifications::Column::EmailNextAt, Expr::value(lease_until))
            .filter(notifications::Column::Id.eq(n.id))
            .filter(notifications::Column::EmailState.eq("pending"))
            .filter(notifications::Column::EmailNextAt.eq(n.email_next_at))
            .exec(db)
            .await?;
        if updated.rows_affected != 1 {
            continue;
        }
        let user = users::Entity::find_by_id(n.user_id).one(db).await?;
        let tenant = tenants::Entity::find_by_id(n.tenant_id).one(db).await?;
        let Some(user) = user else { continue };
        taken.push(Due {
            to: user.email,
            recipient_disabled: user.disabled,
            tenant_name: tenant.map(|t| t.name).unwrap_or_default(),
            notification: n,
        });
    }
    Ok(taken)
}

/// Records one attempt: sent, to be retried at `retry_at`, or given up (`retry_at` `None`).
pub async fn attempted(
    db: &impl ConnectionTrait,
    id: Uuid,
    ok: bool,
    error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let state = match (ok, retry_at) {
        (true, _) => "sent",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    let mut update = notifications::Entity::update_many()
        .col_expr(notifications::Column::EmailState, Expr::value(state))
        .col_expr(
            notifications::Column::EmailAttempts,
            Expr::col(notifications::Column::EmailAttempts).add(1),
        )
        .col_expr(notifications::Column::EmailError, Expr::value(error));
    if let Some(at) = retry_at {
        update = update.col_expr(notifications::Column::EmailNextAt, Expr::value(at));
    }
    update
        .filter(notifications::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

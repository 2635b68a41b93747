//! Notifications to users and the append-only audit trail.

use chrono::Utc;
use entity::{audit_events, memberships, notifications};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub run_id: Option<Uuid>,
    /// A fan-out parent's notification links the fan-out instead of one run.
    pub fanout_id: Option<Uuid>,
    pub kind: String,
    pub title: String,
    pub body: String,
}

pub async fn notify(
    db: &impl ConnectionTrait,
    new: NewNotification,
) -> StoreResult<notifications::Model> {
    let row = notifications::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(new.user_id),
        tenant_id: Set(new.tenant_id),
        run_id: Set(new.run_id),
        fanout_id: Set(new.fanout_id),
        kind: Set(new.kind),
        title: Set(new.title),
        body: Set(new.body),
        created_at: Set(Utc::now()),
        read_at: Set(None),
        email_state: Set(None),
        email_attempts: Set(0),
        email_next_at: Set(None),
        email_error: Set(None),
    };
    Ok(row.insert(db).await?)
}

/// The kinds of event a user is told about unless they chose otherwise: failures, partial
/// results, cancellations, every finished live restore (or re-run, or undo), new drift and
/// finished fan-outs (one for the parent, none for its children) — not every step of every
/// run.
pub const DEFAULT_KINDS: &[&str] = &[
    "failed",
    "partial",
    "canceled",
    "live_restore",
    "drift",
    "fanout",
];

/// Every kind a preference may name.
pub const KINDS: &[&str] = &[
    "queued",
    "running",
    "succeeded",
    "failed",
    "partial",
    "canceled",
    "live_restore",
    "drift",
    "fanout",
];

/// A user's notification preferences: the kinds they want, and the tenants (`None`: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub kinds: Vec<String>,
    pub tenant_ids: Option<Vec<Uuid>>,
    /// No choice stored: the defaults.
    pub default: bool,
}

impl Preferences {
    pub fn wants(&self, tenant_id: Uuid, kinds: &[&str]) -> bool {
        self.tenant_ids
            .as_ref()
            .is_none_or(|t| t.contains(&tenant_id))
            && kinds.iter().any(|k| self.kinds.iter().any(|w| w == k))
    }
}

pub async fn preferences(db: &impl ConnectionTrait, user_id: Uuid) -> StoreResult<Preferences> {
    let row = entity::notification_preferences::Entity::find_by_id(user_id)
        .one(db)
        .await?;
    Ok(match row {
        None => Preferences::stored(None, None),
        Some(row) => Preferences::stored(Some(row.kinds), row.tenant_ids),
    })
}

impl Preferences {
    /// The preferences a user's row holds (its `kinds` and `tenant_ids` columns); the
    /// defaults when there is no row (`kinds` = `None`).
    pub fn stored(kinds: Option<Json>, tenant_ids: Option<Json>) -> Self {
        match kinds {
            None => Preferences {
                kinds: DEFAULT_KINDS.iter().map(|k| k.to_string()).collect(),
                tenant_ids: None,
                default: true,
            },
            Some(kinds) => Preferences {
                kinds: serde_json::from_value(kinds).unwrap_or_default(),
                tenant_ids: tenant_ids.and_then(|t| serde_json::from_value(t).ok()),
                default: false,
            },
        }
    }
}

/// Stores a user's choice (replacing any earlier one).
pub async fn set_preferences(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    kinds: &[String],
    tenant_ids: Option<&[Uuid]>,
) -> StoreResult<()> {
    use entity::notification_preferences as prefs;
    let row = prefs::ActiveModel {
        user_id: Set(user_id),
        kinds: Set(Json::from(kinds.to_vec())),
        tenant_ids: Set(tenant_ids.map(|t| serde_json::to_value(t).unwrap_or_default())),
        updated_at: Set(Utc::now()),
    };
    prefs::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(prefs::Column::UserId)
                .update_columns([
                    prefs::Column::Kinds,
                    prefs::Column::TenantIds,
                    prefs::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes a notification if its recipient wants it: its `kind`, or any of `also` (a live
/// restore's end is also `live_restore`), for its tenant. Returns whether it was written.
pub async fn notify_if_wanted(
    db: &impl ConnectionTrait,
    new: NewNotification,
    also: &[&str],
) -> StoreResult<bool> {
    if !wants(db, new.user_id, new.tenant_id, &new.kind, also).await? {
        return Ok(false);
    }
    notify(db, new).await?;
    Ok(true)
}

/// Whether `user_id`'s preferences want a notification of `kind` (or of any of `also`)
/// about `tenant_id`.
pub async fn wants(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
    kind: &str,
    also: &[&str],
) -> StoreResult<bool> {
    let mut kinds = vec![kind];
    kinds.extend_from_slice(also);
    Ok(preferences(db, user_id).await?.wants(tenant_id, &kinds))
}

/// Ids of the tenants a user is a member of, as a subquery.
fn member_tenants(user_id: Uuid) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(memberships::Column::TenantId)
        .from(memberships::Entity)
        .and_where(Expr::col(memberships::Column::UserId).eq(user_id))
        .to_owned()
}

/// A user's notifications, newest first, limited to tenants they are still a member of.
pub async fn notifications_for(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<notifications::Model>> {
    let mut query = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::TenantId.in_subquery(member_tenants(user_id)));
    if unread_only {
        query = query.filter(notifications::Column::ReadAt.is_null());
    }
    if let Some(before) = before {
        query = query.filter(notifications::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(notifications::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Unread notifications of a user, counted like [`notifications_for`] lists them.
pub async fn unread_count(db: &impl ConnectionTrait, user_id: Uuid) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::TenantId.in_subquery(member_tenants(user_id)))
        .filter(notifications::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Marks one of the user's own notifications read; another user's, or one of a tenant the
/// user has left, is not found.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
) -> StoreResult<notifications::Model> {
    let row = notifications::Entity::find_by_id(id)
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::TenantId.in_subquery(member_tenants(user_id)))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    if row.read_at.is_some() {
        return Ok(row);
    }
    let mut active: notifications::ActiveModel = row.into();
    active.read_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

/// Marks every unread notification of the user read; returns how many changed.
pub async fn mark_all_read(db: &impl ConnectionTrait, user_id: Uuid) -> StoreResult<u64> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(Some(Utc::now())))
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub tenant_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub run_id: Option<Uuid>,
    pub details: Json,
}

pub async fn audit(
    db: &impl ConnectionTrait,
    new: NewAuditEvent,
) -> StoreResult<audit_events::Model> {
    let row = audit_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(new.tenant_id),
        actor_id: Set(new.actor_id),
        action: Set(new.action),
        run_id: Set(new.run_id),
        details: Set(new.details),
        created_at: Set(Utc::now()),
    };
    Ok(row.insert(db).await?)
}

pub async fn audit_events(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<audit_events::Model>> {
    let mut query =
        audit_events::Entity::find().filter(audit_events::Column::TenantId.eq(scope.tenant_id()));
    if let Some(before) = before {
        query = query.filter(audit_events::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(audit_events::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

//! Browser sessions: created at sign-in, found by the digest of the presented session id,
//! ended by sign-out or expiry (idle and absolute). The session id itself is never stored.

use chrono::{DateTime, Duration, Utc};
use entity::{sessions, users};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::Condition;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::StoreResult;
use crate::auth::session;

/// Longest user-agent text kept (it is only shown to the user in a session list).
const USER_AGENT_MAX: usize = 256;

#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: Uuid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Absolute lifetime, counted from now.
    pub lifetime: Duration,
}

/// Starts a session; the returned secret (the cookie value) is not stored anywhere.
pub async fn create(
    db: &impl ConnectionTrait,
    new: NewSession,
) -> StoreResult<(sessions::Model, SecretString)> {
    let issued = session::issue();
    let now = Utc::now();
    let row = sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(new.user_id),
        token_hash: Set(issued.hash),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + new.lifetime),
        ip_address: Set(new.ip_address),
        user_agent: Set(new
            .user_agent
            .map(|ua| ua.chars().take(USER_AGENT_MAX).collect())),
    };
    Ok((row.insert(db).await?, issued.secret))
}

/// The live session a presented id names, with its enabled user. A session past its idle or
/// absolute expiry is deleted on sight and not returned.
pub async fn find_active(
    db: &impl ConnectionTrait,
    presented: &SecretString,
    idle: Duration,
    now: DateTime<Utc>,
) -> StoreResult<Option<(sessions::Model, users::Model)>> {
    if !session::is_well_formed(presented.expose_secret()) {
        return Ok(None);
    }
    let found = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(session::digest(presented.expose_secret())))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    let Some((row, user)) = found else {
        return Ok(None);
    };
    if row.expires_at <= now || row.last_seen_at + idle <= now {
        sessions::Entity::delete_by_id(row.id).exec(db).await?;
        return Ok(None);
    }
    Ok(user.filter(|u| !u.disabled).map(|u| (row, u)))
}

/// True while a session, by id, is neither signed out nor past its idle or absolute expiry,
/// and its user is enabled: what an open event stream re-checks.
pub async fn is_active(
    db: &impl ConnectionTrait,
    id: Uuid,
    idle: Duration,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let found = sessions::Entity::find_by_id(id)
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    Ok(found.is_some_and(|(row, user)| {
        row.expires_at > now && row.last_seen_at + idle > now && user.is_some_and(|u| !u.disabled)
    }))
}

/// Records activity (pushes the idle expiry out).
pub async fn touch(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends one session (sign-out). True when it existed.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<bool> {
    let result = sessions::Entity::delete_by_id(id).exec(db).await?;
    Ok(result.rows_affected > 0)
}

/// Deletes sessions past their absolute or idle expiry; returns how many.
pub async fn purge_expired(
    db: &impl ConnectionTrait,
    idle: Duration,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let result = sessions::Entity::delete_many()
        .filter(
            Condition::any()
                .add(sessions::Column::ExpiresAt.lte(now))
                .add(sessions::Column::LastSeenAt.lte(now - idle)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

//! Users, memberships and API tokens.

use chrono::Utc;
use entity::{api_tokens, memberships, tenants, users};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};
use crate::auth::{password, token};
use crate::domain::{Email, Password};
use entity::enums::Role;

pub async fn create_user(
    db: &impl ConnectionTrait,
    email: &Email,
    pw: &Password,
) -> StoreResult<users::Model> {
    let now = Utc::now();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_string()),
        password_hash: Set(password::hash(pw)),
        disabled: Set(false),
        platform_admin: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(user.insert(db).await?)
}

/// Sets a new password on an existing user (the demo's idempotent set-up uses it).
pub async fn set_password(
    db: &impl ConnectionTrait,
    user: users::Model,
    pw: &Password,
) -> StoreResult<users::Model> {
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(password::hash(pw));
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn find_user_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> StoreResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

pub async fn user_by_email(db: &impl ConnectionTrait, email: &Email) -> StoreResult<users::Model> {
    find_user_by_email(db, email)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Grants (or changes) a user's role in a tenant.
pub async fn grant_membership(
    db: &impl ConnectionTrait,
    tenant: &tenants::Model,
    user: &users::Model,
    role: Role,
) -> StoreResult<memberships::Model> {
    let row = memberships::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        user_id: Set(user.id),
        role: Set(role),
        created_at: Set(Utc::now()),
    };
    memberships::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([memberships::Column::TenantId, memberships::Column::UserId])
                .update_column(memberships::Column::Role)
                .to_owned(),
        )
        .exec(db)
        .await?;
    membership(db, tenant.id, user.id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn membership(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<memberships::Model>> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// The user's scope of a tenant and their role there, when they are a member: the check
/// behind every tenant-scoped request and the worker's execution-time re-check.
pub async fn member_scope(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<(TenantScope, Role)>> {
    Ok(membership(db, tenant_id, user_id)
        .await?
        .map(|m| (TenantScope::granted(m.tenant_id), m.role)))
}

/// [`member_scope`] and the tenant's row, in one statement: what a tenant-scoped request
/// needs before it does anything.
pub async fn member_tenant(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<(TenantScope, Role, tenants::Model)>> {
    let found = memberships::Entity::find()
        .find_also_related(tenants::Entity)
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    Ok(found.and_then(|(m, tenant)| {
        tenant.map(|tenant| (TenantScope::granted(m.tenant_id), m.role, tenant))
    }))
}

/// An active user's scopes of `tenant_ids` and their roles there, in one statement: a
/// disabled user (or one who is gone) has none. Tenants the user is not a member of are
/// absent.
pub async fn active_member_roles(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_ids: &[Uuid],
) -> StoreResult<std::collections::HashMap<Uuid, (TenantScope, Role)>> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let active = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(Expr::col(users::Column::Id).eq(user_id))
        .and_where(Expr::col(users::Column::Disabled).eq(false))
        .to_owned();
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.in_subquery(active))
        .filter(memberships::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| (m.tenant_id, (TenantScope::granted(m.tenant_id), m.role)))
        .collect())
}

/// Issues an API token for a user, valid until revoked, for everything the user may do.
pub async fn create_token(
    db: &impl ConnectionTrait,
    user: &users::Model,
    name: &str,
) -> StoreResult<(api_tokens::Model, SecretString)> {
    issue_token(db, user, name, TokenLimits::default()).await
}

/// What an API token is limited to beyond its user's roles.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenLimits {
    /// Refused from this instant on.
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// Only reads (safe methods).
    pub read_only: bool,
}

/// A token's label: 1 to 100 characters, no control characters.
pub fn parse_token_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("name: must be 1 to 100 characters without control characters".into());
    }
    Ok(name.to_string())
}

/// Issues an API token for a user; the returned secret is not stored anywhere.
pub async fn issue_token(
    db: &impl ConnectionTrait,
    user: &users::Model,
    name: &str,
    limits: TokenLimits,
) -> StoreResult<(api_tokens::Model, SecretString)> {
    let issued = token::issue();
    let row = api_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        name: Set(name.to_string()),
        token_hash: Set(issued.hash),
        token_prefix: Set(issued.display_prefix),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(limits.expires_at),
        read_only: Set(limits.read_only),
    };
    Ok((row.insert(db).await?, issued.secret))
}

/// The active (not revoked, user not disabled) owner of a presented token.
pub async fn user_for_token(
    db: &impl ConnectionTrait,
    presented: &SecretString,
) -> StoreResult<Option<users::Model>> {
    Ok(token_and_user(db, presented).await?.map(|(_, user)| user))
}

/// Not revoked and not past its expiry.
fn token_is_live() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(api_tokens::Column::RevokedAt.is_null())
        .add(
            sea_orm::Condition::any()
                .add(api_tokens::Column::ExpiresAt.is_null())
                .add(api_tokens::Column::ExpiresAt.gt(Utc::now())),
        )
}

/// A presented token, if live, with its enabled owner.
pub async fn token_and_user(
    db: &impl ConnectionTrait,
    presented: &SecretString,
) -> StoreResult<Option<(api_tokens::Model, users::Model)>> {
    let found = token_user_and_member(db, presented, None).await?;
    Ok(found.map(|(token, user, _)| (token, user)))
}

/// A user's membership of a tenant as a request needs it: the scope it grants, the role,
/// and the tenant's row.
pub type Member = (TenantScope, Role, tenants::Model);

/// A presented token, if live, with its enabled owner and the owner's [`member_tenant`] of
/// `tenant_id` (`None` when they are not a member, or no tenant is asked about), in one
/// statement: what a tenant-scoped API request reads first.
pub async fn token_user_and_member(
    db: &impl ConnectionTrait,
    presented: &SecretString,
    tenant_id: Option<Uuid>,
) -> StoreResult<Option<(api_tokens::Model, users::Model, Option<Member>)>> {
    use sea_orm::{FromQueryResult, Statement};
    static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    let backend = db.get_database_backend();
    let [postgres, other] = SQL.get_or_init(|| {
        let sql = |p: fn(usize) -> String| {
            format!(
                "SELECT {}, {}, {}, {} FROM api_tokens k \
                 JOIN users u ON u.id = k.user_id \
                 LEFT JOIN memberships m ON m.user_id = k.user_id AND m.tenant_id = {} \
                 LEFT JOIN tenants t ON t.id = m.tenant_id \
                 WHERE k.token_hash = {} AND k.revoked_at IS NULL \
                 AND (k.expires_at IS NULL OR k.expires_at > {}) AND NOT u.disabled",
                super::aliased_columns::<api_tokens::Entity>("k", "k_"),
                super::aliased_columns::<users::Entity>("u", "u_"),
                super::aliased_columns::<memberships::Entity>("m", "m_"),
                super::aliased_columns::<tenants::Entity>("t", "t_"),
                p(1),
                p(2),
                p(3),
            )
        };
        [
            sql(|i| super::placeholder(sea_orm::DbBackend::Postgres, i)),
            sql(|i| super::placeholder(sea_orm::DbBackend::Sqlite, i)),
        ]
    });
    let sql = if backend == sea_orm::DbBackend::Postgres {
        postgres
    } else {
        other
    };
    let hash = token::digest(presented.expose_secret());
    let values = [tenant_id.into(), hash.into(), Utc::now().into()];
    let stmt = Statement::from_sql_and_values(backend, sql.as_str(), values);
    let Some(row) = db.query_one_raw(stmt).await? else {
        return Ok(None);
    };
    let token = api_tokens::Model::from_query_result(&row, "k_")?;
    let user = users::Model::from_query_result(&row, "u_")?;
    // A user who is not a member has NULLs in the joined columns.
    let member = match row.try_get::<Option<Uuid>>("", "m_id")? {
        Some(_) => {
            let m = memberships::Model::from_query_result(&row, "m_")?;
            let tenant = tenants::Model::from_query_result(&row, "t_")?;
            Some((TenantScope::granted(m.tenant_id), m.role, tenant))
        }
        None => None,
    };
    Ok(Some((token, user, member)))
}

/// True while a token, by id, is live and its user is enabled.
pub async fn token_is_active(db: &impl ConnectionTrait, token_id: Uuid) -> StoreResult<bool> {
    let found = api_tokens::Entity::find_by_id(token_id)
        .filter(token_is_live())
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    Ok(found.is_some_and(|(_, user)| user.is_some_and(|u| !u.disabled)))
}

/// Sets or clears a user's platform-admin flag (adding and purging tenants).
pub async fn set_platform_admin(
    db: &impl ConnectionTrait,
    user: users::Model,
    on: bool,
) -> StoreResult<users::Model> {
    let mut active: users::ActiveModel = user.into();
    active.platform_admin = Set(on);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Revokes one of the user's tokens; another user's token is not found.
pub async fn revoke_own_token(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    token_id: Uuid,
) -> StoreResult<api_tokens::Model> {
    let row = api_tokens::Entity::find_by_id(token_id)
        .filter(api_tokens::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    if row.revoked_at.is_some() {
        return Ok(row);
    }
    let mut active: api_tokens::ActiveModel = row.into();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

pub async fn revoke_token(db: &impl ConnectionTrait, token_id: Uuid) -> StoreResult<()> {
    let row = api_tokens::Entity::find_by_id(token_id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut active: api_tokens::ActiveModel = row.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(db).await?;
    Ok(())
}

/// True when the user exists and is not disabled.
pub async fn user_is_active(db: &impl ConnectionTrait, user_id: Uuid) -> StoreResult<bool> {
    Ok(users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some_and(|u| !u.disabled))
}

/// Removes a user's membership of a tenant (access ends at once, also for queued runs).
pub async fn revoke_membership(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<bool> {
    let result = memberships::Entity::delete_many()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// One tenant a user belongs to: the tenant, the role and the scope the membership grants.
#[derive(Debug, Clone)]
pub struct MemberTenant {
    pub tenant: tenants::Model,
    pub role: Role,
    pub scope: TenantScope,
}

/// Tenants a user belongs to, by name, with the role and scope of each (the shell of every
/// page and the cross-tenant feeds read this once).
pub async fn tenants_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> StoreResult<Vec<MemberTenant>> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .find_also_related(tenants::Entity)
        .all(db)
        .await?;
    let mut out: Vec<MemberTenant> = rows
        .into_iter()
        .filter_map(|(m, t)| {
            t.map(|tenant| MemberTenant {
                scope: TenantScope::granted(tenant.id),
                tenant,
                role: m.role,
            })
        })
        .collect();
    out.sort_by(|a, b| a.tenant.name.cmp(&b.tenant.name));
    Ok(out)
}

/// A tenant's members with their roles, by e-mail.
pub async fn members_of(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> StoreResult<Vec<(users::Model, Role)>> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .find_also_related(users::Entity)
        .all(db)
        .await?;
    let mut out: Vec<(users::Model, Role)> = rows
        .into_iter()
        .filter_map(|(m, u)| u.map(|u| (u, m.role)))
        .collect();
    out.sort_by(|a, b| a.0.email.cmp(&b.0.email));
    Ok(out)
}

/// A user's API tokens, newest first (hashes only; the secrets were shown once).
pub async fn tokens_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> StoreResult<Vec<api_tokens::Model>> {
    use sea_orm::QueryOrder;
    Ok(api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .order_by_desc(api_tokens::Column::CreatedAt)
        .all(db)
        .await?)
}

/// E-mail addresses of the given users, by id (for showing who started or did something).
pub async fn emails_of(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> StoreResult<std::collections::HashMap<Uuid, String>> {
    if user_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|u| (u.id, u.email)).collect())
}

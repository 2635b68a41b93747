//! Who is calling, and what they may do in the tenant a path names. Tenant scoping is
//! enforced here, once: handlers of tenant resources take a [`TenantAccess`], which only
//! exists for members, and query with its tenant id.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use entity::enums::Role;
use entity::{tenants, users};
use secrecy::SecretString;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use crate::store::{accounts, tenants as tenant_store};

/// An authenticated, enabled user.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: users::Model,
}

impl CurrentUser {
    pub fn id(&self) -> Uuid {
        self.user.id
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let user =
            accounts::user_for_token(&state.services().db, &SecretString::from(token.to_string()))
                .await?
                .ok_or(ApiError::Unauthorized)?;
        let current = CurrentUser { user };
        parts.extensions.insert(current.clone());
        Ok(current)
    }
}

/// A member's access to the tenant named by the `{tenant}` path segment.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    pub user: CurrentUser,
    pub tenant: tenants::Model,
    pub role: Role,
}

impl TenantAccess {
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id
    }

    /// 403 with a message naming the missing role.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {needed} role in tenant {:?}; you are {}",
                self.tenant.name, self.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for TenantAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let tenant_key = tenant_segment(parts).ok_or(ApiError::NotFound)?;
        let tenant_id = Uuid::parse_str(&tenant_key).map_err(|_| ApiError::NotFound)?;
        member_access(state, user, tenant_id).await
    }
}

/// Access of a user to a tenant by id; non-members get 404 so existence does not leak.
pub async fn member_access(
    state: &AppState,
    user: CurrentUser,
    tenant_id: Uuid,
) -> Result<TenantAccess, ApiError> {
    let db = &state.services().db;
    let membership = accounts::membership(db, tenant_id, user.id())
        .await?
        .ok_or(ApiError::NotFound)?;
    let tenant = tenant_store::get(db, tenant_id).await?;
    Ok(TenantAccess {
        user,
        tenant,
        role: membership.role,
    })
}

/// The raw `{tenant}` segment of `/api/v1/tenants/{tenant}/...`.
fn tenant_segment(parts: &Parts) -> Option<String> {
    let path = parts.uri.path();
    let rest = path
        .strip_prefix("/api/v1/tenants/")
        .or_else(|| path.strip_prefix("/tenants/"))?;
    rest.split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

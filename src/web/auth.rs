//! Who is calling, and what they may do in the tenant a path names. Tenant scoping is
//! enforced once, by the route table's guard ([`super::routes::enforce`]), which puts a
//! [`TenantAccess`] in the request only for members with the declared role; handlers of
//! tenant resources take that [`TenantAccess`] and query with its tenant id.
//!
//! A caller authenticates with an API token (`Authorization: Bearer pv_...`) or with the
//! `pv_session` cookie of a browser session. A token always wins: a request that carries
//! one is judged by it alone.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use entity::enums::Role;
use entity::{tenants, users};
use secrecy::SecretString;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use crate::auth::session as session_id;
use crate::runs::events::Credential;
use crate::store::TenantScope;
use crate::store::{accounts, sessions};

/// An authenticated, enabled user, and how they authenticated.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: users::Model,
    pub via: Via,
}

/// The credential a request was authenticated with.
#[derive(Debug, Clone)]
pub enum Via {
    /// An API token, by id: not an ambient credential, so no CSRF token is needed. A
    /// `read_only` one is refused on every change.
    Token { id: Uuid, read_only: bool },
    /// A browser session cookie: changes need the session's CSRF token.
    Session(SessionRef),
}

/// The session behind a cookie-authenticated request.
#[derive(Clone)]
pub struct SessionRef {
    pub id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// The presented session id, kept only to derive the CSRF token.
    secret: Arc<SecretString>,
}

impl std::fmt::Debug for SessionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRef")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SessionRef {
    /// The token forms and `X-CSRF-Token` headers of this session must carry.
    pub fn csrf_token(&self) -> String {
        session_id::csrf_token(&self.secret)
    }

    pub fn csrf_matches(&self, presented: &str) -> bool {
        session_id::csrf_matches(&self.secret, presented)
    }
}

impl CurrentUser {
    pub fn id(&self) -> Uuid {
        self.user.id
    }

    /// True for a read-only API token: it may not change anything.
    pub fn read_only(&self) -> bool {
        matches!(
            self.via,
            Via::Token {
                read_only: true,
                ..
            }
        )
    }

    pub fn session(&self) -> Option<&SessionRef> {
        match &self.via {
            Via::Session(session) => Some(session),
            Via::Token { .. } => None,
        }
    }

    /// The credential itself, for what must end when it is revoked (open event streams).
    pub fn credential(&self) -> Credential {
        match &self.via {
            Via::Session(session) => Credential::Session(session.id),
            Via::Token { id, .. } => Credential::Token(*id),
        }
    }
}

/// Whether a credential still authenticates its user, re-read from the database: the
/// session is live (not signed out, not past either expiry) or the token is not revoked,
/// and the user is enabled.
pub async fn credential_is_active(
    state: &AppState,
    credential: Credential,
) -> Result<bool, ApiError> {
    let db = &state.services().db;
    Ok(match credential {
        Credential::Session(id) => {
            let idle =
                Duration::seconds(state.services().settings.security.session_idle_secs as i64);
            sessions::is_active(db, id, idle, Utc::now()).await?
        }
        Credential::Token(id) => accounts::token_is_active(db, id).await?,
    })
}

/// What the credentials of a request amount to.
#[derive(Debug)]
pub enum Authentication {
    User(CurrentUser),
    /// No credentials; `stale_cookie` when a session cookie named no live session (the
    /// answer then clears it).
    Anonymous {
        stale_cookie: bool,
    },
}

/// Authenticates a request by its API token or session cookie. A present but invalid token
/// is an error (401); a missing or dead cookie is anonymity.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Authentication, ApiError> {
    Ok(authenticate_in(parts, state, None).await?.0)
}

/// [`authenticate`] for a request to `tenant`: an API token's user is read together with
/// their membership there, which is then `Some` (its inner `None`: not a member). A session's
/// membership is left to [`member_access`] (`None`).
pub async fn authenticate_in(
    parts: &Parts,
    state: &AppState,
    tenant: Option<Uuid>,
) -> Result<(Authentication, Option<Option<accounts::Member>>), ApiError> {
    let db = &state.services().db;
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let presented = SecretString::from(token.to_string());
        let (token, user, member) = accounts::token_user_and_member(db, &presented, tenant)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        // Asked about a tenant, the read answered whether the user is a member there.
        let member = tenant.map(|_| member);
        let user = CurrentUser {
            user,
            via: Via::Token {
                id: token.id,
                read_only: token.read_only,
            },
        };
        return Ok((Authentication::User(user), member));
    }
    let Some(cookie) = session_cookie(&parts.headers) else {
        let anonymous = Authentication::Anonymous {
            stale_cookie: false,
        };
        return Ok((anonymous, None));
    };
    let security = &state.services().settings.security;
    let idle = Duration::seconds(security.session_idle_secs as i64);
    let now = Utc::now();
    let Some((session, user)) = sessions::find_active(db, &cookie, idle, now).await? else {
        return Ok((Authentication::Anonymous { stale_cookie: true }, None));
    };
    // Record activity at a fraction of the idle window, not on every request.
    let touch_every = (idle / 10).min(Duration::seconds(60));
    if now - session.last_seen_at >= touch_every {
        sessions::touch(db, session.id, now).await?;
    }
    let user = CurrentUser {
        user,
        via: Via::Session(SessionRef {
            id: session.id,
            expires_at: session.expires_at,
            secret: Arc::new(cookie),
        }),
    };
    Ok((Authentication::User(user), None))
}

/// The value of the `pv_session` cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<SecretString> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == session_id::COOKIE)
        .map(|(_, value)| SecretString::from(value.trim_matches('"').to_string()))
}

/// The CSRF token a request carries in its `X-CSRF-Token` header, if any.
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-csrf-token")
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Routes of the route table find the user the guard authenticated.
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        // Anywhere else, authenticate here; without the guard a form body cannot be read,
        // so a cookie-authenticated change must carry the CSRF header.
        let Authentication::User(user) = authenticate(parts, state).await? else {
            return Err(ApiError::Unauthorized);
        };
        if let Some(session) = user.session()
            && !parts.method.is_safe()
            && !csrf_header(&parts.headers).is_some_and(|t| session.csrf_matches(t))
        {
            return Err(ApiError::CsrfFailed);
        }
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// A member's access to the tenant named by the `{tenant}` path segment.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    pub user: CurrentUser,
    pub tenant: tenants::Model,
    pub role: Role,
    /// What the membership check granted: every store read of this request goes through it.
    scope: TenantScope,
}

impl TenantAccess {
    /// The access a membership read for `user` grants; none (404, so existence does not
    /// leak) without one.
    pub fn granted(user: CurrentUser, member: Option<accounts::Member>) -> Result<Self, ApiError> {
        let (scope, role, tenant) = member.ok_or(ApiError::NotFound)?;
        Ok(Self {
            user,
            tenant,
            role,
            scope,
        })
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id
    }

    /// An audit event in this tenant whose actor is the caller.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), ApiError> {
        crate::store::activity::audit(
            &state.services().db,
            crate::store::activity::NewAuditEvent {
                tenant_id: self.tenant_id(),
                actor_id: Some(self.user.id()),
                action: action.to_string(),
                run_id: None,
                details,
            },
        )
        .await?;
        Ok(())
    }

    /// Starts (or joins) a run of `spec` in this tenant, initiated by this user.
    pub async fn start(
        &self,
        state: &AppState,
        spec: crate::runs::RunSpec,
    ) -> Result<crate::runs::start::Started, ApiError> {
        Ok(state
            .orchestrator
            .start(crate::runs::start::StartRequest {
                run_id: None,
                fanout_id: None,
                scope: self.scope,
                initiator_id: self.user.id(),
                spec,
            })
            .await?)
    }

    pub fn scope(&self) -> &TenantScope {
        &self.scope
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
        if let Some(access) = parts.extensions.get::<TenantAccess>() {
            return Ok(access.clone());
        }
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let tenant_id = params
            .iter()
            .find(|(name, _)| *name == "tenant")
            .and_then(|(_, value)| Uuid::parse_str(value).ok())
            .ok_or(ApiError::NotFound)?;
        let access = member_access(state, user, tenant_id).await?;
        parts.extensions.insert(access.clone());
        Ok(access)
    }
}

/// A comparison's items hold the content of every tenant it reads (a baseline in another
/// tenant): reading them takes a membership in each, not only in the run's tenant. Others
/// get 404, as for any tenant they do not belong to.
pub async fn require_run_content(
    state: &AppState,
    access: &TenantAccess,
    run: &entity::runs::Model,
) -> Result<(), ApiError> {
    if run.operation != entity::enums::RunOperation::Compare {
        return Ok(());
    }
    let spec = crate::runs::RunSpec::of(run).map_err(|_| ApiError::NotFound)?;
    for tenant_id in spec.tenants(run.tenant_id) {
        if tenant_id != access.tenant_id() {
            member_access(state, access.user.clone(), tenant_id).await?;
        }
    }
    Ok(())
}

/// Access of a user to a tenant by id; non-members get 404 so existence does not leak.
pub async fn member_access(
    state: &AppState,
    user: CurrentUser,
    tenant_id: Uuid,
) -> Result<TenantAccess, ApiError> {
    let db = &state.services().db;
    let member = accounts::member_tenant(db, tenant_id, user.id()).await?;
    TenantAccess::granted(user, member)
}

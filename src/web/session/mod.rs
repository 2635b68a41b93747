//! Browser sign-in: the sign-in form (`GET`/`POST /login`), sign-out (`POST /logout`), the
//! JSON session API (`GET`/`POST`/`DELETE /api/v1/session`), the `pv_session` cookie, the
//! CSRF check of cookie-authenticated changes and login throttling.
//!
//! This module signs in and out and guards requests; `form` has the pages, `api` the
//! JSON session API and `cookie` the cookie itself.

mod api;
mod cookie;
mod form;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use entity::users;
use secrecy::{ExposeSecret, SecretString};

pub(super) use cookie::clear_session_cookie;
pub(super) use form::safe_next;

use super::AppState;
use super::auth::{self, CurrentUser, SessionRef};
use super::error::ApiError;
use super::routes::{Routes, is_api_path};
use super::ui::redirect;
use crate::auth::password;
use crate::auth::throttle::Verdict;
use crate::domain::Email;
use crate::runs::events::{self, Credential};
use crate::store::{accounts, sessions};

/// Largest form body read for its CSRF field.
const FORM_LIMIT: usize = 1024 * 1024;

/// The sign-in and sign-out pages.
pub fn page_routes() -> Routes {
    form::routes()
}

/// `/session` of the JSON API.
pub fn api_routes() -> Routes {
    api::routes()
}

// ---- the client ----

/// The client's address (for per-address throttling) and user agent.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub address: String,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trust_forwarded = state.services().settings.security.trust_forwarded_for;
        let forwarded = trust_forwarded
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .next_back()
                    .and_then(|last| last.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let address = forwarded
            .or(peer)
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Self {
            address,
            user_agent,
        })
    }
}

// ---- signing in and out ----

/// Checks the throttle and the password, then starts a session. Every failure looks the same
/// to the caller (wrong e-mail, wrong password, disabled account).
async fn sign_in(
    state: &AppState,
    login: &str,
    password: SecretString,
    client: &ClientInfo,
) -> Result<(users::Model, SecretString), ApiError> {
    let services = state.services();
    let security = &services.settings.security;
    let throttle = &state.login_throttle;
    // Counts this attempt as a failure up front; only a success takes it back.
    if let Verdict::Throttled { retry_after_secs } = throttle.begin(login, &client.address).await {
        tracing::warn!(client = %client.address, "sign-in refused: too many failures");
        return Err(ApiError::TooManyRequests { retry_after_secs });
    }
    let user = match Email::parse(login) {
        Ok(email) => accounts::find_user_by_email(&services.db, &email).await?,
        Err(_) => None,
    };
    let stored_hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    // Argon2 is deliberately slow: keep it off the async workers.
    let verified = tokio::task::spawn_blocking(move || match stored_hash {
        Some(hash) => password::verify(password.expose_secret(), &hash),
        None => password::verify_without_account(password.expose_secret()),
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check failed: {e}")))?;
    let user = match (verified, user) {
        (true, Some(user)) => user,
        (_, user) => {
            tracing::info!(
                user_id = ?user.map(|u| u.id),
                client = %client.address,
                "sign-in failed"
            );
            return Err(ApiError::InvalidCredentials);
        }
    };
    throttle.succeeded(login, &client.address).await;
    let now = Utc::now();
    let idle = Duration::seconds(security.session_idle_secs as i64);
    if let Err(e) = sessions::purge_expired(&services.db, idle, now).await {
        tracing::warn!(error = %e, "could not purge expired sessions");
    }
    let (session, secret) = sessions::create(
        &services.db,
        sessions::NewSession {
            user_id: user.id,
            ip_address: Some(client.address.clone()),
            user_agent: client.user_agent.clone(),
            lifetime: Duration::seconds(security.session_max_secs as i64),
        },
    )
    .await?;
    tracing::info!(user_id = %user.id, session = %session.id, "signed in");
    Ok((user, secret))
}

/// Ends a session, and the event streams it opened in every web process: they would
/// otherwise only notice at their next periodic re-check.
async fn sign_out(
    state: &AppState,
    user: &CurrentUser,
    session: &SessionRef,
) -> Result<(), ApiError> {
    sessions::delete(&state.services().db, session.id).await?;
    tracing::info!(user_id = %user.id(), session = %session.id, "signed out");
    events::publish_revoked(&state.services().redis, Credential::Session(session.id)).await;
    Ok(())
}

// ---- what the guard answers ----

/// The answer to a request without valid credentials: 401 JSON for the API, a redirect to the
/// sign-in form for pages. A dead session cookie is cleared on the way.
pub(super) fn unauthenticated(parts: &Parts, state: &AppState, stale_cookie: bool) -> Response {
    let path = parts.uri.path();
    let htmx = super::ui::is_htmx(&parts.headers);
    let mut response = if is_api_path(path) {
        ApiError::Unauthorized.into_response()
    } else if htmx {
        // A page's background refresh after the session ended: htmx sends the whole page to
        // the sign-in form (a redirect would be followed and swapped into the page).
        let current = parts
            .headers
            .get("hx-current-url")
            .and_then(|v| v.to_str().ok())
            .and_then(|url| url.split_once("://").map(|(_, rest)| rest))
            .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = HeaderValue::from_str(&format!(
            "/login?next={}",
            encode_query_value(&safe_next(Some(current)))
        )) {
            response.headers_mut().insert("hx-redirect", value);
        }
        response
    } else if parts.method.is_safe() {
        let target = parts
            .uri
            .path_and_query()
            .map_or(path, |pq| pq.as_str())
            .to_string();
        redirect(&format!("/login?next={}", encode_query_value(&target)))
    } else {
        redirect("/login")
    };
    if stale_cookie {
        response
            .headers_mut()
            .insert(SET_COOKIE, clear_session_cookie(&state.services().settings));
    }
    response
}

/// Checks the CSRF token of a cookie-authenticated change: the `X-CSRF-Token` header, or
/// else the `csrf_token` field of a URL-encoded form (whose body is read and handed on).
pub(super) async fn check_csrf(
    parts: &Parts,
    body: Body,
    user: &CurrentUser,
) -> Result<Body, Response> {
    let Some(session) = user.session() else {
        return Ok(body);
    };
    let refuse = || {
        tracing::warn!(user_id = %user.id(), path = %parts.uri.path(), "CSRF check failed");
        if is_api_path(parts.uri.path()) {
            ApiError::CsrfFailed.into_response()
        } else if super::ui::is_htmx(&parts.headers) {
            super::ui::error_page(ApiError::CsrfFailed, true)
        } else {
            form::csrf_refused()
        }
    };
    if let Some(header) = auth::csrf_header(&parts.headers) {
        return if session.csrf_matches(header) {
            Ok(body)
        } else {
            Err(refuse())
        };
    }
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refuse());
    }
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| refuse())?;
    let presented = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "csrf_token")
        .map(|(_, value)| value);
    match presented {
        Some(token) if session.csrf_matches(&token) => Ok(Body::from(bytes)),
        _ => Err(refuse()),
    }
}

/// Percent-encodes a query value. `/` stays readable so a `next=` path reads as a path.
fn encode_query_value(text: &str) -> String {
    // An input `%2F` is itself encoded (`%252F`), so only encoded slashes are put back.
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace("%2F", "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_round_trip_and_keep_slashes() {
        for value in ["/tenants/x?y=1&z=%2F", "/a b+c", "/caf\u{e9}"] {
            let encoded = encode_query_value(value);
            assert!(!encoded.contains(['?', '&', '=', ' ']), "{encoded}");
            let decoded: Vec<(String, String)> =
                form_urlencoded::parse(format!("next={encoded}").as_bytes())
                    .into_owned()
                    .collect();
            assert_eq!(decoded, [("next".to_string(), value.to_string())]);
        }
        assert_eq!(encode_query_value("/tenants/x/runs"), "/tenants/x/runs");
    }
}

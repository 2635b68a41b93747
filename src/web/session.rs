//! Browser sign-in: the sign-in form (`GET`/`POST /login`), sign-out (`POST /logout`), the
//! JSON session API (`GET`/`POST`/`DELETE /api/v1/session`), the `pv_session` cookie, the
//! CSRF check of cookie-authenticated changes and login throttling.
//!
//! The sign-in page is a template of the web UI ([`super::ui`]) without scripts.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::{Duration, Utc};
use entity::users;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{self, Authentication, CurrentUser, SessionRef};
use super::error::ApiError;
use super::extract::{self, Query};
use super::openapi::Doc;
use super::routes::{Access, Routes, is_api_path};
use super::ui::redirect;
use crate::auth::password;
use crate::auth::session as session_id;
use crate::auth::throttle::{LoginThrottle, Verdict};
use crate::domain::Email;
use crate::runs::events::{self, Credential};
use crate::settings::Settings;
use crate::store::{accounts, sessions};

/// Largest form body read for its CSRF field.
const FORM_LIMIT: usize = 1024 * 1024;

/// The sign-in and sign-out pages.
pub fn page_routes() -> Routes {
    Routes::new()
        .get("/login", Access::Public, login_page)
        .post("/login", Access::Public, login_form)
        .post("/logout", Access::User, logout_form)
}

/// `/session` of the JSON API.
pub fn api_routes() -> Routes {
    Routes::new()
        .get("/session", Access::User, current)
        .doc(
            Doc::new("Who is signed in, their tenants, and the session's CSRF token")
                .returns_shape(200, "The session", session_shape()),
        )
        .post("/session", Access::Public, login_json)
        .doc(
            Doc::new("Sign in: sets the session cookie and answers the session")
                .body::<LoginBody>()
                .returns_shape(200, "Signed in", session_shape())
                .error(429)
                .error(503),
        )
        .delete("/session", Access::User, logout_json)
        .doc(
            Doc::new(
                "Sign out (a no-op for API-token requests); event streams this session opened \
                 end at once",
            )
            .no_content("Signed out"),
        )
}

fn session_shape() -> Value {
    use super::openapi::shape::{array, nullable, object, string, uuid};
    object(&[
        ("user", object(&[("id", uuid()), ("email", string())])),
        (
            "auth",
            json!({"type": "string", "enum": ["session", "token"]}),
        ),
        ("csrf_token", nullable(string())),
        ("tenants", array(super::tenants::tenant_shape())),
    ])
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
    let throttle = LoginThrottle::new(services.redis.clone(), security);
    let unavailable = |e: redis::RedisError| {
        tracing::error!(error = %e, "login throttle unavailable");
        ApiError::Unavailable("sign-in is unavailable right now; try again shortly".into())
    };
    // Counts this attempt as a failure up front; only a success takes it back.
    if let Verdict::Throttled { retry_after_secs } = throttle
        .begin(login, &client.address)
        .await
        .map_err(unavailable)?
    {
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
    throttle
        .succeeded(login, &client.address)
        .await
        .map_err(unavailable)?;
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

/// `Set-Cookie` that stores a new session id in the browser.
fn session_cookie(settings: &Settings, secret: &SecretString) -> HeaderValue {
    cookie_header(
        settings,
        secret.expose_secret(),
        settings.security.session_max_secs,
    )
}

/// `Set-Cookie` that removes the session cookie.
pub(super) fn clear_session_cookie(settings: &Settings) -> HeaderValue {
    cookie_header(settings, "", 0)
}

fn cookie_header(settings: &Settings, value: &str, max_age: u64) -> HeaderValue {
    let secure = if settings.server.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session_id::COOKIE
    );
    HeaderValue::from_str(&cookie).expect("session ids are base64url, valid in a header")
}

// ---- the JSON API ----

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    #[schemars(with = "String")]
    password: SecretString,
}

async fn session_json(
    state: &AppState,
    user: &users::Model,
    csrf_token: Option<String>,
) -> Result<Value, ApiError> {
    let tenants = accounts::tenants_of(&state.services().db, user.id).await?;
    let tenants: Vec<Value> = tenants
        .into_iter()
        .map(|(t, role)| json!({"id": t.id, "name": t.name, "role": role.as_str()}))
        .collect();
    Ok(json!({
        "user": {"id": user.id, "email": user.email},
        "auth": if csrf_token.is_some() { "session" } else { "token" },
        "csrf_token": csrf_token,
        "tenants": tenants,
    }))
}

/// `POST /api/v1/session`: sign in, set the cookie, answer the session (with its CSRF token).
async fn login_json(
    State(state): State<AppState>,
    client: ClientInfo,
    extract::Json(body): extract::Json<LoginBody>,
) -> Result<Response, ApiError> {
    let (user, secret) = sign_in(&state, &body.email, body.password, &client).await?;
    let body = session_json(&state, &user, Some(session_id::csrf_token(&secret))).await?;
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        session_cookie(&state.services().settings, &secret),
    );
    Ok(response)
}

/// `GET /api/v1/session`: who is signed in, their tenants and the CSRF token of the session.
async fn current(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let csrf = user.session().map(|s| s.csrf_token());
    let mut body = session_json(&state, &user.user, csrf).await?;
    if let Some(session) = user.session() {
        body["expires_at"] = json!(session.expires_at);
    }
    Ok(Json(body))
}

/// `DELETE /api/v1/session`: sign out (a no-op for API-token requests).
async fn logout_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(session) = user.session() {
        sign_out(&state, &user, session).await?;
        response
            .headers_mut()
            .insert(SET_COOKIE, clear_session_cookie(&state.services().settings));
    }
    Ok(response)
}

// ---- the pages ----

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: SecretString,
    next: Option<String>,
}

/// Where to go after signing in: a local path only (no `//host` or `/\host` escapes).
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

async fn login_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if let Ok(Authentication::User(_)) = auth::authenticate(&parts, &state).await {
        return redirect(&next);
    }
    login_page_response(StatusCode::OK, &next, "", None)
}

async fn login_form(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    // Login CSRF (signing a victim in to the attacker's account): browsers name the page a
    // form was posted from, and a sign-in may only come from our own.
    if is_cross_site(&headers, &state.services().settings) {
        return login_page_response(
            StatusCode::FORBIDDEN,
            "/",
            "",
            Some("Sign in from PolicyVault's own sign-in page."),
        );
    }
    let Ok(Form(form)) = form else {
        return login_page_response(
            StatusCode::BAD_REQUEST,
            "/",
            "",
            Some("Enter your e-mail address and password."),
        );
    };
    let next = safe_next(form.next.as_deref());
    if form.email.trim().is_empty() || form.password.expose_secret().is_empty() {
        return login_page_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            &form.email,
            Some("Enter your e-mail address and password."),
        );
    }
    match sign_in(&state, &form.email, form.password, &client).await {
        Ok((_, secret)) => {
            let mut response = redirect(&next);
            response.headers_mut().insert(
                SET_COOKIE,
                session_cookie(&state.services().settings, &secret),
            );
            response
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            let message = format!(
                "Too many failed sign-in attempts. Try again in {} minute(s).",
                retry_after_secs.div_ceil(60)
            );
            let mut response = login_page_response(
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &form.email,
                Some(&message),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, retry_after_secs.into());
            response
        }
        Err(ApiError::InvalidCredentials) => login_page_response(
            StatusCode::UNAUTHORIZED,
            &next,
            &form.email,
            Some("Invalid email or password."),
        ),
        Err(other) => other.into_response(),
    }
}

/// `POST /logout`; the guard has already checked the form's CSRF token.
async fn logout_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    if let Some(session) = user.session() {
        sign_out(&state, &user, session).await?;
    }
    let mut response = redirect("/login");
    response
        .headers_mut()
        .insert(SET_COOKIE, clear_session_cookie(&state.services().settings));
    Ok(response)
}

/// True when the browser says the request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is neither this request's host nor the public URL's.
fn is_cross_site(headers: &HeaderMap, settings: &Settings) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let host_of = |url: &str| {
        url.split_once("://").map(|(_, rest)| {
            rest.split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
    };
    let origin_host = match host_of(origin) {
        Some(host) => host,
        // `Origin: null` (sandboxed or privacy-stripped): not provably ours.
        None => return true,
    };
    let own_host = header("host").map(str::to_ascii_lowercase);
    let public_host = host_of(&settings.server.public_url);
    Some(&origin_host) != own_host.as_ref() && Some(&origin_host) != public_host.as_ref()
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

fn login_page_response(
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    use askama::Template;
    let page = LoginPage {
        next,
        email: email.trim(),
        error,
    };
    match page.render() {
        Ok(body) => super::ui::html(status, body),
        Err(e) => ApiError::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

/// A minimal page (the CSRF refusal) with the headers every page gets.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"stylesheet\" href=\"/static/app.css\">\n\
         <title>{} · PolicyVault</title>\n</head>\n<body>\n<main class=\"narrow\">\n{body}</main>\n\
         </body>\n</html>\n",
        escape(title)
    );
    super::ui::html(status, html)
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value (unreserved characters and `/` stay readable).
fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn decode_form_value(text: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
            page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "<h1>Request refused</h1>\n<p>This form has expired or did not come from \
                 PolicyVault (csrf_failed). Go back, reload the page and try again.</p>\n",
            )
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
    let text = String::from_utf8_lossy(&bytes);
    let presented = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| decode_form_value(name) == "csrf_token")
        .map(|(_, value)| decode_form_value(value));
    match presented {
        Some(token) if session.csrf_matches(&token) => Ok(Body::from(bytes)),
        _ => Err(refuse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/tenants/x?y=1")), "/tenants/x?y=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "x",
            "",
            "/caf\u{e9}",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn escaping_and_encoding() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(encode_query_value("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
        assert_eq!(decode_form_value("a+b%2Fc%3d%"), "a b/c=%");
        assert_eq!(decode_form_value("csrf_token"), "csrf_token");
    }
}

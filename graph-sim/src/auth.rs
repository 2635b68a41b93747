//! The Entra client-credentials token endpoint and bearer-token validation. Clients
//! authenticate with a secret or a certificate-signed client assertion (`client_assertion`),
//! as the tenant's own app or as a multi-tenant app the tenant consented to. Tokens are
//! JWT-shaped (some clients peek at `exp`/`tid`) but validated by lookup: they are only ever
//! meaningful to the simulator that issued them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use serde_json::json;

use crate::client_assertion::{self, Expected, JWT_BEARER};
use crate::store::{App, Sim, lock, new_id};

pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub tenant_id: String,
    pub client_id: String,
    pub expires_at: Instant,
}

/// An OAuth error as Entra answers it.
fn oauth_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = new_id();
    let correlation = new_id();
    let now = Utc::now();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {}",
            now.format("%Y-%m-%d %H:%M:%SZ")
        ),
        "error_codes": [code],
        "timestamp": now.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, no_store(), axum::Json(body)).into_response()
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache"),
        ),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(sim): State<Arc<Sim>>,
    Path(tenant_key): Path<String>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    let Some(tenant) = sim.tenant(&tenant_key) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    };
    // Injected token-endpoint failures come before any validation, like an Entra outage.
    let injected = lock(&tenant).faults.token_failure();
    if let Some(status) = injected {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let (error, code, text) = match status.as_u16() {
            400 => ("invalid_request", 90000, "Injected token failure."),
            401 => (
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            ),
            429 => (
                "temporarily_unavailable",
                50196,
                "The server terminated an operation because it encountered a client request loop.",
            ),
            _ => (
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            ),
        };
        let mut resp = oauth_error(status, error, code, text);
        if matches!(status.as_u16(), 429 | 503) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        return resp;
    }
    let field = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let Some(grant) = field("grant_type") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    if grant != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    let Some(client_id) = field("client_id") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let scope = field("scope").unwrap_or_default();
    if !scope.split_whitespace().any(|s| {
        s.eq_ignore_ascii_case(GRAPH_SCOPE)
            || s.eq_ignore_ascii_case("00000003-0000-0000-c000-000000000000/.default")
    }) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let credential = match client_credential(&form) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let tenant_id = lock(&tenant).id.clone();
    let Some(app) = sim.app_in(&tenant, client_id) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_id}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    };
    if let Err(e) = authenticate(credential, &app, client_id, &tenant_key, &tenant_id) {
        return e.into_response();
    }
    let lifetime = sim.config.token_lifetime;
    let access_token = issue(&sim, &tenant_id, &app.client_id, lifetime);
    let secs = lifetime.as_secs();
    (
        StatusCode::OK,
        no_store(),
        axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": secs,
            "ext_expires_in": secs,
            "access_token": access_token,
        })),
    )
        .into_response()
}

/// A refused client authentication, answered with Entra's error body.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl OAuthError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn invalid_request(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            code,
            description,
        )
    }

    fn invalid_client(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        oauth_error(self.status, self.error, self.code, &self.description)
    }
}

/// How a client proves it is the app: Entra takes exactly one method per request.
enum ClientCredential<'a> {
    Secret(&'a str),
    /// A JWT signed with a certificate registered on the app (`private_key_jwt`).
    Assertion(&'a str),
    Missing,
}

fn client_credential(form: &HashMap<String, String>) -> Result<ClientCredential<'_>, OAuthError> {
    let field = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match (field("client_secret"), field("client_assertion")) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            9002313,
            "Invalid request. Only one client authentication method may be used: send either 'client_secret' or 'client_assertion', not both.",
        )),
        (Some(secret), None) => Ok(ClientCredential::Secret(secret)),
        (None, Some(assertion)) => match field("client_assertion_type") {
            Some(JWT_BEARER) => Ok(ClientCredential::Assertion(assertion)),
            None => Err(OAuthError::invalid_request(
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )),
            Some(other) => Err(OAuthError::invalid_request(
                9002313,
                format!(
                    "Invalid request. The client_assertion_type '{other}' is not supported; use '{JWT_BEARER}'."
                ),
            )),
        },
        (None, None) => Ok(ClientCredential::Missing),
    }
}

/// Check the credential against the app's secret or certificates. `tenant_key` and
/// `tenant_id` are what an assertion's audience may name.
fn authenticate(
    credential: ClientCredential<'_>,
    app: &App,
    client_id: &str,
    tenant_key: &str,
    tenant_id: &str,
) -> Result<(), OAuthError> {
    match credential {
        ClientCredential::Missing => Err(OAuthError::invalid_client(
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        )),
        ClientCredential::Secret(secret) if secret != app.client_secret => {
            Err(OAuthError::invalid_client(
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            ))
        }
        ClientCredential::Secret(_) => Ok(()),
        ClientCredential::Assertion(assertion) => {
            let is_realm = |key: &str| {
                key.eq_ignore_ascii_case(tenant_key) || key.eq_ignore_ascii_case(tenant_id)
            };
            let expected = Expected {
                client_id,
                is_realm: &is_realm,
                certificates: &app.certificates,
                now: Utc::now().timestamp(),
            };
            client_assertion::verify(assertion, &expected)
                .map_err(|e| OAuthError::invalid_client(e.code(), e.to_string()))
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn issue(sim: &Sim, tenant_id: &str, client_id: &str, lifetime: Duration) -> String {
    let now = Utc::now().timestamp();
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "graph-sim"});
    let claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(lifetime.as_secs().min(i64::MAX as u64) as i64),
        "appid": client_id,
        "tid": tenant_id,
        "idtyp": "app",
        "roles": ["DeviceManagementConfiguration.ReadWrite.All", "DeviceManagementServiceConfig.ReadWrite.All", "DeviceManagementApps.ReadWrite.All", "DeviceManagementRBAC.ReadWrite.All"],
        "ver": "1.0",
        "uti": new_id(),
    });
    let mut sig = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut sig);
    let token = format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&sig)
    );
    let mut tokens = lock(&sim.tokens);
    let now = Instant::now();
    // Expired tokens are useless; dropping them here bounds the table.
    tokens.retain(|_, t| t.expires_at > now);
    tokens.insert(
        token.clone(),
        TokenInfo {
            tenant_id: tenant_id.to_string(),
            client_id: client_id.to_string(),
            // A lifetime too long to represent never expires.
            expires_at: now
                .checked_add(lifetime)
                .unwrap_or(now + Duration::from_secs(100 * 365 * 24 * 3600)),
        },
    );
    token
}

/// Why a bearer token was refused (the Graph error message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub &'static str);

/// Resolve the `Authorization` header to the tenant and app it was issued for.
pub fn validate(sim: &Sim, headers: &HeaderMap) -> Result<TokenInfo, AuthError> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let token = match raw.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ if raw.is_empty() => return Err(AuthError("Access token is empty.")),
        _ => {
            return Err(AuthError(
                "Access token validation failure. Invalid audience.",
            ));
        }
    };
    if token.is_empty() {
        return Err(AuthError("Access token is empty."));
    }
    let info = lock(&sim.tokens).get(token).cloned();
    let Some(info) = info else {
        return Err(AuthError(if token.split('.').count() == 3 {
            "Access token validation failure. Invalid audience."
        } else {
            "IDX14100: JWT is not well formed, there are no dots (.)."
        }));
    };
    if info.expires_at <= Instant::now() {
        return Err(AuthError(
            "Lifetime validation failed, the token is expired.",
        ));
    }
    // A token outlives nothing: a tenant deleted or re-created with another app, a consent
    // revoked or a multi-tenant app deleted invalidates it.
    match sim.tenant(&info.tenant_id) {
        Some(t) if sim.admits(&t, &info.client_id) => Ok(info),
        _ => Err(AuthError(
            "Access token validation failure. Invalid audience.",
        )),
    }
}

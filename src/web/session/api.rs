//! The JSON session API: `GET`/`POST`/`DELETE /api/v1/session`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::users;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cookie::{clear_session_cookie, session_cookie};
use super::{ClientInfo, sign_in, sign_out};
use crate::auth::session as session_id;
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::ApiError;
use crate::web::extract;
use crate::web::openapi::Doc;
use crate::web::routes::{Access, Routes};
use crate::web::tenants::{Tenant, tenants_of};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/session", Access::User, current)
        .doc(
            Doc::new("Who is signed in, their tenants, and the session's CSRF token")
                .returns::<Session>(200, "The session"),
        )
        .post("/session", Access::Public, login_json)
        .doc(
            Doc::new("Sign in: sets the session cookie and answers the session")
                .body::<LoginBody>()
                .returns::<Session>(200, "Signed in")
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    #[schemars(with = "String")]
    password: SecretString,
}

/// Who is signed in, how, and to which tenants.
#[derive(Debug, Serialize, JsonSchema)]
struct Session {
    user: SessionUser,
    /// `session`: the `pv_session` cookie of a browser session; `token`: an API token.
    auth: AuthKind,
    /// Send as `X-CSRF-Token` with cookie-authenticated changes; `null` for API tokens.
    csrf_token: Option<String>,
    tenants: Vec<Tenant>,
    /// When the browser session ends; only on `GET` of a browser session.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct SessionUser {
    id: Uuid,
    email: String,
}

/// The credential of the request.
// Variants without doc comments: schemars would otherwise describe them one by one
// (`oneOf`) instead of as one `enum`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum AuthKind {
    Session,
    Token,
}

impl Session {
    /// Without a CSRF token the request carried an API token: only sessions have one.
    async fn of(
        state: &AppState,
        user: &users::Model,
        csrf_token: Option<String>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            user: SessionUser {
                id: user.id,
                email: user.email.clone(),
            },
            auth: if csrf_token.is_some() {
                AuthKind::Session
            } else {
                AuthKind::Token
            },
            csrf_token,
            tenants: tenants_of(state, user.id).await?,
            expires_at: None,
        })
    }
}

/// `POST /api/v1/session`: sign in, set the cookie, answer the session (with its CSRF token).
async fn login_json(
    State(state): State<AppState>,
    client: ClientInfo,
    extract::Json(body): extract::Json<LoginBody>,
) -> Result<Response, ApiError> {
    let (user, secret) = sign_in(&state, &body.email, body.password, &client).await?;
    let body = Session::of(&state, &user, Some(session_id::csrf_token(&secret))).await?;
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
) -> Result<Json<Session>, ApiError> {
    let csrf = user.session().map(|s| s.csrf_token());
    let mut body = Session::of(&state, &user.user, csrf).await?;
    body.expires_at = user.session().map(|s| s.expires_at);
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

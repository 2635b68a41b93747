//! The caller's own API tokens: list, create (with an expiry and an optional read-only
//! scope; the secret is shown once) and revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use entity::api_tokens;
use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::CurrentUser;
use super::error::ApiError;
use super::extract;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::runs::events::{self, Credential};
use crate::store::accounts::{self, TokenLimits};

/// The longest expiry a token may be given, in days.
pub const MAX_EXPIRY_DAYS: u32 = 366;

pub fn routes() -> Routes {
    Routes::new()
        .get("/tokens", Access::User, list)
        .doc(
            Doc::new("The caller's API tokens, newest first (never their secrets)")
                .returns::<TokenList>(200, "The tokens"),
        )
        .post("/tokens", Access::User, create)
        .doc(
            Doc::new(
                "Create an API token for the caller: `expires_in_days` (1 to 366; omitted: \
                 until revoked) and `read_only` (reads only). The secret is in this answer \
                 only",
            )
            .body::<NewToken>()
            .returns::<CreatedToken>(201, "The token and its secret (shown once)"),
        )
        .delete("/tokens/{id}", Access::User, revoke)
        .doc(
            Doc::new("Revoke one of the caller's API tokens (refused from the next request on)")
                .returns::<TokenBody>(200, "The token, revoked"),
        )
}

/// An API token as its owner sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// The start of the secret, to recognise it by.
    pub prefix: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Not revoked and not expired.
    pub active: bool,
}

impl From<api_tokens::Model> for TokenView {
    fn from(t: api_tokens::Model) -> Self {
        let active = t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > Utc::now());
        Self {
            id: t.id,
            name: t.name,
            prefix: t.token_prefix,
            read_only: t.read_only,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            active,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct TokenList {
    tokens: Vec<TokenView>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct TokenBody {
    token: TokenView,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub expires_in_days: Option<u32>,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// `Authorization: Bearer <secret>`; not shown again.
    pub secret: String,
}

/// Checks and issues a token for the caller (the API and the tokens page).
pub async fn issue(
    state: &AppState,
    user: &CurrentUser,
    new: NewToken,
) -> Result<CreatedToken, ApiError> {
    let name = accounts::parse_token_name(&new.name).map_err(ApiError::Validation)?;
    let expires_at = match new.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
            Some(Utc::now() + Duration::days(i64::from(days)))
        }
        Some(_) => {
            return Err(ApiError::Validation(format!(
                "expires_in_days: must be 1 to {MAX_EXPIRY_DAYS}, or omitted for a token that \
                 lasts until revoked"
            )));
        }
    };
    let (row, secret) = accounts::issue_token(
        &state.services().db,
        &user.user,
        &name,
        TokenLimits {
            expires_at,
            read_only: new.read_only,
        },
    )
    .await?;
    tracing::info!(user_id = %user.id(), token_id = %row.id, read_only = row.read_only, "API token created");
    Ok(CreatedToken {
        token: row.into(),
        secret: secret.expose_secret().to_string(),
    })
}

/// Revokes one of the caller's tokens and ends its open event streams.
pub async fn revoke_own(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<api_tokens::Model, ApiError> {
    let row = accounts::revoke_own_token(&state.services().db, user.id(), id).await?;
    events::publish_revoked(&state.services().redis, Credential::Token(row.id)).await;
    Ok(row)
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = accounts::tokens_of(&state.services().db, user.id()).await?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    }))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    extract::Json(new): extract::Json<NewToken>,
) -> Result<Response, ApiError> {
    let created = issue(&state, &user, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    extract::Path(id): extract::Path<Uuid>,
) -> Result<Json<TokenBody>, ApiError> {
    let row = revoke_own(&state, &user, id).await?;
    Ok(Json(TokenBody { token: row.into() }))
}

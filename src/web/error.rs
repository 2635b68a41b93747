//! The web layer's error: explicit statuses for user mistakes, an opaque 500 otherwise.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::Invalid;
use crate::store::StoreError;

/// The body of every error answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `not_found`, `forbidden`, ...
    pub code: String,
    /// For people; may change.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("authentication required")]
    Unauthorized,
    /// A cookie-authenticated change without the session's CSRF token.
    #[error(
        "this request needs the CSRF token of your session (X-CSRF-Token header or csrf_token form field)"
    )]
    CsrfFailed,
    /// Wrong e-mail or password; deliberately does not say which.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// The body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(err: Invalid) -> Self {
        ApiError::Validation(err.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Refused(why) => ApiError::Conflict(why),
            StoreError::Conflict { .. } => ApiError::Conflict("that already exists".into()),
            // Restarting, failing over or out of connections: the client should come back.
            other if other.is_transient() => {
                tracing::warn!(error = %other, "database unreachable");
                ApiError::Unavailable(
                    "the database is unreachable right now; try again shortly".into(),
                )
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

/// What a 503 tells clients to wait before trying again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// The `Retry-After` (seconds) the answer carries, if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// Status, code and the message a client may see. An internal error's cause chain is
    /// logged here (inside the request span) and never shown.
    pub fn public_parts(&self) -> (StatusCode, &'static str, String) {
        let (status, code) = self.parts();
        let message = match self {
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                "an internal error occurred".to_string()
            }
            other => other.to_string(),
        };
        (status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.public_parts();
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: code.to_string(),
                    message,
                },
            }),
        )
            .into_response();
        match self {
            ApiError::Unauthorized => {
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
            }
            _ => {
                if let Some(secs) = self.retry_after_secs() {
                    response
                        .headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, secs.into());
                }
            }
        }
        response
    }
}

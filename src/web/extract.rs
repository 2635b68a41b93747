//! Request extractors that turn malformed input into our JSON error shape (422/400) instead
//! of axum's plain-text rejections.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// `Json<T>` with our error shape.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::BadRequest("send the body as JSON (Content-Type: application/json)".into())
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::BadRequest(format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => ApiError::Validation(e.body_text()),
        other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        other => ApiError::BadRequest(other.body_text()),
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body is larger than {} bytes",
        super::BODY_LIMIT_BYTES
    ))
}

/// A JSON body that may be absent altogether (an empty POST means "all defaults").
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| OptionalJson(Some(v)))
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::Validation(e.to_string()),
                _ => ApiError::BadRequest(format!("malformed JSON: {e}")),
            })
    }
}

/// `Query<T>` with our error shape.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::Validation(e.body_text()))
    }
}

/// `Path<T>`: an id that does not parse names nothing that exists, so it is a 404.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_: PathRejection| ApiError::NotFound)
    }
}

/// Page size of list endpoints: `limit` clamped to 1..=200, default 50.
pub fn page_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(50).clamp(1, 200)
}

/// The cursor of the next page. `rows` was read with `limit + 1`: when the extra row came
/// back there is a next page, so the extra row is dropped and the last kept row's key is the
/// cursor; otherwise this is the last page (never a link to an empty one).
pub fn next_cursor<T, K>(rows: &mut Vec<T>, limit: u64, key: impl Fn(&T) -> K) -> Option<K> {
    if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(key)
    } else {
        None
    }
}

/// A page of `rows` read with `limit + 1` (the extra row only tells that another page
/// follows): the first `limit` rows as answers, and the cursor of the next page.
pub fn page<T, A, K>(
    mut rows: Vec<T>,
    limit: u64,
    key: impl Fn(&T) -> K,
    answer: impl FnMut(&T) -> A,
) -> (Vec<A>, Option<K>) {
    let next = next_cursor(&mut rows, limit, key);
    (rows.iter().map(answer).collect(), next)
}

/// A UUID query value where an empty string means "not given" (`?cursor=` on a first page).
pub fn opt_uuid<'de, D>(deserializer: D) -> Result<Option<uuid::Uuid>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => uuid::Uuid::parse_str(t)
            .map(Some)
            .map_err(|_| serde::de::Error::custom("cursor: not a cursor this API issued")),
    }
}

/// A text cursor this API issued (an item key): absent when blank; refused when it could not
/// be one (too long, or with control characters the database would reject).
pub fn key_cursor<'a>(text: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        Some(t) if t.len() > 512 || t.chars().any(char::is_control) => Err(ApiError::Validation(
            format!("{field}: not a cursor this site issued"),
        )),
        other => Ok(other),
    }
}

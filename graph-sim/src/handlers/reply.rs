//! The shape of a Graph answer before it becomes HTTP: per-request context, the reply, and
//! the Graph error envelopes the handlers answer with.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Per-request facts the handlers need for URLs and error envelopes.
pub struct Ctx {
    /// `http://host:port` as the client addressed us.
    pub base: String,
    /// `beta` or `v1.0`.
    pub version: &'static str,
    pub request_id: String,
    pub client_request_id: String,
    pub now: DateTime<Utc>,
    /// The client asked for `odata.metadata=full` (`Accept`): entities then carry their
    /// type, id and navigation links, as IntuneManagement and the Graph Explorer expect.
    pub full_metadata: bool,
}

impl Ctx {
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/{}/$metadata#{fragment}", self.base, self.version)
    }

    /// The canonical URL of an entity or path below the version.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.base, self.version)
    }
}

/// A Graph answer before it becomes HTTP (or a `$batch` sub-response).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(super) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub(super) fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// The Graph error envelope.
pub fn error(ctx: &Ctx, status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(
        status,
        json!({
            "error": {
                "code": code,
                "message": message.into(),
                "innerError": {
                    "date": ctx.now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": ctx.request_id,
                    "client-request-id": ctx.client_request_id,
                }
            }
        }),
    )
}

pub(super) fn bad_request(ctx: &Ctx, message: impl std::fmt::Display) -> Reply {
    error(ctx, 400, "BadRequest", message.to_string())
}

pub(super) fn not_found_segment(ctx: &Ctx, segment: &str) -> Reply {
    error(
        ctx,
        404,
        "ResourceNotFound",
        format!("Resource not found for the segment '{segment}'."),
    )
}

pub(super) fn not_found_id(ctx: &Ctx, what: &str, id: &str) -> Reply {
    error(
        ctx,
        404,
        "ResourceNotFound",
        format!("The {what} with id '{id}' was not found."),
    )
}

/// Intune's answer to a verb its route table does not have (status per our contract: 405).
pub(super) fn method_not_allowed(ctx: &Ctx, method: &str, path: &str) -> Reply {
    let mut r = error(
        ctx,
        405,
        "No method match route template",
        format!(
            "No OData route exists that match template for http verb {method} for request /{path}."
        ),
    );
    r.headers.push(("Allow", "GET".into()));
    r
}

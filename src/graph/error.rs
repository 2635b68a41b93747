//! `GraphError`: a stable machine code plus a short message built only from whitelisted
//! fields (HTTP status, Graph error code, policy type, request id) and Graph's own
//! `error.message`, sanitized.
//!
//! Nothing else from a request or response ever reaches an error: not the token, not the
//! client secret, not bodies, not raw headers. Codes and request ids are checked character
//! by character; Graph's message — what people need to fix a rejected write — is cut to
//! 300 characters, loses control characters, and has anything that looks like a token, a
//! key or a secret replaced by `[redacted]` (see [`sanitize_message`]).
//!
//! The errors of the layer's local work, which never involve Graph, are here too:
//! [`GraphSetupError`] (building the shared client) and [`JsonBytesError`] (reading exports).

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// What went wrong, as a stable code (stored on runs and run items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 429 from Graph (after the retry budget).
    Throttled,
    /// 5xx / outage (after the retry budget).
    Unavailable,
    NotFound,
    /// 400 / 405 / 422: Graph refused the request as sent.
    BadRequest,
    Conflict,
    /// 401 from Graph, even with a fresh token.
    Unauthorized,
    Forbidden,
    /// The token endpoint refused or failed.
    TokenFailed,
    Timeout,
    /// The connection could not be made or broke before a write was sent, or during a read.
    Connection,
    /// A non-idempotent write was sent but its answer was lost: it may have been applied.
    AmbiguousWrite,
    /// A success status with a body that is not the JSON Graph promises.
    MalformedResponse,
    /// The object handed to a write cannot be written (e.g. an intent without `templateId`).
    InvalidObject,
    /// Any other HTTP status.
    Other,
    /// A create was not sent: the caller's [`WriteFence`](crate::graph::WriteFence) said the
    /// work is no longer its own (another worker took the run over).
    Fenced,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Throttled => "graph_throttled",
            Self::Unavailable => "graph_unavailable",
            Self::NotFound => "graph_not_found",
            Self::BadRequest => "graph_bad_request",
            Self::Conflict => "graph_conflict",
            Self::Unauthorized => "graph_unauthorized",
            Self::Forbidden => "graph_forbidden",
            Self::TokenFailed => "token_failed",
            Self::Timeout => "timeout",
            Self::Connection => "connection_failed",
            Self::AmbiguousWrite => "ambiguous_write",
            Self::MalformedResponse => "malformed_response",
            Self::InvalidObject => "invalid_object",
            Self::Other => "graph_error",
            Self::Fenced => "write_fenced",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Self::Throttled => "Graph kept throttling the requests",
            Self::Unavailable => "Graph is unavailable",
            Self::NotFound => "the object was not found in Graph",
            Self::BadRequest => "Graph rejected the request",
            Self::Conflict => "Graph reported a conflict",
            Self::Unauthorized => "Graph did not accept the app's credentials",
            Self::Forbidden => "the app lacks the Graph permission for this",
            Self::TokenFailed => "no access token could be obtained for the tenant",
            Self::Timeout => "the Graph request timed out",
            Self::Connection => "Graph could not be reached",
            Self::AmbiguousWrite => {
                "the answer to a write was lost: the change may or may not have been applied"
            }
            Self::MalformedResponse => "Graph answered with a malformed response",
            Self::InvalidObject => "the object cannot be written to Graph",
            Self::Other => "the Graph request failed",
            Self::Fenced => "the write was not sent: the run is no longer this worker's",
        }
    }

    /// The kind Graph's HTTP status stands for.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 405 | 422 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 | 412 => Self::Conflict,
            429 => Self::Throttled,
            500..=599 => Self::Unavailable,
            _ => Self::Other,
        }
    }
}

/// A failed Graph operation. `Display` is the safe message; `Debug` shows the same fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    kind: ErrorKind,
    status: Option<u16>,
    graph_code: Option<String>,
    /// Graph's `error.message`, sanitized.
    graph_message: Option<String>,
    request_id: Option<String>,
    policy_type: Option<&'static str>,
    retry_after: Option<Duration>,
    retryable: bool,
}

impl GraphError {
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            status: None,
            graph_code: None,
            graph_message: None,
            request_id: None,
            policy_type: None,
            retry_after: None,
            retryable: false,
        }
    }

    /// An error from a Graph HTTP answer: only the status, the `error.code` of the Graph
    /// envelope (or the OAuth `error`) and the request id are kept, each only if it looks
    /// like what it claims to be.
    pub fn from_response(status: u16, request_id: Option<&str>, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let code = parsed.as_ref().and_then(|v| match v.get("error") {
            Some(Value::Object(e)) => e.get("code").and_then(Value::as_str),
            // The token endpoint's OAuth shape: {"error":"invalid_client", ...}
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        });
        let body_request_id = parsed.as_ref().and_then(|v| {
            let inner = v.get("error")?;
            let inner = inner
                .get("innerError")
                .or_else(|| inner.get("innererror"))?;
            inner.get("request-id").and_then(Value::as_str)
        });
        let message = parsed.as_ref().and_then(|v| match v.get("error") {
            Some(Value::Object(e)) => e.get("message").and_then(Value::as_str),
            _ => None,
        });
        // Entra's own text may quote what was sent; only its AADSTS code is kept, with our
        // words for it.
        let message = message.map(str::to_string).or_else(|| {
            parsed
                .as_ref()
                .filter(|v| v.get("error").is_some_and(Value::is_string))
                .and_then(entra_code)
                .map(|code| match entra_explanation(code) {
                    Some(text) => format!("AADSTS{code}: {text}"),
                    None => format!(
                        "AADSTS{code} (https://login.microsoftonline.com/error?code={code})"
                    ),
                })
        });
        let mut e = Self::new(ErrorKind::from_status(status));
        e.status = Some(status);
        e.graph_code = code.and_then(safe_code);
        e.graph_message = message.as_deref().and_then(sanitize_message);
        e.request_id = request_id.or(body_request_id).and_then(safe_request_id);
        e
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable machine code, e.g. `graph_throttled`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn status(&self) -> Option<u16> {
        self.status
    }

    pub fn graph_code(&self) -> Option<&str> {
        self.graph_code.as_deref()
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Graph's own explanation, sanitized (see [`sanitize_message`]).
    pub fn graph_message(&self) -> Option<&str> {
        self.graph_message.as_deref()
    }

    /// The whitelisted facts as JSON (an item's or run's `error_context`).
    pub fn context(&self) -> Value {
        serde_json::json!({
            "status": self.status,
            "graph_code": self.graph_code,
            "graph_message": self.graph_message,
            "request_id": self.request_id,
            "policy_type": self.policy_type,
        })
    }

    pub fn policy_type(&self) -> Option<&'static str> {
        self.policy_type
    }

    /// The `Retry-After` Graph gave with the last answer, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// A write whose answer was lost: look the object up before creating it again.
    pub fn is_ambiguous_write(&self) -> bool {
        self.kind == ErrorKind::AmbiguousWrite
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Whether trying again later may succeed (throttling, outages, lost connections).
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The safe, one-line message: a summary plus the whitelisted fields.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("HTTP {s}"));
        }
        if let Some(c) = &self.graph_code {
            parts.push(format!("Graph code {c}"));
        }
        if let Some(t) = self.policy_type {
            parts.push(format!("policy type {t}"));
        }
        if let Some(r) = &self.request_id {
            parts.push(format!("request id {r}"));
        }
        let mut text = if parts.is_empty() {
            self.kind.summary().to_string()
        } else {
            format!("{} ({})", self.kind.summary(), parts.join(", "))
        };
        if let Some(m) = &self.graph_message {
            text.push_str(": ");
            text.push_str(m);
        }
        text
    }

    /// Adds a local explanation (one that did not come from Graph), sanitized like Graph's.
    pub(crate) fn with_message(mut self, message: String) -> Self {
        self.graph_message = sanitize_message(&message);
        self
    }

    pub fn with_policy_type(mut self, policy_type: &'static str) -> Self {
        self.policy_type = Some(policy_type);
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub(crate) fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub(crate) fn with_request_id(mut self, request_id: Option<&str>) -> Self {
        if let Some(id) = request_id.and_then(safe_request_id) {
            self.request_id = Some(id);
        }
        self
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for GraphError {}

/// Why the Graph clients of a process cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum GraphSetupError {
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

/// Why bytes are not a JSON export.
#[derive(Debug, thiserror::Error)]
pub enum JsonBytesError {
    #[error(transparent)]
    Utf8(#[from] std::string::FromUtf8Error),
    #[error("UTF-16 text with an odd number of bytes")]
    OddUtf16Length,
    #[error(transparent)]
    Utf16(#[from] std::string::FromUtf16Error),
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Graph and OAuth error codes are identifiers (`TooManyRequests`, `invalid_client`).
fn safe_code(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    ok.then(|| code.to_string())
}

/// Most characters of Graph's message that are kept.
const MESSAGE_LIMIT: usize = 300;

/// The first of Entra's `error_codes`, or the `AADSTSnnn` its description starts with.
fn entra_code(body: &Value) -> Option<u32> {
    let listed = body
        .get("error_codes")
        .and_then(Value::as_array)
        .and_then(|codes| codes.first())
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    listed.or_else(|| {
        let text = body
            .get("error_description")?
            .as_str()?
            .strip_prefix("AADSTS")?;
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// What the sign-in errors an admin can fix mean, in our words (Entra's codes:
/// <https://learn.microsoft.com/entra/identity-platform/reference-error-codes>).
fn entra_explanation(code: u32) -> Option<&'static str> {
    Some(match code {
        90002 => "the Entra tenant (directory) id was not found; check it",
        700016 => {
            "the application was not found in the directory: its client id is wrong, or the \
             tenant's admin has not installed (consented to) the app there"
        }
        7000215 => "invalid client secret: paste the secret's value, not its id",
        7000222 => "the client secret has expired: create a new one and rotate it here",
        700027 => {
            "the certificate is not registered on the app, or the assertion's signature is \
             invalid: upload the certificate to the app registration"
        }
        700024 => "the client assertion is outside its valid time: check this machine's clock",
        700021 | 700023 | 50027 => "the client assertion was refused as malformed",
        7000216 => "the request carried no client secret or assertion",
        _ => return None,
    })
}

/// Names whose values are never shown (`client_secret=...`, `password: ...`).
const SENSITIVE_NAMES: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "pwd",
    "token",
    "key",
    "signature",
    "sig",
    "assertion",
    "credential",
    "authorization",
    "bearer",
    "cookie",
];

/// Graph's message as it may be stored and shown: control characters become spaces, words
/// that look like tokens or secrets (JWTs, `Bearer` values, values of secret-named fields,
/// long random-looking strings) become `[redacted]`, and the result is cut to 300
/// characters. `None` when nothing readable is left.
pub fn sanitize_message(raw: &str) -> Option<String> {
    // Bounded work on hostile input; redaction happens before the cut, so a secret is
    // never shortened into something that no longer looks like one.
    let bounded: String = raw
        .chars()
        .take(MESSAGE_LIMIT * 4)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: Vec<String> = Vec::new();
    // The previous word named a secret (`password hunter2`, `Bearer abc`, `key = v`).
    let mut redact_next = false;
    for word in bounded.split_whitespace() {
        let mut clean = String::with_capacity(word.len());
        // A word is cut into pieces at the characters that separate fields in URLs, JSON
        // and lists (`?a=1&b=2`, `{"a":"b","c":"d"}`), keeping the separators.
        for piece in word.split_inclusive(|c: char| "&?,;{}()[]<>".contains(c)) {
            let (body, sep) = match piece.char_indices().last() {
                Some((at, c)) if "&?,;{}()[]<>".contains(c) => (&piece[..at], &piece[at..]),
                _ => (piece, ""),
            };
            clean.push_str(&redact_piece(body, &mut redact_next));
            clean.push_str(sep);
        }
        out.push(clean);
    }
    let joined = out.join(" ");
    let mut cut: String = joined.chars().take(MESSAGE_LIMIT).collect();
    if cut.len() < joined.len() {
        cut.push('…');
    }
    (!cut.trim().is_empty()).then_some(cut)
}

const REDACTED: &str = "[redacted]";

/// One field-sized piece of a word, redacted if it is or names a secret.
fn redact_piece(body: &str, redact_next: &mut bool) -> String {
    let quotes = |c: char| "\"'`".contains(c);
    let bare = body.trim_matches(|c: char| quotes(c) || c == '.');
    if bare.is_empty() || bare.chars().all(|c| "=:".contains(c)) {
        // A lone `=` or `:` between a name and its value keeps the redaction pending.
        return body.to_string();
    }
    let lower = bare.to_ascii_lowercase();
    if *redact_next {
        *redact_next = lower == "bearer" || lower == "basic";
        return REDACTED.into();
    }
    if lower == "bearer" || lower == "basic" {
        *redact_next = true;
        return body.to_string();
    }
    if let Some(at) = bare.find(['=', ':']) {
        let name = bare[..at].trim_matches(quotes);
        let value = bare[at + 1..].trim_matches(|c: char| quotes(c) || "=:".contains(c));
        if is_sensitive_name(name) {
            if value.is_empty() {
                *redact_next = true;
                return body.to_string();
            }
            return format!("{}{REDACTED}", &bare[..=at]);
        }
        if looks_secret(value) {
            return format!("{}{REDACTED}", &bare[..=at]);
        }
        return body.to_string();
    }
    if looks_secret(bare) {
        return REDACTED.into();
    }
    // A secret's name on its own: the next word is its value.
    let name = lower.trim_end_matches(['=', ':']);
    if REDACT_FOLLOWING.iter().any(|s| name.ends_with(s)) {
        *redact_next = true;
    }
    body.to_string()
}

/// Names after which the next word is taken for the value even without `=` or `:`.
const REDACT_FOLLOWING: &[&str] = &["secret", "password", "passwd", "pwd", "credential"];

fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_NAMES.iter().any(|s| lower.ends_with(s))
}

/// JWTs, and long strings of letters and digits that switch between upper case, lower
/// case and digits as often as random text does — the shape of access tokens, client
/// secrets and keys. Identifiers (`windows10GeneralConfiguration`, setting ids, GUIDs)
/// switch rarely or have no digits, and are kept.
fn looks_secret(word: &str) -> bool {
    if word.starts_with("eyJ") && word.len() >= 10 {
        return true;
    }
    let len = word.chars().count();
    if len < 24
        || !word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_~.-".contains(c))
        || !word.chars().any(|c| c.is_ascii_digit())
        || !word.chars().any(|c| c.is_ascii_alphabetic())
        || safe_request_id(word).is_some_and(|_| word.matches('-').count() == 4)
    {
        return false;
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else {
            2
        }
    };
    let alnum: Vec<u8> = word
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(class)
        .collect();
    let switches = alnum.windows(2).filter(|w| w[0] != w[1]).count();
    switches * 4 >= len
}

/// Request ids are GUIDs.
fn safe_request_id(id: &str) -> Option<String> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    ok.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_envelope_yields_code_status_request_id_and_a_sanitized_message() {
        let body = br#"{"error":{"code":"BadRequest","message":"client_secret=hunter2 token eyJhbGciOi.secret","innerError":{"request-id":"0b4f6a2e-1f7c-4c2d-9a55-3e4f9d8b7c61","date":"2026-01-01T00:00:00"}}}"#;
        let e = GraphError::from_response(400, None, body).with_policy_type("deviceConfigurations");
        assert_eq!(e.code(), "graph_bad_request");
        assert_eq!(e.graph_code(), Some("BadRequest"));
        assert_eq!(e.request_id(), Some("0b4f6a2e-1f7c-4c2d-9a55-3e4f9d8b7c61"));
        assert_eq!(
            e.graph_message(),
            Some("client_secret=[redacted] token [redacted]")
        );
        let shown = format!("{e} {e:?} {}", e.context());
        for leak in ["hunter2", "eyJhbGciOi", ".secret", "2026-01-01"] {
            assert!(!shown.contains(leak), "{leak} leaked: {shown}");
        }
        assert!(shown.contains("HTTP 400"));
        assert!(shown.contains("deviceConfigurations"));
    }

    #[test]
    fn graph_messages_keep_what_people_act_on_and_lose_what_looks_secret() {
        for kept in [
            "Property 'omaSettings' of type 'device_vendor_msft_policy_config_x' is invalid for 6f1d0a8e-0000-4000-8000-000000000001.",
            "A type named 'contoso.future.windows99Configuration' could not be resolved by the model.",
            "The entity type 'microsoft.graph.windows10GeneralConfiguration' is not compatible.",
        ] {
            assert_eq!(sanitize_message(kept).as_deref(), Some(kept));
        }
        let cases = [
            ("Authorization: Bearer abc.def.ghi failed", "abc.def.ghi"),
            ("password: hunter2 rejected", "hunter2"),
            ("\"apiKey\":\"k-12345\"", "k-12345"),
            (
                "secret Zx8Q~aB3dEfGhIjKlMnOpQrStUv12 used",
                "Zx8Q~aB3dEfGhIjKlMnOpQrStUv12",
            ),
            ("token=eyJ0eXAiOiJKV1Qi", "eyJ0eXAi"),
            ("client_secret=abc123== rejected", "abc1"),
            ("user=x&password=hunter2", "hunter2"),
            ("https://h/cb?client_secret=hunter2", "hunter2"),
            ("{\"user\":\"x\",\"password\":\"hunter2\"}", "hunter2"),
            ("password hunter2", "hunter2"),
            ("password = hunter2", "hunter2"),
            (
                "key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 bad",
                "9f86d081884c7d65",
            ),
        ];
        for (raw, secret) in cases {
            let clean = sanitize_message(raw).unwrap();
            assert!(!clean.contains(secret), "{secret} kept in {clean}");
            assert!(clean.contains("[redacted]"), "{clean}");
        }
        // Multi-byte text next to separators never splits a character.
        assert!(sanitize_message("key=ü: x").is_some());
        assert!(sanitize_message("ü=ü:ü&ü?").is_some());
        let noisy = sanitize_message("line one\r\nline\u{7} two\u{0}").unwrap();
        assert_eq!(noisy, "line one line two");
        let long = "word ".repeat(200);
        let cut = sanitize_message(&long).unwrap();
        assert!(cut.chars().count() <= 301, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(sanitize_message(" \u{1} "), None);
    }

    #[test]
    fn hostile_codes_and_request_ids_are_dropped() {
        let body = br#"{"error":{"code":"Bad Request: password=hunter2","innerError":{"request-id":"not a guid; token=abc"}}}"#;
        let e = GraphError::from_response(400, Some("Bearer eyJ0eXAi"), body);
        assert_eq!(e.graph_code(), None);
        assert_eq!(e.request_id(), None);
        assert!(!e.to_string().contains("hunter2"));
        assert!(!e.to_string().contains("eyJ0eXAi"));
    }

    #[test]
    fn oauth_error_shape_is_understood() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: s3cr3t"}"#;
        let e = GraphError::from_response(401, None, body).with_kind(ErrorKind::TokenFailed);
        assert_eq!(e.code(), "token_failed");
        assert_eq!(e.graph_code(), Some("invalid_client"));
        assert!(!e.to_string().contains("s3cr3t"));
        assert!(
            e.to_string()
                .contains("AADSTS7000215: invalid client secret"),
            "{e}"
        );
        let listed = br#"{"error":"unauthorized_client","error_codes":[700016],"error_description":"anything"}"#;
        let e = GraphError::from_response(400, None, listed);
        assert!(e.to_string().contains("consented"), "{e}");
        let unknown = br#"{"error":"invalid_request","error_description":"AADSTS1234: x"}"#;
        let e = GraphError::from_response(400, None, unknown);
        assert!(e.to_string().contains("error?code=1234"), "{e}");
    }

    #[test]
    fn statuses_map_to_stable_codes() {
        let cases = [
            (429, "graph_throttled"),
            (503, "graph_unavailable"),
            (502, "graph_unavailable"),
            (404, "graph_not_found"),
            (400, "graph_bad_request"),
            (401, "graph_unauthorized"),
            (403, "graph_forbidden"),
            (409, "graph_conflict"),
            (418, "graph_error"),
        ];
        for (status, code) in cases {
            assert_eq!(ErrorKind::from_status(status).code(), code, "{status}");
        }
        assert_eq!(
            GraphError::new(ErrorKind::AmbiguousWrite).code(),
            "ambiguous_write"
        );
        assert!(GraphError::new(ErrorKind::AmbiguousWrite).is_ambiguous_write());
        assert_eq!(
            GraphError::new(ErrorKind::Timeout).to_string(),
            "the Graph request timed out"
        );
    }
}

//! The Graph request pipeline: version prefix, bearer token → tenant, injected faults,
//! throttling, journal and stats around `handlers::dispatch`; `$batch`; and turning a
//! `Reply` into an HTTP response with Graph's headers.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::auth;
use crate::handlers::{Ctx, Reply, dispatch, error, segments};
use crate::store::{Sim, Tenant, lock, new_id};
use crate::throttle::{Decision, retry_after_secs};

/// Marks a response whose connection must be closed without sending it
/// (the `drop_after_commit` fault); the accept loop honours it.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

const JSON_CT: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const JSON_CT_FULL: &str = "application/json;odata.metadata=full;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

fn content_type(ctx: &Ctx) -> &'static str {
    if ctx.full_metadata {
        JSON_CT_FULL
    } else {
        JSON_CT
    }
}
const MAX_BATCH: usize = 20;

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// Split `/beta/...` or `/v1.0/...` (case-insensitive, as Graph) into version and rest.
fn split_version(path: &str) -> Option<(&'static str, &str)> {
    let trimmed = path.trim_start_matches('/');
    let (v, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let version = if v.eq_ignore_ascii_case("beta") {
        "beta"
    } else if v.eq_ignore_ascii_case("v1.0") {
        "v1.0"
    } else {
        return None;
    };
    Some((version, rest))
}

fn make_ctx(headers: &HeaderMap, version: &'static str) -> Ctx {
    let request_id = new_id();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let full_metadata = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains("odata.metadata=full"));
    Ctx {
        base: format!("http://{host}"),
        version,
        request_id,
        client_request_id,
        now: Utc::now(),
        full_metadata,
    }
}

/// Everything under `/beta/` and `/v1.0/`, and any other unknown path.
pub async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let Some((version, rest)) = split_version(&path) else {
        let ctx = make_ctx(&headers, "beta");
        let seg = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let r = error(
            &ctx,
            404,
            "ResourceNotFound",
            format!("Resource not found for the segment '{seg}'."),
        );
        return to_response(&ctx, r);
    };
    let ctx = make_ctx(&headers, version);
    let info = match auth::validate(&sim, &headers) {
        Ok(i) => i,
        Err(auth::AuthError(msg)) => {
            let mut resp = to_response(&ctx, error(&ctx, 401, "InvalidAuthenticationToken", msg));
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
            );
            return resp;
        }
    };
    let Some(tenant) = sim.tenant(&info.tenant_id) else {
        return to_response(
            &ctx,
            error(
                &ctx,
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            ),
        );
    };
    let m = method.as_str();
    let is_batch = rest.trim_matches('/').eq_ignore_ascii_case("$batch");
    tracing::debug!(tenant = %info.tenant_id, method = m, path = %path, "graph request");

    let before = {
        let mut t = lock(&tenant);
        t.stats.round_trips += 1;
        if !is_batch {
            t.stats.requests += 1;
        }
        t.faults.before(m, &path)
    };
    if !before.delay.is_zero() {
        tokio::time::sleep(before.delay).await;
    }
    if let Some((status, retry_after)) = before.fail {
        let r = fault_reply(&ctx, status, retry_after, before.outage);
        if is_write(m) && !is_batch {
            lock(&tenant).record(m, &path, status);
        }
        return to_response(&ctx, r);
    }
    if is_batch {
        if m != "POST" {
            return to_response(
                &ctx,
                error(&ctx, 405, "BadRequest", "$batch accepts POST only."),
            );
        }
        return batch(&sim, &tenant, &ctx, &info.client_id, &body).await;
    }
    let reply = {
        let mut t = lock(&tenant);
        run_one(
            &sim,
            &mut t,
            &ctx,
            &info.client_id,
            m,
            &path,
            rest,
            uri.query(),
            &body,
        )
    };
    finish(&tenant, &ctx, m, &path, reply)
}

/// Post-handling faults (malformed body, dropped connection), then the HTTP response.
fn finish(tenant: &Mutex<Tenant>, ctx: &Ctx, method: &str, path: &str, reply: Reply) -> Response {
    let committed = is_write(method) && (200..300).contains(&reply.status);
    let (malformed, drop) = {
        let mut t = lock(tenant);
        let malformed = reply.body.is_some() && t.faults.malformed(method, path);
        let drop = committed && t.faults.drop_after_commit(method, path);
        (malformed, drop)
    };
    let mut resp = if malformed {
        malformed_response(ctx, reply)
    } else {
        to_response(ctx, reply)
    };
    if drop {
        tracing::debug!(method, path, "dropping connection after commit (fault)");
        resp.extensions_mut().insert(DropConnection);
    }
    resp
}

/// Throttle, handle, journal: one Graph request (or `$batch` sub-request) against a tenant.
#[allow(clippy::too_many_arguments)]
fn run_one(
    sim: &Sim,
    t: &mut Tenant,
    ctx: &Ctx,
    app: &str,
    method: &str,
    full_path: &str,
    rest: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    let write = is_write(method);
    if let Decision::Throttled(wait) = t.throttle.check(&sim.config, app, write, Instant::now()) {
        t.stats.throttled += 1;
        let mut r = error(
            ctx,
            429,
            "TooManyRequests",
            format!(
                "Too many requests from Identifier:{}+{app} under category:throttle.intune.ags. Please try again later.",
                t.id
            ),
        );
        if !sim.config.omit_retry_after {
            r.headers
                .push(("Retry-After", retry_after_secs(wait).to_string()));
        }
        if write {
            t.record(method, full_path, 429);
        }
        return r;
    }
    if write {
        t.stats.writes += 1;
    }
    let reply = dispatch(sim, t, ctx, method, rest, query, body);
    if write {
        t.record(method, full_path, reply.status);
        crate::audit::record(t, app, ctx.now, method, &segments(rest), &reply);
    }
    reply
}

fn fault_reply(ctx: &Ctx, status: u16, retry_after: Option<u64>, outage: bool) -> Reply {
    let (code, message) = match status {
        503 if outage => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please retry after the time given in the Retry-After header.",
        ),
        400 => ("BadRequest", "Injected fault: bad request."),
        401 => (
            "InvalidAuthenticationToken",
            "Injected fault: access token validation failure.",
        ),
        403 => ("Forbidden", "Injected fault: forbidden."),
        404 => ("ResourceNotFound", "Injected fault: resource not found."),
        409 => ("Conflict", "Injected fault: conflict."),
        429 => ("TooManyRequests", "Injected fault: too many requests."),
        502 => ("BadGateway", "Injected fault: bad gateway."),
        503 => ("ServiceUnavailable", "Injected fault: service unavailable."),
        504 => ("GatewayTimeout", "Injected fault: gateway timeout."),
        500 => (
            "InternalServerError",
            "Injected fault: an internal server error has occurred.",
        ),
        _ => ("UnknownError", "Injected fault."),
    };
    let mut r = error(ctx, status, code, message);
    if let Some(s) = retry_after {
        r.headers.push(("Retry-After", s.to_string()));
    }
    r
}

fn base_headers(ctx: &Ctx, resp: &mut Response) {
    let h = resp.headers_mut();
    for (name, value) in [
        ("request-id", ctx.request_id.as_str()),
        ("client-request-id", ctx.client_request_id.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    h.insert(
        "x-ms-ags-diagnostic",
        HeaderValue::from_static(r#"{"ServerInfo":{"DataCenter":"Simulator","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"graph-sim"}}"#),
    );
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

pub fn to_response(ctx: &Ctx, reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match &reply.body {
        Some(b) => {
            let bytes = serde_json::to_vec(b).unwrap_or_default();
            let mut r = (status, Body::from(bytes)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(ctx)),
            );
            r
        }
        None => status.into_response(),
    };
    base_headers(ctx, &mut resp);
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// A JSON body cut in half: parsers fail on it, status and headers look normal.
fn malformed_response(ctx: &Ctx, reply: Reply) -> Response {
    let bytes = reply
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let cut = (bytes.len() / 2).max(1).min(bytes.len());
    let mut truncated = bytes[..cut].to_vec();
    if serde_json::from_slice::<Value>(&truncated).is_ok() {
        truncated.push(b'{');
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, Body::from(truncated)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CT));
    base_headers(ctx, &mut resp);
    resp
}

struct SubRequest {
    id: String,
    method: String,
    url: String,
    body: Vec<u8>,
    depends_on: Vec<String>,
}

/// Why a `$batch` body was refused (the 400's message).
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("Invalid batch payload format: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Invalid batch payload format: 'requests' must be an array.")]
    RequestsNotArray,
    #[error("Invalid batch payload format: the batch contains no requests.")]
    Empty,
    #[error("The batch request contains {count} requests; the limit is {limit}.")]
    TooMany { count: usize, limit: usize },
    #[error("Invalid batch payload format: every request needs an 'id'.")]
    MissingId,
    #[error("Invalid batch payload format: duplicate request id '{0}'.")]
    DuplicateId(String),
    #[error("Invalid batch payload format: request '{0}' needs a 'method'.")]
    MissingMethod(String),
    #[error("Invalid batch payload format: request '{0}' needs a 'url'.")]
    MissingUrl(String),
    #[error("Invalid batch payload format: 'dependsOn' of '{0}' must be an array.")]
    DependsOnNotArray(String),
    #[error(
        "Invalid batch payload format: request '{id}' depends on unknown or later request '{dependency}'."
    )]
    UnknownDependency { id: String, dependency: String },
}

fn parse_batch(body: &[u8]) -> Result<Vec<SubRequest>, BatchError> {
    let v: Value = serde_json::from_slice(body)?;
    let Some(reqs) = v.get("requests").and_then(Value::as_array) else {
        return Err(BatchError::RequestsNotArray);
    };
    if reqs.is_empty() {
        return Err(BatchError::Empty);
    }
    if reqs.len() > MAX_BATCH {
        return Err(BatchError::TooMany {
            count: reqs.len(),
            limit: MAX_BATCH,
        });
    }
    let mut out: Vec<SubRequest> = Vec::with_capacity(reqs.len());
    for r in reqs {
        let field = |k: &str| {
            r.get(k).or_else(|| {
                r.as_object()?
                    .iter()
                    .find(|(x, _)| x.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v)
            })
        };
        let id = match field("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(BatchError::MissingId),
        };
        if out.iter().any(|o| o.id == id) {
            return Err(BatchError::DuplicateId(id));
        }
        let Some(method) = field("method").and_then(Value::as_str) else {
            return Err(BatchError::MissingMethod(id));
        };
        let Some(url) = field("url").and_then(Value::as_str) else {
            return Err(BatchError::MissingUrl(id));
        };
        let body = match field("body") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(b) => serde_json::to_vec(b).unwrap_or_default(),
        };
        let depends_on = match field("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect(),
            Some(_) => {
                return Err(BatchError::DependsOnNotArray(id));
            }
        };
        for d in &depends_on {
            if !out.iter().any(|o| &o.id == d) {
                return Err(BatchError::UnknownDependency {
                    id,
                    dependency: d.clone(),
                });
            }
        }
        out.push(SubRequest {
            id,
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            body,
            depends_on,
        });
    }
    Ok(out)
}

/// `POST /{version}/$batch`: up to 20 sub-requests, run in order, each throttled, faulted and
/// journaled on its own; one 200 with every sub-response.
async fn batch(sim: &Sim, tenant: &Mutex<Tenant>, ctx: &Ctx, app: &str, body: &[u8]) -> Response {
    let subs = match parse_batch(body) {
        Ok(s) => s,
        Err(e) => return to_response(ctx, error(ctx, 400, "BadRequest", e.to_string())),
    };
    let mut responses = Vec::with_capacity(subs.len());
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut drop = false;
    for sub in subs {
        let failed_dep = sub
            .depends_on
            .iter()
            .any(|d| statuses.iter().any(|(id, s)| id == d && *s >= 400));
        let sub_ctx = Ctx {
            base: ctx.base.clone(),
            version: ctx.version,
            request_id: new_id(),
            client_request_id: ctx.client_request_id.clone(),
            now: Utc::now(),
            full_metadata: ctx.full_metadata,
        };
        let (path_part, query) = match sub.url.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (sub.url.clone(), None),
        };
        let reply = if failed_dep {
            error(
                &sub_ctx,
                424,
                "FailedDependency",
                "A request this request depends on failed.",
            )
        } else if sub.url.contains("://")
            || path_part
                .trim_start_matches('/')
                .eq_ignore_ascii_case("$batch")
        {
            error(
                &sub_ctx,
                400,
                "BadRequest",
                "Invalid request URL: batch sub-requests take URLs relative to the version, e.g. /deviceManagement/...",
            )
        } else {
            let rel = path_part.trim_start_matches('/').to_string();
            let full = format!("/{}/{rel}", ctx.version);
            let before = {
                let mut t = lock(tenant);
                t.stats.requests += 1;
                t.faults.before(&sub.method, &full)
            };
            if !before.delay.is_zero() {
                tokio::time::sleep(before.delay).await;
            }
            match before.fail {
                Some((status, ra)) => {
                    if is_write(&sub.method) {
                        lock(tenant).record(&sub.method, &full, status);
                    }
                    fault_reply(&sub_ctx, status, ra, before.outage)
                }
                None => {
                    let mut t = lock(tenant);
                    let r = run_one(
                        sim,
                        &mut t,
                        &sub_ctx,
                        app,
                        &sub.method,
                        &full,
                        &rel,
                        query.as_deref(),
                        &sub.body,
                    );
                    if is_write(&sub.method)
                        && (200..300).contains(&r.status)
                        && t.faults.drop_after_commit(&sub.method, &full)
                    {
                        drop = true;
                    }
                    r
                }
            }
        };
        statuses.push((sub.id.clone(), reply.status));
        let mut headers = Map::new();
        headers.insert("Cache-Control".into(), json!("no-cache"));
        if reply.body.is_some() {
            headers.insert("Content-Type".into(), json!(content_type(&sub_ctx)));
            headers.insert("OData-Version".into(), json!("4.0"));
        }
        for (k, v) in &reply.headers {
            headers.insert((*k).to_string(), json!(v));
        }
        let mut entry = Map::new();
        entry.insert("id".into(), json!(sub.id));
        entry.insert("status".into(), json!(reply.status));
        entry.insert("headers".into(), Value::Object(headers));
        // Every sub-response has a body; `null` where the request answered no content.
        entry.insert("body".into(), reply.body.unwrap_or(Value::Null));
        responses.push(Value::Object(entry));
    }
    let reply = Reply {
        status: 200,
        body: Some(json!({ "responses": responses })),
        headers: Vec::new(),
    };
    let malformed = lock(tenant)
        .faults
        .malformed("POST", &format!("/{}/$batch", ctx.version));
    let mut resp = if malformed {
        malformed_response(ctx, reply)
    } else {
        to_response(ctx, reply)
    };
    if drop {
        resp.extensions_mut().insert(DropConnection);
    }
    resp
}

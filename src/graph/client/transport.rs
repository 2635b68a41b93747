//! How a request reaches Graph: fleet-wide admission by the limiter, a cached token,
//! bounded timeouts, `$batch`ing of GETs, and retries with backoff that honour (and
//! broadcast) `Retry-After`. Every call of the client goes through `Core::execute`.

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::Core;
use crate::graph::error::{ErrorKind, GraphError};
use crate::graph::limiter::Access;
use crate::graph::registry::Contract;
use crate::graph::retry::parse_retry_after;
use crate::metrics;

/// One logical request.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    pub(super) url: String,
    pub(super) body: Option<&'a Value>,
    pub(super) access: Access,
    /// Safe to send twice (GET, PUT, PATCH, DELETE, replace-style actions).
    pub(super) idempotent: bool,
    /// Quota units: a `$batch` costs its sub-requests.
    pub(super) permits: u32,
    pub(super) policy_type: &'static str,
    /// Hand back a successful answer's bytes unparsed (in [`Answer::raw`]): a `$batch`
    /// answer is read by its caller.
    pub(super) raw: bool,
}

impl Call<'_> {
    pub(super) fn read(url: String, permits: u32, contract: &Contract) -> Self {
        Self {
            method: Method::GET,
            url,
            body: None,
            access: Access::Read,
            idempotent: true,
            permits,
            policy_type: contract.key,
            raw: false,
        }
    }
}

pub(super) struct Answer {
    pub(super) body: Value,
    /// The bytes of a successful answer to a [`Call::raw`] call (then `body` is `Null`).
    pub(super) raw: Vec<u8>,
}

/// A GET's answer: parsed (read alone) or as the text a `$batch` answer carried, parsed only
/// when used, so a batch of first pages holds most of a tenant as text rather than as a
/// tree several times its size.
#[derive(Debug)]
pub(super) enum Body {
    Parsed(Value),
    Text(Box<RawValue>),
}

impl Body {
    pub(super) fn into_value(self, contract: &Contract) -> Result<Value, GraphError> {
        match self {
            Self::Parsed(v) => Ok(v),
            Self::Text(t) => serde_json::from_str(t.get()).map_err(|_| {
                GraphError::new(ErrorKind::MalformedResponse).with_policy_type(contract.key)
            }),
        }
    }
}

/// A `$batch` answer (https://learn.microsoft.com/graph/json-batching): each sub-response's
/// body is kept as text.
#[derive(Deserialize)]
struct BatchAnswer<'a> {
    #[serde(borrow, default)]
    responses: Vec<SubAnswer<'a>>,
}

#[derive(Deserialize)]
struct SubAnswer<'a> {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
}

impl SubAnswer<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

enum Attempt {
    Done(Answer),
    /// Retry after the policy's delay (or the error's `Retry-After`).
    Retry(GraphError),
    /// Graph refused the token: fetch a new one and try once more.
    StaleToken(SecretString, GraphError),
    Fail(GraphError),
}

impl Core {
    /// GETs `paths` (relative to the API version), `$batch`ed by up to 20, in order. Failed
    /// sub-requests that may succeed later are retried one by one with the usual retry
    /// logic; a `$batch` Graph refuses falls back to single GETs.
    pub(super) async fn batch_get(
        &self,
        contract: &Contract,
        paths: Vec<String>,
    ) -> Vec<Result<Value, GraphError>> {
        self.batch_get_each(paths.into_iter().map(|p| (contract, p)).collect())
            .await
            .into_iter()
            .map(|body| body.and_then(|b| b.into_value(contract)))
            .collect()
    }

    /// [`Core::batch_get`] of paths of several types, each with its own contract (they share
    /// the first one's API version: a `$batch` addresses one version). Bodies that came in a
    /// `$batch` answer stay text until used.
    pub(super) async fn batch_get_each(
        &self,
        requests: Vec<(&Contract, String)>,
    ) -> Vec<Result<Body, GraphError>> {
        let size = self.shared.options.batch_size;
        let mut out: Vec<Result<Body, GraphError>> = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(size) {
            if let [(contract, path)] = chunk {
                out.push(self.get_one(path, contract).await.map(Body::Parsed));
                continue;
            }
            let Some((first, _)) = chunk.first() else {
                continue;
            };
            let batch: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, (_, p))| json!({"id": i.to_string(), "method": "GET", "url": format!("/{p}")}))
                .collect();
            let body = json!({ "requests": batch });
            let url = self.url(first.api_version, "$batch");
            let call = Call {
                method: Method::POST,
                url,
                body: Some(&body),
                access: Access::Read,
                idempotent: true,
                permits: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
                policy_type: first.key,
                raw: true,
            };
            let answer = match self.execute(&call).await {
                Ok(a) => a,
                Err(e) if matches!(e.status(), Some(400 | 404 | 405 | 501)) => {
                    for (contract, p) in chunk {
                        out.push(self.get_one(p, contract).await.map(Body::Parsed));
                    }
                    continue;
                }
                Err(e) => {
                    out.extend(
                        chunk
                            .iter()
                            .map(|(contract, _)| Err(e.clone().with_policy_type(contract.key))),
                    );
                    continue;
                }
            };
            // Sub-responses by request index. An answer that is not a batch answer (cut
            // off, not JSON) leaves every slot empty: each is then read alone.
            let parsed = serde_json::from_slice::<BatchAnswer<'_>>(&answer.raw).ok();
            let mut responses: Vec<Option<SubAnswer<'_>>> =
                std::iter::repeat_with(|| None).take(chunk.len()).collect();
            for r in parsed.map(|a| a.responses).unwrap_or_default() {
                let index = match &r.id {
                    Value::String(id) => id.parse::<usize>().ok(),
                    Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
                    _ => None,
                };
                if let Some(slot) = index.and_then(|i| responses.get_mut(i)) {
                    *slot = Some(r);
                }
            }
            for ((contract, p), sub) in chunk.iter().zip(responses) {
                out.push(self.batch_item(sub, p, contract).await);
            }
        }
        out
    }

    async fn batch_item(
        &self,
        sub: Option<SubAnswer<'_>>,
        path: &str,
        contract: &Contract,
    ) -> Result<Body, GraphError> {
        let Some(sub) = sub else {
            return self.get_one(path, contract).await.map(Body::Parsed);
        };
        let status = sub.status;
        if (200..300).contains(&status) {
            return match sub.body {
                Some(b) if b.get().trim_start().starts_with('{') => Ok(Body::Text(b.to_owned())),
                _ => self.get_one(path, contract).await.map(Body::Parsed),
            };
        }
        if status == 429 {
            self.shared
                .counters
                .throttled
                .fetch_add(1, Ordering::Relaxed);
            metrics::graph_throttled();
            self.shared.limiter.note_throttled(&self.quota_key).await;
        }
        if matches!(status, 429 | 500 | 502 | 503 | 504) || status == 0 {
            if let Some(ra) = sub
                .header("Retry-After")
                .and_then(|v| parse_retry_after(v, SystemTime::now()))
            {
                self.shared.limiter.block_for(&self.quota_key, ra).await;
            }
            return self.get_one(path, contract).await.map(Body::Parsed);
        }
        let body = sub.body.map(|b| b.get().as_bytes()).unwrap_or_default();
        Err(
            GraphError::from_response(status, sub.header("request-id"), body)
                .with_policy_type(contract.key),
        )
    }

    async fn get_one(&self, path: &str, contract: &Contract) -> Result<Value, GraphError> {
        let url = self.url(contract.api_version, path);
        Ok(self.execute(&Call::read(url, 1, contract)).await?.body)
    }

    /// Runs one call with admission, token and the retry budget.
    pub(super) async fn execute(&self, call: &Call<'_>) -> Result<Answer, GraphError> {
        let policy = self.shared.options.retry;
        let start = Instant::now();
        let mut retry = 0u32;
        let mut token_refreshed = false;
        loop {
            let err = match self.attempt(call).await {
                Attempt::Done(a) => return Ok(a),
                Attempt::Fail(e) => return Err(e),
                Attempt::StaleToken(token, e) => {
                    if token_refreshed {
                        return Err(e);
                    }
                    token_refreshed = true;
                    self.shared.tokens.invalidate(&self.creds, &token).await;
                    continue;
                }
                Attempt::Retry(e) => e,
            };
            retry += 1;
            let delay = policy.delay(retry - 1, err.retry_after());
            let wait = err.retry_after().unwrap_or(delay);
            if retry >= policy.max_attempts.max(1) || start.elapsed() + wait > policy.max_elapsed {
                return Err(err);
            }
            self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
            metrics::graph_retry();
            tracing::debug!(
                code = err.code(),
                status = err.status(),
                retry,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying Graph request"
            );
            match err.retry_after() {
                // The whole fleet pauses this tenant; the next admission waits it out.
                Some(ra) => self.shared.limiter.block_for(&self.quota_key, ra).await,
                None => {
                    tokio::time::sleep(delay).await;
                    metrics::graph_backoff(delay);
                    self.shared.counters.backoff_nanos.fetch_add(
                        u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                }
            }
        }
    }

    async fn attempt(&self, call: &Call<'_>) -> Attempt {
        let policy_type = call.policy_type;
        let waited = self
            .shared
            .limiter
            .acquire(&self.quota_key, &self.quota, call.access, call.permits)
            .await;
        metrics::graph_limiter_wait(waited);
        let token = match self
            .shared
            .tokens
            .token(&self.shared.http, &self.creds)
            .await
        {
            Ok(t) => t,
            Err(e) if e.is_retryable() => return Attempt::Retry(e.with_policy_type(policy_type)),
            Err(e) => return Attempt::Fail(e.with_policy_type(policy_type)),
        };
        // Last moment before a create leaves: is the work still ours?
        if call.sent_once_only()
            && let Some(fence) = &self.fence
            && !fence.still_ours().await
        {
            return Attempt::Fail(GraphError::new(ErrorKind::Fenced).with_policy_type(policy_type));
        }
        let mut req = self
            .shared
            .http
            .request(call.method.clone(), &call.url)
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.shared.options.request_timeout);
        if let Some(body) = call.body {
            req = req.json(body);
        }
        self.shared
            .counters
            .requests
            .fetch_add(1, Ordering::Relaxed);
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                metrics::graph_response(None);
                return transport_failure(call, &e);
            }
        };
        let status = resp.status().as_u16();
        metrics::graph_response(Some(status));
        let headers = resp.headers();
        let request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return transport_failure(call, &e),
        };
        if (200..300).contains(&status) {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Attempt::Done(Answer {
                    body: Value::Null,
                    raw: Vec::new(),
                });
            }
            if call.raw {
                return Attempt::Done(Answer {
                    body: Value::Null,
                    raw: bytes.to_vec(),
                });
            }
            return match serde_json::from_slice::<Value>(&bytes) {
                Ok(body) => Attempt::Done(Answer {
                    body,
                    raw: Vec::new(),
                }),
                // An idempotent write succeeded; its body tells us nothing we need.
                Err(_) if call.access == Access::Write && call.idempotent => {
                    Attempt::Done(Answer {
                        body: Value::Null,
                        raw: Vec::new(),
                    })
                }
                Err(_) => {
                    let e = GraphError::new(if call.sent_once_only() {
                        ErrorKind::AmbiguousWrite
                    } else {
                        ErrorKind::MalformedResponse
                    })
                    .with_status(status)
                    .with_request_id(request_id.as_deref())
                    .with_policy_type(policy_type);
                    if call.sent_once_only() {
                        Attempt::Fail(e)
                    } else {
                        Attempt::Retry(e.retryable(true))
                    }
                }
            };
        }
        let err = GraphError::from_response(status, request_id.as_deref(), &bytes)
            .with_policy_type(policy_type)
            .with_retry_after(retry_after);
        match status {
            401 => Attempt::StaleToken(token, err),
            429 | 503 => {
                if status == 429 {
                    self.shared
                        .counters
                        .throttled
                        .fetch_add(1, Ordering::Relaxed);
                    metrics::graph_throttled();
                    self.shared.limiter.note_throttled(&self.quota_key).await;
                }
                Attempt::Retry(err.retryable(true))
            }
            // A 500 is as transient as a gateway error, and a server (or a gateway) may have
            // applied or passed on a write before it failed: a create is then ambiguous and
            // looked up before it is sent again.
            500 | 502 | 504 if call.sent_once_only() => {
                Attempt::Fail(err.with_kind(ErrorKind::AmbiguousWrite).retryable(false))
            }
            500 | 502 | 504 => Attempt::Retry(err.retryable(true)),
            _ => Attempt::Fail(err),
        }
    }
}

/// A transport error: before anything was sent (connect) every call may retry; after, a
/// non-idempotent write is ambiguous.
fn transport_failure(call: &Call<'_>, e: &reqwest::Error) -> Attempt {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Connection
    };
    if call.sent_once_only() && !e.is_connect() {
        return Attempt::Fail(
            GraphError::new(ErrorKind::AmbiguousWrite).with_policy_type(call.policy_type),
        );
    }
    Attempt::Retry(
        GraphError::new(kind)
            .with_policy_type(call.policy_type)
            .retryable(true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_answer_keeps_each_body_as_its_text() {
        let answer = br#"{"responses":[
            {"id":"1","status":429,"headers":{"retry-after":"3"},"body":{"error":{"code":"TooManyRequests"}}},
            {"id":"0","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"id":"a"}]}}
        ]}"#;
        let parsed: BatchAnswer<'_> = serde_json::from_slice(answer).unwrap();
        assert_eq!(parsed.responses.len(), 2);
        let throttled = &parsed.responses[0];
        assert_eq!(
            (throttled.status, throttled.header("Retry-After")),
            (429, Some("3"))
        );
        let ok = &parsed.responses[1];
        assert_eq!(ok.id, "0");
        assert_eq!(
            ok.body.map(RawValue::get),
            Some(r#"{"value":[{"id":"a"}]}"#)
        );
        let contract = &crate::graph::registry::all()[0];
        let value = Body::Text(ok.body.unwrap().to_owned())
            .into_value(contract)
            .unwrap();
        assert_eq!(value["value"][0]["id"], "a");
        // A cut-off answer is no batch answer: its sub-requests are then read alone.
        assert!(serde_json::from_slice::<BatchAnswer<'_>>(&answer[..60]).is_err());
    }
}

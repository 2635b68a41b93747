//! Outbound webhooks: events (a run's end, new drift) are queued per webhook when they
//! happen, and every worker delivers due ones — signed with HMAC-SHA256 over the body, with
//! retries and exponential backoff — recording each attempt in the delivery log.
//!
//! Bodies say what happened and link to it; they never hold the webhook's address, its
//! secret, a token or a tenant credential.

use std::time::Duration;

use chrono::Utc;
use entity::runs;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::lifecycle::{Orchestrator, operation_label};
use crate::store::{StoreResult, tenants, webhooks as hook_store};

/// Event kinds a webhook may take.
pub const EVENTS: &[&str] = &[
    "run.failed",
    "run.partial",
    "run.succeeded",
    "run.canceled",
    "drift",
];

/// What a new webhook takes when it names no kinds: failures and partial results.
pub const DEFAULT_EVENTS: &[&str] = &["run.failed", "run.partial"];

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 6;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body with the webhook's secret>`.
pub const SIGNATURE_HEADER: &str = "x-policyvault-signature";

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, hex.
pub fn sign(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = if key.len() > BLOCK {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(BLOCK, 0);
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut h = Sha256::new();
    h.update(&inner);
    h.update(message);
    let inner_hash = h.finalize();
    let mut h = Sha256::new();
    h.update(&outer);
    h.update(inner_hash);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a new webhook's address, format and events (`None`: failures and partial
/// results) and makes its signing secret. Returns the webhook to store and the secret to show
/// once, or a message naming the field at fault.
pub fn prepare(
    url: &str,
    format: Option<&str>,
    events: Option<Vec<String>>,
    created_by: Option<uuid::Uuid>,
) -> Result<(hook_store::NewWebhook, SecretString), String> {
    use base64::Engine;
    use rand::RngCore;
    let url = reqwest::Url::parse(url.trim()).map_err(|_| "url: not an address".to_string())?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err("url: an https:// (or http://) address with a host".into());
    }
    let host = url.host_str().unwrap_or_default();
    let url_hint = match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    let format = format.unwrap_or("json").trim().to_string();
    if !matches!(format.as_str(), "json" | "teams" | "slack") {
        return Err("format: json, teams or slack".into());
    }
    let kinds = match events {
        None => DEFAULT_EVENTS.iter().map(|e| e.to_string()).collect(),
        Some(list) if list.is_empty() => return Err("events: name at least one".into()),
        Some(mut list) => {
            if let Some(bad) = list.iter().find(|e| !EVENTS.contains(&e.as_str())) {
                return Err(format!(
                    "events: {bad:?} is not one of {}",
                    EVENTS.join(", ")
                ));
            }
            list.sort();
            list.dedup();
            list
        }
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = SecretString::from(format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ));
    Ok((
        hook_store::NewWebhook {
            url: SecretString::from(url.to_string()),
            url_hint,
            secret: secret.clone(),
            format,
            kinds,
            created_by,
        },
        secret,
    ))
}

/// The body for a webhook's format.
pub fn body_for(format: &str, event: &Value) -> Value {
    match format {
        "teams" | "slack" => {
            let text = event["text"].as_str().unwrap_or_default();
            json!({"text": text})
        }
        _ => event.clone(),
    }
}

/// Backoff after `attempts` failed attempts: 5 s, doubling, at most 10 minutes.
fn backoff(attempts: i32) -> Duration {
    let secs = 5u64.saturating_mul(1 << (attempts - 1).clamp(0, 7));
    Duration::from_secs(secs.min(600))
}

impl Orchestrator {
    /// Queues the webhooks of a finished run's tenant that take its outcome.
    pub async fn queue_run_event(&self, run: &runs::Model) {
        let event = format!("run.{}", run.status.as_str());
        if !EVENTS.contains(&event.as_str()) {
            return;
        }
        let db = &self.services.db;
        // Most tenants have no webhook: then there is nothing more to read.
        let hooks = match hook_store::takers(db, run.tenant_id, &event).await {
            Ok(hooks) if hooks.is_empty() => return,
            Ok(hooks) => hooks,
            Err(e) => {
                tracing::warn!(error = %e, "could not queue webhook deliveries");
                return;
            }
        };
        let tenant_name = match tenants::get(db, run.tenant_id).await {
            Ok(t) => t.name,
            Err(_) => String::new(),
        };
        let view = self.view(run);
        let text = format!(
            "{}: {} {} — {}",
            tenant_name,
            operation_label(run.operation),
            run.status.as_str(),
            run.summary.clone().unwrap_or_default()
        );
        let payload = json!({
            "event": event,
            "tenant": {"id": run.tenant_id, "name": tenant_name},
            "run": {
                "id": view.id,
                "operation": view.operation,
                "status": view.status,
                "summary": view.summary,
                "error_code": view.error_code,
                "counts": view.counts,
                "schedule_id": view.schedule_id,
                "url": view.url,
            },
            "text": format!("{text} {}", view.url),
            "sent_at": Utc::now(),
        });
        if let Err(e) =
            hook_store::enqueue_to(db, &hooks, run.tenant_id, Some(run.id), &event, &payload).await
        {
            tracing::warn!(error = %e, "could not queue webhook deliveries");
        }
    }

    /// Sends the deliveries that are due, one attempt each; returns how many were tried.
    pub async fn deliver_webhooks(&self, client: &reqwest::Client) -> StoreResult<usize> {
        let db = &self.services.db;
        let now = Utc::now();
        let lease = now + chrono::Duration::seconds(60);
        let due = hook_store::take_due(db, now, lease, 50).await?;
        let tried = due.len();
        for (delivery, hook) in due {
            let (url, secret) = match hook_store::unseal(&self.services.secrets, &hook) {
                Ok(pair) => pair,
                Err(_) => {
                    hook_store::attempted(
                        db,
                        delivery.id,
                        false,
                        None,
                        Some(
                            "the webhook's address cannot be unsealed with the configured key"
                                .into(),
                        ),
                        None,
                    )
                    .await?;
                    continue;
                }
            };
            let body = body_for(&hook.format, &delivery.payload);
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let signature = sign(secret.expose_secret().as_bytes(), &bytes);
            let sent = client
                .post(url.expose_secret())
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, format!("sha256={signature}"))
                .header("x-policyvault-event", &delivery.event)
                .header("x-policyvault-delivery", delivery.id.to_string())
                .body(bytes)
                .send()
                .await;
            let (ok, status, error) = match sent {
                Ok(r) if r.status().is_success() => (true, Some(r.status().as_u16()), None),
                Ok(r) => (
                    false,
                    Some(r.status().as_u16()),
                    Some(format!(
                        "the receiver answered HTTP {}",
                        r.status().as_u16()
                    )),
                ),
                // The error's text can hold the address: say only what kind it was.
                Err(e) => (
                    false,
                    None,
                    Some(if e.is_timeout() {
                        "the receiver did not answer in time".to_string()
                    } else if e.is_connect() {
                        "the receiver could not be reached".to_string()
                    } else {
                        "the request failed".to_string()
                    }),
                ),
            };
            let attempts = delivery.attempts + 1;
            let retry_at = (!ok && attempts < MAX_ATTEMPTS).then(|| {
                Utc::now() + chrono::Duration::from_std(backoff(attempts)).unwrap_or_default()
            });
            hook_store::attempted(db, delivery.id, ok, status, error, retry_at).await?;
        }
        Ok(tried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            sign(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn chat_formats_carry_only_the_text() {
        let event =
            json!({"event": "run.failed", "text": "Contoso: Restore failed", "run": {"id": 1}});
        assert_eq!(
            body_for("teams", &event),
            json!({"text": "Contoso: Restore failed"})
        );
        assert_eq!(body_for("json", &event), event);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(20), Duration::from_secs(600));
    }
}

//! OAuth2 client-credentials tokens per tenant app, cached in-process until shortly before
//! they expire; concurrent callers of one tenant share a single refresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::certificate::ClientCertificate;
use super::error::{ErrorKind, GraphError};

/// `client_assertion_type` of a certificate's signed assertion.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Refresh this long before expiry at most...
const MAX_MARGIN: Duration = Duration::from_secs(300);
/// ...and at least this share of the lifetime before it (short-lived test tokens).
const MARGIN_SHARE: u32 = 10;

/// How an app proves who it is at the token endpoint. `Debug` never shows a secret.
#[derive(Clone)]
pub enum ClientCredential {
    Secret(SecretString),
    /// A client assertion signed with the certificate's private key.
    Certificate(Arc<ClientCertificate>),
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([REDACTED])"),
            Self::Certificate(c) => write!(f, "Certificate({})", c.thumbprint()),
        }
    }
}

/// What a tenant's app signs in with. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    /// e.g. `https://login.microsoftonline.com` (no trailing slash).
    pub login_base_url: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub credential: ClientCredential,
    /// e.g. `https://graph.microsoft.com/.default`.
    pub scope: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("login_base_url", &self.login_base_url)
            .field("entra_tenant_id", &self.entra_tenant_id)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Credentials {
    fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.login_base_url.trim_end_matches('/'),
            self.entra_tenant_id
        )
    }

    fn cache_key(&self) -> CacheKey {
        (
            self.login_base_url
                .trim_end_matches('/')
                .to_ascii_lowercase(),
            self.entra_tenant_id.to_ascii_lowercase(),
            self.client_id.to_ascii_lowercase(),
        )
    }
}

/// The `.default` scope for a Graph base URL. Microsoft's Graph hosts (global and national
/// clouds) are their own resource; anything else (graph-sim, a proxy) stands in for the
/// global Graph and gets its scope.
pub fn scope_for(graph_base_url: &str) -> String {
    let trimmed = graph_base_url.trim().trim_end_matches('/');
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("https", trimmed));
    let host = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let microsoft = [
        "graph.microsoft.com",
        "graph.microsoft.us",
        "dod-graph.microsoft.us",
        "microsoftgraph.chinacloudapi.cn",
    ];
    if microsoft.contains(&host.as_str()) {
        format!("{scheme}://{host}/.default")
    } else {
        "https://graph.microsoft.com/.default".to_string()
    }
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// (login base, Entra tenant, client id), lower-case.
type CacheKey = (String, String, String);

/// The process-wide token cache; clone freely (clones share the cache).
#[derive(Clone, Default)]
pub struct TokenCache {
    slots: Arc<Mutex<HashMap<CacheKey, Slot>>>,
    fetches: Arc<AtomicU64>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens this cache has fetched from token endpoints (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn slot(&self, creds: &Credentials) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(creds.cache_key()).or_default().clone()
    }

    /// A valid access token: the cached one, or a fresh one. Callers that arrive while a
    /// refresh is in flight wait for it instead of starting their own.
    pub async fn token(
        &self,
        http: &reqwest::Client,
        creds: &Credentials,
    ) -> Result<SecretString, GraphError> {
        let slot = self.slot(creds);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.fetch(http, creds).await?;
        let margin = MAX_MARGIN.min(lifetime / MARGIN_SHARE);
        *guard = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    /// Forgets `stale` (Graph refused it) so the next caller fetches a new token. A newer
    /// token fetched meanwhile by someone else is kept.
    pub async fn invalidate(&self, creds: &Credentials, stale: &SecretString) {
        let slot = self.slot(creds);
        let mut guard = slot.lock().await;
        if guard
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret())
        {
            *guard = None;
        }
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        creds: &Credentials,
    ) -> Result<(SecretString, Duration), GraphError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let failed = || GraphError::new(ErrorKind::TokenFailed);
        let url = creds.token_url();
        let mut form = vec![
            ("client_id", creds.client_id.clone()),
            ("scope", creds.scope.clone()),
            ("grant_type", "client_credentials".to_string()),
        ];
        match &creds.credential {
            ClientCredential::Secret(secret) => {
                form.push(("client_secret", secret.expose_secret().to_string()));
            }
            ClientCredential::Certificate(cert) => {
                let assertion = cert
                    .assertion(&creds.client_id, &url)
                    .map_err(|e| failed().with_message(e.to_string()))?;
                form.push(("client_assertion_type", ASSERTION_TYPE.to_string()));
                form.push(("client_assertion", assertion));
            }
        }
        let resp = http
            .post(url)
            .form(&form)
            .send()
            .await
            // Nothing of the transport error is kept: its text can carry the URL.
            .map_err(|e| failed().retryable(e.is_connect() || e.is_timeout() || e.is_request()))?;
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("client-request-id")
            .or_else(|| resp.headers().get("x-ms-request-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.map_err(|_| failed().retryable(true))?;
        if !(200..300).contains(&status) {
            let transient = status == 429 || status >= 500;
            return Err(
                GraphError::from_response(status, request_id.as_deref(), &body)
                    .with_kind(ErrorKind::TokenFailed)
                    .retryable(transient),
            );
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| failed().with_status(status).retryable(true))?;
        let secs = match parsed.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(3599);
        Ok((
            SecretString::from(parsed.access_token),
            Duration::from_secs(secs.max(1)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_follows_microsoft_hosts_and_defaults_to_global_graph() {
        assert_eq!(
            scope_for("https://graph.microsoft.com/"),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            scope_for("https://graph.microsoft.us"),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            scope_for("http://127.0.0.1:8090"),
            "https://graph.microsoft.com/.default"
        );
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let c = Credentials {
            login_base_url: "https://login.microsoftonline.com".into(),
            entra_tenant_id: "t".into(),
            client_id: "c".into(),
            credential: ClientCredential::Secret(SecretString::from("hunter2".to_string())),
            scope: scope_for("https://graph.microsoft.com"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            c.token_url(),
            "https://login.microsoftonline.com/t/oauth2/v2.0/token"
        );
    }
}

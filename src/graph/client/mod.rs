//! The Graph client of one tenant: [`ReadOnlyGraph`] reads (lists with every page and
//! sub-resource, single objects, lookups by match key) and [`GraphClient`] adds writes
//! (create, update, assign, delete). A preview only ever holds a `ReadOnlyGraph`, which has
//! no write method at all: writing from it does not compile.
//!
//! Every request goes through one path: fleet-wide admission ([`Limiter`]), a cached token,
//! bounded timeouts, and retries on 429/500/502/503/504, timeouts and lost connections with
//! exponential backoff, full jitter and a cap, honouring (and broadcasting) `Retry-After`.
//! A non-idempotent write (a create) whose answer is lost is never retried: it fails with
//! `ambiguous_write`, so the caller looks the object up before creating it again.
//!
//! This module holds the types and their construction; `reads`, `writes` and `transport`
//! hold the methods.

mod reads;
pub use reads::FirstPages;
mod transport;
mod writes;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::error::{ErrorKind, GraphError, GraphSetupError};
use super::limiter::{Limiter, Quota, QuotaOverrides};
use super::payload::encode_segment;
use super::registry::{ApiVersion, Contract, Shape};
use super::retry::RetryPolicy;
use super::token::{ClientCredential, Credentials, TokenCache, scope_for};
use crate::settings::GraphSettings;

/// Graph's `$batch` limit.
pub const MAX_BATCH: usize = 20;

/// Request behaviour shared by every tenant's client.
#[derive(Debug, Clone, Copy)]
pub struct GraphOptions {
    /// Per-request timeout (connect + answer).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Sub-requests per `$batch` (1 = never batch; at most 20).
    pub batch_size: usize,
    /// Quota for tenants whose row sets none.
    pub default_quota: Quota,
}

impl GraphOptions {
    pub fn from_settings(settings: &GraphSettings) -> Self {
        Self {
            request_timeout: Duration::from_secs(settings.request_timeout_secs.max(1)),
            // Time bounds the retries, not a count: an outage shorter than the budget is
            // ridden out, one longer fails the call once the budget is spent.
            retry: RetryPolicy {
                max_attempts: u32::MAX,
                max_elapsed: Duration::from_secs(settings.retry_budget_secs),
                ..RetryPolicy::default()
            },
            batch_size: settings.batch_size.clamp(1, MAX_BATCH),
            default_quota: Quota::DOCUMENTED,
        }
    }
}

/// Counters for metrics and benchmarks.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    backoff_nanos: AtomicU64,
}

/// A snapshot of what the Graph clients of this process have done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphMetrics {
    /// HTTP requests sent to Graph (a `$batch` counts once).
    pub requests: u64,
    pub retries: u64,
    /// 429 answers received (a `$batch` sub-response counts).
    pub throttled: u64,
    /// Time spent in backoff between attempts.
    pub backoff_wait: Duration,
    /// Time spent waiting for admission by the limiter (quota and fleet-wide pauses).
    pub limiter_wait: Duration,
}

/// What every tenant's client in a process shares: HTTP connections, tokens, the limiter.
#[derive(Clone)]
pub struct GraphShared {
    http: reqwest::Client,
    tokens: TokenCache,
    limiter: Limiter,
    options: GraphOptions,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for GraphShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphShared")
            .field("limiter", &self.limiter)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl GraphShared {
    pub fn new(
        http: reqwest::Client,
        tokens: TokenCache,
        limiter: Limiter,
        options: GraphOptions,
    ) -> Self {
        let mut options = options;
        options.batch_size = options.batch_size.clamp(1, MAX_BATCH);
        Self {
            http,
            tokens,
            limiter,
            options,
            counters: Arc::default(),
        }
    }

    /// From settings: an HTTP client with the configured timeout and a fresh token cache.
    pub fn from_settings(
        settings: &GraphSettings,
        limiter: Limiter,
    ) -> Result<Self, GraphSetupError> {
        let options = GraphOptions::from_settings(settings);
        let http = crate::http::client(options.request_timeout)?;
        Ok(Self::new(http, TokenCache::new(), limiter, options))
    }

    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    pub fn options(&self) -> &GraphOptions {
        &self.options
    }

    pub fn metrics(&self) -> GraphMetrics {
        let c = &self.counters;
        GraphMetrics {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            backoff_wait: Duration::from_nanos(c.backoff_nanos.load(Ordering::Relaxed)),
            limiter_wait: self.limiter.total_wait(),
        }
    }
}

/// How to reach one tenant's Graph: endpoints, the app's credentials and its quota. The
/// secret is held decrypted, so a connection lives only as long as the client built from it.
#[derive(Debug, Clone)]
pub struct TenantConnection {
    /// e.g. `https://graph.microsoft.com` (a trailing slash is ignored).
    pub graph_base_url: String,
    /// e.g. `https://login.microsoftonline.com` (a trailing slash is ignored).
    pub login_base_url: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub credential: ClientCredential,
    pub quota: QuotaOverrides,
}

/// Asked right before a create (a write that must not be sent twice) goes out: does the work
/// still belong to this caller? A worker that was paused (SIGSTOP, a VM freeze) may resume
/// mid-item after another worker took its run over; the fence stops it from sending the
/// create the other worker is about to send too.
pub trait WriteFence: Send + Sync {
    fn still_ours(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>;
}

struct Core {
    shared: GraphShared,
    fence: Option<Arc<dyn WriteFence>>,
    /// The limiter's key: Graph's quotas are per app per Entra tenant, so two tenant rows
    /// for the same app and directory share one.
    quota_key: String,
    /// e.g. `https://graph.microsoft.com` (no version, no trailing slash).
    graph_base: String,
    /// `scheme://host[:port]` of `graph_base`: `@odata.nextLink`s must stay on it, or the
    /// token would be sent elsewhere.
    origin: String,
    creds: Credentials,
    quota: Quota,
}

/// Reads of one tenant's Intune configuration. Has no way to write.
#[derive(Clone)]
pub struct ReadOnlyGraph {
    core: Arc<Core>,
}

/// Reads and writes of one tenant's Intune configuration. Dereferences to its
/// [`ReadOnlyGraph`] for the reads.
#[derive(Clone)]
pub struct GraphClient {
    reads: ReadOnlyGraph,
}

impl std::fmt::Debug for ReadOnlyGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyGraph")
            .field("tenant", &self.core.quota_key)
            .field("graph_base", &self.core.graph_base)
            .finish()
    }
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("tenant", &self.reads.core.quota_key)
            .field("graph_base", &self.reads.core.graph_base)
            .finish()
    }
}

impl std::ops::Deref for GraphClient {
    type Target = ReadOnlyGraph;

    fn deref(&self) -> &ReadOnlyGraph {
        &self.reads
    }
}

fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or_default();
            format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => url.to_ascii_lowercase(),
    }
}

impl GraphClient {
    /// The client of one tenant; it shares `shared`'s connections, tokens and limiter.
    pub fn new(tenant: &TenantConnection, shared: &GraphShared) -> Self {
        Self::fenced(tenant, shared, None)
    }

    /// [`GraphClient::new`], asking `fence` before every create.
    pub fn fenced(
        tenant: &TenantConnection,
        shared: &GraphShared,
        fence: Option<Arc<dyn WriteFence>>,
    ) -> Self {
        let graph_base = tenant
            .graph_base_url
            .trim()
            .trim_end_matches('/')
            .to_string();
        let creds = Credentials {
            login_base_url: tenant
                .login_base_url
                .trim()
                .trim_end_matches('/')
                .to_string(),
            entra_tenant_id: tenant.entra_tenant_id.clone(),
            client_id: tenant.client_id.clone(),
            credential: tenant.credential.clone(),
            scope: scope_for(&graph_base),
        };
        let quota = Quota::for_tenant(&tenant.quota, shared.options.default_quota);
        Self {
            reads: ReadOnlyGraph {
                core: Arc::new(Core {
                    shared: shared.clone(),
                    fence,
                    quota_key: crate::graph::limiter::quota_key(
                        &tenant.entra_tenant_id,
                        &tenant.client_id,
                    ),
                    origin: origin_of(&graph_base),
                    graph_base,
                    creds,
                    quota,
                }),
            },
        }
    }

    /// The read-only view, for previews.
    pub fn read_only(&self) -> ReadOnlyGraph {
        self.reads.clone()
    }

    fn core(&self) -> &Core {
        &self.reads.core
    }
}

fn malformed(contract: &Contract) -> GraphError {
    GraphError::new(ErrorKind::MalformedResponse).with_policy_type(contract.key)
}

impl Core {
    fn root(&self, version: ApiVersion) -> String {
        format!("{}/{}", self.graph_base, version.as_str())
    }

    fn url(&self, version: ApiVersion, path: &str) -> String {
        format!("{}/{}", self.root(version), path.trim_start_matches('/'))
    }

    /// The URL of object `id` (and of `tail` below it). A singleton is its collection path;
    /// a contained type's `{parentId}/{id}` is below its parent.
    fn item_url(&self, contract: &Contract, id: &str, tail: Option<&str>) -> String {
        let path = match (contract.shape, contract.locate(id)) {
            (Shape::Singleton, _) => contract.collection.to_string(),
            (_, Some((collection, own))) => format!("{collection}/{}", encode_segment(own)),
            (_, None) => format!("{}/{}", contract.collection, encode_segment(id)),
        };
        let mut url = self.url(contract.api_version, &path);
        if let Some(t) = tail {
            url.push('/');
            url.push_str(t);
        }
        url
    }
}

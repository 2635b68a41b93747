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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::error::{ErrorKind, GraphError};
use super::limiter::{Access, Limiter, Quota};
use super::normalize::{self, Normalized};
use super::payload::{self, encode_query, encode_segment, odata_string};
use super::registry::{ApiVersion, AssignMethod, Contract, Fetch, SubResource, UpdateMethod};
use super::retry::{RetryPolicy, parse_retry_after};
use super::token::{Credentials, TokenCache, scope_for};
use crate::metrics;
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
            retry: RetryPolicy {
                max_elapsed: Duration::from_secs(settings.retry_budget_secs),
                ..RetryPolicy::default()
            },
            batch_size: MAX_BATCH,
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
    pub fn from_settings(settings: &GraphSettings, limiter: Limiter) -> Result<Self, String> {
        let options = GraphOptions::from_settings(settings);
        let http = crate::http::client(options.request_timeout).map_err(|e| e.to_string())?;
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

struct Core {
    shared: GraphShared,
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
    /// The client of `tenant`, whose client secret the caller has decrypted
    /// (`store::tenants::client_secret`).
    pub fn new(
        tenant: &entity::tenants::Model,
        client_secret: SecretString,
        shared: &GraphShared,
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
            client_secret,
            scope: scope_for(&graph_base),
        };
        let quota = Quota::for_tenant(tenant, shared.options.default_quota);
        Self {
            reads: ReadOnlyGraph {
                core: Arc::new(Core {
                    shared: shared.clone(),
                    quota_key: format!(
                        "{}:{}",
                        tenant.entra_tenant_id.trim().to_ascii_lowercase(),
                        tenant.client_id.trim().to_ascii_lowercase()
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

    /// Creates `object` (a normalized payload or a raw object: read-only fields are stripped
    /// first) and returns what Graph answered, including the new `id`.
    pub async fn create(&self, contract: &Contract, object: &Value) -> Result<Value, GraphError> {
        let obj = writable(contract, object)?;
        let core = self.core();
        let (path, body) = payload::create_request(contract, &obj)?;
        let url = core.url(contract.api_version, &path);
        let created = core
            .execute(&Call::write(
                Method::POST,
                url,
                Some(&body),
                false,
                contract,
            ))
            .await?
            .body;
        let Some(id) = created
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(malformed(contract));
        };
        if contract.create == super::registry::CreateMethod::PostThenDefinitionValues {
            let desired = sub_items(&obj, "definitionValues");
            let root = core.root(contract.api_version);
            if let Some(body) = payload::definition_values_update(contract, &root, &desired, &[])? {
                let url = core.item_url(contract, &id, Some("updateDefinitionValues"));
                core.execute(&Call::write(
                    Method::POST,
                    url,
                    Some(&body),
                    false,
                    contract,
                ))
                .await?;
            }
        }
        Ok(created)
    }

    /// Makes the object `id` equal to `object` by the contract's update method.
    pub async fn update(
        &self,
        contract: &Contract,
        id: &str,
        object: &Value,
    ) -> Result<(), GraphError> {
        let obj = writable(contract, object)?;
        let core = self.core();
        let body = payload::update_body(contract, &obj);
        let url = core.item_url(contract, id, None);
        let method = if contract.update == UpdateMethod::Put {
            Method::PUT
        } else {
            Method::PATCH
        };
        core.execute(&Call::write(method, url, Some(&body), true, contract))
            .await?;
        match contract.update {
            UpdateMethod::Patch | UpdateMethod::Put => {}
            UpdateMethod::PatchThenAction {
                sub_resource,
                action,
                param,
            } => {
                let body = payload::action_body(&obj, sub_resource, param);
                let url = core.item_url(contract, id, Some(action));
                core.execute(&Call::write(Method::POST, url, Some(&body), true, contract))
                    .await?;
            }
            UpdateMethod::PatchThenDefinitionValues => {
                let current = self.reads.get(contract, id).await?;
                let current = current
                    .as_object()
                    .map(|m| sub_items(m, "definitionValues"))
                    .unwrap_or_default();
                let desired = sub_items(&obj, "definitionValues");
                let root = core.root(contract.api_version);
                if let Some(body) =
                    payload::definition_values_update(contract, &root, &desired, &current)?
                {
                    let url = core.item_url(contract, id, Some("updateDefinitionValues"));
                    core.execute(&Call::write(
                        Method::POST,
                        url,
                        Some(&body),
                        false,
                        contract,
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Replaces the object's assignments with `assignments` (an array, raw or normalized).
    pub async fn assign(
        &self,
        contract: &Contract,
        id: &str,
        assignments: &Value,
    ) -> Result<(), GraphError> {
        let desired: Vec<Value> = match normalize::normalize_assignments(assignments.clone()) {
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        let Some(spec) = contract.assignments else {
            return if desired.is_empty() {
                Ok(())
            } else {
                Err(GraphError::new(ErrorKind::InvalidObject).with_policy_type(contract.key))
            };
        };
        let core = self.core();
        match spec.method {
            AssignMethod::Action { payload_key } => {
                let body = payload::assign_body(payload_key, &desired);
                let url = core.item_url(contract, id, Some("assign"));
                core.execute(&Call::write(Method::POST, url, Some(&body), true, contract))
                    .await?;
            }
            AssignMethod::PostEach => {
                let url = core.item_url(contract, id, Some("assignments"));
                let current = core.get_pages(url.clone(), contract).await?;
                let target_of =
                    |a: &Value| normalize::canonical_json(a.get("target").unwrap_or(&Value::Null));
                let wanted: Vec<String> = desired.iter().map(target_of).collect();
                let mut present = Vec::new();
                for a in &current {
                    let t = target_of(&normalize::normalize_assignments(json!([a]))[0]);
                    let aid = a.get("id").and_then(Value::as_str).unwrap_or_default();
                    if wanted.contains(&t) {
                        present.push(t);
                    } else if !aid.is_empty() {
                        let del = format!("{url}/{}", encode_segment(aid));
                        match core
                            .execute(&Call::write(Method::DELETE, del, None, true, contract))
                            .await
                        {
                            Ok(_) => {}
                            Err(e) if e.is_not_found() => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                for (a, t) in desired.iter().zip(&wanted) {
                    if present.contains(t) {
                        continue;
                    }
                    match core
                        .execute(&Call::write(
                            Method::POST,
                            url.clone(),
                            Some(a),
                            false,
                            contract,
                        ))
                        .await
                    {
                        Ok(_) => {}
                        // Already there (a retried run): the state we want.
                        Err(e) if e.kind() == ErrorKind::Conflict => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the object `id`.
    pub async fn delete(&self, contract: &Contract, id: &str) -> Result<(), GraphError> {
        let core = self.core();
        let url = core.item_url(contract, id, None);
        core.execute(&Call::write(Method::DELETE, url, None, true, contract))
            .await?;
        Ok(())
    }
}

impl ReadOnlyGraph {
    /// The key this client's requests count against in the limiter
    /// (`{entra tenant}:{client id}`).
    pub fn quota_key(&self) -> &str {
        &self.core.quota_key
    }

    /// Every object of the type, whole: all pages, per-item content, sub-resources and
    /// assignments inline (the shape of graph-sim's export).
    pub async fn list(&self, contract: &Contract) -> Result<Vec<Value>, GraphError> {
        self.core.list_where(contract, None).await
    }

    /// [`list`](Self::list), normalized.
    pub async fn list_normalized(
        &self,
        contract: &Contract,
    ) -> Result<Vec<Normalized>, GraphError> {
        Ok(self
            .list(contract)
            .await?
            .iter()
            .map(|o| normalize::normalize(contract, o))
            .collect())
    }

    /// One object, whole.
    pub async fn get(&self, contract: &Contract, id: &str) -> Result<Value, GraphError> {
        let core = &self.core;
        let mut url = core.item_url(contract, id, None);
        if let Some(expand) = contract.expand() {
            url.push_str(&format!("?$expand={}", encode_query(&expand)));
        }
        let body = core.execute(&Call::read(url, 1, contract)).await?.body;
        let Value::Object(obj) = body else {
            return Err(malformed(contract));
        };
        let mut objects = vec![obj];
        core.complete(contract, &mut objects).await?;
        Ok(Value::Object(objects.pop().unwrap_or_default()))
    }

    /// Objects whose match key equals `name` (Graph compares case-insensitively), whole.
    /// Tries `$filter` first and filters a full listing where Graph refuses the filter.
    pub async fn find_by_match_key(
        &self,
        contract: &Contract,
        name: &str,
    ) -> Result<Vec<Value>, GraphError> {
        let filter = format!("{} eq {}", contract.match_key, odata_string(name));
        let found = match self.core.list_where(contract, Some(&filter)).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::BadRequest => self.list(contract).await?,
            Err(e) => return Err(e),
        };
        Ok(found
            .into_iter()
            .filter(|o| {
                o.get(contract.match_key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase() == name.to_lowercase())
            })
            .collect())
    }

    /// [`find_by_match_key`](Self::find_by_match_key) narrowed to one `@odata.type` when
    /// given (objects of another derived type are other policies that share a name).
    pub async fn find_matches(
        &self,
        contract: &Contract,
        name: &str,
        odata_type: Option<&str>,
    ) -> Result<Vec<Value>, GraphError> {
        let found = self.find_by_match_key(contract, name).await?;
        Ok(match odata_type {
            Some(t) => found
                .into_iter()
                .filter(|o| {
                    o.get("@odata.type")
                        .and_then(Value::as_str)
                        .is_none_or(|ot| ot.eq_ignore_ascii_case(t))
                })
                .collect(),
            None => found,
        })
    }
}

/// A write's input as a map, read-only fields stripped.
fn writable(contract: &Contract, object: &Value) -> Result<Map<String, Value>, GraphError> {
    match normalize::strip(contract, object) {
        Value::Object(mut m) => {
            m.remove("assignments");
            Ok(m)
        }
        _ => Err(GraphError::new(ErrorKind::InvalidObject).with_policy_type(contract.key)),
    }
}

fn sub_items(obj: &Map<String, Value>, name: &str) -> Vec<Value> {
    obj.get(name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn malformed(contract: &Contract) -> GraphError {
    GraphError::new(ErrorKind::MalformedResponse).with_policy_type(contract.key)
}

/// One logical request.
struct Call<'a> {
    method: Method,
    url: String,
    body: Option<&'a Value>,
    access: Access,
    /// Safe to send twice (GET, PUT, PATCH, DELETE, replace-style actions).
    idempotent: bool,
    /// Quota units: a `$batch` costs its sub-requests.
    permits: u32,
    policy_type: &'static str,
}

impl<'a> Call<'a> {
    fn read(url: String, permits: u32, contract: &Contract) -> Self {
        Self {
            method: Method::GET,
            url,
            body: None,
            access: Access::Read,
            idempotent: true,
            permits,
            policy_type: contract.key,
        }
    }

    fn write(
        method: Method,
        url: String,
        body: Option<&'a Value>,
        idempotent: bool,
        contract: &Contract,
    ) -> Self {
        Self {
            method,
            url,
            body,
            access: Access::Write,
            idempotent,
            permits: 1,
            policy_type: contract.key,
        }
    }

    fn sent_once_only(&self) -> bool {
        self.access == Access::Write && !self.idempotent
    }
}

struct Answer {
    body: Value,
}

enum Attempt {
    Done(Answer),
    /// Retry after the policy's delay (or the error's `Retry-After`).
    Retry(GraphError),
    /// Graph refused the token: fetch a new one and try once more.
    StaleToken(SecretString, GraphError),
    Fail(GraphError),
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Core {
    fn root(&self, version: ApiVersion) -> String {
        format!("{}/{}", self.graph_base, version.as_str())
    }

    fn url(&self, version: ApiVersion, path: &str) -> String {
        format!("{}/{}", self.root(version), path.trim_start_matches('/'))
    }

    fn item_url(&self, contract: &Contract, id: &str, tail: Option<&str>) -> String {
        let mut url = self.url(
            contract.api_version,
            &format!("{}/{}", contract.collection, encode_segment(id)),
        );
        if let Some(t) = tail {
            url.push('/');
            url.push_str(t);
        }
        url
    }

    /// The list (optionally filtered), then per-item content and sub-resources.
    async fn list_where(
        &self,
        contract: &Contract,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, GraphError> {
        let mut query = Vec::new();
        if let Some(f) = filter {
            query.push(format!("$filter={}", encode_query(f)));
        }
        if !contract.per_item_get
            && let Some(expand) = contract.expand()
        {
            query.push(format!("$expand={}", encode_query(&expand)));
        }
        let mut url = self.url(contract.api_version, contract.collection);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let listed = self.get_pages(url, contract).await?;
        let mut objects: Vec<Map<String, Value>> = Vec::with_capacity(listed.len());
        if contract.per_item_get {
            let expand = contract
                .expand()
                .map(|e| format!("?$expand={}", encode_query(&e)))
                .unwrap_or_default();
            let mut paths = Vec::with_capacity(listed.len());
            for item in &listed {
                let id = object_id(item).ok_or_else(|| malformed(contract))?;
                paths.push(format!(
                    "{}/{}{expand}",
                    contract.collection,
                    encode_segment(&id)
                ));
            }
            for full in self.batch_get(contract, paths).await {
                match full {
                    Ok(Value::Object(m)) => objects.push(m),
                    Ok(_) => return Err(malformed(contract)),
                    // Deleted between the list and the GET: it is not there any more.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        } else {
            for item in listed {
                match item {
                    Value::Object(m) => objects.push(m),
                    _ => return Err(malformed(contract)),
                }
            }
        }
        self.complete(contract, &mut objects).await?;
        Ok(objects.into_iter().map(Value::Object).collect())
    }

    /// Adds the by-path sub-resources and assignments to `objects`.
    async fn complete(
        &self,
        contract: &Contract,
        objects: &mut [Map<String, Value>],
    ) -> Result<(), GraphError> {
        for sub in contract
            .sub_resources
            .iter()
            .filter(|s| s.fetch == Fetch::Path)
        {
            let parents = objects
                .iter_mut()
                .map(|o| (contract.collection.to_string(), o))
                .collect();
            self.fill_sub(contract, parents, sub).await?;
        }
        if let Some(a) = contract.assignments
            && a.fetch == Fetch::Path
        {
            const ASSIGNMENTS: SubResource = SubResource {
                name: "assignments",
                fetch: Fetch::Path,
                reference: false,
                write_inline: false,
                sort_key: None,
                strip: &[],
                children: &[],
            };
            let parents = objects
                .iter_mut()
                .map(|o| (contract.collection.to_string(), o))
                .collect();
            self.fill_sub(contract, parents, &ASSIGNMENTS).await?;
        }
        Ok(())
    }

    /// Fetches `sub` of every parent (first pages batched, further pages followed), then
    /// its own by-path children. Each parent comes with the path of the collection it is in.
    fn fill_sub<'a>(
        &'a self,
        contract: &'a Contract,
        parents: Vec<(String, &'a mut Map<String, Value>)>,
        sub: &'a SubResource,
    ) -> BoxFuture<'a, Result<(), GraphError>> {
        Box::pin(async move {
            let query = sub
                .path_query()
                .map(|q| format!("?{}", encode_query(&q)))
                .unwrap_or_default();
            let mut paths = Vec::with_capacity(parents.len());
            let mut own_paths = Vec::with_capacity(parents.len());
            for (collection, parent) in &parents {
                let id = parent
                    .get("id")
                    .and_then(id_value)
                    .ok_or_else(|| malformed(contract))?;
                let own = format!("{collection}/{}/{}", encode_segment(&id), sub.name);
                paths.push(format!("{own}{query}"));
                own_paths.push(own);
            }
            let firsts = self.batch_get(contract, paths).await;
            let mut children: Vec<(String, Map<String, Value>)> = Vec::new();
            let mut owners: Vec<(usize, usize)> = Vec::new(); // (parent index, item count)
            for (i, first) in firsts.into_iter().enumerate() {
                let (mut items, next) = page_parts(first?, &self.origin, contract)?;
                if let Some(next) = next {
                    items.extend(self.get_pages(next, contract).await?);
                }
                owners.push((i, items.len()));
                for item in items {
                    match item {
                        Value::Object(m) => children.push((own_paths[i].clone(), m)),
                        _ => return Err(malformed(contract)),
                    }
                }
            }
            for child in sub.children.iter().filter(|c| c.fetch == Fetch::Path) {
                let parents = children.iter_mut().map(|(p, m)| (p.clone(), m)).collect();
                self.fill_sub(contract, parents, child).await?;
            }
            let mut children = children.into_iter().map(|(_, m)| Value::Object(m));
            let mut parents = parents;
            for (i, count) in owners {
                let items: Vec<Value> = children.by_ref().take(count).collect();
                parents[i]
                    .1
                    .insert(sub.name.to_string(), Value::Array(items));
            }
            Ok(())
        })
    }

    /// GETs `paths` (relative to the API version), `$batch`ed by up to 20, in order. Failed
    /// sub-requests that are worth retrying are retried one by one with the full retry
    /// logic; a `$batch` Graph refuses falls back to single GETs.
    async fn batch_get(
        &self,
        contract: &Contract,
        paths: Vec<String>,
    ) -> Vec<Result<Value, GraphError>> {
        let size = self.shared.options.batch_size;
        let mut out: Vec<Result<Value, GraphError>> = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(size) {
            if chunk.len() == 1 {
                out.push(self.get_one(&chunk[0], contract).await);
                continue;
            }
            let requests: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, p)| json!({"id": i.to_string(), "method": "GET", "url": format!("/{p}")}))
                .collect();
            let body = json!({ "requests": requests });
            let url = self.url(contract.api_version, "$batch");
            let call = Call {
                method: Method::POST,
                url,
                body: Some(&body),
                access: Access::Read,
                idempotent: true,
                permits: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
                policy_type: contract.key,
            };
            let answer = match self.execute(&call).await {
                Ok(a) => a,
                Err(e) if matches!(e.status(), Some(400 | 404 | 405 | 501)) => {
                    for p in chunk {
                        out.push(self.get_one(p, contract).await);
                    }
                    continue;
                }
                Err(e) => {
                    out.extend(chunk.iter().map(|_| Err(e.clone())));
                    continue;
                }
            };
            let responses = answer
                .body
                .get("responses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, p) in chunk.iter().enumerate() {
                let sub = responses
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(i.to_string().as_str()));
                out.push(self.batch_item(sub, p, contract).await);
            }
        }
        out
    }

    async fn batch_item(
        &self,
        sub: Option<&Value>,
        path: &str,
        contract: &Contract,
    ) -> Result<Value, GraphError> {
        let Some(sub) = sub else {
            return self.get_one(path, contract).await;
        };
        let status = sub
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0);
        let header = |name: &str| {
            sub.get("headers").and_then(Value::as_object).and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
            })
        };
        if (200..300).contains(&status) {
            return match sub.get("body") {
                Some(b @ Value::Object(_)) => Ok(b.clone()),
                _ => self.get_one(path, contract).await,
            };
        }
        if status == 429 {
            self.shared
                .counters
                .throttled
                .fetch_add(1, Ordering::Relaxed);
            metrics::graph_throttled();
        }
        if matches!(status, 429 | 500 | 502 | 503 | 504) || status == 0 {
            if let Some(ra) =
                header("Retry-After").and_then(|v| parse_retry_after(v, SystemTime::now()))
            {
                self.shared.limiter.block_for(&self.quota_key, ra).await;
            }
            return self.get_one(path, contract).await;
        }
        let body = sub
            .get("body")
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default();
        Err(
            GraphError::from_response(status, header("request-id"), &body)
                .with_policy_type(contract.key),
        )
    }

    async fn get_one(&self, path: &str, contract: &Contract) -> Result<Value, GraphError> {
        let url = self.url(contract.api_version, path);
        Ok(self.execute(&Call::read(url, 1, contract)).await?.body)
    }

    /// Every item of a collection, following `@odata.nextLink`.
    async fn get_pages(
        &self,
        first: String,
        contract: &Contract,
    ) -> Result<Vec<Value>, GraphError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut seen = 0usize;
        while let Some(url) = next.take() {
            seen += 1;
            if seen > 100_000 {
                return Err(malformed(contract));
            }
            let body = self
                .execute(&Call::read(url.clone(), 1, contract))
                .await?
                .body;
            let (items, n) = page_parts(body, &self.origin, contract)?;
            if n.as_deref() == Some(url.as_str()) {
                return Err(malformed(contract));
            }
            out.extend(items);
            next = n;
        }
        Ok(out)
    }

    /// Runs one call with admission, token and the retry budget.
    async fn execute(&self, call: &Call<'_>) -> Result<Answer, GraphError> {
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
                return Attempt::Done(Answer { body: Value::Null });
            }
            return match serde_json::from_slice::<Value>(&bytes) {
                Ok(body) => Attempt::Done(Answer { body }),
                // An idempotent write succeeded; its body tells us nothing we need.
                Err(_) if call.access == Access::Write && call.idempotent => {
                    Attempt::Done(Answer { body: Value::Null })
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

fn id_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn object_id(v: &Value) -> Option<String> {
    v.get("id").and_then(id_value)
}

/// The items and `@odata.nextLink` of one page. A next link to another origin is refused.
fn page_parts(
    body: Value,
    origin: &str,
    contract: &Contract,
) -> Result<(Vec<Value>, Option<String>), GraphError> {
    let Value::Object(mut m) = body else {
        return Err(malformed(contract));
    };
    let items = match m.remove("value") {
        Some(Value::Array(a)) => a,
        _ => return Err(malformed(contract)),
    };
    let next = match m.remove("@odata.nextLink") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if origin_of(&s) == origin => Some(s),
        Some(_) => return Err(malformed(contract)),
    };
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::registry::get;

    #[test]
    fn next_links_must_stay_on_the_graph_origin() {
        let c = get("deviceConfigurations").unwrap();
        let origin = origin_of("http://127.0.0.1:8090");
        let ok =
            json!({"value": [1], "@odata.nextLink": "http://127.0.0.1:8090/beta/x?$skiptoken=a"});
        assert!(page_parts(ok, &origin, c).unwrap().1.is_some());
        let evil = json!({"value": [], "@odata.nextLink": "http://evil.example/beta/x"});
        assert_eq!(
            page_parts(evil, &origin, c).unwrap_err().code(),
            "malformed_response"
        );
        assert!(page_parts(json!({"value": {}}), &origin, c).is_err());
        assert_eq!(
            page_parts(json!({"value": []}), &origin, c).unwrap().1,
            None
        );
    }
}

//! Rate limiting toward Graph, per tenant: a governor limiter in each worker process smooths
//! requests, and a Redis-held sliding-window log makes the tenant's quota hold across the
//! whole worker fleet. A 429/503 `Retry-After` sets a Redis "blocked until" key so every
//! worker pauses that tenant, not just the task that was told.
//!
//! Keys (all under the deployment prefix; `{tenant}` is the client's quota key,
//! `{entra tenant id}:{client id}`, since Graph counts per app per directory):
//! - `{prefix}:quota:{tenant}:reads:{window_ms}` — sorted set, one member per admitted
//!   request (every request counts as a read: Intune's limit covers all requests);
//! - `{prefix}:quota:{tenant}:writes:{window_ms}` — one member per admitted write;
//! - `{prefix}:quota:{tenant}:blocked` — epoch milliseconds (Redis clock) until which the
//!   tenant is paused;
//! - `{prefix}:throttled:{epoch hour}` — hash of `{tenant}` → 429 answers received in that
//!   hour, fleet-wide (kept two hours; the operations page reads it).
//!
//! A sliding log, rather than a fixed window, keeps every interval of one window length
//! under the quota, so our windows need not line up with Graph's. Redis' own clock is the
//! only clock, so workers on machines with skewed clocks agree. If Redis cannot be reached
//! the limiter falls back to process-local limits at [`FALLBACK_SHARE`] of the quota (a few
//! workers together then stay under it), tries Redis again after [`FALLBACK_RETRY`], and
//! says so in the log; Graph's own 429 handling still protects the tenant.
//!
//! **Files.** The limiter lives here; the quota types it is given in `quota.rs`; the Redis
//! scripts behind the fleet-wide log and pause in `scripts.rs`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, RateLimiter};
use rand::Rng;

use crate::broker::Broker;

mod quota;
mod scripts;

pub use quota::{Access, LimiterOptions, Quota, QuotaOverrides};
use scripts::{ACQUIRE_LUA, BLOCK_LUA, BLOCKED_LUA};

type LocalKey = (String, Access, u32, u64);

/// Share of the quota one process uses while the fleet-wide log in Redis is unreachable.
pub const FALLBACK_SHARE: f64 = 0.25;
/// How long the limiter stays on its local fallback before it asks Redis again.
pub const FALLBACK_RETRY: Duration = Duration::from_secs(5);

struct Inner {
    redis: Option<Broker>,
    options: LimiterOptions,
    local: Mutex<HashMap<LocalKey, Arc<DefaultDirectRateLimiter>>>,
    blocked: Mutex<HashMap<String, Instant>>,
    waited_nanos: AtomicU64,
    warned: AtomicBool,
    /// While set and in the future, Redis is not asked (it just failed).
    fleet_down_until: Mutex<Option<Instant>>,
    acquire: redis::Script,
    block: redis::Script,
    blocked_script: redis::Script,
}

/// The per-process limiter; clone freely (clones share state).
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("fleet_wide", &self.inner.redis.is_some())
            .field("margin", &self.inner.options.margin)
            .finish()
    }
}

impl Limiter {
    /// A limiter whose quotas hold across every process sharing `broker`'s Redis and prefix.
    pub fn fleet(broker: Broker, options: LimiterOptions) -> Self {
        Self::build(Some(broker), options)
    }

    /// A limiter for this process alone (tools, tests without Redis).
    pub fn local(options: LimiterOptions) -> Self {
        Self::build(None, options)
    }

    fn build(redis: Option<Broker>, options: LimiterOptions) -> Self {
        let margin = if options.margin.is_finite() && options.margin > 0.0 {
            options.margin.min(1.0)
        } else {
            LimiterOptions::default().margin
        };
        Self {
            inner: Arc::new(Inner {
                redis,
                options: LimiterOptions { margin },
                local: Mutex::new(HashMap::new()),
                blocked: Mutex::new(HashMap::new()),
                waited_nanos: AtomicU64::new(0),
                warned: AtomicBool::new(false),
                fleet_down_until: Mutex::new(None),
                acquire: redis::Script::new(ACQUIRE_LUA),
                block: redis::Script::new(BLOCK_LUA),
                blocked_script: redis::Script::new(BLOCKED_LUA),
            }),
        }
    }

    /// Total time callers of this limiter have spent waiting for admission.
    pub fn total_wait(&self) -> Duration {
        Duration::from_nanos(self.inner.waited_nanos.load(Ordering::Relaxed))
    }

    /// Waits until `n` requests (a `$batch` counts its sub-requests) of `access` may be sent
    /// to `tenant`, and returns how long that took.
    pub async fn acquire(&self, tenant: &str, quota: &Quota, access: Access, n: u32) -> Duration {
        let start = Instant::now();
        let (reads, writes) = quota.effective(self.inner.options.margin);
        let limit = match access {
            Access::Read => reads,
            Access::Write => writes,
        };
        let n = n.clamp(1, limit);
        self.wait_local_block(tenant).await;
        // With the fleet-wide log reachable, it alone paces: a short operation goes out at
        // once and a long one at the quota. Without it, this process smooths its own
        // requests so that no window of Graph's sees more than the quota from it.
        if self.inner.redis.is_none() || self.fleet_down() {
            // A write is a request too: it passes the reads limiter as well.
            self.wait_local_rate(tenant, quota, Access::Read, reads, quota.reads, n)
                .await;
            if access == Access::Write {
                self.wait_local_rate(tenant, quota, access, limit, quota.writes, n)
                    .await;
            }
        }
        if let Some(redis) = &self.inner.redis {
            let mut fleet_ok = !self.fleet_down();
            while fleet_ok {
                match self
                    .try_fleet(redis, tenant, quota, reads, writes, access, n)
                    .await
                {
                    Ok(0) => {
                        if self.inner.warned.swap(false, Ordering::Relaxed) {
                            tracing::info!("Graph quota in Redis reachable again");
                        }
                        break;
                    }
                    Ok(ms) => tokio::time::sleep(with_jitter(Duration::from_millis(ms))).await,
                    Err(e) => {
                        if !self.inner.warned.swap(true, Ordering::Relaxed) {
                            tracing::warn!(error = %e, share = FALLBACK_SHARE, "Graph quota in Redis unavailable; limiting per process");
                        }
                        *self
                            .inner
                            .fleet_down_until
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) =
                            Some(Instant::now() + FALLBACK_RETRY);
                        fleet_ok = false;
                    }
                }
            }
            if !fleet_ok {
                // Other workers cannot see what this one sends: keep to a share of the quota.
                let share = |q: u32| ((f64::from(q) * FALLBACK_SHARE).floor() as u32).max(1);
                self.wait_local_rate(
                    tenant,
                    quota,
                    Access::Read,
                    share(reads),
                    share(quota.reads),
                    n.min(share(reads)),
                )
                .await;
                if access == Access::Write {
                    self.wait_local_rate(
                        tenant,
                        quota,
                        access,
                        share(writes),
                        share(quota.writes),
                        n.min(share(writes)),
                    )
                    .await;
                }
            }
        }
        let waited = start.elapsed();
        self.inner.waited_nanos.fetch_add(
            u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        waited
    }

    /// True while Redis failed within the last [`FALLBACK_RETRY`].
    fn fleet_down(&self) -> bool {
        let until = self
            .inner
            .fleet_down_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    /// Counts a 429 from Graph for `tenant` in this hour's fleet-wide tally.
    pub async fn note_throttled(&self, tenant: &str) {
        let Some(redis) = self.inner.redis.as_ref().filter(|_| !self.fleet_down()) else {
            return;
        };
        let hour = chrono::Utc::now().timestamp() / 3600;
        let key = redis.key(&format!("throttled:{hour}"));
        let mut conn = redis.connection();
        let r: redis::RedisResult<()> = redis::pipe()
            .hincr(&key, tenant, 1)
            .ignore()
            .expire(&key, 2 * 3600 + 60)
            .ignore()
            .query_async(&mut conn)
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "could not count a 429 in Redis");
        }
    }

    /// Pauses `tenant` for `duration` in this process and, through Redis, fleet-wide.
    pub async fn block_for(&self, tenant: &str, duration: Duration) {
        let until = Instant::now() + duration;
        {
            let mut blocked = self.inner.blocked.lock().unwrap_or_else(|e| e.into_inner());
            let entry = blocked.entry(tenant.to_string()).or_insert(until);
            if *entry < until {
                *entry = until;
            }
        }
        if let Some(redis) = self.inner.redis.as_ref().filter(|_| !self.fleet_down()) {
            let ms = u64::try_from(duration.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let mut conn = redis.connection();
            let r: redis::RedisResult<i64> = self
                .inner
                .block
                .key(blocked_key(redis, tenant))
                .arg(ms)
                .invoke_async(&mut conn)
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not record a Graph pause in Redis");
            }
        }
    }

    /// How long `tenant` stays paused fleet-wide (or in this process without Redis).
    pub async fn blocked_for(&self, tenant: &str) -> Option<Duration> {
        let local = self.local_block(tenant);
        let fleet = match self.inner.redis.as_ref().filter(|_| !self.fleet_down()) {
            Some(redis) => {
                let mut conn = redis.connection();
                let ms: i64 = self
                    .inner
                    .blocked_script
                    .key(blocked_key(redis, tenant))
                    .invoke_async(&mut conn)
                    .await
                    .unwrap_or(0);
                (ms > 0).then(|| Duration::from_millis(ms.unsigned_abs()))
            }
            None => None,
        };
        local.max(fleet)
    }

    fn local_block(&self, tenant: &str) -> Option<Duration> {
        let blocked = self.inner.blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked
            .get(tenant)
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    async fn wait_local_block(&self, tenant: &str) {
        if let Some(d) = self.local_block(tenant) {
            tokio::time::sleep(with_jitter(d)).await;
        }
    }

    /// Governor smoothing: this process alone sends at most `limit` per window, evenly
    /// spaced, with a burst no larger than the quota's headroom above `limit` — so even
    /// without Redis no window of Graph's sees more than the quota from one process.
    async fn wait_local_rate(
        &self,
        tenant: &str,
        quota: &Quota,
        access: Access,
        limit: u32,
        raw_quota: u32,
        n: u32,
    ) {
        let burst = raw_quota.saturating_sub(limit).clamp(1, limit.max(1));
        let limiter = {
            let mut local = self.inner.local.lock().unwrap_or_else(|e| e.into_inner());
            local
                .entry((tenant.to_string(), access, limit, quota.window_ms()))
                .or_insert_with(|| Arc::new(governor_for(quota.window, limit, burst)))
                .clone()
        };
        let clock = DefaultClock::default();
        let mut remaining = n;
        while remaining > 0 {
            let step = remaining.min(burst);
            let Some(cells) = NonZeroU32::new(step) else {
                return;
            };
            match limiter.check_n(cells) {
                Ok(Ok(())) => remaining -= step,
                Ok(Err(not_until)) => {
                    tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
                }
                Err(_) => return,
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn try_fleet(
        &self,
        redis: &Broker,
        tenant: &str,
        quota: &Quota,
        reads: u32,
        writes: u32,
        access: Access,
        n: u32,
    ) -> redis::RedisResult<u64> {
        let window = quota.window_ms();
        let mut conn = redis.connection();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let wait: i64 = self
            .inner
            .acquire
            .key(redis.key(&format!("quota:{tenant}:reads:{window}")))
            .key(redis.key(&format!("quota:{tenant}:writes:{window}")))
            .key(blocked_key(redis, tenant))
            .arg(window)
            .arg(reads)
            .arg(writes)
            .arg(n)
            .arg(if access == Access::Write { "1" } else { "0" })
            .arg(token)
            .invoke_async(&mut conn)
            .await?;
        Ok(wait.max(0).unsigned_abs())
    }
}

/// What the fleet knows about Graph throttling: 429s per tenant quota key in the current
/// and the previous hour, and how long each tenant that is paused now stays paused.
#[derive(Debug, Default, Clone)]
pub struct Throttling {
    pub throttled: HashMap<String, u64>,
    pub paused: HashMap<String, Duration>,
}

/// Reads [`Throttling`] for the given quota keys (`{entra tenant id}:{client id}`).
pub async fn throttling(redis: &Broker, tenants: &[String]) -> redis::RedisResult<Throttling> {
    let mut conn = redis.connection();
    let hour = chrono::Utc::now().timestamp() / 3600;
    let mut out = Throttling::default();
    for h in [hour - 1, hour] {
        let counts: HashMap<String, u64> = redis::cmd("HGETALL")
            .arg(redis.key(&format!("throttled:{h}")))
            .query_async(&mut conn)
            .await?;
        for (tenant, n) in counts {
            *out.throttled.entry(tenant).or_default() += n;
        }
    }
    if tenants.is_empty() {
        return Ok(out);
    }
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut conn).await?;
    let now_ms = secs * 1000 + micros / 1000;
    let keys: Vec<String> = tenants.iter().map(|t| blocked_key(redis, t)).collect();
    let until: Vec<Option<u64>> = redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?;
    for (tenant, until) in tenants.iter().zip(until) {
        if let Some(until) = until.filter(|u| *u > now_ms) {
            out.paused
                .insert(tenant.clone(), Duration::from_millis(until - now_ms));
        }
    }
    Ok(out)
}

/// The quota key of a tenant's app registration: Graph counts per app per directory.
pub fn quota_key(entra_tenant_id: &str, client_id: &str) -> String {
    format!(
        "{}:{}",
        entra_tenant_id.trim().to_ascii_lowercase(),
        client_id.trim().to_ascii_lowercase()
    )
}

fn blocked_key(redis: &Broker, tenant: &str) -> String {
    redis.key(&format!("quota:{tenant}:blocked"))
}

/// `limit` per `window`, evenly spaced, with `burst`.
fn governor_for(window: Duration, limit: u32, burst: u32) -> DefaultDirectRateLimiter {
    let period = (window / limit.max(1)).max(Duration::from_nanos(1));
    let quota = governor::Quota::with_period(period)
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
    RateLimiter::direct(quota)
}

/// Up to 10 % (at most 50 ms) extra, so paused workers do not all return at one instant.
/// `d` and up to 5 % (at most 5 ms) more, so waiters of one tenant do not all ask again at
/// the same instant; small enough not to leave the quota unused.
fn with_jitter(d: Duration) -> Duration {
    let max = (d / 20).min(Duration::from_millis(5));
    let extra = rand::thread_rng().gen_range(0..=u64::try_from(max.as_micros()).unwrap_or(0));
    d + Duration::from_micros(extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RedisSettings;
    use secrecy::SecretString;

    #[tokio::test]
    async fn local_limiter_spaces_requests_beyond_the_burst() {
        let limiter = Limiter::local(LimiterOptions { margin: 0.8 });
        // 16 of 20 per 400 ms: a burst of 4, then one every 25 ms.
        let quota = Quota {
            reads: 20,
            writes: 5,
            window: Duration::from_millis(400),
        };
        let start = Instant::now();
        for _ in 0..14 {
            limiter.acquire("t", &quota, Access::Read, 1).await;
        }
        // 10 beyond the burst at 25 ms each.
        assert!(
            start.elapsed() >= Duration::from_millis(225),
            "{:?}",
            start.elapsed()
        );
        assert!(limiter.total_wait() >= Duration::from_millis(200));
        // A $batch larger than the burst is admitted in steps, not refused or waved through.
        let t = Instant::now();
        limiter.acquire("t", &quota, Access::Read, 12).await;
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test]
    async fn local_block_pauses_the_tenant_only() {
        let limiter = Limiter::local(LimiterOptions::default());
        limiter.block_for("a", Duration::from_millis(300)).await;
        assert!(limiter.blocked_for("a").await.is_some());
        assert!(limiter.blocked_for("b").await.is_none());
        let q = Quota::DOCUMENTED;
        let t = Instant::now();
        limiter.acquire("b", &q, Access::Read, 1).await;
        assert!(t.elapsed() < Duration::from_millis(200));
        limiter.acquire("a", &q, Access::Read, 1).await;
        assert!(t.elapsed() >= Duration::from_millis(250));
    }

    async fn broker(prefix: &str) -> Option<Broker> {
        let Ok(url) = std::env::var("PV_TEST_REDIS_URL") else {
            println!("skipped: PV_TEST_REDIS_URL is not set");
            return None;
        };
        let settings = RedisSettings {
            url: SecretString::from(url),
            key_prefix: prefix.to_string(),
            connect_timeout_secs: 5,
        };
        Some(
            Broker::connect(&settings)
                .await
                .expect("Redis at PV_TEST_REDIS_URL"),
        )
    }

    fn test_prefix(name: &str) -> String {
        format!("pvtest-graph-{name}-{}", uuid::Uuid::new_v4().simple())
    }

    /// Two workers (two limiters, two connections) sharing one Redis never admit more than
    /// the quota in any window.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fleet_quota_holds_across_two_limiters() {
        let prefix = test_prefix("quota");
        let (Some(a), Some(b)) = (broker(&prefix).await, broker(&prefix).await) else {
            return;
        };
        let cleanup = a.clone();
        let quota = Quota {
            reads: 10,
            writes: 4,
            window: Duration::from_millis(1000),
        };
        let limiters = [
            Limiter::fleet(a, LimiterOptions { margin: 1.0 }),
            Limiter::fleet(b, LimiterOptions { margin: 1.0 }),
        ];
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let limiter = limiters[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                let mut admitted = Vec::new();
                for j in 0..5 {
                    let access = if (i + j) % 4 == 0 {
                        Access::Write
                    } else {
                        Access::Read
                    };
                    limiter.acquire("tenant-1", &quota, access, 1).await;
                    admitted.push((Instant::now(), access));
                }
                admitted
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort_by_key(|(t, _)| *t);
        assert_eq!(all.len(), 40);
        // Admission happens at Redis time; allow the round trip as slack on our clock.
        let span = Duration::from_millis(900);
        for (i, (t0, _)) in all.iter().enumerate() {
            let in_window: Vec<_> = all[i..]
                .iter()
                .take_while(|(t, _)| *t - *t0 < span)
                .collect();
            assert!(
                in_window.len() <= 10,
                "{} requests within one window",
                in_window.len()
            );
            let writes = in_window
                .iter()
                .filter(|(_, a)| *a == Access::Write)
                .count();
            assert!(writes <= 4, "{writes} writes within one window");
        }
        // 40 requests at 10 per second need at least three full windows.
        assert!(
            start.elapsed() >= Duration::from_millis(2900),
            "{:?}",
            start.elapsed()
        );
        cleanup.delete_namespace().await.unwrap();
    }

    #[tokio::test]
    async fn a_fleet_block_pauses_every_limiter() {
        let prefix = test_prefix("block");
        let (Some(a), Some(b)) = (broker(&prefix).await, broker(&prefix).await) else {
            return;
        };
        let cleanup = a.clone();
        let first = Limiter::fleet(a, LimiterOptions::default());
        let second = Limiter::fleet(b, LimiterOptions::default());
        first
            .block_for("tenant-1", Duration::from_millis(700))
            .await;
        assert!(second.blocked_for("tenant-1").await.is_some());
        assert!(second.blocked_for("tenant-2").await.is_none());
        let q = Quota::DOCUMENTED;
        let waited = second.acquire("tenant-1", &q, Access::Read, 1).await;
        assert!(waited >= Duration::from_millis(600), "{waited:?}");
        let waited = second.acquire("tenant-2", &q, Access::Read, 1).await;
        assert!(waited < Duration::from_millis(400), "{waited:?}");
        // A shorter block never shortens a longer one.
        first.block_for("tenant-3", Duration::from_secs(30)).await;
        first.block_for("tenant-3", Duration::from_millis(1)).await;
        assert!(second.blocked_for("tenant-3").await.unwrap() > Duration::from_secs(20));
        cleanup.delete_namespace().await.unwrap();
    }
}

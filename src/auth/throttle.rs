//! Login throttling: sign-in attempts counted per account and per client address in Redis
//! (fixed windows that start at the first failure), shared by every web process.
//!
//! An attempt is counted atomically *before* its password is checked, and a success takes it
//! back, so a burst of parallel guesses gets no more password checks than the limit allows.
//! Without Redis the same limits are counted in the process, so sign-in keeps working.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::{RedisResult, Script};

use super::token;
use crate::broker::Broker;
use crate::settings::SecuritySettings;

/// KEYS: account counter, address counter. ARGV: window secs, account limit, address limit.
/// Returns 0 when the attempt may go ahead (and counts it), else the seconds to wait.
const BEGIN_LUA: &str = r"
local account = tonumber(redis.call('GET', KEYS[1]) or '0')
local address = tonumber(redis.call('GET', KEYS[2]) or '0')
local window = tonumber(ARGV[1])
local wait = 0
if account >= tonumber(ARGV[2]) then
  wait = math.max(wait, redis.call('TTL', KEYS[1]))
end
if address >= tonumber(ARGV[3]) then
  wait = math.max(wait, redis.call('TTL', KEYS[2]))
end
if account >= tonumber(ARGV[2]) or address >= tonumber(ARGV[3]) then
  if wait < 1 then wait = window end
  return wait
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    redis.call('EXPIRE', key, window)
  end
end
return 0
";

/// KEYS: account counter, address counter. A success clears the account's failures and
/// takes its own attempt back from the address.
const SUCCEED_LUA: &str = r"
redis.call('DEL', KEYS[1])
local address = tonumber(redis.call('GET', KEYS[2]) or '0')
if address > 0 then
  redis.call('DECR', KEYS[2])
end
return 0
";

/// Counts failed sign-ins in Redis, so the limits hold across every web process; while Redis
/// is unreachable, in this process (the same limits, counted per process), so sign-in keeps
/// working without Redis and is still throttled.
#[derive(Clone)]
pub struct LoginThrottle {
    broker: Broker,
    per_account: u32,
    per_address: u32,
    window_secs: u64,
    scripts: Arc<(Script, Script)>,
    local: Arc<Mutex<HashMap<String, LocalCount>>>,
}

/// A failure counter of the in-process fallback: failures since `since`.
#[derive(Debug, Clone, Copy)]
struct LocalCount {
    failures: u32,
    since: Instant,
}

/// Whether a sign-in may be attempted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead; the attempt has been counted as a failure until [`LoginThrottle::succeeded`].
    Allowed,
    /// Too many recent failures: refuse (even the right password) for this many seconds.
    Throttled { retry_after_secs: u64 },
}

impl LoginThrottle {
    pub fn new(broker: Broker, settings: &SecuritySettings) -> Self {
        Self {
            broker,
            per_account: settings.login_max_failures_per_account,
            per_address: settings.login_max_failures_per_address,
            window_secs: settings.login_failure_window_secs,
            scripts: Arc::new((Script::new(BEGIN_LUA), Script::new(SUCCEED_LUA))),
            local: Arc::default(),
        }
    }

    /// The account is keyed by a digest of the lower-cased login name as typed, so unknown
    /// accounts are throttled exactly like real ones and no e-mail address lands in Redis.
    fn account_key(&self, login: &str) -> String {
        let login = login.trim().to_lowercase();
        self.broker
            .key(&format!("login:fail:account:{}", token::digest(&login)))
    }

    fn address_key(&self, address: &str) -> String {
        self.broker.key(&format!("login:fail:address:{address}"))
    }

    /// Counts an attempt unless the account or the address is over its limit.
    pub async fn begin(&self, login: &str, address: &str) -> Verdict {
        match self.begin_in_redis(login, address).await {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::warn!(error = %e, "login throttle in Redis unavailable; counting in this process");
                self.begin_locally(login, address)
            }
        }
    }

    /// The attempt succeeded: clear the account's failures, uncount it from the address.
    pub async fn succeeded(&self, login: &str, address: &str) {
        self.succeeded_locally(login, address);
        if let Err(e) = self.succeeded_in_redis(login, address).await {
            tracing::warn!(error = %e, "login throttle in Redis unavailable");
        }
    }

    fn begin_locally(&self, login: &str, address: &str) -> Verdict {
        let window = Duration::from_secs(self.window_secs.max(1));
        let now = Instant::now();
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.retain(|_, c| now - c.since < window);
        let keys = [
            (self.account_key(login), self.per_account),
            (self.address_key(address), self.per_address),
        ];
        let wait = keys
            .iter()
            .filter_map(|(key, limit)| {
                let count = local.get(key)?;
                (count.failures >= *limit).then(|| window - (now - count.since))
            })
            .max();
        if let Some(wait) = wait {
            return Verdict::Throttled {
                retry_after_secs: wait.as_secs().max(1),
            };
        }
        for (key, _) in keys {
            local
                .entry(key)
                .or_insert(LocalCount {
                    failures: 0,
                    since: now,
                })
                .failures += 1;
        }
        Verdict::Allowed
    }

    fn succeeded_locally(&self, login: &str, address: &str) {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.remove(&self.account_key(login));
        if let Some(count) = local.get_mut(&self.address_key(address)) {
            count.failures = count.failures.saturating_sub(1);
        }
    }

    async fn begin_in_redis(&self, login: &str, address: &str) -> RedisResult<Verdict> {
        let mut conn = self.broker.connection();
        let wait: i64 = self
            .scripts
            .0
            .key(self.account_key(login))
            .key(self.address_key(address))
            .arg(self.window_secs)
            .arg(self.per_account)
            .arg(self.per_address)
            .invoke_async(&mut conn)
            .await?;
        Ok(if wait > 0 {
            Verdict::Throttled {
                retry_after_secs: wait.unsigned_abs(),
            }
        } else {
            Verdict::Allowed
        })
    }

    async fn succeeded_in_redis(&self, login: &str, address: &str) -> RedisResult<()> {
        let mut conn = self.broker.connection();
        self.scripts
            .1
            .key(self.account_key(login))
            .key(self.address_key(address))
            .invoke_async::<i64>(&mut conn)
            .await
            .map(|_| ())
    }
}

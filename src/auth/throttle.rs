//! Login throttling: sign-in attempts counted per account and per client address in Redis
//! (fixed windows that start at the first failure), shared by every web process.
//!
//! An attempt is counted atomically *before* its password is checked, and a success takes it
//! back, so a burst of parallel guesses gets no more password checks than the limit allows.

use std::sync::Arc;

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

#[derive(Clone)]
pub struct LoginThrottle {
    broker: Broker,
    per_account: u32,
    per_address: u32,
    window_secs: u64,
    scripts: Arc<(Script, Script)>,
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
    pub async fn begin(&self, login: &str, address: &str) -> RedisResult<Verdict> {
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

    /// The attempt succeeded: clear the account's failures, uncount it from the address.
    pub async fn succeeded(&self, login: &str, address: &str) -> RedisResult<()> {
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

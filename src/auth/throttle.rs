//! Login throttling: failed sign-ins counted per account and per client address in Redis
//! (fixed windows that start at the first failure), shared by every web process.

use redis::RedisResult;

use super::token;
use crate::broker::Broker;
use crate::settings::SecuritySettings;

#[derive(Clone)]
pub struct LoginThrottle {
    broker: Broker,
    per_account: u32,
    per_address: u32,
    window_secs: u64,
}

/// Whether a sign-in may be attempted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Too many recent failures: refuse (even the right password) for this many seconds.
    Throttled {
        retry_after_secs: u64,
    },
}

impl LoginThrottle {
    pub fn new(broker: Broker, settings: &SecuritySettings) -> Self {
        Self {
            broker,
            per_account: settings.login_max_failures_per_account,
            per_address: settings.login_max_failures_per_address,
            window_secs: settings.login_failure_window_secs,
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

    pub async fn check(&self, login: &str, address: &str) -> RedisResult<Verdict> {
        let account = self.account_key(login);
        let addr = self.address_key(address);
        let mut conn = self.broker.connection();
        let (account_failures, address_failures, account_ttl, address_ttl): (
            Option<u64>,
            Option<u64>,
            i64,
            i64,
        ) = redis::pipe()
            .get(&account)
            .get(&addr)
            .ttl(&account)
            .ttl(&addr)
            .query_async(&mut conn)
            .await?;
        let mut retry_after = 0;
        if account_failures.unwrap_or(0) >= u64::from(self.per_account) {
            retry_after = retry_after.max(self.remaining(account_ttl));
        }
        if address_failures.unwrap_or(0) >= u64::from(self.per_address) {
            retry_after = retry_after.max(self.remaining(address_ttl));
        }
        Ok(if retry_after > 0 {
            Verdict::Throttled {
                retry_after_secs: retry_after,
            }
        } else {
            Verdict::Allowed
        })
    }

    fn remaining(&self, ttl: i64) -> u64 {
        // -1 (no expiry) cannot happen with the atomic SET .. EX NX below; treat it as a
        // full window rather than forever.
        if ttl > 0 {
            ttl as u64
        } else {
            self.window_secs
        }
    }

    pub async fn record_failure(&self, login: &str, address: &str) -> RedisResult<()> {
        let mut conn = self.broker.connection();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in [self.account_key(login), self.address_key(address)] {
            // The window starts with the first failure: create the counter with its expiry,
            // then count; later failures only count.
            pipe.cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("EX")
                .arg(self.window_secs)
                .arg("NX")
                .ignore()
                .incr(&key, 1)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub async fn record_success(&self, login: &str) -> RedisResult<()> {
        let mut conn = self.broker.connection();
        redis::cmd("DEL")
            .arg(self.account_key(login))
            .query_async::<()>(&mut conn)
            .await
    }
}

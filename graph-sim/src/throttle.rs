//! Intune-style throttling: fixed windows counting all requests and writes, per app (client
//! id) within a tenant and for the tenant as a whole.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::SimConfig;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    requests: u32,
    writes: u32,
}

impl Window {
    fn fresh(now: Instant) -> Self {
        Self {
            start: now,
            requests: 0,
            writes: 0,
        }
    }

    fn roll(&mut self, now: Instant, len: Duration) {
        if now.duration_since(self.start) >= len {
            *self = Self::fresh(now);
        }
    }

    fn remaining(&self, now: Instant, len: Duration) -> Duration {
        match self.start.checked_add(len) {
            Some(end) => end.saturating_duration_since(now),
            None => Duration::MAX,
        }
    }
}

#[derive(Debug, Default)]
pub struct Throttle {
    apps: HashMap<String, Window>,
    tenant: Option<Window>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Admit,
    /// Refused; retry once this much real time has passed.
    Throttled(Duration),
}

impl Throttle {
    /// Count one request (a write when `write`) for `app`, or refuse it. Refused requests do
    /// not consume quota.
    pub fn check(&mut self, cfg: &SimConfig, app: &str, write: bool, now: Instant) -> Decision {
        if !cfg.throttle {
            return Decision::Admit;
        }
        let q = &cfg.quotas;
        let len = cfg.scaled(q.window);
        let app_w = self
            .apps
            .entry(app.to_ascii_lowercase())
            .or_insert_with(|| Window::fresh(now));
        app_w.roll(now, len);
        let tenant_w = self.tenant.get_or_insert_with(|| Window::fresh(now));
        tenant_w.roll(now, len);

        let mut wait = Duration::ZERO;
        if app_w.requests >= q.requests_per_window || (write && app_w.writes >= q.writes_per_window)
        {
            wait = wait.max(app_w.remaining(now, len));
        }
        if tenant_w.requests >= q.tenant_requests_per_window
            || (write && tenant_w.writes >= q.tenant_writes_per_window)
        {
            wait = wait.max(tenant_w.remaining(now, len));
        }
        let over = app_w.requests >= q.requests_per_window
            || (write && app_w.writes >= q.writes_per_window)
            || tenant_w.requests >= q.tenant_requests_per_window
            || (write && tenant_w.writes >= q.tenant_writes_per_window);
        if over {
            return Decision::Throttled(wait);
        }
        app_w.requests += 1;
        tenant_w.requests += 1;
        if write {
            app_w.writes += 1;
            tenant_w.writes += 1;
        }
        Decision::Admit
    }
}

/// `Retry-After` in whole seconds (HTTP allows nothing finer), never 0 while still blocked.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs_f64().ceil() as u64;
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Quotas;

    fn cfg() -> SimConfig {
        SimConfig {
            quotas: Quotas {
                requests_per_window: 5,
                writes_per_window: 2,
                tenant_requests_per_window: 8,
                tenant_writes_per_window: 100,
                window: Duration::from_secs(20),
            },
            ..SimConfig::default()
        }
    }

    #[test]
    fn admits_quota_then_refuses_until_the_window_rolls() {
        let cfg = cfg();
        let mut t = Throttle::default();
        let t0 = Instant::now();
        let admitted = (0..10)
            .filter(|_| t.check(&cfg, "app", false, t0) == Decision::Admit)
            .count();
        assert_eq!(admitted, 5);
        match t.check(&cfg, "app", false, t0 + Duration::from_secs(5)) {
            Decision::Throttled(d) => assert_eq!(d, Duration::from_secs(15)),
            d => panic!("{d:?}"),
        }
        assert_eq!(
            t.check(&cfg, "app", false, t0 + Duration::from_secs(20)),
            Decision::Admit
        );
    }

    #[test]
    fn writes_have_their_own_quota_and_tenant_quota_spans_apps() {
        let cfg = cfg();
        let mut t = Throttle::default();
        let t0 = Instant::now();
        assert_eq!(t.check(&cfg, "a", true, t0), Decision::Admit);
        assert_eq!(t.check(&cfg, "a", true, t0), Decision::Admit);
        assert!(matches!(
            t.check(&cfg, "a", true, t0),
            Decision::Throttled(_)
        ));
        assert_eq!(t.check(&cfg, "a", false, t0), Decision::Admit);
        // a has used 3 of the tenant's 8; b may use 5 more.
        let b = (0..10)
            .filter(|_| t.check(&cfg, "b", false, t0) == Decision::Admit)
            .count();
        assert_eq!(b, 5);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(200)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2100)), 3);
    }
}

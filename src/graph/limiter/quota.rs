//! The quota types the limiter is given: a tenant's Graph quota and its overrides, read or
//! write access, and the share of the quota to use.

use std::time::Duration;

/// A tenant's Graph quota: requests and writes admitted per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub reads: u32,
    pub writes: u32,
    pub window: Duration,
}

impl Quota {
    /// The documented Intune limits per app per tenant: 1,000 requests and 100 writes per
    /// 20 seconds.
    pub const DOCUMENTED: Quota = Quota {
        reads: 1000,
        writes: 100,
        window: Duration::from_secs(20),
    };

    /// A tenant's overrides on top of `defaults`; a zero is no override.
    pub fn for_tenant(overrides: &QuotaOverrides, defaults: Quota) -> Quota {
        Quota {
            reads: overrides.reads.filter(|v| *v > 0).unwrap_or(defaults.reads),
            writes: overrides
                .writes
                .filter(|v| *v > 0)
                .unwrap_or(defaults.writes),
            window: overrides
                .window
                .filter(|w| !w.is_zero())
                .unwrap_or(defaults.window),
        }
    }

    /// The limits actually used: `margin` of the quota, at least 1.
    pub(super) fn effective(&self, margin: f64) -> (u32, u32) {
        let scale = |q: u32| ((f64::from(q) * margin).floor() as u32).max(1);
        (scale(self.reads), scale(self.writes).min(scale(self.reads)))
    }

    pub(super) fn window_ms(&self) -> u64 {
        u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// What a tenant sets of its own quota, when it knows it to differ from the documented one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaOverrides {
    pub reads: Option<u32>,
    pub writes: Option<u32>,
    pub window: Option<Duration>,
}

/// Whether a request is a read or a write (POST/PUT/PATCH/DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy)]
pub struct LimiterOptions {
    /// Share of the quota to use (0.99 = 99 %): the fleet-wide sliding log keeps every
    /// window of Graph's under it, and the 1 % left covers the skew between admission here
    /// and arrival there.
    pub margin: f64,
}

impl Default for LimiterOptions {
    fn default() -> Self {
        Self { margin: 0.99 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_overrides_and_margin_apply() {
        let mut t = QuotaOverrides {
            reads: None,
            writes: Some(50),
            window: Some(Duration::from_secs(10)),
        };
        let q = Quota::for_tenant(&t, Quota::DOCUMENTED);
        assert_eq!(
            q,
            Quota {
                reads: 1000,
                writes: 50,
                window: Duration::from_secs(10)
            }
        );
        assert_eq!(q.effective(0.9), (900, 45));
        t.reads = Some(0);
        assert_eq!(Quota::for_tenant(&t, Quota::DOCUMENTED).reads, 1000);
        assert_eq!(
            Quota {
                reads: 1,
                writes: 1,
                window: Duration::from_secs(1)
            }
            .effective(0.5),
            (1, 1)
        );
    }
}

//! Injected faults per tenant: outages, latency, error rates, malformed bodies, connections
//! dropped after a write committed, and token-endpoint failures.

use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Every matching Graph request: 503 ServiceUnavailable + Retry-After.
    Outage,
    /// Delay matching requests by `fixed_ms` + up to `jitter_ms`.
    Latency,
    /// A `rate` share of matching requests fail with `status` before doing anything.
    ErrorRate,
    /// A `rate` share of matching responses get a truncated JSON body.
    Malformed,
    /// A `rate` share of matching successful writes are applied, then the connection is
    /// closed without a response.
    DropAfterCommit,
    /// The token endpoint answers `status`.
    TokenFailure,
}

/// A fault as posted to `/_sim/tenants/{id}/faults`. Unknown fields are refused (400 naming
/// the field): a misspelt `colection` must not silently widen a fault to every request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Probability 0..=1 that a matching request is affected (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// HTTP status for `error_rate` (default 500) and `token_failure` (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds for `outage` (default 5) and 429/503 `error_rate` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Send 503/429 without `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omit_retry_after: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// Only these HTTP methods (default: all; writes only for `drop_after_commit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Only request paths containing this text, e.g. `configurationPolicies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// Stop after affecting this many requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Stop after this many seconds (not time-scaled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
}

/// Why a posted fault was refused (the admin API's 400 message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidFault {
    #[error("rate must be between 0 and 1, got {0}")]
    Rate(f64),
    #[error("status must be an HTTP error status (400-599), got {0}")]
    Status(u16),
    #[error("duration_secs must be a number between 0 and 10000000")]
    Duration,
}

impl FaultSpec {
    pub fn validate(&self) -> Result<(), InvalidFault> {
        if let Some(r) = self.rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(InvalidFault::Rate(r));
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err(InvalidFault::Status(s));
        }
        if let Some(d) = self.duration_secs
            && !(d.is_finite() && (0.0..=1e7).contains(&d))
        {
            return Err(InvalidFault::Duration);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    #[serde(skip)]
    pub expires: Option<Instant>,
    #[serde(skip)]
    pub fired: u32,
}

/// What the pre-handling faults decided for one request.
#[derive(Debug, Default)]
pub struct Before {
    pub delay: Duration,
    /// Answer with this (status, retry-after) without handling the request.
    pub fail: Option<(u16, Option<u64>)>,
    /// It was an outage (503 ServiceUnavailable) rather than an error-rate failure.
    pub outage: bool,
}

#[derive(Debug, Default)]
pub struct Faults {
    pub active: Vec<Fault>,
}

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

impl Faults {
    pub fn add(&mut self, spec: FaultSpec) -> Fault {
        let fault = Fault {
            id: crate::store::new_id(),
            expires: spec
                .duration_secs
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .and_then(|d| Instant::now().checked_add(d)),
            spec,
            fired: 0,
        };
        self.active.push(fault.clone());
        fault
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    fn prune(&mut self) {
        let now = Instant::now();
        self.active.retain(|f| {
            f.expires.is_none_or(|e| e > now) && f.spec.count.is_none_or(|c| f.fired < c)
        });
    }

    /// Roll the dice for every active fault of `kind` matching the request; the first that
    /// fires is counted and returned.
    fn fire(&mut self, kind: FaultKind, method: &str, path: &str) -> Option<FaultSpec> {
        self.prune();
        let mut rng = rand::thread_rng();
        for f in self.active.iter_mut().filter(|f| f.spec.kind == kind) {
            let method_ok = match &f.spec.methods {
                Some(ms) => ms.iter().any(|m| m.eq_ignore_ascii_case(method)),
                None => kind != FaultKind::DropAfterCommit || is_write(method),
            };
            let path_ok = f
                .spec
                .collection
                .as_deref()
                .is_none_or(|c| path.to_ascii_lowercase().contains(&c.to_ascii_lowercase()));
            if !(method_ok && path_ok) {
                continue;
            }
            let rate = f.spec.rate.unwrap_or(1.0);
            if rate >= 1.0 || rng.gen_bool(rate.max(0.0)) {
                f.fired += 1;
                return Some(f.spec.clone());
            }
        }
        None
    }

    /// Latency, outage and error-rate faults, evaluated before the request is handled.
    pub fn before(&mut self, method: &str, path: &str) -> Before {
        let mut out = Before::default();
        if let Some(l) = self.fire(FaultKind::Latency, method, path) {
            let jitter = match l.jitter_ms.unwrap_or(0) {
                0 => 0,
                j => rand::thread_rng().gen_range(0..=j),
            };
            out.delay = Duration::from_millis(l.fixed_ms.unwrap_or(0).saturating_add(jitter));
        }
        if let Some(o) = self.fire(FaultKind::Outage, method, path) {
            let ra =
                (!o.omit_retry_after.unwrap_or(false)).then(|| o.retry_after_secs.unwrap_or(5));
            out.fail = Some((503, ra));
            out.outage = true;
            return out;
        }
        if let Some(e) = self.fire(FaultKind::ErrorRate, method, path) {
            let status = e.status.unwrap_or(500);
            let ra = (matches!(status, 429 | 503) && !e.omit_retry_after.unwrap_or(false))
                .then(|| e.retry_after_secs.unwrap_or(1));
            out.fail = Some((status, ra));
        }
        out
    }

    pub fn malformed(&mut self, method: &str, path: &str) -> bool {
        self.fire(FaultKind::Malformed, method, path).is_some()
    }

    pub fn drop_after_commit(&mut self, method: &str, path: &str) -> bool {
        self.fire(FaultKind::DropAfterCommit, method, path)
            .is_some()
    }

    /// The status the token endpoint should fail with, if a token fault fires.
    pub fn token_failure(&mut self) -> Option<u16> {
        self.fire(FaultKind::TokenFailure, "POST", "oauth2/v2.0/token")
            .map(|f| f.status.unwrap_or(503))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: FaultKind) -> FaultSpec {
        serde_json::from_value(serde_json::json!({ "kind": kind })).unwrap()
    }

    #[test]
    fn count_limits_and_filters_apply() {
        let mut f = Faults::default();
        f.add(FaultSpec {
            count: Some(2),
            collection: Some("configurationPolicies".into()),
            ..spec(FaultKind::Outage)
        });
        assert!(
            f.before("GET", "/beta/deviceManagement/deviceConfigurations")
                .fail
                .is_none()
        );
        assert!(
            f.before("GET", "/beta/deviceManagement/configurationPolicies")
                .fail
                .is_some()
        );
        assert!(
            f.before("GET", "/beta/deviceManagement/configurationPolicies")
                .fail
                .is_some()
        );
        assert!(
            f.before("GET", "/beta/deviceManagement/configurationPolicies")
                .fail
                .is_none()
        );
        assert!(f.active.is_empty() || f.before("GET", "/x").fail.is_none());
    }

    #[test]
    fn drop_after_commit_defaults_to_writes() {
        let mut f = Faults::default();
        f.add(spec(FaultKind::DropAfterCommit));
        assert!(!f.drop_after_commit("GET", "/beta/x"));
        assert!(f.drop_after_commit("POST", "/beta/x"));
    }

    #[test]
    fn validation_rejects_out_of_range() {
        let bad: FaultSpec =
            serde_json::from_value(serde_json::json!({"kind": "error_rate", "rate": 2.0})).unwrap();
        assert!(bad.validate().is_err());
        let bad: FaultSpec =
            serde_json::from_value(serde_json::json!({"kind": "error_rate", "status": 200}))
                .unwrap();
        assert!(bad.validate().is_err());
    }
}

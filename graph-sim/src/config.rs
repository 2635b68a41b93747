//! Simulator settings: throttling quotas, time scale, paging, token lifetime, data sources,
//! the shared multi-tenant app.

use std::path::PathBuf;
use std::time::Duration;

/// Throttling quotas. Defaults are the documented Intune limits: 1,000 requests and 100 writes
/// per 20 s per app per tenant, 2,000 / 200 per tenant across all apps.
#[derive(Clone, Debug)]
pub struct Quotas {
    /// All requests admitted per window for one app (client id) in one tenant.
    pub requests_per_window: u32,
    /// Writes (POST/PUT/PATCH/DELETE) admitted per window for one app in one tenant.
    pub writes_per_window: u32,
    /// All requests admitted per window for one tenant, all apps together.
    pub tenant_requests_per_window: u32,
    /// Writes admitted per window for one tenant, all apps together.
    pub tenant_writes_per_window: u32,
    /// Window length before time scaling.
    pub window: Duration,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            requests_per_window: 1000,
            writes_per_window: 100,
            tenant_requests_per_window: 2000,
            tenant_writes_per_window: 200,
            window: Duration::from_secs(20),
        }
    }
}

/// A multi-tenant app registered at start-up (and again on reset) and consented by every
/// start-up tenant: an MSP's one app registration used across its customers' tenants.
#[derive(Clone, Debug)]
pub struct SharedApp {
    pub client_id: String,
    /// Generated (`sim-` and 16 hex digits) when not given; `GET /_sim/apps` lists it.
    pub client_secret: Option<String>,
}

/// How the simulator behaves; `SimConfig::default()` is Graph as documented.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Throttle windows and `Retry-After` values are divided by this (>= 1 makes tests fast).
    pub time_scale: f64,
    /// Enforce the quotas at all.
    pub throttle: bool,
    /// Answer 429 without a `Retry-After` header (Graph sometimes does).
    pub omit_retry_after: bool,
    pub quotas: Quotas,
    /// Load the three deterministic demo tenants (contoso, fabrikam, northwind).
    pub demo: bool,
    /// Also generate this many estate tenants (`estate-0001`, ...), each built like a demo
    /// tenant from its own seed: an MSP's estate for load tests.
    pub estate: usize,
    /// Load tenants from `DIR/<tenant>/<collection path>/*.json`.
    pub fixtures: Option<PathBuf>,
    /// Load fixture objects that share an id with an earlier file as distinct objects (new
    /// ids) instead of letting the later replace the earlier.
    pub fresh_ids: bool,
    /// Lifetime of issued access tokens (Entra: 3599 s).
    pub token_lifetime: Duration,
    /// Page size of settings-catalog policies and their `/settings` (Graph: 25, not overridable
    /// upwards with `$top`).
    pub page_size: usize,
    /// Default page size of every other collection.
    pub default_page_size: usize,
    /// Largest `$top` honoured on other collections.
    pub max_page_size: usize,
    /// A multi-tenant app every start-up tenant (demo, estate, fixtures) has consented to.
    pub shared_app: Option<SharedApp>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            throttle: true,
            omit_retry_after: false,
            quotas: Quotas::default(),
            demo: false,
            estate: 0,
            fixtures: None,
            fresh_ids: false,
            token_lifetime: Duration::from_secs(3599),
            page_size: 25,
            default_page_size: 100,
            max_page_size: 999,
            shared_app: None,
        }
    }
}

impl SimConfig {
    /// A real-time duration after applying the time scale.
    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        // Saturate rather than panic on absurd scales.
        Duration::try_from_secs_f64(d.as_secs_f64() / scale).unwrap_or(Duration::MAX)
    }
}

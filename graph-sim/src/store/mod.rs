//! Simulator state: tenants with their objects, journal, stats, faults and throttle windows,
//! the apps that may sign in to them, and the Microsoft-owned catalogues (templates, ADMX
//! definitions). The normalisation every stored object goes through lives in `normalize`, app
//! credentials and consents in `apps`.

mod apps;
mod normalize;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::TokenInfo;
use crate::certificates::Certificate;
use crate::collections::{COLLECTIONS, CollectionSpec, Kind, SingletonSpec};
use crate::config::SimConfig;
use crate::faults::Faults;
use crate::throttle::Throttle;

pub use apps::{App, AppView};
pub use normalize::{
    ImportError, bind_id, import, is_annotation, normalize_assignments, normalize_definition_value,
    normalize_presentation_value, qualify_type, refresh_computed, strip_annotations, take_binds,
};

/// Lock a mutex, recovering from poisoning: a panicked request must not take the simulator
/// down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Graph's timestamp format: seven fractional digits, `Z`.
pub fn graph_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A generated client secret (`sim-` and 16 hex digits).
pub fn new_secret() -> String {
    format!("sim-{:016x}", rand::random::<u64>())
}

#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub at: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Graph requests received ($batch sub-requests counted one by one).
    pub requests: u64,
    /// HTTP requests received on Graph routes: a `$batch` is one, whatever it holds.
    pub round_trips: u64,
    /// Writes admitted (not throttled, not failed by a fault).
    pub writes: u64,
    /// Requests answered 429 by the throttle.
    pub throttled: u64,
}

/// A tenant as listed by the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct TenantCreds {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
}

pub struct Tenant {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    /// Certificates registered on the tenant's own app (besides its secret).
    pub certificates: Vec<Certificate>,
    /// Client ids of multi-tenant apps an administrator of this tenant consented to.
    pub consents: Vec<String>,
    /// Objects per collection path, in creation order.
    pub data: HashMap<&'static str, Vec<Map<String, Value>>>,
    /// Single-valued entities changed from their initial value, by singleton path.
    pub singletons: HashMap<&'static str, Map<String, Value>>,
    pub journal: Vec<JournalEntry>,
    pub stats: Stats,
    pub faults: Faults,
    pub throttle: Throttle,
}

impl Tenant {
    pub fn new(creds: TenantCreds) -> Self {
        Self {
            id: creds.id,
            name: creds.name,
            client_id: creds.client_id,
            client_secret: creds.client_secret,
            certificates: Vec::new(),
            consents: Vec::new(),
            data: HashMap::new(),
            singletons: HashMap::new(),
            journal: Vec::new(),
            stats: Stats::default(),
            faults: Faults::default(),
            throttle: Throttle::default(),
        }
    }

    pub fn creds(&self) -> TenantCreds {
        TenantCreds {
            id: self.id.clone(),
            name: self.name.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }

    /// The collection's objects, in creation order (a view shows those of its types).
    pub fn objects<'a>(
        &'a self,
        spec: &'a CollectionSpec,
    ) -> impl Iterator<Item = &'a Map<String, Value>> + 'a {
        self.data
            .get(spec.home())
            .into_iter()
            .flatten()
            .filter(move |o| spec.admits(o))
    }

    /// Every object stored where `spec` keeps its objects (a view's whole home collection).
    pub fn objects_mut(&mut self, spec: &'static CollectionSpec) -> &mut Vec<Map<String, Value>> {
        self.data.entry(spec.home()).or_default()
    }

    pub fn find<'a>(
        &'a self,
        spec: &'a CollectionSpec,
        id: &str,
    ) -> Option<&'a Map<String, Value>> {
        self.objects(spec).find(|o| id_eq(o, id))
    }

    pub fn find_mut(
        &mut self,
        spec: &'static CollectionSpec,
        id: &str,
    ) -> Option<&mut Map<String, Value>> {
        self.objects_mut(spec)
            .iter_mut()
            .find(|o| id_eq(o, id) && spec.admits(o))
    }

    /// Store an already-normalised object, replacing one with the same id.
    pub fn insert(&mut self, spec: &'static CollectionSpec, obj: Map<String, Value>) {
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let list = self.objects_mut(spec);
        match list.iter_mut().find(|o| id_eq(o, &id)) {
            Some(existing) => *existing = obj,
            None => list.push(obj),
        }
    }

    /// A fresh id for a new object: scope tags use small integers, everything else GUIDs.
    pub fn next_id(&self, spec: &CollectionSpec) -> String {
        if spec.kind == Kind::ScopeTag {
            let max = self
                .objects(spec)
                .filter_map(|o| o.get("id")?.as_str()?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            return (max + 1).to_string();
        }
        new_id()
    }

    pub fn export(&self) -> Map<String, Value> {
        COLLECTIONS
            .iter()
            .filter(|c| c.storage.is_none())
            .map(|c| {
                let items = self.objects(c).cloned().map(Value::Object).collect();
                (c.path.to_string(), Value::Array(items))
            })
            .collect()
    }

    /// A singleton's current value.
    pub fn singleton(&self, spec: &SingletonSpec) -> Map<String, Value> {
        match self.singletons.get(spec.path) {
            Some(v) => v.clone(),
            None => serde_json::from_str(spec.initial).unwrap_or_default(),
        }
    }

    pub fn record(&mut self, method: &str, path: &str, status: u16) {
        self.journal.push(JournalEntry {
            method: method.to_string(),
            path: path.to_string(),
            status,
            at: graph_time(Utc::now()),
        });
    }
}

/// Add the baseline objects a seed lacks (fixtures of real exports usually carry them, with
/// their own ids).
fn with_baseline(seed: &mut TenantSeed) {
    for (spec, obj) in crate::baseline::objects(&seed.creds.id) {
        let existing: Vec<&Value> = seed
            .objects
            .iter()
            .filter(|(s, _)| s.home() == spec.home())
            .map(|(_, o)| o)
            .collect();
        if !crate::baseline::already_has(&existing, &obj) {
            seed.objects.push((spec, obj));
        }
    }
}

fn id_eq(o: &Map<String, Value>, id: &str) -> bool {
    // Intune ids are GUIDs and compare case-insensitively.
    o.get("id")
        .and_then(Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case(id))
}

/// Microsoft-owned, tenant-independent data: intent templates and the ADMX catalogue that
/// definition values bind to.
#[derive(Default)]
pub struct Catalog {
    pub templates: Vec<Map<String, Value>>,
    pub definitions: HashMap<String, Value>,
    pub presentations: HashMap<String, Value>,
}

/// A tenant to create at start-up (from the demo or fixtures).
pub struct TenantSeed {
    pub creds: TenantCreds,
    pub objects: Vec<(&'static CollectionSpec, Value)>,
    /// Singleton values other than a new tenant's (an uploaded APNs certificate), merged
    /// over the initial value.
    pub singletons: Vec<(&'static SingletonSpec, Map<String, Value>)>,
}

#[derive(Default)]
struct Tenants {
    order: Vec<String>,
    map: HashMap<String, Arc<Mutex<Tenant>>>,
    /// id → name, so lookups by name never lock a tenant (the caller may hold one).
    names: HashMap<String, String>,
}

pub struct Sim {
    pub config: SimConfig,
    tenants: RwLock<Tenants>,
    /// Multi-tenant apps, in registration order.
    apps: RwLock<Vec<App>>,
    /// The multi-tenant app of `config.shared_app`, its secret generated once so that a reset
    /// keeps it.
    startup_app: Option<App>,
    pub tokens: Mutex<HashMap<String, TokenInfo>>,
    pub catalog: RwLock<Catalog>,
}

impl Sim {
    pub fn new(config: SimConfig) -> anyhow::Result<Self> {
        let startup_app = config.shared_app.as_ref().map(|shared| App {
            client_id: shared.client_id.clone(),
            client_secret: shared
                .client_secret
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(new_secret),
            certificates: Vec::new(),
        });
        if let Some(app) = &startup_app {
            anyhow::ensure!(
                !app.client_id.trim().is_empty(),
                "the shared app's client id must not be empty"
            );
            // Simulator-only credentials, listed by the admin API anyway.
            tracing::info!(
                client_id = %app.client_id,
                client_secret = %app.client_secret,
                "shared multi-tenant app, consented by every start-up tenant"
            );
        }
        let sim = Self {
            config,
            tenants: RwLock::new(Tenants::default()),
            apps: RwLock::new(Vec::new()),
            startup_app,
            tokens: Mutex::new(HashMap::new()),
            catalog: RwLock::new(Catalog::default()),
        };
        sim.load_initial()?;
        Ok(sim)
    }

    /// (Re)build the start-up state: demo tenants and fixtures, the shared app consented by
    /// each of them; journals, stats and faults start empty, apps, certificates and consents
    /// added through the admin API are gone. Issued tokens stay valid while their tenant still
    /// exists and their app still has access, so a reset does not force clients to
    /// re-authenticate.
    pub fn load_initial(&self) -> anyhow::Result<()> {
        let mut catalog = Catalog {
            templates: crate::demo::templates(),
            ..Catalog::default()
        };
        let mut seeds = Vec::new();
        if self.config.demo {
            seeds.extend(crate::demo::tenants(&mut catalog));
        }
        if self.config.estate > 0 {
            seeds.extend(crate::demo::estate(&mut catalog, self.config.estate));
        }
        if let Some(dir) = &self.config.fixtures {
            for (seed, _) in crate::fixtures::load_dir(dir, self.config.fresh_ids)? {
                match seeds
                    .iter_mut()
                    .find(|s: &&mut TenantSeed| s.creds.name.eq_ignore_ascii_case(&seed.creds.name))
                {
                    Some(existing) => {
                        existing.creds = TenantCreds {
                            id: existing.creds.id.clone(),
                            ..seed.creds
                        };
                        existing.objects.extend(seed.objects);
                    }
                    None => seeds.push(seed),
                }
            }
        }
        let mut tenants = Tenants::default();
        let now = Utc::now();
        for mut seed in seeds {
            with_baseline(&mut seed);
            let mut tenant = Tenant::new(seed.creds);
            if let Some(app) = &self.startup_app {
                tenant.consent(&app.client_id);
            }
            for (spec, obj) in seed.objects {
                let obj = import(spec, obj, &tenant, now, &mut catalog)
                    .map_err(|e| anyhow::anyhow!("tenant '{}', {}: {e}", tenant.name, spec.path))?;
                tenant.insert(spec, obj);
            }
            for (spec, value) in seed.singletons {
                let mut current = tenant.singleton(spec);
                current.extend(value);
                tenant.singletons.insert(spec.path, current);
            }
            tenants.order.push(tenant.id.clone());
            tenants.names.insert(tenant.id.clone(), tenant.name.clone());
            tenants
                .map
                .insert(tenant.id.clone(), Arc::new(Mutex::new(tenant)));
        }
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = catalog;
        *self.apps.write().unwrap_or_else(|e| e.into_inner()) =
            self.startup_app.iter().cloned().collect();
        *self.tenants.write().unwrap_or_else(|e| e.into_inner()) = tenants;
        Ok(())
    }

    /// A tenant by id, or else by name (case-insensitive).
    pub fn tenant(&self, key: &str) -> Option<Arc<Mutex<Tenant>>> {
        let tenants = self.tenants.read().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tenants.map.get(key) {
            return Some(t.clone());
        }
        let domain = key.strip_suffix(".onmicrosoft.com").unwrap_or(key);
        tenants
            .names
            .iter()
            .find(|(id, name)| id.eq_ignore_ascii_case(key) || name.eq_ignore_ascii_case(domain))
            .and_then(|(id, _)| tenants.map.get(id))
            .cloned()
    }

    /// Every tenant, in creation order. The tenant table is not held while the caller locks
    /// them (a request may hold a tenant and then look another one up).
    fn all_tenants(&self) -> Vec<Arc<Mutex<Tenant>>> {
        let tenants = self.tenants.read().unwrap_or_else(|e| e.into_inner());
        tenants
            .order
            .iter()
            .filter_map(|id| tenants.map.get(id))
            .cloned()
            .collect()
    }

    pub fn list_tenants(&self) -> Vec<TenantCreds> {
        let tenants = self.tenants.read().unwrap_or_else(|e| e.into_inner());
        tenants
            .order
            .iter()
            .filter_map(|id| tenants.map.get(id))
            .map(|t| lock(t).creds())
            .collect()
    }

    /// Create or replace a tenant holding only what every new Intune tenant has (see
    /// `baseline`), with `certificates` on its own app and no consents. Returns true when it
    /// was new.
    pub fn put_tenant(&self, creds: TenantCreds, certificates: Vec<Certificate>) -> bool {
        let mut tenant = Tenant::new(creds);
        tenant.certificates = certificates;
        {
            let mut catalog = self.catalog.write().unwrap_or_else(|e| e.into_inner());
            for (spec, obj) in crate::baseline::objects(&tenant.id) {
                match import(spec, obj, &tenant, Utc::now(), &mut catalog) {
                    Ok(o) => tenant.insert(spec, o),
                    Err(e) => tracing::error!(error = %e, "baseline object refused"),
                }
            }
        }
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let id = tenant.id.clone();
        tenants.names.insert(id.clone(), tenant.name.clone());
        let created = tenants
            .map
            .insert(id.clone(), Arc::new(Mutex::new(tenant)))
            .is_none();
        if created {
            tenants.order.push(id);
        }
        created
    }

    pub fn delete_tenant(&self, id: &str) -> bool {
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let removed = tenants.map.remove(id).is_some();
        tenants.names.remove(id);
        tenants.order.retain(|t| t != id);
        removed
    }
}

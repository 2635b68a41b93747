//! What the three benchmark examples share: a throwaway PostgreSQL database and Redis key
//! namespace per run, the product started in-process through its own start-up path
//! (`Services::connect`, `Application::build`, `run_worker`), an embedded graph-sim, users,
//! tenants, and the figures (percentiles, tables).
//!
//! Benchmarks print figures; they assert nothing about speed.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use policyvault::domain::{Email, Password, TenantName};
use policyvault::services::Services;
use policyvault::settings::{Settings, SettingsSource};
use policyvault::startup::Application;
use policyvault::store::{self, accounts, tenants};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use entity::enums::Role;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5434/postgres";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6382";

/// The admin database (a database per run is created in it) and the Redis server.
pub fn admin_database_url() -> String {
    std::env::var("PV_BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into())
}

pub fn redis_url() -> String {
    std::env::var("PV_BENCH_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.into())
}

/// A PostgreSQL database of one benchmark run, dropped at the end.
pub struct BenchDb {
    pub url: String,
    admin_url: String,
    name: String,
}

impl BenchDb {
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = admin_database_url();
        if !admin_url.starts_with("postgres") {
            bail!("PV_BENCH_DATABASE_URL must be a postgres:// URL (got {admin_url})");
        }
        let name = format!("pv_bench_{}", Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .with_context(|| format!("cannot connect to the admin database {admin_url}"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .context("create the benchmark database")?;
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        Ok(Self {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        })
    }

    pub async fn drop_db(&self) {
        if let Ok(db) = sea_orm::Database::connect(&self.admin_url).await {
            let _ = db
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
            let _ = db.close().await;
        }
    }
}

/// Settings for a benchmark run: `config/test.toml` plus the run's database, Redis prefix,
/// production-like run-protocol timings and the benchmark's own overrides (applied last).
pub fn settings_for(
    db_url: &str,
    prefix: &str,
    extra: &[(String, String)],
) -> anyhow::Result<Settings> {
    Settings::load(&SettingsSource {
        config_dir: Some(config_dir()),
        env: Some("test".into()),
        overrides: overrides_for(db_url, prefix, extra),
        use_process_env: false,
    })
    .map_err(|e| anyhow!("settings: {e}"))
}

/// The repository's `config` directory.
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Every `section.key = value` a benchmark run sets over `config/test.toml`.
pub fn overrides_for(
    db_url: &str,
    prefix: &str,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut overrides = base_overrides();
    overrides.extend([
        ("database.url".to_string(), db_url.to_string()),
        ("redis.url".to_string(), redis_url()),
        ("redis.key_prefix".to_string(), prefix.to_string()),
    ]);
    overrides.extend(extra.iter().cloned());
    overrides
}

/// The test profile's run-protocol timings are tuned for fast failure tests (1 s heartbeats
/// and reaper); a benchmark measures what production would run with.
fn base_overrides() -> Vec<(String, String)> {
    [
        ("log.level", "error"),
        ("database.max_connections", "20"),
        ("runs.heartbeat_secs", "5"),
        ("runs.stale_after_secs", "30"),
        ("runs.reaper_interval_secs", "5"),
        ("runs.repush_after_secs", "20"),
        ("graph.retry_budget_secs", "120"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A worker running inside the benchmark process: its stop switch and task.
type InProcessWorker = (watch::Sender<bool>, JoinHandle<anyhow::Result<()>>);

/// The product running inside the benchmark process.
pub struct Bench {
    pub services: Services,
    pub settings: Settings,
    /// `http://127.0.0.1:PORT` of the web application.
    pub address: String,
    pub http: reqwest::Client,
    pub sim: Option<graph_sim::RunningSim>,
    /// The settings over `config/test.toml` (for worker processes: `PV__SECTION__KEY`).
    pub overrides: Vec<(String, String)>,
    db: BenchDb,
    stop: watch::Sender<bool>,
    web: Option<JoinHandle<std::io::Result<()>>>,
    workers: Vec<InProcessWorker>,
}

/// Where [`Bench`] runs graph-sim.
#[derive(Debug, Clone, Copy)]
enum SimThread {
    /// On the benchmark's own runtime.
    Shared,
    /// On a current-thread runtime on a thread named [`SIM_THREAD`].
    Own,
}

/// The name of graph-sim's thread under [`Bench::start_with_sim_thread`].
pub const SIM_THREAD: &str = "graph-sim";

async fn spawn_sim(
    config: graph_sim::SimConfig,
    thread: SimThread,
) -> anyhow::Result<graph_sim::RunningSim> {
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    if let SimThread::Shared = thread {
        return graph_sim::spawn(config, listen).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(SIM_THREAD.into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = tx.send(Err(anyhow!("graph-sim runtime: {e}")));
                    return;
                }
            };
            // Serves until the benchmark process exits.
            runtime.block_on(async move {
                let spawned = graph_sim::spawn(config, listen).await;
                let serving = spawned.is_ok();
                let _ = tx.send(spawned);
                if serving {
                    std::future::pending::<()>().await;
                }
            });
        })?;
    rx.await.map_err(|_| anyhow!("graph-sim's thread ended"))?
}

impl Bench {
    /// Creates the database and namespace, migrates, starts graph-sim (when given) and the
    /// web application. Workers are started separately.
    pub async fn start(
        overrides: &[(String, String)],
        sim: Option<graph_sim::SimConfig>,
    ) -> anyhow::Result<Self> {
        Self::start_with(overrides, sim, SimThread::Shared).await
    }

    /// [`Bench::start`] with graph-sim on a runtime of its own, on one thread named
    /// `graph-sim` (see [`CpuSample::graph_sim`]): the CPU Graph's stand-in spends can then be
    /// told apart from the product's.
    pub async fn start_with_sim_thread(
        overrides: &[(String, String)],
        sim: graph_sim::SimConfig,
    ) -> anyhow::Result<Self> {
        Self::start_with(overrides, Some(sim), SimThread::Own).await
    }

    async fn start_with(
        overrides: &[(String, String)],
        sim: Option<graph_sim::SimConfig>,
        thread: SimThread,
    ) -> anyhow::Result<Self> {
        policyvault::http::install_crypto_provider();
        let db = BenchDb::create().await?;
        match Self::start_on(db, overrides, sim, thread).await {
            Ok(bench) => Ok(bench),
            Err((db, e)) => {
                db.drop_db().await;
                Err(e)
            }
        }
    }

    async fn start_on(
        db: BenchDb,
        overrides: &[(String, String)],
        sim: Option<graph_sim::SimConfig>,
        thread: SimThread,
    ) -> Result<Self, (BenchDb, anyhow::Error)> {
        let prefix = format!("pvbench{}", &Uuid::new_v4().simple().to_string()[..10]);
        let all_overrides = overrides_for(&db.url, &prefix, overrides);
        let settings = match settings_for(&db.url, &prefix, overrides) {
            Ok(s) => s,
            Err(e) => return Err((db, e)),
        };
        policyvault::telemetry::init(&settings.log, false);
        let services = match Services::connect(settings.clone()).await {
            Ok(s) => s,
            Err(e) => return Err((db, anyhow!(e))),
        };
        if let Err(e) = store::migrate_up(&services.db).await {
            let _ = services.redis.delete_namespace().await;
            return Err((db, anyhow!("migrations: {e}")));
        }
        let sim = match sim {
            Some(config) => match spawn_sim(config, thread).await {
                Ok(s) => Some(s),
                Err(e) => return Err((db, anyhow!("graph-sim: {e:#}"))),
            },
            None => None,
        };
        let app = match Application::build(services.clone()).await {
            Ok(a) => a,
            Err(e) => return Err((db, anyhow!(e))),
        };
        let address = format!("http://{}", app.addr());
        let (stop, stop_rx) = watch::channel(false);
        let web = tokio::spawn(app.run_until(wait(stop_rx)));
        let http = match policyvault::http::client(Duration::from_secs(60)) {
            Ok(c) => c,
            Err(e) => return Err((db, anyhow!(e))),
        };
        Ok(Self {
            services,
            settings,
            address,
            http,
            sim,
            overrides: all_overrides,
            db,
            stop,
            web: Some(web),
            workers: Vec::new(),
        })
    }

    /// Starts an in-process worker with services (database pool, Redis connection) of its
    /// own, as a separate worker process would have.
    pub async fn start_worker(&mut self) -> anyhow::Result<()> {
        let services = Services::connect(self.settings.clone())
            .await
            .map_err(|e| anyhow!(e))?;
        let (tx, rx) = watch::channel(false);
        let handle = tokio::spawn(policyvault::worker::run_worker(services, wait(rx)));
        self.workers.push((tx, handle));
        Ok(())
    }

    /// Stops every in-process worker (each finishes or hands back its in-flight runs).
    pub async fn stop_workers(&mut self) {
        for (tx, handle) in self.workers.drain(..) {
            let _ = tx.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(30), handle).await;
        }
    }

    /// Stops workers, the web application and graph-sim; deletes the Redis namespace and
    /// drops the database.
    pub async fn shutdown(mut self) {
        self.stop_workers().await;
        let _ = self.stop.send(true);
        if let Some(web) = self.web.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), web).await;
        }
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        let _ = self.services.redis.delete_namespace().await;
        self.db.drop_db().await;
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.services.db
    }

    pub fn sim_url(&self) -> String {
        self.sim.as_ref().map(|s| s.base_url()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.address)
    }

    pub async fn add_user(&self, email: &str) -> anyhow::Result<BenchUser> {
        let email = Email::parse(email).map_err(|e| anyhow!("{e}"))?;
        let pw = Password::parse(SecretString::from("correct horse battery".to_string()))
            .map_err(|e| anyhow!("{e}"))?;
        let user = accounts::create_user(self.db(), &email, &pw).await?;
        let (_, token) = accounts::create_token(self.db(), &user, "bench").await?;
        Ok(BenchUser {
            user,
            token: Arc::new(token),
        })
    }

    /// Registers a tenant in PolicyVault; with a simulator, also creates it (empty) there.
    pub async fn add_tenant(&self, name: &str) -> anyhow::Result<BenchTenant> {
        let sim_id = Uuid::new_v4().to_string();
        let client_id = Uuid::new_v4().to_string();
        let client_secret = format!("sim-secret-{}", Uuid::new_v4().simple());
        if self.sim.is_some() {
            let response = self
                .http
                .put(format!("{}/_sim/tenants/{sim_id}", self.sim_url()))
                .json(
                    &json!({"name": name, "client_id": client_id, "client_secret": client_secret}),
                )
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("graph-sim tenant {name}: {}", response.status());
            }
        }
        let base = if self.sim.is_some() {
            self.sim_url()
        } else {
            "http://127.0.0.1:9".to_string()
        };
        self.register_tenant(name, &sim_id, &client_id, &client_secret, &base)
            .await
    }

    /// Registers one of graph-sim's demo tenants (e.g. `contoso`) in PolicyVault.
    pub async fn register_demo_tenant(&self, name: &str) -> anyhow::Result<BenchTenant> {
        let list = self.sim_get("/_sim/tenants").await?;
        let sim = list
            .as_array()
            .and_then(|a| a.iter().find(|t| t["name"] == name))
            .cloned()
            .ok_or_else(|| anyhow!("graph-sim has no demo tenant {name}"))?;
        let field = |k: &str| sim[k].as_str().unwrap_or_default().to_string();
        self.register_tenant(
            name,
            &field("id"),
            &field("client_id"),
            &field("client_secret"),
            &self.sim_url(),
        )
        .await
    }

    pub async fn register_tenant(
        &self,
        name: &str,
        sim_id: &str,
        client_id: &str,
        client_secret: &str,
        base: &str,
    ) -> anyhow::Result<BenchTenant> {
        let tenant = tenants::create(
            self.db(),
            &self.services.secrets,
            tenants::NewTenant {
                name: TenantName::parse(name).map_err(|e| anyhow!("{e}"))?,
                entra_tenant_id: sim_id.to_string(),
                client_id: client_id.to_string(),
                credential: tenants::NewCredential::Secret(SecretString::from(
                    client_secret.to_string(),
                )),
                graph_base_url: base.to_string(),
                login_base_url: base.to_string(),
            },
        )
        .await?;
        Ok(BenchTenant {
            model: tenant,
            sim_id: sim_id.to_string(),
        })
    }

    pub async fn grant(
        &self,
        user: &BenchUser,
        tenant: &BenchTenant,
        role: Role,
    ) -> anyhow::Result<()> {
        accounts::grant_membership(self.db(), &tenant.model, &user.user, role).await?;
        Ok(())
    }

    /// Seeds an object into a graph-sim tenant (admin API, not throttled).
    pub async fn sim_load(
        &self,
        sim_tenant: &str,
        collection: &str,
        object: Value,
    ) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!(
                "{}/_sim/tenants/{sim_tenant}/objects",
                self.sim_url()
            ))
            .json(&json!({"collection": collection, "object": object}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("graph-sim refused an object for {collection}: {status} {body}");
        }
        Ok(body)
    }

    pub async fn sim_get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.sim_url()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    pub async fn sim_stats(&self, sim_tenant: &str) -> anyhow::Result<SimStats> {
        let v = self
            .sim_get(&format!("/_sim/tenants/{sim_tenant}/stats"))
            .await?;
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        Ok(SimStats {
            requests: n("requests"),
            round_trips: n("round_trips"),
            writes: n("writes"),
            throttled: n("throttled"),
        })
    }

    pub async fn post(
        &self,
        user: &BenchUser,
        path: &str,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get_json(&self, user: &BenchUser, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }

    /// Polls a run through the API until it is terminal (or `timeout` passes).
    pub async fn wait_for_terminal(
        &self,
        user: &BenchUser,
        tenant: &BenchTenant,
        run_id: &str,
        every: Duration,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let started = std::time::Instant::now();
        loop {
            let body = self
                .get_json(user, &format!("/tenants/{}/runs/{run_id}", tenant.id()))
                .await?;
            let status = body["run"]["status"].as_str().unwrap_or_default();
            if !matches!(status, "queued" | "running") {
                return Ok(body["run"].clone());
            }
            if started.elapsed() > timeout {
                bail!("run {run_id} still {status} after {timeout:?}");
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Starts a capture of every policy type of `tenant` through the API; the run's id.
    pub async fn start_capture(
        &self,
        user: &BenchUser,
        tenant: &BenchTenant,
    ) -> anyhow::Result<String> {
        self.start_capture_of(user, tenant, &[]).await
    }

    /// Starts a capture of `types` (every type when empty) of `tenant`; the run's id.
    pub async fn start_capture_of(
        &self,
        user: &BenchUser,
        tenant: &BenchTenant,
        types: &[String],
    ) -> anyhow::Result<String> {
        let body = if types.is_empty() {
            json!({})
        } else {
            json!({ "policy_types": types })
        };
        let (status, body) = self
            .post(user, &format!("/tenants/{}/snapshots", tenant.id()), body)
            .await?;
        if status != 202 {
            bail!("capture of {}: {status} {body}", tenant.name());
        }
        Ok(body["run"]["id"].as_str().unwrap_or_default().to_string())
    }

    /// Registers graph-sim tenants (as `/_sim/tenants` lists them) and makes `user` an
    /// operator of each.
    pub async fn register_sim_tenants(
        &self,
        sim_tenants: &[Value],
        user: &BenchUser,
    ) -> anyhow::Result<Vec<BenchTenant>> {
        let mut tenants = Vec::with_capacity(sim_tenants.len());
        for t in sim_tenants {
            let field = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            let tenant = self
                .register_tenant(
                    &field("name"),
                    &field("id"),
                    &field("client_id"),
                    &field("client_secret"),
                    &self.sim_url(),
                )
                .await?;
            self.grant(user, &tenant, Role::Operator).await?;
            tenants.push(tenant);
        }
        Ok(tenants)
    }

    /// One `i64` from a SQL query (first column of the first row).
    pub async fn scalar(&self, sql: &str) -> anyhow::Result<i64> {
        let row = self
            .db()
            .query_one_raw(Statement::from_string(
                self.db().get_database_backend(),
                sql.to_string(),
            ))
            .await?
            .ok_or_else(|| anyhow!("no row from {sql}"))?;
        Ok(row.try_get_by_index::<i64>(0)?)
    }

    /// The first column of every row, as `f64` (e.g. `EXTRACT(EPOCH FROM ...)::float8`).
    pub async fn floats(&self, sql: &str) -> anyhow::Result<Vec<f64>> {
        let rows = self
            .db()
            .query_all_raw(Statement::from_string(
                self.db().get_database_backend(),
                sql.to_string(),
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get_by_index::<f64>(0).map_err(Into::into))
            .collect()
    }

    /// The first two columns of every row, as text (cast them in the query).
    pub async fn rows(&self, sql: &str) -> anyhow::Result<Vec<(String, String)>> {
        let rows = self
            .db()
            .query_all_raw(Statement::from_string(
                self.db().get_database_backend(),
                sql.to_string(),
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get_by_index::<String>(0)?,
                    r.try_get_by_index::<String>(1)?,
                ))
            })
            .collect()
    }

    pub async fn execute(&self, sql: &str) -> anyhow::Result<()> {
        self.db().execute_unprepared(sql).await?;
        Ok(())
    }
}

async fn wait(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

#[derive(Clone)]
pub struct BenchUser {
    pub user: entity::users::Model,
    pub token: Arc<SecretString>,
}

#[derive(Clone)]
pub struct BenchTenant {
    pub model: entity::tenants::Model,
    pub sim_id: String,
}

impl BenchTenant {
    pub fn id(&self) -> Uuid {
        self.model.id
    }

    pub fn name(&self) -> &str {
        &self.model.name
    }
}

/// graph-sim's counters for one tenant.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimStats {
    /// Every Graph request seen (including throttled ones; `$batch` counts its parts).
    pub requests: u64,
    /// HTTP requests on Graph routes (a `$batch` once).
    pub round_trips: u64,
    /// Admitted writes.
    pub writes: u64,
    /// Requests answered 429.
    pub throttled: u64,
}

impl std::ops::Sub for SimStats {
    type Output = SimStats;
    fn sub(self, o: SimStats) -> SimStats {
        SimStats {
            requests: self.requests.saturating_sub(o.requests),
            round_trips: self.round_trips.saturating_sub(o.round_trips),
            writes: self.writes.saturating_sub(o.writes),
            throttled: self.throttled.saturating_sub(o.throttled),
        }
    }
}

impl std::ops::Add for SimStats {
    type Output = SimStats;
    fn add(self, o: SimStats) -> SimStats {
        SimStats {
            requests: self.requests + o.requests,
            round_trips: self.round_trips + o.round_trips,
            writes: self.writes + o.writes,
            throttled: self.throttled + o.throttled,
        }
    }
}

/// The value at quantile `q` (0..=1) of ascending `sorted` (nearest rank).
pub fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds with a precision that suits the magnitude.
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.2} ms")
    } else if v < 1000.0 {
        format!("{v:.1} ms")
    } else {
        format!("{:.2} s", v / 1000.0)
    }
}

/// A plain-text table: a header row, then rows, columns padded to their widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = width[i].saturating_sub(c.chars().count());
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        println!("  {}", parts.join("  "));
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(width.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        line(row.clone());
    }
}

/// The machine the figures come from.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    format!("{cores} cores ({cpu}), {profile}")
}

/// Prints the heading every benchmark starts with.
pub fn print_heading(title: &str, command: &str) {
    println!();
    println!("== {title}");
    println!("   command: {command}");
    println!("   machine: {}", machine());
}

/// The name field of an object: `name` for settings catalog policies, else `displayName`.
fn name_key(object: &Map<String, Value>) -> &'static str {
    if object.contains_key("displayName") {
        "displayName"
    } else {
        "name"
    }
}

/// Pads the demo tenant up to `target` objects with renamed copies of its own objects
/// (built-in scope tag and the service's default enrollment configurations excluded), in
/// the demo's proportions. Returns the object count per collection afterwards.
pub async fn pad_tenant(
    bench: &Bench,
    sim_tenant: &str,
    target: usize,
) -> anyhow::Result<Vec<(String, usize)>> {
    let export = bench
        .sim_get(&format!("/_sim/tenants/{sim_tenant}/export"))
        .await?;
    let export = export
        .as_object()
        .ok_or_else(|| anyhow!("graph-sim export is not an object"))?;
    // Only what PolicyVault captures (graph-sim also serves the directory, apps, ...).
    let captured: Vec<&str> = policyvault::graph::registry::all()
        .iter()
        .map(|c| c.collection)
        .collect();
    let export: Map<String, Value> = export
        .iter()
        .filter(|(c, _)| captured.contains(&c.as_str()))
        .map(|(c, v)| (c.clone(), v.clone()))
        .collect();
    let mut counts: Vec<(String, usize)> = export
        .iter()
        .map(|(c, v)| (c.clone(), v.as_array().map_or(0, Vec::len)))
        .collect();
    let mut total: usize = counts.iter().map(|(_, n)| n).sum();
    let mut originals: Vec<(String, Map<String, Value>)> = Vec::new();
    for (collection, objects) in &export {
        for object in objects.as_array().into_iter().flatten() {
            let Some(object) = object.as_object() else {
                continue;
            };
            let builtin = object.get("isBuiltIn") == Some(&Value::Bool(true));
            let service_default = collection.ends_with("deviceEnrollmentConfigurations")
                && object.get("priority").and_then(Value::as_i64) == Some(0);
            if !builtin && !service_default {
                originals.push((collection.clone(), object.clone()));
            }
        }
    }
    if originals.is_empty() {
        bail!("the demo tenant has nothing to copy");
    }
    let mut copy = 0usize;
    while total < target {
        let (collection, original) = &originals[copy % originals.len()];
        let round = copy / originals.len() + 1;
        let mut object = original.clone();
        object.remove("id");
        let key = name_key(&object);
        let name = object
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("object")
            .to_string();
        object.insert(key.into(), json!(format!("{name} (copy {round})")));
        bench
            .sim_load(sim_tenant, collection, Value::Object(object))
            .await?;
        if let Some(c) = counts.iter_mut().find(|(c, _)| c == collection) {
            c.1 += 1;
        }
        total += 1;
        copy += 1;
    }
    Ok(counts)
}

/// `VmHWM` (peak resident set) of a process, in MiB.
pub fn peak_rss_mib(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The release `policyvault` binary next to this example's directory.
pub fn policyvault_binary() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or_else(|| anyhow!("cannot locate the target directory"))?;
    let bin = dir.join("policyvault");
    if !bin.exists() {
        bail!(
            "{} is missing: cargo build --release --bin policyvault",
            bin.display()
        );
    }
    Ok(bin)
}

/// A `policyvault worker` process on the benchmark's database, Redis and settings, running
/// `concurrency` runs at a time.
pub fn spawn_worker(bench: &Bench, concurrency: usize) -> anyhow::Result<Child> {
    let mut command = policyvault_command(bench, "worker")?;
    command.env("PV__WORKER__CONCURRENCY", concurrency.to_string());
    command.spawn().context("starting a worker process")
}

/// `policyvault SUBCOMMAND` on the bench's database, Redis namespace and settings
/// (`config/test.toml` plus the overrides), its log on our stderr.
pub fn policyvault_command(bench: &Bench, subcommand: &str) -> anyhow::Result<Command> {
    let mut command = Command::new(policyvault_binary()?);
    command
        .arg(subcommand)
        .env("PV_ENV", "test")
        .env("PV_CONFIG_DIR", config_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (key, value) in &bench.overrides {
        let var = format!("PV__{}", key.to_uppercase().replace('.', "__"));
        command.env(var, value);
    }
    Ok(command)
}

/// Worker processes, killed when it is dropped.
pub struct Guard(pub Vec<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// CPU time (user + system) spent so far by this process, by the PostgreSQL server listening
/// on `pg_port` (postmaster, live backends and the backends it has reaped) and by the Redis
/// server on `redis_port`, read from `/proc`. `None` where `/proc` cannot tell (not Linux).
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    /// All of this process's threads, [`SIM_THREAD`] included.
    pub this_process: Duration,
    /// This process's thread named [`SIM_THREAD`] (zero when graph-sim shares the runtime).
    pub graph_sim: Duration,
    pub postgres: Duration,
    pub redis: Duration,
}

/// One `/proc/{pid}/stat`: (ppid, utime + stime, cutime + cstime) in clock ticks.
fn proc_times(pid: &str) -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces, start at "state".
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let ppid = *f.get(1)?;
    Some((ppid, f.get(11)? + f.get(12)?, f.get(13)? + f.get(14)?))
}

fn cmdline(pid: &str) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn clock_ticks_per_sec() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// The port of a `scheme://user@host:port/...` URL.
fn url_port(url: &str) -> Option<u16> {
    let authority = url.split("://").nth(1)?.split('/').next()?;
    authority.rsplit(':').next()?.parse().ok()
}

impl CpuSample {
    /// Reads the CPU times of this process and of the servers behind `database_url` and
    /// `redis_url` (which must run on this machine).
    pub fn now(database_url: &str, redis_url: &str) -> Option<CpuSample> {
        let per_sec = clock_ticks_per_sec();
        let tick = |t: u64| Duration::from_millis(t * 1000 / per_sec);
        let pg_port = url_port(database_url)?.to_string();
        let redis_port = url_port(redis_url)?.to_string();
        let mut procs = Vec::new();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name().to_string_lossy().to_string();
            if pid.bytes().all(|b| b.is_ascii_digit())
                && let Some(times) = proc_times(&pid)
            {
                procs.push((pid, times));
            }
        }
        let postmaster = procs.iter().find(|(pid, _)| {
            let cmd = cmdline(pid);
            let mut words = cmd.split_whitespace();
            words.next().is_some_and(|w| w.ends_with("postgres"))
                && cmd.contains(&format!("-p {pg_port}"))
        })?;
        let postmaster_pid: u64 = postmaster.0.parse().ok()?;
        let (_, own, reaped) = postmaster.1;
        let backends: u64 = procs
            .iter()
            .filter(|(_, (ppid, _, _))| *ppid == postmaster_pid)
            .map(|(_, (_, t, _))| t)
            .sum();
        let redis = procs
            .iter()
            .find(|(pid, _)| {
                let cmd = cmdline(pid);
                cmd.contains("redis-server") && cmd.contains(&format!(":{redis_port}"))
            })
            .map(|(_, (_, t, _))| *t)?;
        let this = proc_times("self")?.1;
        let mut sim = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let tid = task.file_name().to_string_lossy().to_string();
            let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"));
            if comm.is_ok_and(|c| c.trim() == SIM_THREAD)
                && let Some((_, t, _)) = proc_times(&format!("self/task/{tid}"))
            {
                sim += t;
            }
        }
        Some(CpuSample {
            this_process: tick(this),
            graph_sim: tick(sim),
            postgres: tick(own + reaped + backends),
            redis: tick(redis),
        })
    }

    /// CPU spent between `earlier` and `self`.
    pub fn since(&self, earlier: &CpuSample) -> CpuSample {
        CpuSample {
            this_process: self.this_process.saturating_sub(earlier.this_process),
            graph_sim: self.graph_sim.saturating_sub(earlier.graph_sim),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            redis: self.redis.saturating_sub(earlier.redis),
        }
    }

    pub fn total(&self) -> Duration {
        self.this_process + self.postgres + self.redis
    }
}

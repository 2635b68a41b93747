//! `spawn_app()`: a fresh PostgreSQL database (on the server `PV_TEST_DATABASE_URL` names),
//! a Redis key namespace of its own, an embedded graph-sim on port 0, the web
//! application on port 0 and (optionally) an in-process worker — all through the product's
//! own start-up path.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use policyvault::domain::{Email, Password, TenantName};
use policyvault::services::Services;
use policyvault::settings::{Settings, SettingsSource};
use policyvault::startup::Application;
use policyvault::store::{self, accounts, tenants};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

pub use entity::enums::Role;

/// How soon [`wait_for`] looks again: short enough that a test reacts within a few items of
/// a run's progress, long enough not to load the services it polls.
const POLL: Duration = Duration::from_millis(20);

/// Objects every new tenant (`PUT /_sim/tenants`) has that a capture reads: the built-in scope
/// tag `0`, the four service-default enrollment configurations, the seven built-in roles and
/// the three tenant singletons (settings, APNs certificate, managed Google Play).
pub const BASELINE_CAPTURED: u64 = 15;

/// What graph-sim holds of `contract`'s type in a tenant `export` (`/_sim/tenants/{id}/export`),
/// as Graph serves it: a view's objects picked from its storage, a contained type's objects
/// from every parent (ids `{parentId}/{id}`), types another contract owns left out. `None`
/// for a singleton, which exports do not carry.
pub fn held_by_sim(export: &Value, contract: &policyvault::graph::Contract) -> Option<Vec<Value>> {
    use policyvault::graph::registry::Shape;
    let items = |path: &str| export[path].as_array().cloned().unwrap_or_default();
    let held: Vec<Value> = match contract.shape {
        Shape::Singleton => return None,
        Shape::Contained { parent } => items(parent)
            .iter()
            .flat_map(|p| {
                let pid = p["id"].as_str().unwrap_or_default().to_string();
                p[contract.key]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |mut o| {
                        let id = format!("{pid}/{}", o["id"].as_str().unwrap_or_default());
                        o["id"] = json!(id);
                        o
                    })
            })
            .collect(),
        Shape::Collection => {
            let spec = graph_sim::collections::by_path(contract.collection)
                .unwrap_or_else(|| panic!("graph-sim serves no {}", contract.collection));
            items(spec.home())
                .into_iter()
                .filter(|o| o.as_object().is_some_and(|m| spec.admits(m)))
                .collect()
        }
    };
    Some(held.into_iter().filter(|o| !contract.excluded(o)).collect())
}

/// Waits for a fact instead of for time: polls `check` until it answers `Ok`, and returns
/// that value. `Err` carries what was seen instead; after `timeout` the test fails naming
/// `what` it waited for and the last thing seen, so a slow machine gives a clear failure
/// rather than a flaky assertion further on.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {what}; last seen: {seen}"
            ),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_for`] a condition that has nothing to tell about itself.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(timeout, what, || {
        let holds = condition();
        async move {
            if holds.await {
                Ok(())
            } else {
                Err("not yet".to_string())
            }
        }
    })
    .await
}

/// The admin database URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("PV_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "PV_TEST_DATABASE_URL is not set: this test needs PostgreSQL; set it to an admin \
             database URL such as postgres://postgres@127.0.0.1:5441/postgres, or run the suite \
             with scripts/test.sh (it starts PostgreSQL and sets it)"
        )
    })
}

pub fn redis_url() -> String {
    std::env::var("PV_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("PV_TEST_REDIS_URL is not set: run the suite with scripts/test.sh (it starts Redis)")
    })
}

/// A fresh database for one test, dropped (PostgreSQL) or deleted (SQLite) at the end.
/// PostgreSQL is the production database, so it is the default; SQLite only when a test asks
/// for the embedded path by name ([`TestDb::sqlite`]).
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: String,
    file: Option<PathBuf>,
}

impl TestDb {
    /// A database on the PostgreSQL server of `PV_TEST_DATABASE_URL`. Without the variable
    /// the test fails: passing on SQLite instead would report PostgreSQL behaviour as
    /// tested when it was not.
    pub async fn create() -> Self {
        let name = format!("pv_t_{}", Uuid::new_v4().simple());
        let admin = postgres_admin_url();
        let db = sea_orm::Database::connect(&admin)
            .await
            .expect("admin database");
        sea_orm::ConnectionTrait::execute_unprepared(&db, &format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Self {
            url: format!("{base}/{name}"),
            admin_url: Some(admin),
            name,
            file: None,
        }
    }

    /// A SQLite file, for tests of the embedded database path.
    pub fn sqlite() -> Self {
        let name = format!("pv_t_{}", Uuid::new_v4().simple());
        let file = std::env::temp_dir().join(format!("{name}.sqlite"));
        Self {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            admin_url: None,
            name,
            file: Some(file),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }

    pub async fn drop_db(&self) {
        if let Some(admin) = &self.admin_url
            && let Ok(db) = sea_orm::Database::connect(admin).await
        {
            let _ = sea_orm::ConnectionTrait::execute_unprepared(
                &db,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            )
            .await;
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

pub fn settings_for(db_url: &str, prefix: &str, extra: &[(&str, &str)]) -> Settings {
    let mut overrides: Vec<(String, String)> = vec![
        ("database.url".into(), db_url.into()),
        ("redis.url".into(), redis_url()),
        ("redis.key_prefix".into(), prefix.into()),
    ];
    overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::load(&SettingsSource {
        config_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")),
        env: Some("test".into()),
        overrides,
        use_process_env: false,
    })
    .expect("test settings")
}

/// A worker running inside the test process: its stop switch and task.
type InProcessWorker = (
    watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

pub struct TestApp {
    pub address: String,
    pub services: Services,
    pub sim: graph_sim::RunningSim,
    pub http: reqwest::Client,
    pub db: TestDb,
    stop: watch::Sender<bool>,
    workers: Vec<InProcessWorker>,
}

#[derive(Default, Clone)]
pub struct AppOptions {
    /// Start an in-process worker.
    pub worker: bool,
    pub sim: Option<graph_sim::SimConfig>,
    pub settings: Vec<(String, String)>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await
}

/// Every log line the product writes during the test run, for the secret scan.
pub static CAPTURED_LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct CapturedWriter;

impl std::io::Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = CAPTURED_LOGS.lock() {
            // Bounded: the scan needs what the product logs, not every repetition of it.
            if logs.len() < 64 * 1024 * 1024 {
                logs.extend_from_slice(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the product's logs (debug level) once per test binary.
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                "debug,hyper=info,hyper_util=info,h2=info,sqlx=warn,tower=info,reqwest=debug",
            )
            .with_writer(|| CapturedWriter)
            .with_ansi(false)
            .try_init();
    });
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    capture_logs();
    let db = TestDb::create().await;
    let prefix = format!("pvt{}", &Uuid::new_v4().simple().to_string()[..10]);
    let extra: Vec<(&str, &str)> = options
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let settings = settings_for(&db.url, &prefix, &extra);
    let services = Services::connect(settings).await.expect("services");
    store::migrate_up(&services.db).await.expect("migrations");
    let sim_config = options.sim.clone().unwrap_or_else(|| graph_sim::SimConfig {
        throttle: false,
        ..graph_sim::SimConfig::default()
    });
    let sim = graph_sim::spawn(sim_config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("graph-sim");
    let app = Application::build(services.clone()).await.expect("app");
    let address = format!("http://{}", app.addr());
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(app.run_until(wait(stop_rx)));
    let mut test_app = TestApp {
        address,
        services,
        sim,
        http: policyvault::http::client(Duration::from_secs(120)).expect("http client"),
        db,
        stop,
        workers: Vec::new(),
    };
    if options.worker {
        test_app.start_worker();
    }
    test_app
}

async fn wait(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// A user of a test, with an API token.
#[derive(Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: Arc<SecretString>,
}

/// A tenant registered in PolicyVault and in graph-sim.
#[derive(Clone)]
pub struct TestTenant {
    pub id: Uuid,
    pub name: String,
    pub sim_id: String,
}

impl TestApp {
    pub fn start_worker(&mut self) {
        let (tx, rx) = watch::channel(false);
        let services = self.services.clone();
        let handle = tokio::spawn(policyvault::worker::run_worker(services, wait(rx)));
        self.workers.push((tx, handle));
    }

    pub async fn stop_workers(&mut self) {
        for (tx, handle) in self.workers.drain(..) {
            let _ = tx.send(true);
            let _ = handle.await;
        }
    }

    pub async fn shutdown(mut self) {
        self.stop_workers().await;
        let _ = self.stop.send(true);
        let _ = self.services.redis.delete_namespace().await;
        self.db.drop_db().await;
    }

    pub fn sim_url(&self) -> String {
        self.sim.base_url()
    }

    pub async fn add_user(&self, email: &str) -> TestUser {
        let email = Email::parse(email).unwrap();
        let pw = Password::parse(SecretString::from("correct horse battery".to_string())).unwrap();
        let user = accounts::create_user(&self.services.db, &email, &pw)
            .await
            .unwrap();
        let (_, token) = accounts::create_token(&self.services.db, &user, "test")
            .await
            .unwrap();
        TestUser {
            id: user.id,
            email: email.to_string(),
            token: Arc::new(token),
        }
    }

    /// Creates an empty graph-sim tenant and registers it in PolicyVault.
    pub async fn add_tenant(&self, name: &str) -> TestTenant {
        let sim_id = Uuid::new_v4().to_string();
        let client_id = Uuid::new_v4().to_string();
        let client_secret = format!("sim-secret-{}", Uuid::new_v4().simple());
        let response = self
            .http
            .put(format!("{}/_sim/tenants/{sim_id}", self.sim_url()))
            .json(&json!({"name": name, "client_id": client_id, "client_secret": client_secret}))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "sim tenant: {}",
            response.status()
        );
        let tenant = tenants::create(
            &self.services.db,
            &self.services.secrets,
            tenants::NewTenant {
                name: TenantName::parse(name).unwrap(),
                entra_tenant_id: sim_id.clone(),
                client_id,
                credential: tenants::NewCredential::Secret(SecretString::from(client_secret)),
                graph_base_url: self.sim_url(),
                login_base_url: self.sim_url(),
            },
        )
        .await
        .unwrap();
        TestTenant {
            id: tenant.id,
            name: name.to_string(),
            sim_id,
        }
    }

    pub async fn grant(&self, user: &TestUser, tenant: &TestTenant, role: Role) {
        let t = tenants::get(&self.services.db, tenant.id).await.unwrap();
        let u = accounts::user_by_email(&self.services.db, &Email::parse(&user.email).unwrap())
            .await
            .unwrap();
        accounts::grant_membership(&self.services.db, &t, &u, role)
            .await
            .unwrap();
    }

    /// Loads an object into a graph-sim tenant; returns the stored object.
    pub async fn sim_load(&self, tenant: &TestTenant, collection: &str, object: Value) -> Value {
        let response = self
            .http
            .post(format!(
                "{}/_sim/tenants/{}/objects",
                self.sim_url(),
                tenant.sim_id
            ))
            .json(&json!({"collection": collection, "object": object}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "sim load");
        response.json().await.unwrap()
    }

    pub async fn sim_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.sim_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.sim_url()))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Injects a graph-sim fault into a tenant (`{"kind": ..}`, see graph-sim's README).
    pub async fn sim_fault(&self, tenant: &TestTenant, fault: Value) {
        let response = self
            .sim_post(&format!("/_sim/tenants/{}/faults", tenant.sim_id), fault)
            .await;
        assert!(
            response.status().is_success(),
            "fault: {}",
            response.status()
        );
    }

    pub async fn sim_journal(&self, tenant: &TestTenant) -> Vec<Value> {
        let v = self
            .sim_get(&format!("/_sim/tenants/{}/journal", tenant.sim_id))
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    pub async fn sim_stats(&self, tenant: &TestTenant) -> Value {
        self.sim_get(&format!("/_sim/tenants/{}/stats", tenant.sim_id))
            .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.address)
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.http
            .put(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, user: &TestUser, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(user.token.expose_secret())
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, user: &TestUser, path: &str) -> Value {
        let response = self.get(user, path).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    /// Polls a run until it is terminal; panics with its last state after `timeout`.
    pub async fn wait_for_terminal(
        &self,
        user: &TestUser,
        tenant: Uuid,
        run_id: &str,
        timeout: Duration,
    ) -> Value {
        let started = Instant::now();
        loop {
            let body = self
                .get_json(user, &format!("/tenants/{tenant}/runs/{run_id}"))
                .await;
            let status = body["run"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !matches!(status.as_str(), "queued" | "running") {
                return body["run"].clone();
            }
            assert!(
                started.elapsed() < timeout,
                "run {run_id} still {status} after {timeout:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A self-signed RSA certificate and its unencrypted private key as one PEM text, made with
/// `openssl` as an admin would make one for an app registration.
pub fn certificate_pem(common_name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pv-cert-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .arg("-subj")
        .arg(format!("/CN={common_name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (scripts/test.sh installs it)");
    assert!(status.success(), "openssl req failed");
    let pem = std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    pem
}

/// The PEM text's certificate block alone (what is uploaded to the app registration).
pub fn certificate_only(pem: &str) -> String {
    let end = "-----END CERTIFICATE-----";
    let stop = pem.find(end).expect("a certificate block") + end.len();
    let start = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
    format!("{}\n", &pem[start..stop])
}

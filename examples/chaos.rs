//! The fault drill: an operator's bad night, run against the `policyvault worker` binary.
//!
//! Started by `scripts/chaos.sh` (which builds the binaries, starts Redis and PostgreSQL and
//! stops them afterwards). Per scenario: a fresh empty target tenant in graph-sim, a live
//! restore of a large snapshot into it and a capture of each of the other tenants are started
//! through the API; once the restore is under way the fault is injected, then cleared. The
//! drill then waits for every run to end and prints one row per scenario: runs started,
//! runs terminal, their statuses, duplicated Graph objects in the target, duplicated item
//! rows, the time from the fault clearing to the last run ending, and whether every worker
//! answers `/healthz` 200 without having been restarted. It exits non-zero when a scenario
//! misses the bar: every run terminal within 3 minutes of the fault clearing, the restore
//! `succeeded`, nothing duplicated, every worker healthy.
//!
//! Environment (set by `scripts/chaos.sh`): `PV_BENCH_DATABASE_URL`, `PV_BENCH_REDIS_URL`,
//! `PV_CHAOS_BIN` (the `policyvault` binary), `PV_CHAOS_REDIS_DIR` and `PV_CHAOS_PG_DIR`
//! (where `scripts/lib.sh` keeps their data and pid files), `PV_CHAOS_PG_BIN` (PostgreSQL's
//! bin directory), `PV_CHAOS_LOG_DIR`; `PV_CHAOS_SHORT=1` for the short version (smaller
//! restore, shorter faults, five scenarios), `PV_CHAOS_SCENARIOS` to pick scenarios by name.

mod bench_common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bench_common::{Bench, BenchTenant, BenchUser, Role, print_heading, print_table};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// How long runs may take to end once the fault has cleared.
const RECOVERY_LIMIT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Redis stopped for this long, then started again (empty: it keeps no data).
    RedisDown(Duration),
    RedisFlushAll,
    PostgresRestart,
    /// A worker SIGKILLed (and replaced, as an orchestrator would) every 5 s for this long.
    WorkerKills(Duration),
    /// The worker holding the restore SIGSTOPped for this long, then resumed.
    WorkerPause(Duration),
    /// graph-sim answers 503 + Retry-After to every request of the drill's tenants.
    GraphOutage(Duration),
    /// 30 % HTTP 500 and 30 % HTTP 503.
    GraphErrors(Duration),
    /// 20 % of successful writes applied, then the connection dropped without an answer.
    DropAfterCommit(Duration),
}

struct Scenario {
    name: &'static str,
    fault: Fault,
}

fn scenarios(short: bool) -> Vec<Scenario> {
    let s = |secs: u64| Duration::from_secs(secs);
    if short {
        return vec![
            Scenario {
                name: "redis_down",
                fault: Fault::RedisDown(s(10)),
            },
            Scenario {
                name: "redis_flushall",
                fault: Fault::RedisFlushAll,
            },
            Scenario {
                name: "postgres_restart",
                fault: Fault::PostgresRestart,
            },
            Scenario {
                name: "worker_kills",
                fault: Fault::WorkerKills(s(15)),
            },
            Scenario {
                name: "graph_errors",
                fault: Fault::GraphErrors(s(15)),
            },
        ];
    }
    vec![
        Scenario {
            name: "redis_down",
            fault: Fault::RedisDown(s(30)),
        },
        Scenario {
            name: "redis_flushall",
            fault: Fault::RedisFlushAll,
        },
        Scenario {
            name: "postgres_restart",
            fault: Fault::PostgresRestart,
        },
        Scenario {
            name: "worker_kills",
            fault: Fault::WorkerKills(s(60)),
        },
        Scenario {
            name: "worker_pause",
            fault: Fault::WorkerPause(s(40)),
        },
        Scenario {
            name: "graph_outage",
            fault: Fault::GraphOutage(s(60)),
        },
        Scenario {
            name: "graph_errors",
            fault: Fault::GraphErrors(s(60)),
        },
        Scenario {
            name: "drop_after_commit",
            fault: Fault::DropAfterCommit(s(60)),
        },
    ]
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set: run scripts/chaos.sh"))
}

/// A `policyvault worker` process of the drill.
struct Worker {
    child: Child,
    health: String,
}

impl Worker {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

struct Drill {
    bench: Bench,
    admin: BenchUser,
    snapshot_id: String,
    restore_size: u64,
    others: Vec<BenchTenant>,
    workers: Vec<Worker>,
    spawned: usize,
    bin: PathBuf,
    log_dir: PathBuf,
    redis_dir: PathBuf,
    redis_port: u16,
    pg_dir: PathBuf,
    pg_bin: PathBuf,
}

/// One row of the table.
struct Outcome {
    started: usize,
    terminal: usize,
    statuses: BTreeMap<String, usize>,
    restore_status: String,
    duplicate_objects: usize,
    duplicate_rows: i64,
    recovery: Option<Duration>,
    healthy: bool,
    note: String,
}

impl Drill {
    fn spawn_worker(&mut self) -> anyhow::Result<()> {
        let port = free_port()?;
        let settings = &self.bench.settings;
        self.spawned += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_dir.join(format!("worker-{}.log", self.spawned)))?;
        let child = Command::new(&self.bin)
            .arg("worker")
            .env("PV_ENV", "test")
            .env(
                "PV_CONFIG_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
            )
            .env("PV__DATABASE__URL", settings.database.url.expose_secret())
            .env("PV__REDIS__URL", settings.redis.url.expose_secret())
            .env("PV__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
            .env("PV__WORKER__LISTEN", format!("127.0.0.1:{port}"))
            .env("PV__LOG__LEVEL", "info,sqlx=warn,sea_orm=warn")
            .env("PV__RUNS__HEARTBEAT_SECS", "5")
            .env("PV__RUNS__STALE_AFTER_SECS", "30")
            .env("PV__RUNS__REAPER_INTERVAL_SECS", "5")
            .env("PV__RUNS__REPUSH_AFTER_SECS", "20")
            .env("PV__GRAPH__RETRY_BUDGET_SECS", "120")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting a worker")?;
        self.workers.push(Worker {
            child,
            health: format!("http://127.0.0.1:{port}/healthz"),
        });
        Ok(())
    }

    async fn health(&self, worker: &Worker) -> Option<u16> {
        let response = self
            .bench
            .http
            .get(&worker.health)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        Some(response.status().as_u16())
    }

    /// Every worker answers 200 within `within`.
    async fn all_healthy(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let mut ok = true;
            for w in &self.workers {
                ok &= self.health(w).await == Some(200);
            }
            if ok {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn start_run(
        &self,
        tenant: &BenchTenant,
        path: &str,
        body: Value,
    ) -> anyhow::Result<String> {
        let path = format!("/tenants/{}/{path}", tenant.id());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.bench.post(&self.admin, &path, body.clone()).await {
                Ok((202, answer)) => {
                    return answer["run"]["id"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| anyhow!("no run id in {answer}"));
                }
                other if Instant::now() > deadline => bail!("POST {path}: {other:?}"),
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// Statuses of the runs, read from the database (retried while it restarts).
    async fn statuses(&self, runs: &[String]) -> BTreeMap<String, String> {
        let list = runs
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!("SELECT id::text, status FROM runs WHERE id IN ({list})");
        for _ in 0..60 {
            if let Ok(rows) = self.bench.rows(&sql).await {
                return rows.into_iter().collect();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        BTreeMap::new()
    }

    async fn restore_progress(&self, run_id: &str) -> i64 {
        self.bench
            .scalar(&format!(
                "SELECT count(*) FROM run_items WHERE run_id = '{run_id}' AND status = 'succeeded'"
            ))
            .await
            .unwrap_or(0)
    }

    async fn scenario(&mut self, scenario: &Scenario, short: bool) -> anyhow::Result<Outcome> {
        let target = self
            .bench
            .add_tenant(&format!("Chaos {}", scenario.name))
            .await?;
        self.bench.grant(&self.admin, &target, Role::Admin).await?;
        // A little latency, so the restore is still running when the fault hits.
        let mut tenants: Vec<BenchTenant> = self.others.clone();
        tenants.push(target.clone());
        self.sim_fault(
            &target,
            json!({"kind": "latency", "fixed_ms": 4, "jitter_ms": 4}),
        )
        .await?;

        let restore = self
            .start_run(
                &target,
                "restores",
                json!({"source": {"snapshot_id": self.snapshot_id}, "mode": "live", "confirm": target.name()}),
            )
            .await?;
        let mut runs = vec![restore.clone()];
        for tenant in &self.others {
            runs.push(self.start_run(tenant, "snapshots", json!({})).await?);
        }
        let under_way = if short { 10 } else { 40 };
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.restore_progress(&restore).await < under_way && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let mut note = String::new();
        match scenario.fault {
            Fault::RedisDown(down) => {
                self.stop_redis()?;
                tokio::time::sleep(down).await;
                self.start_redis()?;
            }
            Fault::RedisFlushAll => {
                let mut conn = self.bench.services.redis.connection();
                let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await?;
            }
            Fault::PostgresRestart => self.restart_postgres()?,
            Fault::WorkerKills(window) => {
                let end = Instant::now() + window;
                let mut kills = 0;
                while Instant::now() < end {
                    let mut victim = self.workers.remove(0);
                    signal("KILL", victim.pid());
                    let _ = victim.child.wait();
                    kills += 1;
                    self.spawn_worker()?;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                note = format!("{kills} workers killed and replaced");
            }
            Fault::WorkerPause(pause) => {
                let holder = self.holder_of(&restore).await;
                match holder {
                    Some(pid) => {
                        signal("STOP", pid);
                        tokio::time::sleep(pause).await;
                        signal("CONT", pid);
                        note = format!("paused worker pid {pid}");
                    }
                    None => note = "no worker held the restore".into(),
                }
            }
            Fault::GraphOutage(window) => {
                for tenant in &tenants {
                    self.sim_fault(
                        tenant,
                        json!({"kind": "outage", "retry_after_secs": 5, "duration_secs": window.as_secs_f64()}),
                    )
                    .await?;
                }
                tokio::time::sleep(window).await;
            }
            Fault::GraphErrors(window) => {
                for tenant in &tenants {
                    for status in [500, 503] {
                        self.sim_fault(
                            tenant,
                            json!({"kind": "error_rate", "status": status, "rate": 0.3, "duration_secs": window.as_secs_f64()}),
                        )
                        .await?;
                    }
                }
                tokio::time::sleep(window).await;
            }
            Fault::DropAfterCommit(window) => {
                self.sim_fault(
                    &target,
                    json!({"kind": "drop_after_commit", "rate": 0.2, "duration_secs": window.as_secs_f64()}),
                )
                .await?;
                tokio::time::sleep(window).await;
            }
        }
        let cleared = Instant::now();

        let mut statuses = self.statuses(&runs).await;
        while statuses.values().any(|s| !terminal(s)) && cleared.elapsed() < RECOVERY_LIMIT {
            tokio::time::sleep(Duration::from_millis(250)).await;
            statuses = self.statuses(&runs).await;
        }
        let all_ended = statuses.len() == runs.len() && statuses.values().all(|s| terminal(s));
        let recovery = all_ended.then(|| cleared.elapsed());

        if let Fault::WorkerPause(_) = scenario.fault
            && let Some(pid) = note
                .strip_prefix("paused worker pid ")
                .and_then(|p| p.parse::<u32>().ok())
        {
            let consumed = self.consumes_alone(pid).await?;
            note.push_str(if consumed {
                "; it consumed again afterwards"
            } else {
                "; it did NOT consume again"
            });
            if !consumed {
                return Ok(self
                    .outcome(&runs, &statuses, &restore, &target, recovery, false, note)
                    .await);
            }
        }
        let healthy = self.all_healthy(Duration::from_secs(30)).await;
        Ok(self
            .outcome(&runs, &statuses, &restore, &target, recovery, healthy, note)
            .await)
    }

    #[allow(clippy::too_many_arguments)]
    async fn outcome(
        &self,
        runs: &[String],
        statuses: &BTreeMap<String, String>,
        restore: &str,
        target: &BenchTenant,
        recovery: Option<Duration>,
        healthy: bool,
        note: String,
    ) -> Outcome {
        let mut counts = BTreeMap::new();
        for status in statuses.values() {
            *counts.entry(status.clone()).or_insert(0) += 1;
        }
        let list = runs
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(",");
        let duplicate_rows = self
            .bench
            .scalar(&format!(
                "SELECT count(*) FROM (SELECT run_id, item_key FROM run_items WHERE run_id IN ({list}) GROUP BY run_id, item_key HAVING count(*) > 1) d"
            ))
            .await
            .unwrap_or(-1);
        let mut note = note;
        for (run, status) in statuses {
            if status != "succeeded" {
                let why = self
                    .bench
                    .rows(&format!(
                        "SELECT coalesce(error_code, '?'), count(*)::text FROM run_items WHERE run_id = '{run}' AND status = 'failed' GROUP BY 1"
                    ))
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(code, n)| format!("{n} {code}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                note.push_str(&format!("; {status} run {run}: items failed {why}"));
            }
        }
        Outcome {
            started: runs.len(),
            terminal: statuses.values().filter(|s| terminal(s)).count(),
            statuses: counts,
            restore_status: statuses.get(restore).cloned().unwrap_or_default(),
            duplicate_objects: self.duplicate_objects(target).await.unwrap_or(usize::MAX),
            duplicate_rows,
            recovery,
            healthy,
            note,
        }
    }

    /// Objects in the target beyond one per (collection, display name): every source object
    /// has a name of its own, so any extra is a create sent twice.
    async fn duplicate_objects(&self, target: &BenchTenant) -> anyhow::Result<usize> {
        let export = self
            .bench
            .sim_get(&format!("/_sim/tenants/{}/export", target.sim_id))
            .await?;
        // By name and type: a new tenant's four service defaults share one name. The audit
        // log records writes and holds no objects.
        let mut names: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for (collection, objects) in export.as_object().into_iter().flatten() {
            if collection.ends_with("auditEvents") {
                continue;
            }
            for object in objects.as_array().into_iter().flatten() {
                let name = object["displayName"]
                    .as_str()
                    .or_else(|| object["name"].as_str())
                    .unwrap_or_default()
                    .to_string();
                let ty = object["@odata.type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                *names.entry((collection.clone(), name, ty)).or_insert(0) += 1;
            }
        }
        Ok(names.values().map(|n| n.saturating_sub(1)).sum())
    }

    /// The pid of the worker process holding the run's lease (`pv-{host}-{pid}-{suffix}`).
    async fn holder_of(&self, run_id: &str) -> Option<u32> {
        let rows = self
            .bench
            .rows(&format!(
                "SELECT id::text, coalesce(lease_owner, '') FROM runs WHERE id = '{run_id}'"
            ))
            .await
            .ok()?;
        let owner = rows.into_iter().next()?.1;
        let mut parts = owner.rsplitn(3, '-');
        let _suffix = parts.next()?;
        parts.next()?.parse().ok()
    }

    /// With every other worker paused, the resumed one executes new captures by itself.
    async fn consumes_alone(&mut self, pid: u32) -> anyhow::Result<bool> {
        let others: Vec<u32> = self
            .workers
            .iter()
            .map(Worker::pid)
            .filter(|p| *p != pid)
            .collect();
        for p in &others {
            signal("STOP", *p);
        }
        let mut runs = Vec::new();
        for tenant in self.others.iter().take(3) {
            runs.push(self.start_run(tenant, "snapshots", json!({})).await?);
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut statuses = self.statuses(&runs).await;
        while statuses.values().any(|s| !terminal(s)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            statuses = self.statuses(&runs).await;
        }
        for p in &others {
            signal("CONT", *p);
        }
        Ok(statuses.len() == runs.len() && statuses.values().all(|s| s == "succeeded"))
    }

    async fn sim_fault(&self, tenant: &BenchTenant, fault: Value) -> anyhow::Result<()> {
        let response = self
            .bench
            .http
            .post(format!(
                "{}/_sim/tenants/{}/faults",
                self.bench.sim_url(),
                tenant.sim_id
            ))
            .json(&fault)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("graph-sim refused the fault {fault}: {}", response.status());
        }
        Ok(())
    }

    fn stop_redis(&self) -> anyhow::Result<()> {
        let pid = std::fs::read_to_string(self.redis_dir.join("redis.pid"))?;
        signal("TERM", pid.trim().parse()?);
        wait_port(self.redis_port, false, Duration::from_secs(10))
    }

    /// Started as `scripts/lib.sh` starts it, so its pid file stays the one to stop.
    fn start_redis(&self) -> anyhow::Result<()> {
        let dir = &self.redis_dir;
        let status = Command::new("redis-server")
            .args([
                "--port",
                &self.redis_port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "yes"])
            .arg("--pidfile")
            .arg(dir.join("redis.pid"))
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("redis-server did not start again");
        }
        wait_port(self.redis_port, true, Duration::from_secs(10))
    }

    /// `pg_ctl restart -m fast`, then the new postmaster's pid where `scripts/lib.sh` looks.
    fn restart_postgres(&self) -> anyhow::Result<()> {
        let data = self.pg_dir.join("data");
        let pg_ctl = self.pg_bin.join("pg_ctl");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let status = command
            .arg("-D")
            .arg(&data)
            .args(["-w", "-t", "60", "-m", "fast", "restart"])
            .arg("-l")
            .arg(self.pg_dir.join("postgres.log"))
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("pg_ctl restart failed");
        }
        let pid = std::fs::read_to_string(data.join("postmaster.pid"))?;
        let pid = pid.lines().next().unwrap_or_default();
        std::fs::write(self.pg_dir.join("postgres.pid"), format!("{pid}\n"))?;
        Ok(())
    }
}

fn terminal(status: &str) -> bool {
    !matches!(status, "queued" | "running")
}

fn signal(name: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_port(port: u16, open: bool, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() == open {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "port {port} did not {}",
        if open { "open" } else { "close" }
    )
}

fn port_of(url: &str) -> anyhow::Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| anyhow!("no port in {url}"))
}

/// Loads `n` objects of distinct names into a graph-sim tenant.
async fn load(bench: &Bench, tenant: &BenchTenant, n: usize) -> anyhow::Result<()> {
    for i in 0..n {
        let (collection, object) = match i % 3 {
            0 => (
                "deviceManagement/deviceConfigurations",
                json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                       "displayName": format!("Drill configuration {i}"), "passwordRequired": i % 2 == 0}),
            ),
            1 => (
                "deviceManagement/deviceCompliancePolicies",
                json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy",
                       "displayName": format!("Drill compliance {i}"), "passwordRequired": true,
                       "scheduledActionsForRule": [{"ruleName": "PasswordRequired",
                         "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 0}]}]}),
            ),
            _ => (
                "deviceManagement/configurationPolicies",
                json!({"name": format!("Drill settings {i}"), "platforms": "windows10",
                       "technologies": "mdm", "settings": []}),
            ),
        };
        bench.sim_load(&tenant.sim_id, collection, object).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let short = std::env::var("PV_CHAOS_SHORT").is_ok_and(|v| v == "1");
    let chosen: Option<Vec<String>> = std::env::var("PV_CHAOS_SCENARIOS")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(str::to_string).collect());
    let (restore_size, other_runs, workers) = if short { (120, 6, 2) } else { (400, 10, 3) };
    let redis_url = env("PV_BENCH_REDIS_URL")?;
    let bench = Bench::start(
        &[("log.level".to_string(), "error".to_string())],
        Some(graph_sim::SimConfig {
            throttle: false,
            ..graph_sim::SimConfig::default()
        }),
    )
    .await?;
    let admin = bench.add_user("drill@example.com").await?;
    let source = bench.add_tenant("Drill Source").await?;
    bench.grant(&admin, &source, Role::Admin).await?;
    load(&bench, &source, restore_size).await?;
    let mut others = Vec::new();
    for i in 0..other_runs {
        let tenant = bench.add_tenant(&format!("Drill Customer {i}")).await?;
        bench.grant(&admin, &tenant, Role::Admin).await?;
        load(&bench, &tenant, 24).await?;
        others.push(tenant);
    }
    let mut drill = Drill {
        snapshot_id: String::new(),
        restore_size: restore_size as u64,
        admin,
        others,
        workers: Vec::new(),
        spawned: 0,
        bin: PathBuf::from(env("PV_CHAOS_BIN")?),
        log_dir: PathBuf::from(env("PV_CHAOS_LOG_DIR")?),
        redis_dir: PathBuf::from(env("PV_CHAOS_REDIS_DIR")?),
        redis_port: port_of(&redis_url)?,
        pg_dir: PathBuf::from(env("PV_CHAOS_PG_DIR")?),
        pg_bin: PathBuf::from(env("PV_CHAOS_PG_BIN")?),
        bench,
    };
    let result = run(&mut drill, short, chosen, &source, workers).await;
    for worker in &mut drill.workers {
        signal("CONT", worker.pid());
        signal("TERM", worker.pid());
        let _ = worker.child.wait();
    }
    drill.bench.shutdown().await;
    result
}

async fn run(
    drill: &mut Drill,
    short: bool,
    chosen: Option<Vec<String>>,
    source: &BenchTenant,
    workers: usize,
) -> anyhow::Result<()> {
    for _ in 0..workers {
        drill.spawn_worker()?;
    }
    if !drill.all_healthy(Duration::from_secs(60)).await {
        bail!("the workers did not become healthy");
    }
    let capture = drill.start_run(source, "snapshots", json!({})).await?;
    let run = drill
        .bench
        .wait_for_terminal(
            &drill.admin,
            source,
            &capture,
            Duration::from_millis(200),
            Duration::from_secs(300),
        )
        .await?;
    if run["status"] != "succeeded" {
        bail!("the source capture ended {run}");
    }
    let snapshot = drill
        .bench
        .rows(&format!(
            "SELECT id::text, item_count::text FROM snapshots WHERE run_id = '{capture}'"
        ))
        .await?;
    let (snapshot_id, items) = snapshot
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no snapshot for the source capture"))?;
    drill.snapshot_id = snapshot_id;

    print_heading(
        &format!(
            "Fault drill: a {items}-object live restore and {} captures in flight, {workers} `policyvault worker` processes",
            drill.others.len()
        ),
        if short {
            "scripts/chaos.sh --short"
        } else {
            "scripts/chaos.sh"
        },
    );
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    // Scenarios named explicitly come from the full list, whatever the size.
    for scenario in scenarios(short && chosen.is_none()) {
        if let Some(chosen) = &chosen
            && !chosen.iter().any(|c| c == scenario.name)
        {
            continue;
        }
        eprintln!("==> scenario {}", scenario.name);
        let outcome = drill.scenario(&scenario, short).await?;
        let pass = outcome.terminal == outcome.started
            && outcome.restore_status == "succeeded"
            && outcome.duplicate_objects == 0
            && outcome.duplicate_rows == 0
            && outcome.recovery.is_some_and(|r| r <= RECOVERY_LIMIT)
            && outcome.healthy;
        if !pass {
            failed.push(scenario.name);
        }
        let statuses = outcome
            .statuses
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![
            scenario.name.to_string(),
            outcome.started.to_string(),
            outcome.terminal.to_string(),
            statuses,
            outcome.duplicate_objects.to_string(),
            outcome.duplicate_rows.to_string(),
            outcome
                .recovery
                .map_or("-".into(), |r| format!("{:.1} s", r.as_secs_f64())),
            if outcome.healthy { "yes" } else { "no" }.into(),
            if pass { "pass" } else { "FAIL" }.into(),
            outcome.note,
        ]);
    }
    println!();
    print_table(
        &[
            "scenario",
            "runs",
            "terminal",
            "statuses",
            "dup objects",
            "dup item rows",
            "recovered in",
            "workers healthy",
            "result",
            "note",
        ],
        &rows,
    );
    println!(
        "\n  recovered in: from the fault clearing to the last run ending (limit {} s); the restore has {} items",
        RECOVERY_LIMIT.as_secs(),
        drill.restore_size
    );
    if !failed.is_empty() {
        bail!("scenarios that missed the bar: {}", failed.join(", "));
    }
    Ok(())
}

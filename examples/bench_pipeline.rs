//! Benchmark 2 of the orchestration issue: the pipeline from start to terminal.
//!
//! N tenants, each given one or two objects in graph-sim (throttling off) next to the built-in
//! objects graph-sim gives every tenant, get one capture
//! each (`POST /api/v1/tenants/{id}/snapshots`, every supported policy type), started through
//! the API by 16 concurrent clients while K in-process workers (each with its own database
//! pool and Redis connection, `worker.concurrency` runs at a time) execute them. Figures:
//! runs/s from the first start to the last terminal run, and start-to-terminal latency from
//! the Run Records (`queued_at` → `finished_at`), split into queue wait and execution.
//! Before the clock starts, `--warmup` captures of tenants of their own go through the same
//! processes (as in a worker that has been running, each pooled connection has its
//! statements prepared and planned); they count in no figure.
//!
//! Next to it, on the same Redis: raw apalis 1.0 + apalis-redis, N no-op jobs pushed by 16
//! concurrent pushers and consumed by K workers with the same concurrency and poll interval —
//! what the queue alone costs.
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release --example bench_pipeline -- --runs 200 --workers 1 --concurrency 8
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};
use apalis::prelude::{
    BackendExt, BoxDynError, Data, Monitor, TaskSink, WorkerBuilder, WorkerBuilderExt,
};
use bench_common::{
    Bench, BenchTenant, CpuSample, Role, SimStats, admin_database_url, ms, percentile,
    print_heading, print_table, redis_url,
};
use clap::Parser;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// Clients starting runs (and pushers of raw jobs) at once.
const STARTERS: usize = 16;
/// No benchmark phase waits longer than this for its runs or jobs.
const PHASE_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Parser, Debug)]
#[command(about = "Start-to-terminal pipeline next to raw apalis push+consume")]
struct Args {
    /// Runs (one capture per tenant) and raw no-op jobs.
    #[arg(long, env = "PV_BENCH_RUNS", default_value_t = 1000)]
    runs: usize,
    /// In-process workers (and raw apalis workers).
    #[arg(long, env = "PV_BENCH_WORKERS", default_value_t = 1)]
    workers: usize,
    /// Runs each worker starts out executing at once per queue (`worker.concurrency`).
    #[arg(long, env = "PV_BENCH_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    /// Slots a worker's queue may grow to while the CPU has room (`worker.max_concurrency`);
    /// at or below `--concurrency`, fixed slots. The raw apalis workers run this many at once.
    #[arg(long, env = "PV_BENCH_MAX_CONCURRENCY", default_value_t = 32)]
    max_concurrency: usize,
    /// Idle poll interval of every worker, milliseconds.
    #[arg(long, env = "PV_BENCH_POLL_MS", default_value_t = 50)]
    poll_ms: u64,
    /// `graph.batch_size`: GET sub-requests per `$batch` (1 sends none).
    #[arg(long, env = "PV_BENCH_BATCH_SIZE", default_value_t = 20)]
    batch_size: usize,
    /// Policy types each capture reads, comma-separated; `all` reads every supported type
    /// (the built-in objects graph-sim gives every tenant included).
    #[arg(
        long,
        env = "PV_BENCH_POLICY_TYPES",
        default_value = "deviceConfigurations,assignmentFilters"
    )]
    policy_types: String,
    /// Captures of tenants of their own run through the same processes before the clock
    /// starts, as a worker that has been running has: each pooled connection then has its
    /// statements prepared and planned. Not counted in any figure.
    #[arg(long, env = "PV_BENCH_WARMUP", default_value_t = 100)]
    warmup: usize,
}

impl Args {
    fn command(&self) -> String {
        format!(
            "cargo run --release --example bench_pipeline -- --runs {} --warmup {} --workers {} --concurrency {} --max-concurrency {} --poll-ms {} --policy-types {}",
            self.runs,
            self.warmup,
            self.workers,
            self.concurrency,
            self.max_concurrency,
            self.poll_ms,
            self.policy_types
        )
    }

    /// The types each capture names; empty for every type.
    fn types(&self) -> Vec<String> {
        if self.policy_types.trim() == "all" {
            return Vec::new();
        }
        self.policy_types
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }
}

fn secs(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0))
}

/// Figures of one side of the comparison.
struct Side {
    jobs: usize,
    wall: Duration,
    enqueue: Duration,
    /// Enqueue → done, seconds, ascending.
    latencies: Vec<f64>,
    outcome: String,
    /// CPU spent from the first start to the last terminal job, where `/proc` tells.
    cpu: Option<CpuSample>,
}

impl Side {
    fn per_sec(&self) -> f64 {
        self.jobs as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    fn q(&self, q: f64) -> String {
        ms(secs(percentile(&self.latencies, q)))
    }
    /// CPU per job of this process without graph-sim, graph-sim, PostgreSQL, Redis and all,
    /// milliseconds.
    fn cpu_per_job(&self) -> Option<[f64; 5]> {
        let cpu = self.cpu?;
        let per = |d: Duration| d.as_secs_f64() * 1e3 / self.jobs.max(1) as f64;
        Some([
            per(cpu.this_process.saturating_sub(cpu.graph_sim)),
            per(cpu.graph_sim),
            per(cpu.postgres),
            per(cpu.redis),
            per(cpu.total()),
        ])
    }
    /// Cores kept busy on average over the wall time.
    fn cores_busy(&self) -> Option<f64> {
        Some(self.cpu?.total().as_secs_f64() / self.wall.as_secs_f64().max(1e-9))
    }
}

/// A CPU sample of this process and the benchmark's PostgreSQL and Redis.
fn cpu_now() -> Option<CpuSample> {
    CpuSample::now(&admin_database_url(), &redis_url())
}

/// Extra figures of the product side.
struct ProductDetail {
    /// The most runs executing at once, from the Run Records' start and finish times.
    peak_executing: f64,
    queue_wait: Vec<f64>,
    execution: Vec<f64>,
    graph: SimStats,
    /// Objects each run's snapshot holds: the ones loaded plus the tenant's built-ins.
    objects_per_run: f64,
}

/// `count` tenants named `prefix` and a number, each with one object loaded in graph-sim,
/// and every second one a second object.
async fn pipeline_tenants(
    bench: &Bench,
    user: &bench_common::BenchUser,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<BenchTenant>> {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix} {i:04}")).collect();
    let tenants: Vec<BenchTenant> = futures_util::stream::iter(names.iter())
        .map(|name| bench.add_tenant(name))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    for (i, tenant) in tenants.iter().enumerate() {
        bench.grant(user, tenant, Role::Operator).await?;
        bench
            .sim_load(
                &tenant.sim_id,
                "deviceManagement/deviceConfigurations",
                json!({
                    "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                    "displayName": format!("Win - Baseline {i}"),
                    "description": "pipeline benchmark",
                    "passwordRequired": true,
                    "passwordMinimumLength": 12
                }),
            )
            .await?;
        if i % 2 == 0 {
            bench
                .sim_load(
                    &tenant.sim_id,
                    "deviceManagement/assignmentFilters",
                    json!({
                        "displayName": format!("Corporate devices {i}"),
                        "platform": "windows10AndLater",
                        "rule": "(device.deviceOwnership -eq \"Corporate\")"
                    }),
                )
                .await?;
        }
    }
    Ok(tenants)
}

/// Starts a capture of each of `tenants` through the API, `STARTERS` at a time.
async fn start_captures(
    bench: &Bench,
    user: &bench_common::BenchUser,
    tenants: &[BenchTenant],
    types: &[String],
) -> anyhow::Result<()> {
    let answers: Vec<anyhow::Result<()>> = futures_util::stream::iter(tenants.iter())
        .map(|tenant| async move {
            bench
                .start_capture_of(user, tenant, types)
                .await
                .map(|_| ())
        })
        .buffer_unordered(STARTERS)
        .collect()
        .await;
    answers.into_iter().collect()
}

/// Waits until `n` runs in all are terminal.
async fn until_terminal(bench: &Bench, n: i64, started: Instant) -> anyhow::Result<()> {
    loop {
        let done = bench
            .scalar("SELECT count(*)::bigint FROM runs WHERE status NOT IN ('queued','running')")
            .await?;
        if done >= n {
            return Ok(());
        }
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("only {done} of {n} runs terminal after {PHASE_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn product_side(bench: &mut Bench, args: &Args) -> anyhow::Result<(Side, ProductDetail)> {
    let user = bench.add_user("bench@example.com").await?;
    let tenants = pipeline_tenants(bench, &user, "Pipeline Tenant", args.runs).await?;
    let warmup = pipeline_tenants(bench, &user, "Pipeline Warm-up", args.warmup).await?;
    for _ in 0..args.workers {
        bench.start_worker().await?;
    }
    // Let the workers register with apalis before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let types = &args.types();
    let warming = Instant::now();
    start_captures(bench, &user, &warmup, types).await?;
    until_terminal(bench, args.warmup as i64, warming).await?;

    let t0 = chrono::Utc::now();
    let cpu_before = cpu_now();
    let started = Instant::now();
    start_captures(bench, &user, &tenants, types).await?;
    let enqueue = started.elapsed();
    until_terminal(bench, (args.warmup + args.runs) as i64, started).await?;
    let cpu_after = cpu_now();
    bench.stop_workers().await;

    let t0_sql = t0.to_rfc3339();
    // The measured runs: those queued after the clock started.
    let measured = format!("FROM runs WHERE queued_at >= '{t0_sql}'::timestamptz");
    let n = args.runs as i64;
    let wall = bench
        .floats(&format!(
            "SELECT EXTRACT(EPOCH FROM (max(finished_at) - '{t0_sql}'::timestamptz))::float8 {measured}"
        ))
        .await?
        .first()
        .copied()
        .ok_or_else(|| anyhow!("no runs"))?;
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    let latencies = sorted(
        bench
            .floats(&format!(
                "SELECT EXTRACT(EPOCH FROM (finished_at - queued_at))::float8 {measured}"
            ))
            .await?,
    );
    let queue_wait = sorted(
        bench
            .floats(&format!(
                "SELECT EXTRACT(EPOCH FROM (started_at - queued_at))::float8 {measured}"
            ))
            .await?,
    );
    let execution = sorted(
        bench
            .floats(&format!(
                "SELECT EXTRACT(EPOCH FROM (finished_at - started_at))::float8 {measured}"
            ))
            .await?,
    );
    let succeeded = bench
        .scalar(&format!(
            "SELECT count(*)::bigint {measured} AND status = 'succeeded'"
        ))
        .await?;
    let peak_executing = bench
        .floats(&format!(
            "SELECT max(c)::float8 FROM (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED \
             PRECEDING) AS c FROM (SELECT started_at AS t, 1 AS d {measured} UNION ALL \
             SELECT finished_at, -1 {measured}) e) x"
        ))
        .await?
        .first()
        .copied()
        .unwrap_or(0.0);
    let objects_per_run = bench
        .floats(&format!(
            "SELECT avg(item_count)::float8 FROM snapshots WHERE run_id IN (SELECT id {measured})"
        ))
        .await?
        .first()
        .copied()
        .unwrap_or(0.0);
    let mut graph = SimStats::default();
    for tenant in &tenants {
        graph = graph + bench.sim_stats(&tenant.sim_id).await?;
    }
    Ok((
        Side {
            jobs: args.runs,
            wall: secs(wall),
            enqueue,
            latencies,
            outcome: format!("{succeeded}/{n} succeeded"),
            cpu: cpu_after.zip(cpu_before).map(|(a, b)| a.since(&b)),
        },
        ProductDetail {
            peak_executing,
            queue_wait,
            execution,
            graph,
            objects_per_run,
        },
    ))
}

/// The raw job: when it was pushed (µs since the epoch).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NoopJob {
    pushed_at_us: u64,
}

struct RawState {
    expected: usize,
    consumed: AtomicUsize,
    latencies: Mutex<Vec<f64>>,
    done: tokio::sync::Notify,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn noop(job: NoopJob, state: Data<Arc<RawState>>) -> Result<(), BoxDynError> {
    let latency = now_us().saturating_sub(job.pushed_at_us) as f64 / 1e6;
    if let Ok(mut l) = state.latencies.lock() {
        l.push(latency);
    }
    if state.consumed.fetch_add(1, Ordering::SeqCst) + 1 == state.expected {
        state.done.notify_one();
    }
    Ok(())
}

async fn raw_side(bench: &Bench, args: &Args) -> anyhow::Result<Side> {
    let queue = bench.services.redis.key("queue:rawbench");
    let storage: apalis_redis::RedisStorage<NoopJob> =
        apalis_redis::RedisStorage::new(bench.services.redis.connection())
            .with_config(apalis_redis::Config::default().queue(queue));
    let state = Arc::new(RawState {
        expected: args.runs,
        consumed: AtomicUsize::new(0),
        latencies: Mutex::new(Vec::with_capacity(args.runs)),
        done: tokio::sync::Notify::new(),
    });
    let poll = Duration::from_millis(args.poll_ms.max(10));
    let mut monitor = Monitor::new().shutdown_timeout(Duration::from_secs(10));
    let run_id = Uuid::new_v4().simple().to_string();
    for i in 0..args.workers {
        let storage = storage.clone();
        let state = state.clone();
        let concurrency = args.concurrency.max(args.max_concurrency);
        let name = format!("rawbench-{}-{i}", &run_id[..8]);
        monitor = monitor.register(move |restarts| {
            WorkerBuilder::new(format!("{name}-{restarts}"))
                .backend(storage.clone().poll_with_interval(poll))
                .data(state.clone())
                .concurrency(concurrency)
                .build(noop)
        });
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let monitor_task = tokio::spawn(monitor.run_with_signal(async move {
        let _ = stop_rx.await;
        Ok::<(), std::io::Error>(())
    }));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cpu_before = cpu_now();
    let started = Instant::now();
    let pushes: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..args.runs)
        .map(|_| {
            let mut storage = storage.clone();
            async move {
                storage
                    .push(NoopJob {
                        pushed_at_us: now_us(),
                    })
                    .await
                    .map_err(|e| anyhow!("push: {e}"))
            }
        })
        .buffer_unordered(STARTERS)
        .collect()
        .await;
    let enqueue = started.elapsed();
    for push in pushes {
        push?;
    }
    let finished = tokio::time::timeout(PHASE_TIMEOUT, async {
        while state.consumed.load(Ordering::SeqCst) < args.runs {
            let notified = state.done.notified();
            if state.consumed.load(Ordering::SeqCst) >= args.runs {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    })
    .await;
    let wall = started.elapsed();
    let cpu_after = cpu_now();
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), monitor_task).await;
    let consumed = state.consumed.load(Ordering::SeqCst);
    if finished.is_err() {
        bail!(
            "raw apalis consumed only {consumed} of {} jobs in {PHASE_TIMEOUT:?}",
            args.runs
        );
    }
    let mut latencies = state
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    Ok(Side {
        jobs: args.runs,
        wall,
        enqueue,
        latencies,
        outcome: format!("{consumed}/{} consumed", args.runs),
        cpu: cpu_after.zip(cpu_before).map(|(a, b)| a.since(&b)),
    })
}

async fn run(bench: &mut Bench, args: &Args) -> anyhow::Result<()> {
    let (product, detail) = product_side(bench, args).await?;
    let raw = raw_side(bench, args).await?;

    print_heading(
        &format!(
            "bench_pipeline: {} runs, {} worker(s) x concurrency {}, poll {} ms, graph-sim throttling off",
            args.runs, args.workers, args.concurrency, args.poll_ms
        ),
        &args.command(),
    );
    let read = if args.types().is_empty() {
        "every policy type".to_string()
    } else {
        format!("policy types {}", args.policy_types)
    };
    println!(
        "   PolicyVault: one capture_snapshot run per tenant (1-2 objects loaded; reads {read}), \
         started through the API by {STARTERS} clients; latency from the Run Records; \
         after {} warm-up runs of other tenants through the same processes, not counted",
        args.warmup
    );
    println!(
        "   raw apalis: no-op jobs on the same Redis, pushed by {STARTERS} tasks, same workers, \
         concurrency and poll interval"
    );
    println!();
    let row = |name: &str, a: String, b: String| vec![name.to_string(), a, b];
    let rows = vec![
        row("jobs", product.jobs.to_string(), raw.jobs.to_string()),
        row("outcome", product.outcome.clone(), raw.outcome.clone()),
        row(
            "wall, first start → last terminal",
            ms(product.wall),
            ms(raw.wall),
        ),
        row(
            "runs/s",
            format!("{:.1}", product.per_sec()),
            format!("{:.1}", raw.per_sec()),
        ),
        row(
            "enqueue phase (all starts / pushes)",
            ms(product.enqueue),
            ms(raw.enqueue),
        ),
        row("p50 start → terminal", product.q(0.50), raw.q(0.50)),
        row("p95 start → terminal", product.q(0.95), raw.q(0.95)),
        row("max start → terminal", product.q(1.0), raw.q(1.0)),
    ];
    let cpu = |side: &Side, i: usize| {
        side.cpu_per_job()
            .map_or("n/a".to_string(), |c| format!("{:.2} ms", c[i]))
    };
    let mut rows = rows;
    for (i, name) in [
        "CPU per job: API, workers, clients",
        "CPU per job: graph-sim (Graph's stand-in)",
        "CPU per job: PostgreSQL",
        "CPU per job: Redis",
        "CPU per job: all",
    ]
    .iter()
    .enumerate()
    {
        rows.push(row(name, cpu(&product, i), cpu(&raw, i)));
    }
    let busy = |side: &Side| {
        side.cores_busy()
            .map_or("n/a".into(), |b| format!("{b:.2}"))
    };
    rows.push(row("cores busy (CPU / wall)", busy(&product), busy(&raw)));
    print_table(&["", "PolicyVault runs", "raw apalis no-op"], &rows);
    println!();
    let q = |v: &[f64], p: f64| ms(secs(percentile(v, p)));
    print_table(
        &["PolicyVault run phases", "p50", "p95", "max"],
        &[
            vec![
                "queue wait (queued → running)".into(),
                q(&detail.queue_wait, 0.5),
                q(&detail.queue_wait, 0.95),
                q(&detail.queue_wait, 1.0),
            ],
            vec![
                "execution (running → terminal)".into(),
                q(&detail.execution, 0.5),
                q(&detail.execution, 0.95),
                q(&detail.execution, 1.0),
            ],
        ],
    );
    println!();
    println!(
        "   Runs executing at once, at most: {:.0} (slots start at {} per worker, ceiling {})",
        detail.peak_executing,
        args.concurrency,
        args.max_concurrency.max(args.concurrency)
    );
    println!(
        "   Graph requests seen by graph-sim: {} ({:.1} per run), {} throttled",
        detail.graph.requests,
        detail.graph.requests as f64 / product.jobs.max(1) as f64,
        detail.graph.throttled
    );
    let held = if args.types().is_empty() {
        "the 1-2 loaded plus the built-in objects graph-sim gives every tenant"
    } else {
        "the objects of the types read"
    };
    println!(
        "   Objects stored per run: {:.1} ({held})",
        detail.objects_per_run
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.runs > 0 && args.workers > 0 && args.concurrency > 0,
        "runs, workers and concurrency must be > 0"
    );
    let overrides: Vec<(String, String)> = vec![
        ("worker.concurrency".into(), args.concurrency.to_string()),
        (
            "worker.max_concurrency".into(),
            args.max_concurrency.to_string(),
        ),
        ("worker.poll_interval_ms".into(), args.poll_ms.to_string()),
        ("graph.batch_size".into(), args.batch_size.to_string()),
        // Every run is another tenant's; fairness must not be what limits the figures.
        ("runs.tenant_concurrency".into(), "64".into()),
    ];
    let sim = graph_sim::SimConfig {
        throttle: false,
        ..graph_sim::SimConfig::default()
    };
    let mut bench = Bench::start_with_sim_thread(&overrides, sim).await?;
    let result = run(&mut bench, &args).await;
    bench.shutdown().await;
    result
}

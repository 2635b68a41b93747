//! Benchmark 1 of the orchestration issue: start latency.
//!
//! C concurrent clients send capture starts (`POST /api/v1/tenants/{id}/snapshots`) for D
//! seconds against the real application — PostgreSQL, Redis, the de-duplication fast path,
//! the partial unique index, the apalis push — picking one of T tenants at random. The first
//! start of each tenant creates a run (202); every later one finds it queued and is
//! de-duplicated (200). By default no worker runs, so runs stay queued and the mix is
//! "T unique targets, the rest duplicates"; `--workers K` runs K in-process workers (against
//! graph-sim) so runs finish and later starts of the same tenant create new runs again.
//! Afterwards the database is checked for duplicate active runs (must be 0).
//!
//! Then the same load runs against a bare axum endpoint in the same process that answers 202
//! with a small JSON body, as a baseline for what HTTP and the client cost on this machine.
//!
//! Last, an **open loop** per rate in `--rates` (default 200 and 1,000 starts/s): starts sent
//! at fixed intervals for `--open-seconds` whether or not earlier ones were answered, so
//! latency is measured from when each was due (no coordinated omission). `--new-share`
//! (default 10 %) of them go to tenants with no active run (202, a new run), the rest to
//! tenants whose run is queued (200, de-duplicated); the same schedule runs against the bare
//! endpoint.
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release --example bench_starts -- --clients 32 --seconds 10 --tenants 200
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bench_common::{Bench, BenchTenant, Role, ms, percentile, print_heading, print_table};
use clap::Parser;
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

/// Unmeasured `GET /api/v1/tenants` load before each measured phase.
const WARM_UP: Duration = Duration::from_secs(1);

#[derive(Parser, Debug)]
#[command(about = "Start latency: the real start path next to a bare axum 202")]
struct Args {
    /// Concurrent clients.
    #[arg(long, env = "PV_BENCH_CLIENTS", default_value_t = 32)]
    clients: usize,
    /// Seconds of load per target (app, then baseline).
    #[arg(long, env = "PV_BENCH_SECONDS", default_value_t = 10)]
    seconds: u64,
    /// Tenants the starts are spread over (each one's first start creates a run).
    #[arg(long, env = "PV_BENCH_TENANTS", default_value_t = 200)]
    tenants: usize,
    /// In-process workers executing the runs (0: runs stay queued).
    #[arg(long, env = "PV_BENCH_WORKERS", default_value_t = 0)]
    workers: usize,
    /// Open-loop arrival rates (starts per second), comma-separated; empty for none.
    #[arg(long, env = "PV_BENCH_RATES", default_value = "200,1000")]
    rates: String,
    /// Seconds of each open-loop rate.
    #[arg(long, env = "PV_BENCH_OPEN_SECONDS", default_value_t = 5)]
    open_seconds: u64,
    /// Share of open-loop starts that create a new run.
    #[arg(long, env = "PV_BENCH_NEW_SHARE", default_value_t = 0.1)]
    new_share: f64,
}

impl Args {
    fn command(&self) -> String {
        format!(
            "cargo run --release --example bench_starts -- --clients {} --seconds {} --tenants {} --workers {} --rates {} --open-seconds {} --new-share {}",
            self.clients,
            self.seconds,
            self.tenants,
            self.workers,
            self.rates,
            self.open_seconds,
            self.new_share
        )
    }

    fn rates(&self) -> anyhow::Result<Vec<u32>> {
        self.rates
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                r.parse::<u32>()
                    .ok()
                    .filter(|r| *r > 0)
                    .ok_or_else(|| anyhow::anyhow!("--rates: {r:?} is not a positive integer"))
            })
            .collect()
    }
}

/// One answered (or failed, status 0) request.
#[derive(Clone, Copy)]
struct Sample {
    micros: u32,
    status: u16,
}

struct LoadResult {
    samples: Vec<Sample>,
    elapsed: Duration,
}

impl LoadResult {
    fn sorted_latencies(&self, filter: impl Fn(u16) -> bool) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .samples
            .iter()
            .filter(|s| filter(s.status))
            .map(|s| s.micros)
            .collect();
        v.sort_unstable();
        v
    }

    fn count(&self, status: u16) -> usize {
        self.samples.iter().filter(|s| s.status == status).count()
    }

    fn per_sec(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn us(micros: u32) -> String {
    ms(Duration::from_micros(u64::from(micros)))
}

/// What the clients send.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Request {
    /// `POST /api/v1/tenants/{random tenant}/snapshots`: the measured start.
    Start,
    /// `GET /api/v1/tenants`: opens HTTP and database connections without starting anything.
    WarmUp,
}

/// Sends `request` and reads the whole answer: its status, or 0 for a transport error.
async fn answered(request: reqwest::RequestBuilder) -> u16 {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    }
}

/// [`load`] of starts for `duration`, after [`WARM_UP`] of unmeasured requests that open
/// the connections (HTTP keep-alive, the database pool).
async fn warm_then_load(
    http: &reqwest::Client,
    base: &str,
    tenants: Arc<Vec<Uuid>>,
    token: Arc<String>,
    clients: usize,
    duration: Duration,
) -> LoadResult {
    let (warm_tenants, warm_token) = (tenants.clone(), token.clone());
    load(
        http,
        base,
        warm_tenants,
        warm_token,
        clients,
        WARM_UP,
        Request::WarmUp,
    )
    .await;
    load(
        http,
        base,
        tenants,
        token,
        clients,
        duration,
        Request::Start,
    )
    .await
}

/// `clients` tasks send `request` until `duration` has passed; each waits for the whole
/// answer before sending its next request.
async fn load(
    http: &reqwest::Client,
    base: &str,
    tenants: Arc<Vec<Uuid>>,
    token: Arc<String>,
    clients: usize,
    duration: Duration,
    request: Request,
) -> LoadResult {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let http = http.clone();
        let base = base.to_string();
        let tenants = tenants.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0x5eed + client as u64);
            let mut samples = Vec::with_capacity(4096);
            while Instant::now() < deadline {
                let tenant = tenants[rng.gen_range(0..tenants.len())];
                let builder = match request {
                    Request::Start => http
                        .post(format!("{base}/api/v1/tenants/{tenant}/snapshots"))
                        .json(&json!({})),
                    Request::WarmUp => http.get(format!("{base}/api/v1/tenants")),
                };
                let t0 = Instant::now();
                let status = answered(builder.bearer_auth(token.as_str())).await;
                let micros = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                samples.push(Sample { micros, status });
            }
            samples
        }));
    }
    gather(tasks, started).await
}

/// The samples of every task that ran to the end, and the time since `started`.
async fn gather(tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>, started: Instant) -> LoadResult {
    let mut samples = Vec::new();
    for task in tasks {
        if let Ok(part) = task.await {
            samples.extend(part);
        }
    }
    LoadResult {
        samples,
        elapsed: started.elapsed(),
    }
}

/// `rate` starts per second for `duration`, each sent when due whatever the earlier ones
/// are doing; a start goes to the next of `fresh` (no active run: a new run) with
/// probability `new_share`, else to a random one of `busy` (a queued run: de-duplicated).
/// Latency counts from when the start was due.
#[allow(clippy::too_many_arguments)]
async fn open_loop(
    http: &reqwest::Client,
    base: &str,
    busy: Arc<Vec<Uuid>>,
    mut fresh: Vec<Uuid>,
    token: Arc<String>,
    rate: u32,
    duration: Duration,
    new_share: f64,
) -> LoadResult {
    let total = (u64::from(rate) * duration.as_secs()).max(1);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = tokio::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(0x0be1);
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let tenant = if rng.gen_bool(new_share.clamp(0.0, 1.0))
            && let Some(t) = fresh.pop()
        {
            t
        } else {
            busy[rng.gen_range(0..busy.len())]
        };
        let http = http.clone();
        let url = format!("{base}/api/v1/tenants/{tenant}/snapshots");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let request = http.post(url).json(&json!({})).bearer_auth(token.as_str());
            let status = answered(request).await;
            let micros = u32::try_from(due.elapsed().as_micros()).unwrap_or(u32::MAX);
            vec![Sample { micros, status }]
        }));
    }
    gather(tasks, started.into_std()).await
}

/// The baseline: an axum endpoint on the same path that answers 202 with a small JSON body.
async fn spawn_bare_axum() -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    async fn accepted(
        axum::extract::Path(tenant): axum::extract::Path<Uuid>,
    ) -> (StatusCode, axum::Json<serde_json::Value>) {
        (
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "run": {"id": Uuid::now_v7(), "tenant_id": tenant, "status": "queued"},
                "deduplicated": false
            })),
        )
    }
    let app = axum::Router::new()
        .route(
            "/api/v1/tenants/{tenant}/snapshots",
            axum::routing::post(accepted),
        )
        .route(
            "/api/v1/tenants",
            axum::routing::get(|| async { axum::Json(json!({"tenants": []})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok((format!("http://{addr}"), tx))
}

async fn run(bench: &mut Bench, args: &Args) -> anyhow::Result<()> {
    let user = bench.add_user("bench@example.com").await?;
    let names: Vec<String> = (0..args.tenants)
        .map(|i| format!("Bench Tenant {i:04}"))
        .collect();
    let tenants: Vec<BenchTenant> = futures_util::stream::iter(names.iter())
        .map(|name| bench.add_tenant(name))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    for tenant in &tenants {
        bench.grant(&user, tenant, Role::Operator).await?;
    }
    for _ in 0..args.workers {
        bench.start_worker().await?;
    }
    let ids = Arc::new(tenants.iter().map(|t| t.id()).collect::<Vec<_>>());
    let token = Arc::new(user.token.expose_secret().to_string());
    let duration = Duration::from_secs(args.seconds);

    // Connections (HTTP keep-alive, the database pool) are opened before the clock starts.
    let app = warm_then_load(
        &bench.http,
        &bench.address,
        ids.clone(),
        token.clone(),
        args.clients,
        duration,
    )
    .await;

    // Checked after the load: more than one queued/running run per key would be a
    // de-duplication failure.
    let duplicates = bench
        .scalar(
            "SELECT count(*)::bigint FROM (SELECT tenant_id, operation, target_id FROM runs \
             WHERE status IN ('queued','running') GROUP BY tenant_id, operation, target_id \
             HAVING count(*) > 1) d",
        )
        .await?;
    let runs_total = bench.scalar("SELECT count(*)::bigint FROM runs").await?;
    let runs_active = bench
        .scalar("SELECT count(*)::bigint FROM runs WHERE status IN ('queued','running')")
        .await?;

    let (base, stop_bare) = spawn_bare_axum().await?;
    let bare = warm_then_load(
        &bench.http,
        &base,
        ids.clone(),
        token,
        args.clients,
        duration,
    )
    .await;
    let _ = stop_bare.send(());

    print_heading(
        &format!(
            "bench_starts: {} clients x {} s of capture starts over {} tenants, {} worker(s)",
            args.clients, args.seconds, args.tenants, args.workers
        ),
        &args.command(),
    );
    println!(
        "   app: POST /api/v1/tenants/{{id}}/snapshots (auth, SET NX, run insert under the partial \
         unique index, apalis push); PostgreSQL pool {} connections",
        bench.settings.database.max_connections
    );
    println!(
        "   baseline: bare axum POST on the same path answering 202 + small JSON, same process"
    );
    println!(
        "   each side gets {} s of unmeasured GET /api/v1/tenants first (opens connections)",
        WARM_UP.as_secs()
    );
    println!();
    let all = |r: &LoadResult| r.sorted_latencies(|_| true);
    let (app_all, bare_all) = (all(&app), all(&bare));
    let ok = |s: u16| s == 200 || s == 202;
    let errors = |r: &LoadResult| r.samples.iter().filter(|s| !ok(s.status)).count();
    let row = |name: &str, a: String, b: String| vec![name.to_string(), a, b];
    let mut rows = vec![
        row(
            "requests",
            app.samples.len().to_string(),
            bare.samples.len().to_string(),
        ),
        row(
            "starts/s",
            format!("{:.0}", app.per_sec()),
            format!("{:.0}", bare.per_sec()),
        ),
    ];
    for (label, q) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)] {
        rows.push(row(
            label,
            us(percentile(&app_all, q)),
            us(percentile(&bare_all, q)),
        ));
    }
    rows.push(row(
        "202 new run",
        app.count(202).to_string(),
        bare.count(202).to_string(),
    ));
    rows.push(row(
        "200 deduplicated",
        app.count(200).to_string(),
        bare.count(200).to_string(),
    ));
    rows.push(row(
        "other/errors",
        errors(&app).to_string(),
        errors(&bare).to_string(),
    ));
    print_table(&["", "app", "bare axum"], &rows);

    println!();
    println!("   app latency by answer:");
    let new = app.sorted_latencies(|s| s == 202);
    let dup = app.sorted_latencies(|s| s == 200);
    let by = |name: &str, v: &[u32]| {
        vec![
            name.to_string(),
            v.len().to_string(),
            us(percentile(v, 0.50)),
            us(percentile(v, 0.95)),
            us(percentile(v, 0.99)),
        ]
    };
    print_table(
        &["", "n", "p50", "p95", "p99"],
        &[by("202 new run", &new), by("200 deduplicated", &dup)],
    );
    println!();
    println!(
        "   database after the load: {runs_total} runs, {runs_active} queued/running, \
         duplicate active runs (same tenant, operation, target): {duplicates}"
    );
    if duplicates != 0 {
        println!("   !! duplicate active runs found: de-duplication is broken");
    }
    let other: Vec<String> = {
        let mut codes: Vec<u16> = app
            .samples
            .iter()
            .filter(|s| !ok(s.status))
            .map(|s| s.status)
            .collect();
        codes.sort_unstable();
        codes.dedup();
        codes.iter().map(|c| c.to_string()).collect()
    };
    if !other.is_empty() {
        println!(
            "   app answered other statuses (0 = transport error): {}",
            other.join(", ")
        );
    }
    open_loops(bench, args, &user, ids.clone()).await?;
    serve_process(bench, args, &user, ids).await
}

/// The saturated load once more, against a `policyvault serve` process on the same database
/// and Redis: its start rate, latency and peak RSS (the in-process application above shares
/// its process with the clients and the baseline).
async fn serve_process(
    bench: &Bench,
    args: &Args,
    user: &bench_common::BenchUser,
    tenants: Arc<Vec<Uuid>>,
) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut command = bench_common::policyvault_command(bench, "serve")?;
    command.env("PV__SERVER__LISTEN", format!("127.0.0.1:{port}"));
    let serve = bench_common::Guard(vec![command.spawn()?]);
    let pid = serve.0[0].id().to_string();
    let base = format!("http://127.0.0.1:{port}");
    let up = Instant::now();
    loop {
        let ready = bench.http.get(format!("{base}/healthz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        anyhow::ensure!(
            up.elapsed() < Duration::from_secs(30),
            "policyvault serve did not answer /healthz within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let idle = bench_common::peak_rss_mib(&pid).unwrap_or(0.0);
    let token = Arc::new(user.token.expose_secret().to_string());
    let (clients, duration) = (args.clients, Duration::from_secs(args.seconds));
    let result = warm_then_load(&bench.http, &base, tenants, token, clients, duration).await;
    let peak = bench_common::peak_rss_mib(&pid).unwrap_or(0.0);
    drop(serve);
    let all = result.sorted_latencies(|_| true);
    println!();
    println!(
        "   `policyvault serve` process, {clients} clients x {} s of starts (same tenants: runs already queued, so de-duplicated):",
        args.seconds
    );
    print_table(
        &[
            "", "starts/s", "p50", "p99", "errors", "RSS idle", "peak RSS",
        ],
        &[vec![
            "serve".to_string(),
            format!("{:.0}", result.per_sec()),
            us(percentile(&all, 0.50)),
            us(percentile(&all, 0.99)),
            result
                .samples
                .iter()
                .filter(|s| s.status != 200 && s.status != 202)
                .count()
                .to_string(),
            format!("{idle:.1} MiB"),
            format!("{peak:.1} MiB"),
        ]],
    );
    Ok(())
}

/// The open-loop phase: every rate against the app, then against the bare endpoint.
async fn open_loops(
    bench: &Bench,
    args: &Args,
    user: &bench_common::BenchUser,
    busy: Arc<Vec<Uuid>>,
) -> anyhow::Result<()> {
    let app_base = bench.address.as_str();
    let rates = args.rates()?;
    if rates.is_empty() {
        return Ok(());
    }
    let duration = Duration::from_secs(args.open_seconds.max(1));
    let token = Arc::new(user.token.expose_secret().to_string());
    let (bare_base, stop_bare) = spawn_bare_axum().await?;
    let mut rows = Vec::new();
    for rate in &rates {
        // Tenants without an active run for the new-run share (and some to spare).
        let wanted =
            (f64::from(*rate) * duration.as_secs_f64() * args.new_share * 1.5).ceil() as usize + 10;
        let names: Vec<String> = (0..wanted).map(|i| format!("Open {rate} {i:05}")).collect();
        let fresh: Vec<BenchTenant> = futures_util::stream::iter(names.iter())
            .map(|name| bench.add_tenant(name))
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for tenant in &fresh {
            bench.grant(user, tenant, Role::Operator).await?;
        }
        let fresh_ids: Vec<Uuid> = fresh.iter().map(|t| t.id()).collect();
        let app = open_loop(
            &bench.http,
            app_base,
            busy.clone(),
            fresh_ids.clone(),
            token.clone(),
            *rate,
            duration,
            args.new_share,
        )
        .await;
        let bare = open_loop(
            &bench.http,
            &bare_base,
            busy.clone(),
            fresh_ids,
            token.clone(),
            *rate,
            duration,
            args.new_share,
        )
        .await;
        let line = |name: String, r: &LoadResult, v: &[u32]| {
            vec![
                name,
                format!("{:.0}", r.per_sec()),
                v.len().to_string(),
                us(percentile(v, 0.50)),
                us(percentile(v, 0.95)),
                us(percentile(v, 0.99)),
                us(percentile(v, 1.0)),
            ]
        };
        rows.push(line(
            format!("{rate}/s app: 202 new run"),
            &app,
            &app.sorted_latencies(|s| s == 202),
        ));
        rows.push(line(
            format!("{rate}/s app: 200 de-duplicated"),
            &app,
            &app.sorted_latencies(|s| s == 200),
        ));
        rows.push(line(
            format!("{rate}/s app: other/errors"),
            &app,
            &app.sorted_latencies(|s| s != 200 && s != 202),
        ));
        rows.push(line(
            format!("{rate}/s bare axum"),
            &bare,
            &bare.sorted_latencies(|_| true),
        ));
    }
    let _ = stop_bare.send(());
    println!();
    println!(
        "   open loop: starts sent on a fixed schedule for {} s per rate, {:.0} % to tenants \
         without an active run; latency from when each start was due",
        duration.as_secs(),
        args.new_share * 100.0
    );
    print_table(&["", "sent/s", "n", "p50", "p95", "p99", "max"], &rows);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.clients > 0 && args.tenants > 0,
        "clients and tenants must be > 0"
    );
    let overrides: Vec<(String, String)> = vec![
        ("worker.concurrency".into(), "8".into()),
        ("runs.tenant_concurrency".into(), "8".into()),
    ];
    let sim = (args.workers > 0).then(|| graph_sim::SimConfig {
        throttle: false,
        ..graph_sim::SimConfig::default()
    });
    let mut bench = Bench::start(&overrides, sim).await?;
    let result = run(&mut bench, &args).await;
    bench.shutdown().await;
    result
}

//! Benchmark of the Intune operations issue: capture and restore of a 500-object tenant
//! under the documented Intune limits, next to the lower bound the quota implies.
//!
//! graph-sim runs with throttling ON at its defaults (the documented numbers: 1,000 requests
//! and 100 writes per 20 s per app per tenant), optionally with a time scale that shortens
//! the windows (the tenants' quota window in PolicyVault is set to match). Its demo tenant
//! `contoso` (~150 objects of every supported type) is padded to the target size with copies
//! of its own objects under new names, through the admin API. Then:
//!
//! 1. capture `contoso` (a snapshot of every type);
//! 2. restore that snapshot live into an empty tenant.
//!
//! For each, graph-sim's `/_sim/tenants/{id}/stats` before and after give the requests it
//! admitted (`requests − throttled`), the writes, and the 429s. Lower bound = max(admitted
//! requests ÷ (1,000 per window), writes ÷ (100 per window)); efficiency = bound ÷ elapsed,
//! with elapsed from the Run Record (`queued_at` → `finished_at`).
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release --example bench_intune -- --objects 500 --time-scale 1
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bench_common::{
    Bench, BenchTenant, BenchUser, Role, SimStats, ms, pad_tenant, print_heading, print_table,
};
use chrono::{DateTime, Utc};
use clap::Parser;
use serde_json::{Value, json};

/// The documented Intune quota per app per tenant.
const QUOTA_REQUESTS: f64 = 1000.0;
const QUOTA_WRITES: f64 = 100.0;
const QUOTA_WINDOW_SECS: f64 = 20.0;

#[derive(Parser, Debug)]
#[command(about = "Capture and restore of a large tenant against the documented Intune limits")]
struct Args {
    /// Objects in the source tenant (graph-sim's demo tenant padded with copies).
    #[arg(long, env = "PV_BENCH_OBJECTS", default_value_t = 500)]
    objects: usize,
    /// Divide graph-sim's 20 s throttle window by this (1, 2, 4, 5, 10 or 20; the tenants'
    /// quota window in PolicyVault is set to match).
    #[arg(long, env = "PV_BENCH_TIME_SCALE", default_value_t = 1)]
    time_scale: u32,
}

impl Args {
    fn command(&self) -> String {
        format!(
            "cargo run --release --example bench_intune -- --objects {} --time-scale {}",
            self.objects, self.time_scale
        )
    }

    fn window_secs(&self) -> f64 {
        QUOTA_WINDOW_SECS / f64::from(self.time_scale)
    }
}

/// Figures of one measured operation.
struct Phase {
    name: &'static str,
    run: Value,
    elapsed: Duration,
    graph: SimStats,
}

impl Phase {
    fn admitted(&self) -> u64 {
        self.graph.requests.saturating_sub(self.graph.throttled)
    }
}

/// graph-sim's counters summed over `tenants`.
async fn sim_stats(bench: &Bench, tenants: &[&BenchTenant]) -> anyhow::Result<SimStats> {
    let mut sum = SimStats::default();
    for tenant in tenants {
        sum = sum + bench.sim_stats(&tenant.sim_id).await?;
    }
    Ok(sum)
}

fn run_time(run: &Value, field: &str) -> anyhow::Result<DateTime<Utc>> {
    let text = run[field]
        .as_str()
        .ok_or_else(|| anyhow!("run has no {field}: {run}"))?;
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    bench: &Bench,
    user: &BenchUser,
    name: &'static str,
    tenant: &BenchTenant,
    path: &str,
    body: Value,
    watched: &[&BenchTenant],
    timeout: Duration,
) -> anyhow::Result<Phase> {
    let before = sim_stats(bench, watched).await?;
    let wall = Instant::now();
    let (status, answer) = bench.post(user, path, body).await?;
    if status != 202 {
        bail!("{name}: start answered {status} {answer}");
    }
    let run_id = answer["run"]["id"].as_str().unwrap_or_default().to_string();
    let run = bench
        .wait_for_terminal(user, tenant, &run_id, Duration::from_millis(100), timeout)
        .await?;
    let wall = wall.elapsed();
    let after = sim_stats(bench, watched).await?;
    let elapsed = match (run_time(&run, "queued_at"), run_time(&run, "finished_at")) {
        (Ok(q), Ok(f)) => (f - q).to_std().unwrap_or(wall),
        _ => wall,
    };
    Ok(Phase {
        name,
        run,
        elapsed,
        graph: after - before,
    })
}

async fn run(bench: &mut Bench, args: &Args) -> anyhow::Result<()> {
    let source = bench.register_demo_tenant("contoso").await?;
    let target = bench.add_tenant("Empty Target").await?;
    let user = bench.add_user("bench@example.com").await?;
    bench.grant(&user, &source, Role::Admin).await?;
    bench.grant(&user, &target, Role::Admin).await?;
    if args.time_scale != 1 {
        // PolicyVault's per-tenant quota, scaled the way graph-sim scales its windows.
        bench
            .execute(&format!(
                "UPDATE tenants SET quota_window_secs = {} WHERE id IN ('{}', '{}')",
                args.window_secs() as i64,
                source.id(),
                target.id()
            ))
            .await?;
    }
    let loading = Instant::now();
    let counts = pad_tenant(bench, &source.sim_id, args.objects).await?;
    let loading = loading.elapsed();
    let objects: usize = counts.iter().map(|(_, n)| n).sum();
    bench.start_worker().await?;

    let timeout = Duration::from_secs(3600);
    let capture = measure(
        bench,
        &user,
        "capture",
        &source,
        &format!("/tenants/{}/snapshots", source.id()),
        json!({}),
        &[&source],
        timeout,
    )
    .await?;
    let capture_run = capture.run["id"].as_str().unwrap_or_default().to_string();
    let snapshots = bench
        .get_json(&user, &format!("/tenants/{}/snapshots", source.id()))
        .await?;
    let snapshot_id = snapshots["snapshots"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["run_id"] == capture_run.as_str()))
        .and_then(|s| s["id"].as_str())
        .ok_or_else(|| anyhow!("no snapshot for capture run {capture_run}: {snapshots}"))?
        .to_string();
    let restore = measure(
        bench,
        &user,
        "restore",
        &target,
        &format!("/tenants/{}/restores", target.id()),
        json!({
            "source": {"snapshot_id": snapshot_id},
            "mode": "live",
            "confirm": target.name(),
        }),
        &[&source, &target],
        timeout,
    )
    .await?;

    let window = args.window_secs();
    let reads_rate = QUOTA_REQUESTS / window;
    let writes_rate = QUOTA_WRITES / window;
    print_heading(
        &format!(
            "bench_intune: capture and restore of a {objects}-object tenant, graph-sim throttling ON, time scale {}",
            args.time_scale
        ),
        &args.command(),
    );
    println!(
        "   quota: {QUOTA_REQUESTS} requests and {QUOTA_WRITES} writes per {window} s window \
         ({reads_rate:.0} req/s, {writes_rate:.0} writes/s) per app per tenant; PolicyVault's \
         limiter aims at {:.0} % of it",
        policyvault::graph::LimiterOptions::default().margin * 100.0
    );
    println!(
        "   source: graph-sim demo tenant contoso padded with renamed copies ({objects} objects in \
         {} collections, loaded in {}); one in-process worker",
        counts.len(),
        ms(loading)
    );
    println!();
    let mut rows = Vec::new();
    for phase in [&capture, &restore] {
        let reads_bound = phase.admitted() as f64 / reads_rate;
        let writes_bound = phase.graph.writes as f64 / writes_rate;
        let bound = reads_bound.max(writes_bound);
        let elapsed = phase.elapsed.as_secs_f64();
        // The fixed-window floor: the last window's share cannot start before the windows
        // ahead of it have passed.
        let windows = |n: u64, per_window: f64| ((n as f64 / per_window).ceil() - 1.0).max(0.0);
        let window_floor = windows(phase.admitted(), QUOTA_REQUESTS)
            .max(windows(phase.graph.writes, QUOTA_WRITES))
            * args.window_secs();
        let c = &phase.run["counts"];
        rows.push(vec![
            phase.name.to_string(),
            phase.run["status"].as_str().unwrap_or("?").to_string(),
            format!(
                "{}/{}/{}/{}",
                c["total"], c["succeeded"], c["failed"], c["skipped"]
            ),
            format!("{elapsed:.1} s"),
            phase.admitted().to_string(),
            phase.graph.writes.to_string(),
            phase.graph.throttled.to_string(),
            format!("{reads_bound:.1} s"),
            format!("{writes_bound:.1} s"),
            format!("{bound:.1} s"),
            format!("{:.2}", bound / elapsed.max(1e-9)),
            format!("{window_floor:.1} s"),
            if window_floor > 0.0 {
                format!("{:.2}", window_floor / elapsed.max(1e-9))
            } else {
                "one window".into()
            },
        ]);
    }
    print_table(
        &[
            "phase",
            "status",
            "items t/ok/fail/skip",
            "elapsed",
            "requests",
            "writes",
            "429s",
            "reads bound",
            "writes bound",
            "lower bound",
            "efficiency",
            "window floor",
            "of floor",
        ],
        &rows,
    );
    println!();
    println!(
        "   requests = admitted by graph-sim (seen − throttled; $batch counts its parts; token \
         requests not counted); elapsed = Run Record queued_at → finished_at"
    );
    println!(
        "   lower bound = requests needed ÷ allowed rate; a fixed-window quota admits a whole \
         window's worth at once, so work smaller than one window can beat it (efficiency > 1)"
    );
    println!(
        "   window floor = (windows needed − 1) × window: the earliest a fixed-window quota lets \
         the last request through; \"of floor\" = floor ÷ elapsed"
    );
    if args.time_scale != 1 {
        let s = f64::from(args.time_scale);
        println!(
            "   time scale {}: windows are {window} s instead of 20 s, so the bounds above are \
             scaled by 1/{}; at the real 20 s windows the bounds would be {:.0} s (capture) and \
             {:.0} s (restore); the efficiency ratio is unaffected",
            args.time_scale,
            args.time_scale,
            bound_of(&capture, reads_rate, writes_rate) * s,
            bound_of(&restore, reads_rate, writes_rate) * s,
        );
    }
    for phase in [&capture, &restore] {
        println!(
            "   {} summary: {}",
            phase.name,
            phase.run["summary"].as_str().unwrap_or("-")
        );
    }
    Ok(())
}

fn bound_of(phase: &Phase, reads_rate: f64, writes_rate: f64) -> f64 {
    (phase.admitted() as f64 / reads_rate).max(phase.graph.writes as f64 / writes_rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        [1, 2, 4, 5, 10, 20].contains(&args.time_scale),
        "--time-scale must divide 20 s into whole seconds: 1, 2, 4, 5, 10 or 20"
    );
    let sim = graph_sim::SimConfig {
        demo: true,
        throttle: true,
        time_scale: f64::from(args.time_scale),
        ..graph_sim::SimConfig::default()
    };
    let overrides: Vec<(String, String)> = vec![("worker.poll_interval_ms".into(), "50".into())];
    let mut bench = Bench::start(&overrides, Some(sim)).await?;
    let result = run(&mut bench, &args).await;
    bench.shutdown().await;
    result
}

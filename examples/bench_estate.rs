//! Benchmark of the estate issue: one scheduled tick captures a whole MSP estate.
//!
//! graph-sim generates N estate tenants (default 1,000), each built like a demo tenant
//! (~190 objects of every supported type), with throttling ON at the documented limits
//! (1,000 requests and 100 writes per 20 s per app per tenant). PolicyVault registers them
//! all, one operator is a member of each, and one `POST /api/v1/schedules` call schedules a
//! capture of all of them on a cron tick a few seconds ahead (each tenant's start offset
//! inside the spread window). `policyvault worker` runs as W separate processes (default 2);
//! this process hosts the web application and graph-sim.
//!
//! Figures: time from the tick to the last run terminal, objects captured per second, 429s
//! per tenant, peak RSS of every process, database size.
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo build --release --bin policyvault --example bench_estate
//! cargo run --release --example bench_estate -- --tenants 1000 --workers 2
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bench_common::{Bench, Guard, peak_rss_mib, print_heading, print_table, spawn_worker};
use chrono::{DateTime, Timelike, Utc};
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(about = "One scheduled tick capturing a whole estate of graph-sim tenants")]
struct Args {
    /// Tenants in the estate (graph-sim generates them; ~190 objects each).
    #[arg(long, env = "PV_BENCH_TENANTS", default_value_t = 1000)]
    tenants: usize,
    /// `policyvault worker` processes.
    #[arg(long, env = "PV_BENCH_WORKERS", default_value_t = 2)]
    workers: usize,
    /// Runs each worker process executes at once (`worker.concurrency`).
    #[arg(long, env = "PV_BENCH_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    /// The schedule's spread window: each tenant's start is offset inside it.
    #[arg(long, env = "PV_BENCH_SPREAD_SECS", default_value_t = 60)]
    spread_secs: u32,
    /// Give up (and print what finished) after this long.
    #[arg(long, default_value_t = 1200)]
    timeout_secs: u64,
}

impl Args {
    fn command(&self) -> String {
        format!(
            "cargo run --release --example bench_estate -- --tenants {} --workers {} --concurrency {} --spread-secs {}",
            self.tenants, self.workers, self.concurrency, self.spread_secs
        )
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    print_heading(
        "Estate: one scheduled tick over many tenants",
        &args.command(),
    );
    let sim = graph_sim::SimConfig {
        estate: args.tenants,
        throttle: true,
        ..graph_sim::SimConfig::default()
    };
    let generated = Instant::now();
    let overrides = vec![
        ("log.level".to_string(), "error".to_string()),
        ("database.max_connections".to_string(), "20".to_string()),
    ];
    let bench = Bench::start(&overrides, Some(sim)).await?;
    let result = run(&bench, &args, generated).await;
    bench.shutdown().await;
    result
}

async fn run(bench: &Bench, args: &Args, generated: Instant) -> anyhow::Result<()> {
    let sim_tenants = bench.sim_get("/_sim/tenants").await?;
    let sim_tenants = sim_tenants
        .as_array()
        .ok_or_else(|| anyhow!("graph-sim listed no tenants"))?;
    println!(
        "graph-sim generated {} tenants in {:.1} s",
        sim_tenants.len(),
        generated.elapsed().as_secs_f64()
    );
    let operator = bench.add_user("estate-operator@example.com").await?;
    let setup = Instant::now();
    let tenants = bench.register_sim_tenants(sim_tenants, &operator).await?;
    println!(
        "registered {} tenants and memberships in {:.1} s",
        tenants.len(),
        setup.elapsed().as_secs_f64()
    );

    let mut workers = Guard(Vec::new());
    for _ in 0..args.workers {
        workers.0.push(spawn_worker(bench, args.concurrency)?);
    }
    // Workers up (their schedulers poll) before the tick.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // One tick, 15 s ahead, as a six-field (seconds) cron expression in UTC.
    let tick: DateTime<Utc> = (Utc::now() + chrono::Duration::seconds(15))
        .with_nanosecond(0)
        .unwrap_or_else(Utc::now);
    let cron = format!("{} {} {} * * *", tick.second(), tick.minute(), tick.hour());
    let (status, body) = bench
        .post(
            &operator,
            "/schedules",
            json!({"all_tenants": true, "cron": cron, "timezone": "UTC", "spread_secs": args.spread_secs}),
        )
        .await?;
    if status != 201 {
        bail!("POST /schedules: {status} {body}");
    }
    let scheduled = body["schedules"].as_array().map_or(0, Vec::len);
    println!(
        "scheduled {scheduled} captures at {tick} (spread {} s)",
        args.spread_secs
    );

    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut rss_peak: Vec<f64> = vec![0.0; workers.0.len()];
    let (terminal, total) = loop {
        for (i, child) in workers.0.iter().enumerate() {
            if let Some(mib) = peak_rss_mib(&child.id().to_string()) {
                rss_peak[i] = rss_peak[i].max(mib);
            }
        }
        let total = bench.scalar("SELECT COUNT(*) FROM runs").await?;
        let terminal = bench
            .scalar("SELECT COUNT(*) FROM runs WHERE status NOT IN ('queued', 'running')")
            .await?;
        if total as usize >= scheduled && terminal == total {
            break (terminal, total);
        }
        if Instant::now() > deadline {
            println!(
                "gave up after {} s: {terminal} of {total} runs terminal",
                args.timeout_secs
            );
            break (terminal, total);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };

    let statuses = bench
        .rows("SELECT status, CAST(COUNT(*) AS TEXT) FROM runs GROUP BY status ORDER BY status")
        .await?;
    let last_finish = bench
        .scalar("SELECT CAST(EXTRACT(EPOCH FROM MAX(finished_at)) * 1000 AS BIGINT) FROM runs")
        .await?;
    let first_start = bench
        .scalar("SELECT CAST(EXTRACT(EPOCH FROM MIN(started_at)) * 1000 AS BIGINT) FROM runs")
        .await?;
    let objects = bench.scalar("SELECT COUNT(*) FROM snapshot_items").await?;
    let db_bytes = bench
        .scalar("SELECT pg_database_size(current_database())")
        .await?;
    let tick_ms = tick.timestamp_millis();
    let elapsed = (last_finish - tick_ms) as f64 / 1000.0;

    let mut throttled = Vec::with_capacity(tenants.len());
    let mut requests = 0;
    for t in &tenants {
        let stats = bench.sim_stats(&t.sim_id).await?;
        throttled.push(stats.throttled);
        requests += stats.requests;
    }
    throttled.sort_unstable();
    let tenants_throttled = throttled.iter().filter(|n| **n > 0).count();
    let self_rss = peak_rss_mib("self").unwrap_or(0.0);

    let mut rows = vec![
        vec!["tenants".into(), tenants.len().to_string()],
        vec!["runs terminal".into(), format!("{terminal} of {total}")],
        vec![
            "run statuses".into(),
            statuses
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ],
        vec![
            "tick → first run started".into(),
            format!("{:.1} s", (first_start - tick_ms) as f64 / 1000.0),
        ],
        vec!["tick → all terminal".into(), format!("{elapsed:.1} s")],
        vec!["objects captured".into(), objects.to_string()],
        vec![
            "objects per second".into(),
            format!("{:.0}", objects as f64 / elapsed.max(0.001)),
        ],
        vec!["Graph requests".into(), requests.to_string()],
        vec![
            "429s per tenant (max)".into(),
            throttled.last().copied().unwrap_or(0).to_string(),
        ],
        vec![
            "tenants that saw a 429".into(),
            tenants_throttled.to_string(),
        ],
        vec![
            "database size".into(),
            format!("{:.1} MiB", db_bytes as f64 / 1_048_576.0),
        ],
        vec![
            "peak RSS, web + graph-sim process".into(),
            format!("{self_rss:.0} MiB"),
        ],
    ];
    for (i, mib) in rss_peak.iter().enumerate() {
        rows.push(vec![
            format!("peak RSS, worker process {}", i + 1),
            format!("{mib:.0} MiB"),
        ]);
    }
    print_table(&["figure", "value"], &rows);
    drop(workers);
    if terminal < total || (total as usize) < scheduled {
        bail!("not every scheduled run reached a terminal state in time");
    }
    Ok(())
}

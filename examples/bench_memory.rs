//! Benchmark of worker memory: the peak resident set (`VmHWM`) of one `policyvault worker`
//! process running 8, then 32, captures of 500-object tenants at the same time.
//!
//! graph-sim generates `--tenants` estate tenants (throttling off) and each is padded to
//! `--objects` with renamed copies of its own objects. For each concurrency a fresh worker
//! process (`worker.concurrency` = that many) is started, that many captures are started at
//! once on different tenants, and the worker's `/proc/{pid}/status` is sampled every 20 ms
//! until all are terminal.
//!
//! Prints figures; asserts nothing about speed or size.
//!
//! ```text
//! cargo build --release --bin policyvault && cargo run --release --example bench_memory
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bench_common::{
    Bench, Guard, ms, pad_tenant, peak_rss_mib, print_heading, print_table, spawn_worker,
};
use clap::Parser;
use futures_util::StreamExt;

#[derive(Parser, Debug)]
#[command(about = "Peak RSS of a worker process running many captures at once")]
struct Args {
    /// Concurrent captures to measure, comma-separated (one worker process each).
    #[arg(long, env = "PV_BENCH_CONCURRENCIES", default_value = "8,32")]
    concurrencies: String,
    /// Objects per tenant.
    #[arg(long, env = "PV_BENCH_OBJECTS", default_value_t = 500)]
    objects: usize,
}

impl Args {
    fn levels(&self) -> anyhow::Result<Vec<usize>> {
        self.concurrencies
            .split(',')
            .map(|c| {
                c.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|c| *c > 0)
                    .ok_or_else(|| anyhow!("--concurrencies: {c:?} is not a positive integer"))
            })
            .collect()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let levels = args.levels()?;
    let most = levels.iter().copied().max().unwrap_or(1);
    let sim = graph_sim::SimConfig {
        estate: most,
        throttle: false,
        ..graph_sim::SimConfig::default()
    };
    let overrides = vec![
        ("log.level".to_string(), "error".to_string()),
        ("worker.poll_interval_ms".to_string(), "50".to_string()),
    ];
    let bench = Bench::start(&overrides, Some(sim)).await?;
    let result = run(&bench, &args, &levels, most).await;
    bench.shutdown().await;
    result
}

async fn run(bench: &Bench, args: &Args, levels: &[usize], most: usize) -> anyhow::Result<()> {
    let listed = bench.sim_get("/_sim/tenants").await?;
    let sim_tenants: Vec<serde_json::Value> = listed
        .as_array()
        .ok_or_else(|| anyhow!("graph-sim listed no tenants"))?
        .iter()
        .take(most)
        .cloned()
        .collect();
    let user = bench.add_user("memory@example.com").await?;
    let padding = Instant::now();
    futures_util::stream::iter(sim_tenants.iter())
        .map(|t| async move {
            let id = t["id"].as_str().unwrap_or_default();
            pad_tenant(bench, id, args.objects).await
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let padded = padding.elapsed();
    let tenants = bench.register_sim_tenants(&sim_tenants, &user).await?;

    let mut rows = Vec::new();
    for &level in levels {
        let mut worker = Guard(vec![spawn_worker(bench, level)?]);
        let pid = worker.0[0].id().to_string();
        // The worker connects and starts polling before the captures are queued.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = peak_rss_mib(&pid).unwrap_or(0.0);
        let started = Instant::now();
        let mut runs = Vec::new();
        for tenant in tenants.iter().take(level) {
            runs.push((tenant.clone(), bench.start_capture(&user, tenant).await?));
        }
        let mut peak = idle;
        let mut objects = 0u64;
        let mut pending = runs.clone();
        let deadline = Instant::now() + Duration::from_secs(600);
        while !pending.is_empty() {
            if let Some(mib) = peak_rss_mib(&pid) {
                peak = peak.max(mib);
            }
            let mut still = Vec::new();
            for (tenant, id) in pending {
                let run = bench
                    .get_json(&user, &format!("/tenants/{}/runs/{id}", tenant.id()))
                    .await?;
                match run["run"]["status"].as_str() {
                    Some("queued" | "running") => still.push((tenant, id)),
                    Some("succeeded") => {
                        objects += run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0);
                    }
                    other => bail!("a capture ended {other:?}: {}", run["run"]),
                }
            }
            pending = still;
            if Instant::now() > deadline {
                bail!("{} captures still running after 600 s", pending.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(mib) = peak_rss_mib(&pid) {
            peak = peak.max(mib);
        }
        let elapsed = started.elapsed();
        drop(worker.0.pop().map(|mut child| {
            let _ = child.kill();
            child.wait()
        }));
        rows.push(vec![
            level.to_string(),
            objects.to_string(),
            ms(elapsed),
            format!("{idle:.1} MiB"),
            format!("{peak:.1} MiB"),
        ]);
    }
    print_heading(
        &format!(
            "Worker memory: concurrent captures of {}-object tenants, one worker process each",
            args.objects
        ),
        &format!(
            "cargo run --release --example bench_memory -- --concurrencies {} --objects {}",
            args.concurrencies, args.objects
        ),
    );
    println!(
        "   {} graph-sim estate tenants padded to {} objects in {}; throttling off",
        tenants.len(),
        args.objects,
        ms(padded)
    );
    print_table(
        &[
            "concurrent captures",
            "objects captured",
            "all terminal after",
            "worker RSS idle",
            "worker peak RSS",
        ],
        &rows,
    );
    Ok(())
}

//! Benchmark of Graph round trips per capture: graph-sim's demo tenants captured once with
//! `$batch` off (`graph.batch_size = 1`, one HTTP request per Graph request) and once with
//! the default (20 sub-requests per `$batch`: every type's first page, per-object reads and
//! sub-collections batched).
//!
//! graph-sim counts both: `requests` (Graph requests, a `$batch`'s sub-requests one by one:
//! what the quota is charged) and `round_trips` (HTTP requests). Throttling is off, so the
//! elapsed times show the round trips' cost alone.
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release --example bench_round_trips
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::time::Duration;

use anyhow::bail;
use bench_common::{Bench, Role, ms, print_heading, print_table};
use chrono::{DateTime, Utc};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Graph requests and round trips per capture, with and without $batch")]
struct Args {
    /// graph-sim demo tenants to capture, comma-separated.
    #[arg(
        long,
        env = "PV_BENCH_TENANTS_LIST",
        default_value = "contoso,fabrikam"
    )]
    tenants: String,
}

/// One capture's figures.
struct Figures {
    tenant: String,
    batch_size: usize,
    objects: u64,
    requests: u64,
    round_trips: u64,
    elapsed: Duration,
}

async fn capture_all(args: &Args, batch_size: usize) -> anyhow::Result<Vec<Figures>> {
    let sim = graph_sim::SimConfig {
        demo: true,
        throttle: false,
        ..graph_sim::SimConfig::default()
    };
    let overrides = vec![
        ("worker.poll_interval_ms".to_string(), "50".to_string()),
        ("graph.batch_size".to_string(), batch_size.to_string()),
    ];
    let mut bench = Bench::start(&overrides, Some(sim)).await?;
    let result = async {
        bench.start_worker().await?;
        let user = bench.add_user("bench@example.com").await?;
        let mut out = Vec::new();
        for name in args.tenants.split(',').map(str::trim) {
            let tenant = bench.register_demo_tenant(name).await?;
            bench.grant(&user, &tenant, Role::Operator).await?;
            let before = bench.sim_stats(&tenant.sim_id).await?;
            let run_id = bench.start_capture(&user, &tenant).await?;
            let run = bench
                .wait_for_terminal(
                    &user,
                    &tenant,
                    &run_id,
                    Duration::from_millis(20),
                    Duration::from_secs(300),
                )
                .await?;
            if run["status"] != "succeeded" {
                bail!("capture of {name} ended {}", run["status"]);
            }
            let graph = bench.sim_stats(&tenant.sim_id).await? - before;
            let time = |field: &str| {
                run[field]
                    .as_str()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            };
            let elapsed = match (time("started_at"), time("finished_at")) {
                (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
                _ => Duration::ZERO,
            };
            out.push(Figures {
                tenant: name.to_string(),
                batch_size,
                objects: run["counts"]["succeeded"].as_u64().unwrap_or(0),
                requests: graph.requests,
                round_trips: graph.round_trips,
                elapsed,
            });
        }
        Ok(out)
    }
    .await;
    bench.shutdown().await;
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    let before = capture_all(&args, 1).await?;
    let after = capture_all(&args, 20).await?;
    for (b, a) in before.iter().zip(&after) {
        for f in [b, a] {
            rows.push(vec![
                f.tenant.clone(),
                if f.batch_size == 1 {
                    "off (batch_size 1)".into()
                } else {
                    format!("on (batch_size {})", f.batch_size)
                },
                f.objects.to_string(),
                f.requests.to_string(),
                f.round_trips.to_string(),
                ms(f.elapsed),
            ]);
        }
        rows.push(vec![
            String::new(),
            "round trips saved".into(),
            String::new(),
            String::new(),
            format!(
                "{:.0} %",
                100.0 * (1.0 - a.round_trips as f64 / b.round_trips.max(1) as f64)
            ),
            String::new(),
        ]);
    }
    print_heading(
        "Graph requests and round trips per capture (throttling off)",
        "cargo run --release --example bench_round_trips",
    );
    print_table(
        &[
            "tenant",
            "$batch",
            "objects",
            "Graph requests",
            "round trips",
            "run time",
        ],
        &rows,
    );
    Ok(())
}

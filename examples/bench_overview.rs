//! Benchmark of the MSP console's tenants overview: one user who belongs to T tenants (500
//! by default), each with R finished captures and every 10th tenant failing (its newest
//! capture failed), and `GET /tenants` rendered for that user — unfiltered, filtered to the
//! failing tenants, searched, and the last page — measured end to end over HTTP against
//! the real application and PostgreSQL. Server time is the time to the full answer on the
//! same machine (no network in between).
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release --example bench_overview -- --tenants 500 --runs 20
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::time::{Duration, Instant};

use bench_common::{Bench, ms, percentile, print_heading, print_table};
use clap::Parser;
use entity::enums::{RunOperation, RunStatus, TargetType};
use policyvault::store::{accounts, runs as run_store, tenants};
use sea_orm::{ActiveModelTrait, Set};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(about = "The tenants overview of one user with many tenants")]
struct Args {
    /// Tenants the user belongs to.
    #[arg(long, env = "PV_BENCH_TENANTS", default_value_t = 500)]
    tenants: usize,
    /// Finished runs per tenant.
    #[arg(long, env = "PV_BENCH_RUNS", default_value_t = 20)]
    runs: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = 30)]
    repeat: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bench = Bench::start(&[], None).await?;
    let result = run(&bench, &args).await;
    bench.shutdown().await;
    result
}

async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    let user = bench.add_user("admin@msp.example").await?;
    let db = bench.db();
    let set_up = Instant::now();
    for i in 0..args.tenants {
        let tenant = tenants::create(
            db,
            &bench.services.secrets,
            tenants::NewTenant::parse(
                &format!("Customer {i:04}"),
                &Uuid::new_v4().to_string(),
                "client",
                SecretString::from("secret".to_string()),
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            )
            .map_err(anyhow::Error::msg)?,
        )
        .await?;
        accounts::grant_membership(db, &tenant, &user.user, entity::enums::Role::Admin).await?;
        for r in 0..args.runs {
            let failing = i % 10 == 3 && r + 1 == args.runs;
            let run = run_store::insert(
                db,
                run_store::NewRun {
                    id: Uuid::now_v7(),
                    tenant_id: tenant.id,
                    operation: RunOperation::CaptureSnapshot,
                    target_type: TargetType::Tenant,
                    target_id: tenant.id,
                    selection_digest: String::new(),
                    initiator_id: user.user.id,
                    parent_run_id: None,
                    params: json!({}),
                    max_attempts: 3,
                },
            )
            .await?;
            let mut active: entity::runs::ActiveModel = run.into();
            active.status = Set(if failing {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            });
            active.finished_at = Set(Some(chrono::Utc::now()));
            active.update(db).await?;
        }
    }
    let set_up = set_up.elapsed();

    print_heading(
        "Tenants overview (GET /tenants)",
        &format!(
            "cargo run --release --example bench_overview -- --tenants {} --runs {}",
            args.tenants, args.runs
        ),
    );
    println!(
        "   {} tenants x {} runs set up in {}",
        args.tenants,
        args.runs,
        ms(set_up)
    );
    let pages = [
        ("all, needs attention first", "/tenants".to_string()),
        ("failing only", "/tenants?state=failing".to_string()),
        (
            "search \"customer 04\"",
            "/tenants?q=customer%2004".to_string(),
        ),
        (
            "last page, by name",
            format!("/tenants?sort=name&page={}", args.tenants.div_ceil(50)),
        ),
    ];
    let mut rows = Vec::new();
    for (label, path) in pages {
        let url = format!("{}{path}", bench.address);
        let mut times: Vec<Duration> = Vec::with_capacity(args.repeat);
        let mut bytes = 0;
        for i in 0..=args.repeat {
            let started = Instant::now();
            let response = bench
                .http
                .get(&url)
                .bearer_auth(user.token.expose_secret())
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let body = response.text().await?;
            // The first request warms the pools up.
            if i > 0 {
                times.push(started.elapsed());
                bytes = body.len();
            }
        }
        times.sort();
        rows.push(vec![
            label.to_string(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            format!("{} KiB", bytes / 1024),
        ]);
    }
    print_table(&["page", "p50", "p95", "max", "size"], &rows);
    Ok(())
}

//! The product with data in it, for the property-based run of `scripts/test.sh` against the
//! OpenAPI document (schemathesis).
//!
//! Starts graph-sim (demo tenants), the web application and an in-process worker through the
//! product's own start-up path on a throwaway database and Redis namespace (as the
//! benchmarks do), registers the demo tenant `contoso`, an admin of it with an API token,
//! captures a snapshot and a backup set so lists and items have rows, then prints
//!
//! ```text
//! READY <base_url> <token> <tenant_id> <snapshot_id> <backup_set_id>
//! ```
//!
//! and serves until SIGTERM or Ctrl-C, when it drops the database and namespace. Uses
//! `PV_BENCH_DATABASE_URL` / `PV_BENCH_REDIS_URL` (defaults: the dev services).
//!
//! ```text
//! cargo run --example serve_for_fuzz
//! ```

#[path = "bench_common/mod.rs"]
mod bench_common;

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use bench_common::{Bench, Role};
use secrecy::ExposeSecret;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = graph_sim::SimConfig {
        demo: true,
        throttle: false,
        ..graph_sim::SimConfig::default()
    };
    let overrides = vec![("worker.poll_interval_ms".to_string(), "50".to_string())];
    let mut bench = Bench::start(&overrides, Some(sim)).await?;
    let result = seed_and_serve(&mut bench).await;
    bench.shutdown().await;
    result
}

async fn seed_and_serve(bench: &mut Bench) -> anyhow::Result<()> {
    bench.start_worker().await?;
    let admin = bench.add_user("fuzz-admin@example.com").await?;
    let tenant = bench.register_demo_tenant("contoso").await?;
    bench.grant(&admin, &tenant, Role::Admin).await?;
    let tenant_id = tenant.id();

    let (status, snapshot_run) = bench
        .post(
            &admin,
            &format!("/tenants/{tenant_id}/snapshots"),
            json!({}),
        )
        .await?;
    if status != 202 {
        bail!("snapshot capture answered {status}: {snapshot_run}");
    }
    let (status, created) = bench
        .post(
            &admin,
            &format!("/tenants/{tenant_id}/backup-sets"),
            json!({"name": "fuzz baseline", "capture": true}),
        )
        .await?;
    if status != 201 {
        bail!("backup set creation answered {status}: {created}");
    }
    for run in [&snapshot_run["run"]["id"], &created["run"]["id"]] {
        let run_id = run.as_str().context("a started run has an id")?;
        bench
            .wait_for_terminal(
                &admin,
                &tenant,
                run_id,
                Duration::from_millis(200),
                Duration::from_secs(120),
            )
            .await?;
    }
    let snapshots = bench
        .get_json(&admin, &format!("/tenants/{tenant_id}/snapshots"))
        .await?;
    let snapshot_id = snapshots["snapshots"][0]["id"].as_str().unwrap_or_default();
    let backup_set_id = created["backup_set"]["id"].as_str().unwrap_or_default();

    // A second token of the admin's, for the token routes to revoke: revoking the one the
    // fuzzer signs in with would leave every later request a 401.
    let (spare, _) =
        policyvault::store::accounts::create_token(bench.db(), &admin.user, "fuzz spare").await?;
    println!(
        "READY {} {} {tenant_id} {snapshot_id} {backup_set_id} {}",
        bench.address,
        admin.token.expose_secret(),
        spare.id
    );
    std::io::stdout().flush()?;
    policyvault::startup::shutdown_signal().await;
    Ok(())
}

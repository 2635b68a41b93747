//! `graph-sim` binary: parse flags, start the simulator, stop on Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use graph_sim::{Quotas, SharedApp, SimConfig};

/// Stateful simulator of the Microsoft Graph Intune API (/beta, /v1.0) and the Entra
/// client-credentials token endpoint, with an admin API under /_sim/.
///
/// Point a Graph client at http://ADDR as both its Graph base (http://ADDR/beta/...) and its
/// login base (http://ADDR/{tenant}/oauth2/v2.0/token). List tenants and their
/// simulator-only credentials with `curl http://ADDR/_sim/tenants`.
#[derive(Parser, Debug)]
#[command(name = "graph-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8090", env = "GRAPH_SIM_LISTEN")]
    listen: SocketAddr,

    /// Load tenants from DIR/<tenant>/<collection path>/*.json (e.g.
    /// DIR/contoso/deviceManagement/configurationPolicies/baseline.json).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,

    /// With --fixtures: load files whose object shares an id with an earlier file as distinct
    /// objects under new ids (by default the later file replaces the earlier, with a warning).
    #[arg(long)]
    fresh_ids: bool,

    /// Load three deterministic demo tenants (contoso, fabrikam, northwind), ~150 objects each.
    #[arg(long)]
    demo: bool,

    /// Also generate N estate tenants (estate-0001, ...), each like a demo tenant: an MSP's
    /// estate for load tests (their credentials: GET /_sim/tenants).
    #[arg(long, value_name = "N", default_value_t = 0)]
    estate: usize,

    /// Divide throttle windows and Retry-After by F (e.g. 20 makes the 20 s window 1 s).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,

    /// Do not throttle.
    #[arg(long)]
    no_throttle: bool,

    /// Answer 429 without a Retry-After header.
    #[arg(long)]
    omit_retry_after: bool,

    /// Requests admitted per window per app per tenant.
    #[arg(long, default_value_t = 1000)]
    requests_per_window: u32,

    /// Writes admitted per window per app per tenant.
    #[arg(long, default_value_t = 100)]
    writes_per_window: u32,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3599)]
    token_lifetime: u64,

    /// Register a multi-tenant app with this client id (an MSP's one app registration used
    /// across customer tenants), consented by every start-up tenant; it survives POST
    /// /_sim/reset.
    #[arg(long, value_name = "CLIENT_ID", env = "GRAPH_SIM_SHARED_APP")]
    shared_app: Option<String>,

    /// Client secret of --shared-app (generated when not given; GET /_sim/apps lists it).
    #[arg(
        long,
        value_name = "SECRET",
        env = "GRAPH_SIM_SHARED_APP_SECRET",
        requires = "shared_app"
    )]
    shared_app_secret: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        anyhow::bail!("--time-scale must be a positive number");
    }
    let config = SimConfig {
        time_scale: args.time_scale,
        throttle: !args.no_throttle,
        omit_retry_after: args.omit_retry_after,
        quotas: Quotas {
            requests_per_window: args.requests_per_window,
            writes_per_window: args.writes_per_window,
            tenant_requests_per_window: args.requests_per_window.saturating_mul(2),
            tenant_writes_per_window: args.writes_per_window.saturating_mul(2),
            ..Quotas::default()
        },
        demo: args.demo,
        estate: args.estate,
        fixtures: args.fixtures,
        fresh_ids: args.fresh_ids,
        token_lifetime: Duration::from_secs(args.token_lifetime),
        shared_app: args.shared_app.map(|client_id| SharedApp {
            client_id,
            client_secret: args.shared_app_secret,
        }),
        ..SimConfig::default()
    };
    let sim = graph_sim::spawn(config, args.listen).await?;
    tracing::info!(url = %sim.base_url(), "graph-sim ready; tenants at {}/_sim/tenants", sim.base_url());
    let signal = shutdown_signal().await;
    tracing::info!(signal, "shutting down");
    sim.shutdown().await;
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => "SIGINT",
        _ = term => "SIGTERM",
    }
}

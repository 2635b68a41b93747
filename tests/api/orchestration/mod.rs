//! The orchestration protocol end to end: de-duplicated starts, the sweeper, authorization
//! re-checks at execution time, timeouts, notifications.

mod cancel;
mod email;
mod fanouts;
mod lifecycle;
mod membership;
mod outages;
mod queueing;
mod schedules;
mod webhooks;
mod workers;

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{AppOptions, Role, spawn_app, spawn_app_with, wait_for, wait_until};

const TERMINAL_WAIT: Duration = Duration::from_secs(60);

fn no_worker() -> AppOptions {
    AppOptions {
        worker: false,
        ..AppOptions::default()
    }
}

async fn load_some_policies(
    app: &crate::helpers::TestApp,
    tenant: &crate::helpers::TestTenant,
    n: usize,
) {
    for i in 0..n {
        app.sim_load(
            tenant,
            "deviceManagement/deviceConfigurations",
            json!({
                "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                "displayName": format!("Policy {i}"),
                "passwordRequired": i % 2 == 0,
            }),
        )
        .await;
    }
}

pub async fn wait_terminal_in_db(
    app: &crate::helpers::TestApp,
    run_id: &str,
) -> entity::runs::Model {
    let id = uuid::Uuid::parse_str(run_id).unwrap();
    wait_for(TERMINAL_WAIT, &format!("run {run_id} to end"), || async {
        let run = policyvault::store::runs::get(&app.services.db, id)
            .await
            .unwrap()
            .unwrap();
        if run.status.is_terminal() {
            Ok(run)
        } else {
            Err(format!("still {}", run.status))
        }
    })
    .await
}

/// Creates graph-sim accepted for the tenant (POSTs to a collection, `createInstance`).
pub async fn successful_creates(
    app: &crate::helpers::TestApp,
    tenant: &crate::helpers::TestTenant,
) -> usize {
    let collections: Vec<String> = policyvault::graph::registry::all()
        .iter()
        .map(|c| format!("/beta/{}", c.collection))
        .collect();
    app.sim_journal(tenant)
        .await
        .into_iter()
        .filter(|e| e["method"] == "POST" && e["status"].as_u64().is_some_and(|s| s < 300))
        .filter(|e| {
            let path = e["path"].as_str().unwrap_or_default();
            collections.iter().any(|c| c == path) || path.ends_with("/createInstance")
        })
        .count()
}

/// Starts `policyvault worker` as a separate process on the app's database and Redis.
pub fn spawn_worker_process(app: &crate::helpers::TestApp) -> std::process::Child {
    spawn_worker_process_with(app, &[])
}

pub fn spawn_worker_process_with(
    app: &crate::helpers::TestApp,
    env: &[(&str, &str)],
) -> std::process::Child {
    use secrecy::ExposeSecret;
    let settings = &app.services.settings;
    std::process::Command::new(env!("CARGO_BIN_EXE_policyvault"))
        .envs(env.iter().copied())
        .arg("worker")
        .env("PV_ENV", "test")
        .env(
            "PV_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("PV__DATABASE__URL", settings.database.url.expose_secret())
        .env("PV__REDIS__URL", settings.redis.url.expose_secret())
        .env("PV__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
        .env("PV__WORKER__LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("worker process")
}

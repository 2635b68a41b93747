//! Three worker processes sharing the fleet-wide quota: capturing and restoring several
//! tenants at graph-sim's documented limits draws no 429 and never exceeds a quota.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{AppOptions, Role, TestApp, TestTenant, spawn_app_with};
use crate::operations::{register_demo_tenant, snapshot_of_run, start};
use crate::orchestration::spawn_worker_process;

/// graph-sim windows are 20 s / TIME_SCALE; tenants get the same window so both agree.
const TIME_SCALE: f64 = 10.0;
const WINDOW_SECS: i32 = 2;

async fn use_scaled_window(app: &TestApp, tenant: &TestTenant) {
    let row = entity::tenants::Entity::find_by_id(tenant.id)
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: entity::tenants::ActiveModel = row.into();
    active.quota_window_secs = Set(Some(WINDOW_SECS));
    active.update(&app.services.db).await.unwrap();
}

#[tokio::test]
async fn three_worker_processes_stay_within_every_tenants_quota() {
    let app = spawn_app_with(AppOptions {
        worker: false,
        sim: Some(graph_sim::SimConfig {
            demo: true,
            throttle: true,
            time_scale: TIME_SCALE,
            ..graph_sim::SimConfig::default()
        }),
        settings: vec![("runs.tenant_concurrency".into(), "4".into())],
    })
    .await;
    let admin = app.add_user("admin@example.com").await;
    let mut sources = Vec::new();
    for name in ["contoso", "fabrikam", "northwind"] {
        let t = register_demo_tenant(&app, name).await;
        use_scaled_window(&app, &t).await;
        app.grant(&admin, &t, Role::Admin).await;
        sources.push(t);
    }
    let mut targets = Vec::new();
    for i in 0..3 {
        let t = app.add_tenant(&format!("Fleet target {i}")).await;
        use_scaled_window(&app, &t).await;
        app.grant(&admin, &t, Role::Admin).await;
        targets.push(t);
    }
    let mut workers: Vec<_> = (0..3).map(|_| spawn_worker_process(&app)).collect();

    // Capture the three sources at once, then restore each into its own empty tenant while
    // capturing the sources again.
    let mut captures = Vec::new();
    for s in &sources {
        captures.push(
            start(
                &app,
                &admin,
                &format!("/tenants/{}/snapshots", s.id),
                json!({}),
            )
            .await,
        );
    }
    let mut snapshots = Vec::new();
    for (s, run_id) in sources.iter().zip(&captures) {
        let run = app
            .wait_for_terminal(&admin, s.id, run_id, Duration::from_secs(240))
            .await;
        assert_eq!(run["status"], "succeeded", "{run}");
        snapshots.push(snapshot_of_run(&app, &admin, s, run_id).await);
    }
    let mut runs: Vec<(uuid::Uuid, String)> = Vec::new();
    for (t, snapshot) in targets.iter().zip(&snapshots) {
        let id = start(
            &app,
            &admin,
            &format!("/tenants/{}/restores", t.id),
            json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": t.name}),
        )
        .await;
        runs.push((t.id, id));
    }
    for s in &sources {
        // A second capture of each source while the restores run.
        let id = start(
            &app,
            &admin,
            &format!("/tenants/{}/snapshots", s.id),
            json!({}),
        )
        .await;
        runs.push((s.id, id));
    }
    for (tenant_id, run_id) in &runs {
        let run = app
            .wait_for_terminal(&admin, *tenant_id, run_id, Duration::from_secs(300))
            .await;
        assert!(matches!(run["status"].as_str(), Some("succeeded")), "{run}");
    }
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }

    let mut total_requests = 0;
    for t in sources.iter().chain(&targets) {
        let stats: Value = app.sim_stats(t).await;
        assert_eq!(stats["throttled"], 0, "{} was throttled: {stats}", t.name);
        total_requests += stats["requests"].as_u64().unwrap();
    }
    assert!(
        total_requests > 1000,
        "the load was too light to prove anything: {total_requests}"
    );
    app.shutdown().await;
}

/// Several `policyvault worker` processes on one host with the built-in configuration (no
/// config file, no port given): each picks its own health port, both keep running, and both
/// are listed in the fleet registry with a health endpoint that answers.
#[tokio::test]
async fn two_workers_on_one_host_with_the_default_configuration_both_keep_running() {
    use secrecy::ExposeSecret;
    let app = spawn_app_with(AppOptions::default()).await;
    let settings = &app.services.settings;
    let empty = tempfile_dir();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_policyvault"))
            .arg("worker")
            .current_dir(&empty)
            .env_remove("PV_ENV")
            .env("PV_CONFIG_DIR", &empty)
            .env("PV__DATABASE__URL", settings.database.url.expose_secret())
            .env("PV__REDIS__URL", settings.redis.url.expose_secret())
            .env("PV__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
            .env("PV__SECURITY__CREATE_KEY_FILE", "false")
            .env(
                "PV__SECURITY__ENCRYPTION_KEY",
                "dGVzdC1rZXktZm9yLXBvbGljeXZhdWx0LXRlc3RzISE=",
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("worker process")
    };
    let mut workers = [spawn(), spawn()];
    let beats = crate::helpers::wait_for(
        Duration::from_secs(30),
        "two workers' heartbeats",
        || async {
            let beats = policyvault::runs::fleet::alive(&app.services.redis)
                .await
                .map_err(|e| e.to_string())?;
            if beats.len() == 2 {
                Ok(beats)
            } else {
                Err(format!("{beats:?}"))
            }
        },
    )
    .await;
    assert_ne!(beats[0].health_addr, beats[1].health_addr);
    let pids: Vec<u32> = workers.iter().map(std::process::Child::id).collect();
    for beat in &beats {
        assert!(pids.contains(&beat.pid), "{beat:?}");
        assert!(!beat.health_addr.ends_with(":0"), "{beat:?}");
        let health = app
            .http
            .get(format!("http://{}/healthz", beat.health_addr))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200, "{beat:?}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for w in &mut workers {
        assert!(w.try_wait().unwrap().is_none(), "a worker exited");
    }
    // Stopped with SIGTERM, a worker leaves the registry at once.
    for w in &workers {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status();
    }
    for w in &mut workers {
        let _ = w.wait();
    }
    let beats = policyvault::runs::fleet::alive(&app.services.redis)
        .await
        .unwrap();
    assert!(beats.is_empty(), "{beats:?}");
    let _ = std::fs::remove_dir_all(&empty);
    app.shutdown().await;
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pv-fleet-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

//! The orchestration protocol end to end: de-duplicated starts, the sweeper, authorization
//! re-checks at execution time, timeouts, notifications.

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

#[tokio::test]
async fn concurrent_identical_starts_make_exactly_one_run() {
    let mut app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Contoso").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 3).await;
    let path = format!("/tenants/{}/snapshots", tenant.id);

    let answers = join_all((0..200).map(|_| app.post(&user, &path, json!({})))).await;
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for response in answers {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(status == 202 || status == 200, "{status} {body}");
        if status == 202 {
            created += 1;
            assert_eq!(body["deduplicated"], false);
        } else {
            assert_eq!(body["deduplicated"], true);
        }
        ids.insert(body["run"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every answer names the same run");
    assert_eq!(created, 1, "exactly one start created a run");
    let runs = app
        .get_json(&user, &format!("/tenants/{}/runs", tenant.id))
        .await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);

    app.start_worker();
    let run_id = ids.into_iter().next().unwrap();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");

    let again = app.post(&user, &path, json!({})).await;
    assert_eq!(
        again.status().as_u16(),
        202,
        "a start after the terminal state is new"
    );
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["run"]["id"].as_str().unwrap(), run_id);
    app.shutdown().await;
}

#[tokio::test]
async fn flushed_redis_neither_duplicates_nor_loses_a_queued_run() {
    let mut app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Fabrikam").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 2).await;
    let path = format!("/tenants/{}/snapshots", tenant.id);

    let first: Value = app
        .post(&user, &path, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let run_id = first["run"]["id"].as_str().unwrap().to_string();
    // Redis loses everything of ours: the dedupe key and the queued job.
    app.services.redis.delete_namespace().await.unwrap();

    let duplicate = app.post(&user, &path, json!({})).await;
    assert_eq!(duplicate.status().as_u16(), 200);
    let duplicate: Value = duplicate.json().await.unwrap();
    assert_eq!(duplicate["deduplicated"], true);
    assert_eq!(duplicate["run"]["id"].as_str().unwrap(), run_id);

    // The job is gone; the sweeper must notice and push it again.
    app.services.redis.delete_namespace().await.unwrap();
    app.start_worker();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["total"], 2);
    app.shutdown().await;
}

#[tokio::test]
async fn revoked_membership_fails_the_run_without_touching_graph() {
    let mut app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Northwind").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 2).await;

    let started: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run_id = started["run"]["id"].as_str().unwrap().to_string();
    policyvault::store::accounts::revoke_membership(&app.services.db, tenant.id, user.id)
        .await
        .unwrap();
    let requests_before = app.sim_stats(&tenant).await["requests"].as_u64().unwrap();
    app.start_worker();

    // The user can no longer read the run through the API; read it from the database.
    let run = wait_terminal_in_db(&app, &run_id).await;
    assert_eq!(run.status, entity::enums::RunStatus::Failed);
    assert_eq!(run.error_code.as_deref(), Some("authorization_revoked"));
    assert!(
        run.summary
            .as_deref()
            .unwrap_or_default()
            .contains("no longer")
    );
    let requests_after = app.sim_stats(&tenant).await["requests"].as_u64().unwrap();
    assert_eq!(
        requests_before, requests_after,
        "graph-sim saw a request from a revoked run"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_cross_tenant_restore_fails_when_the_initiator_left_the_source_tenant() {
    let mut app = spawn_app_with(no_worker()).await;
    let source = app.add_tenant("Contoso").await;
    let target = app.add_tenant("Fabrikam").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    load_some_policies(&app, &source, 2).await;

    app.start_worker();
    let capture: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", source.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let capture_id = capture["run"]["id"].as_str().unwrap().to_string();
    let captured = app
        .wait_for_terminal(&admin, source.id, &capture_id, TERMINAL_WAIT)
        .await;
    assert_eq!(captured["status"], "succeeded", "{captured}");
    app.stop_workers().await;
    let snapshots = app
        .get_json(&admin, &format!("/tenants/{}/snapshots", source.id))
        .await;
    let snapshot_id = snapshots["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Queued while the admin belongs to both tenants ...
    let response = app
        .post(
            &admin,
            &format!("/tenants/{}/restores", target.id),
            json!({
                "source": {"snapshot_id": snapshot_id},
                "mode": "live",
                "confirm": "Fabrikam",
            }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.unwrap();
    let run_id = started["run"]["id"].as_str().unwrap().to_string();
    // ... then removed from the source tenant only; the target role is intact.
    policyvault::store::accounts::revoke_membership(&app.services.db, source.id, admin.id)
        .await
        .unwrap();
    let source_requests = app.sim_stats(&source).await["requests"].as_u64().unwrap();
    let target_requests = app.sim_stats(&target).await["requests"].as_u64().unwrap();
    app.start_worker();

    let run = wait_terminal_in_db(&app, &run_id).await;
    assert_eq!(run.status, entity::enums::RunStatus::Failed);
    assert_eq!(run.error_code.as_deref(), Some("authorization_revoked"));
    assert_eq!(
        app.sim_stats(&source).await["requests"].as_u64().unwrap(),
        source_requests,
        "the source tenant's Graph saw a request from a revoked run"
    );
    assert_eq!(
        app.sim_stats(&target).await["requests"].as_u64().unwrap(),
        target_requests,
        "the target tenant's Graph saw a request from a revoked run"
    );
    let items = policyvault::store::runs::count_items(
        &app.services.db,
        uuid::Uuid::parse_str(&run_id).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(items.total, 0, "no item was planned");
    app.shutdown().await;
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

#[tokio::test]
async fn a_hung_run_fails_timed_out_within_its_maximum_duration() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        settings: vec![("runs.max_duration_secs".into(), "3".into())],
        ..AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Hung").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 1).await;
    // Every Graph answer now takes a minute: the worker hangs on it.
    let fault = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", tenant.sim_id),
            json!({"kind": "latency", "fixed_ms": 60_000, "jitter_ms": 0}),
        )
        .await;
    assert!(fault.status().is_success());

    let started = std::time::Instant::now();
    let body: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run_id = body["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error_code"], "timed_out");
    assert!(
        run["summary"]
            .as_str()
            .unwrap()
            .contains("maximum duration"),
        "{run}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_initiator_is_notified_of_every_transition() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("Notified").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 2).await;

    let body: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run_id = body["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded");
    assert!(run["summary"].as_str().unwrap().contains("2 of 2"), "{run}");

    let notes = app.get_json(&user, "/notifications").await;
    let kinds: Vec<&str> = notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["run_id"] == run_id.as_str())
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in ["queued", "running", "succeeded"] {
        assert!(kinds.contains(&kind), "missing {kind} in {kinds:?}");
    }
    assert_eq!(notes["unread"].as_u64().unwrap(), kinds.len() as u64);
    app.shutdown().await;
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

#[tokio::test]
async fn a_killed_worker_hands_its_run_to_another_without_repeating_writes() {
    let mut app = spawn_app_with(crate::operations::demo_app()).await;
    let crate::operations::RestoreSetup {
        target,
        admin,
        snapshot,
        ..
    } = crate::operations::restore_setup(&app, "contoso", "Kill Target").await;
    app.stop_workers().await;

    // Slow Graph down so the restore is still running when its worker dies.
    let r = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", target.sim_id),
            json!({"kind": "latency", "fixed_ms": 15, "jitter_ms": 5}),
        )
        .await;
    assert!(r.status().is_success());
    let mut doomed = spawn_worker_process(&app);
    let body: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/restores", target.id),
            json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run_id = body["run"]["id"].as_str().unwrap().to_string();
    let path = format!("/tenants/{}/runs/{run_id}", target.id);
    let run = wait_for(
        TERMINAL_WAIT,
        "the worker process to restore 10 items",
        || async {
            let run = app.get_json(&admin, &path).await;
            if run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0) >= 10 {
                Ok(run)
            } else {
                Err(run.to_string())
            }
        },
    )
    .await;
    assert_eq!(run["run"]["status"], "running");
    doomed.kill().expect("SIGKILL the worker");
    let _ = doomed.wait();

    app.start_worker();
    let run = app
        .wait_for_terminal(&admin, target.id, &run_id, TERMINAL_WAIT * 3)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["attempt"], 2,
        "a second attempt finished the run: {run}"
    );

    let items = crate::operations::all_items(&app, &admin, &target, &run_id).await;
    let created = items.iter().filter(|i| i["action"] == "created").count();
    let collections: Vec<String> = policyvault::graph::registry::all()
        .iter()
        .map(|c| format!("/beta/{}", c.collection))
        .collect();
    let creates = app
        .sim_journal(&target)
        .await
        .into_iter()
        .filter(|e| e["method"] == "POST" && e["status"].as_u64().is_some_and(|s| s < 300))
        .filter(|e| {
            let path = e["path"].as_str().unwrap_or_default();
            collections.iter().any(|c| c == path) || path.ends_with("/createInstance")
        })
        .count();
    assert_eq!(
        creates, created,
        "graph-sim saw {creates} creates for {created} created items"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_stopping_worker_hands_unfinished_runs_back_at_once() {
    let mut app = spawn_app_with(crate::operations::demo_app()).await;
    let crate::operations::RestoreSetup {
        target,
        admin,
        snapshot,
        ..
    } = crate::operations::restore_setup(&app, "fabrikam", "Handback Target").await;
    app.stop_workers().await;
    app.sim_post(
        &format!("/_sim/tenants/{}/faults", target.sim_id),
        json!({"kind": "latency", "fixed_ms": 15, "jitter_ms": 5}),
    )
    .await;

    let mut worker = spawn_worker_process_with(&app, &[("PV__WORKER__SHUTDOWN_GRACE_SECS", "1")]);
    let run_id = crate::operations::start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let path = format!("/tenants/{}/runs/{run_id}", target.id);
    wait_for(TERMINAL_WAIT, "the run to restore 5 items", || async {
        let run = app.get_json(&admin, &path).await;
        if run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0) >= 5 {
            Ok(())
        } else {
            Err(run.to_string())
        }
    })
    .await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopping = std::time::Instant::now();
    let status = worker.wait().unwrap();
    assert!(
        status.success(),
        "the worker exits cleanly on SIGTERM: {status}"
    );
    assert!(stopping.elapsed() < Duration::from_secs(10));

    // No reaper ran (no worker is left): the stopping worker itself handed the run back.
    let id = uuid::Uuid::parse_str(&run_id).unwrap();
    let run = policyvault::store::runs::get(&app.services.db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, entity::enums::RunStatus::Queued);
    assert!(run.lease_token.is_none());

    app.start_worker();
    let run = app
        .wait_for_terminal(&admin, target.id, &run_id, TERMINAL_WAIT * 3)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["attempt"], 2);
    app.shutdown().await;
}

#[tokio::test]
async fn one_tenant_cannot_take_every_worker_slot() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        settings: vec![
            ("runs.tenant_concurrency".into(), "1".into()),
            ("worker.concurrency".into(), "4".into()),
        ],
        ..AppOptions::default()
    })
    .await;
    let busy = app.add_tenant("Busy").await;
    let quiet = app.add_tenant("Quiet").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &busy, Role::Admin).await;
    app.grant(&admin, &quiet, Role::Admin).await;
    load_some_policies(&app, &busy, 3).await;
    load_some_policies(&app, &quiet, 3).await;
    app.sim_post(
        &format!("/_sim/tenants/{}/faults", busy.sim_id),
        json!({"kind": "latency", "fixed_ms": 300, "jitter_ms": 0}),
    )
    .await;

    // Three runs of the busy tenant (different operations/targets) and one of the quiet one.
    let mut busy_runs = Vec::new();
    busy_runs.push(
        crate::operations::start(
            &app,
            &admin,
            &format!("/tenants/{}/snapshots", busy.id),
            json!({}),
        )
        .await,
    );
    for name in ["A", "B"] {
        let created: Value = app
            .post(
                &admin,
                &format!("/tenants/{}/backup-sets", busy.id),
                json!({"name": name, "capture": true}),
            )
            .await
            .json()
            .await
            .unwrap();
        busy_runs.push(created["run"]["id"].as_str().unwrap().to_string());
    }
    let quiet_run = crate::operations::start(
        &app,
        &admin,
        &format!("/tenants/{}/snapshots", quiet.id),
        json!({}),
    )
    .await;

    // Sampled on every look while the busy tenant's runs are active.
    let max_running = std::cell::Cell::new(0);
    let quiet_done_while_busy_active = std::cell::Cell::new(false);
    let busy_id = busy.id.to_string();
    let quiet_path = format!("/tenants/{}/runs/{quiet_run}", quiet.id);
    wait_until(
        Duration::from_secs(120),
        "the busy tenant's runs to finish",
        || async {
            let active = app.get_json(&admin, "/runs/active").await;
            let runs = active["runs"].as_array().unwrap();
            let running_busy = runs
                .iter()
                .filter(|r| r["tenant_id"] == busy_id.as_str() && r["status"] == "running")
                .count();
            max_running.set(max_running.get().max(running_busy));
            let busy_active = runs.iter().any(|r| r["tenant_id"] == busy_id.as_str());
            let quiet_state = app.get_json(&admin, &quiet_path).await;
            if quiet_state["run"]["status"] == "succeeded" && busy_active {
                quiet_done_while_busy_active.set(true);
            }
            !busy_active
        },
    )
    .await;
    let max_running = max_running.get();
    let quiet_done_while_busy_active = quiet_done_while_busy_active.get();
    assert_eq!(
        max_running, 1,
        "the busy tenant ran {max_running} runs at once"
    );
    assert!(
        quiet_done_while_busy_active,
        "the quiet tenant waited for the busy one"
    );
    for run_id in &busy_runs {
        let run = app
            .wait_for_terminal(&admin, busy.id, run_id, TERMINAL_WAIT)
            .await;
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    app.shutdown().await;
}

//! Workers that die or stop hand their runs on; one tenant cannot take every slot.

use super::*;

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
    let creates = successful_creates(&app, &target).await;
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

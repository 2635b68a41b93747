//! Restores that meet killed workers, unattempted items, rejected writes and lost answers.

use super::*;

#[tokio::test]
async fn a_restore_whose_worker_is_killed_five_times_still_succeeds_and_creates_once() {
    let mut app = spawn_app_with(AppOptions::default()).await;
    let source = app.add_tenant("Crash Source").await;
    let target = app.add_tenant("Crash Target").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    for i in 0..320 {
        // Every tenth name is shared by two different policies.
        let name = format!("Policy {:03}", i - i % 10 * (i % 2));
        app.sim_load(&source, CONFIGS, config(&name, &format!("content {i}")))
            .await;
    }
    app.start_worker();
    let (capture_id, run) = capture(&app, &admin, &source).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    app.stop_workers().await;
    // Slow Graph down so every worker dies mid-run.
    app.sim_fault(
        &target,
        json!({"kind": "latency", "fixed_ms": 8, "jitter_ms": 4}),
    )
    .await;
    let run_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let path = format!("/tenants/{}/runs/{run_id}", target.id);
    let mut done_at_kill = 0;
    for kill in 0..5 {
        let mut worker = crate::orchestration::spawn_worker_process(&app);
        let what = format!("attempt {} to progress by 15 items", kill + 1);
        done_at_kill = wait_for(WAIT, &what, || async {
            let run = app.get_json(&admin, &path).await;
            let done = run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0);
            if run["run"]["status"] == "running" && done >= done_at_kill + 15 {
                Ok(done)
            } else {
                Err(run.to_string())
            }
        })
        .await;
        worker.kill().expect("SIGKILL the worker");
        let _ = worker.wait();
    }
    assert!(done_at_kill < 320, "the run finished before the last kill");
    app.start_worker();
    let run = app
        .wait_for_terminal(&admin, target.id, &run_id, WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["attempt"].as_u64().unwrap() >= 6, "{run}");
    assert_eq!(run["counts"]["created"], 320, "{run}");

    let items = all_items(&app, &admin, &target, &run_id).await;
    assert_eq!(
        items.len() as u64,
        320 + crate::helpers::BASELINE_CAPTURED,
        "the seeded objects and the new tenant's own"
    );
    let creates: Vec<Value> = app
        .sim_journal(&target)
        .await
        .into_iter()
        .filter(|e| e["method"] == "POST" && e["status"].as_u64().is_some_and(|s| s < 300))
        .collect();
    assert_eq!(creates.len(), 320, "every create once");
    let objects = export(&app, &target).await[CONFIGS]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(objects, 320);
    app.shutdown().await;
}

#[tokio::test]
async fn items_a_run_never_attempted_are_recorded_and_re_run_as_failed() {
    // Runs may take 2 s: the restore below, slowed down, ends `timed_out` half done.
    let app = spawn_app_with(AppOptions {
        worker: true,
        settings: vec![("runs.max_duration_secs".into(), "2".into())],
        ..AppOptions::default()
    })
    .await;
    let source = app.add_tenant("Early Source").await;
    let target = app.add_tenant("Early Target").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    for i in 0..30 {
        app.sim_load(&source, CONFIGS, config(&format!("Early {i:02}"), "x"))
            .await;
    }
    let (capture_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    app.sim_fault(
        &target,
        json!({"kind": "latency", "fixed_ms": 150, "jitter_ms": 0}),
    )
    .await;
    let (run_id, run, items) = restore(&app, &admin, &target, &snapshot, "live").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error_code"], "timed_out", "{run}");
    assert_eq!(items.len(), 30);
    assert!(
        items
            .iter()
            .all(|i| !matches!(i["status"].as_str(), Some("pending" | "running"))),
        "a finished run left items pending: {items:?}"
    );
    let not_attempted = items
        .iter()
        .filter(|i| i["error_code"] == "not_attempted" && i["status"] == "failed")
        .count();
    assert!(not_attempted > 0, "{items:?}");
    assert!(
        run["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("{not_attempted} item(s) not attempted")),
        "{run}"
    );
    // "Re-run failed items" takes every failed and every untouched item.
    let r = app
        .post(
            &admin,
            &format!("/tenants/{}/runs/{run_id}/rerun", target.id),
            json!({"confirm": target.name, "only_failed": true}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let rerun: Value = r.json().await.unwrap();
    assert_eq!(
        rerun["run"]["selection"]["item_count"].as_u64(),
        run["counts"]["failed"].as_u64(),
        "{rerun}"
    );
    assert!(run["counts"]["failed"].as_u64().unwrap() >= not_attempted as u64);
    app.shutdown().await;
}

#[tokio::test]
async fn a_rejected_write_shows_graphs_message_on_the_item() {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let source = app.add_tenant("Reject Source").await;
    let target = app.add_tenant("Reject Target").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    app.sim_load(&source, CONFIGS, config("Odd type", "x"))
        .await;
    let (capture_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    // An export from a newer Graph: a type this Graph does not know.
    let item = entity::snapshot_items::Entity::find()
        .filter(entity::snapshot_items::Column::DisplayName.eq("Odd type"))
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    let mut payload = item.payload.clone();
    payload["@odata.type"] = json!("#contoso.future.windows99Configuration");
    let mut row: entity::snapshot_items::ActiveModel = item.into();
    row.payload = Set(payload);
    row.update(&app.services.db).await.unwrap();

    let (run_id, run, items) = restore(&app, &admin, &target, &snapshot, "live").await;
    assert_eq!(run["status"], "failed", "{run}");
    let item = &items[0];
    let message = item["error_message"].as_str().unwrap();
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(
        message.contains("windows99Configuration") && message.contains("could not be resolved"),
        "Graph's own words are shown: {message}"
    );
    assert_eq!(item["error_context"]["status"], 400, "{item}");
    assert!(
        item["error_context"]["graph_message"]
            .as_str()
            .unwrap()
            .contains("could not be resolved"),
        "{item}"
    );
    // The run page shows it too.
    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/runs/{run_id}", target.id),
    )
    .await;
    assert!(html.contains("could not be resolved"), "{html}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_lost_update_answer_keeps_the_object_for_its_item() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let (_, admin, snapshot) = twin_source(&app).await;
    let target = app.add_tenant("Lossy Target").await;
    app.grant(&admin, &target, Role::Admin).await;
    let existing = app
        .sim_load(&target, CONFIGS, config("Baseline", "already here"))
        .await;
    let existing_id = existing["id"].as_str().unwrap().to_string();
    // Every PATCH is applied but its answer is lost.
    app.sim_fault(
        &target,
        json!({"kind": "drop_after_commit", "rate": 1.0, "methods": ["PATCH"]}),
    )
    .await;
    let (_, run, items) = restore(&app, &admin, &target, &snapshot, "live").await;
    assert_eq!(run["status"], "partial", "{run}");
    let baseline: Vec<&Value> = items
        .iter()
        .filter(|i| i["display_name"] == "Baseline")
        .collect();
    assert_eq!(baseline.len(), 2);
    let created: Vec<&&Value> = baseline
        .iter()
        .filter(|i| i["action"] == "created")
        .collect();
    assert_eq!(
        created.len(),
        1,
        "the other Baseline gets its own object, not the one whose update answer was lost: {baseline:?}"
    );
    assert_ne!(created[0]["result_graph_id"], existing_id.as_str());
    // The existing object holds one source's content; nobody else wrote it.
    let writers: std::collections::HashSet<String> = app
        .sim_journal(&target)
        .await
        .into_iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.contains(&existing_id)))
        .map(|e| e["method"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(writers, ["PATCH".to_string()].into());
    app.shutdown().await;
}

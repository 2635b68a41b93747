//! Cancel: a queued run at once (its job finds nothing to claim), a running live restore
//! after the item in flight (the rest skipped, no write after it in graph-sim's journal),
//! asking twice, and what may not be canceled.

use super::*;
use crate::operations::{demo_app, restore_setup, start};

#[tokio::test]
async fn a_queued_run_is_canceled_at_once_and_never_runs() {
    let app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Contoso").await;
    load_some_policies(&app, &tenant, 3).await;
    let operator = app.add_user("operator@example.com").await;
    app.grant(&operator, &tenant, Role::Operator).await;
    let response = app
        .post(
            &operator,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let run_id = body["run"]["id"].as_str().unwrap().to_string();
    let cancel_path = format!("/tenants/{}/runs/{run_id}/cancel", tenant.id);

    let r = app.post(&operator, &cancel_path, json!({})).await;
    assert_eq!(r.status().as_u16(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["run"]["status"], "canceled", "{body}");
    assert_eq!(body["run"]["error_code"], "canceled");
    assert!(
        body["run"]["summary"]
            .as_str()
            .unwrap()
            .contains("canceled by operator@example.com before it started"),
        "{body}"
    );
    // Twice is once.
    let again = app.post(&operator, &cancel_path, json!({})).await;
    assert_eq!(again.status().as_u16(), 202);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["run"]["finished_at"], body["run"]["finished_at"]);

    // The start remembered its job (with the run's announcement), so the sweeper leaves it.
    let queued = policyvault::store::runs::get(&app.services.db, run_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let queues = policyvault::runs::queue::Queues::new(&app.services.redis);
    assert!(queues.has_live_job(&queued).await.unwrap());
    // A worker that starts now finds nothing to do: the job is acknowledged, the run stays.
    let mut worker = spawn_worker_process(&app);
    crate::helpers::wait_until(
        Duration::from_secs(30),
        "the worker to take and acknowledge the canceled run's job",
        || async { !queues.has_live_job(&queued).await.unwrap_or(true) },
    )
    .await;
    let run = app
        .get_json(&operator, &format!("/tenants/{}/runs/{run_id}", tenant.id))
        .await;
    assert_eq!(run["run"]["status"], "canceled");
    assert_eq!(run["run"]["started_at"], Value::Null);
    assert_eq!(run["run"]["counts"]["total"], 0);
    assert!(app.sim_journal(&tenant).await.is_empty());
    // The de-duplication key was released: a new capture starts a new run.
    let next = app
        .post(
            &operator,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(next.status().as_u16(), 202);
    let _ = worker.kill();
    let _ = worker.wait();

    // What may not be canceled, and who may not cancel.
    let viewer = app.add_user("viewer@example.com").await;
    app.grant(&viewer, &tenant, Role::Viewer).await;
    let r = app.post(&viewer, &cancel_path, json!({})).await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .post(
            &operator,
            &format!(
                "/tenants/{}/runs/{}/cancel",
                tenant.id,
                uuid::Uuid::new_v4()
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn a_running_restore_stops_after_the_item_in_flight() {
    let app = spawn_app_with(demo_app()).await;
    let setup = restore_setup(&app, "contoso", "Cancel target").await;
    // Slow writes, so the restore is still running when the cancel arrives.
    let r = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", setup.target.sim_id),
            json!({"kind": "latency", "fixed_ms": 150}),
        )
        .await;
    assert!(r.status().is_success());
    let restore_id = start(
        &app,
        &setup.admin,
        &format!("/tenants/{}/restores", setup.target.id),
        json!({"source": {"snapshot_id": setup.snapshot["id"]}, "mode": "live", "confirm": setup.target.name}),
    )
    .await;
    let run_path = format!("/tenants/{}/runs/{restore_id}", setup.target.id);
    wait_for(TERMINAL_WAIT, "three restored items", || async {
        let run = app.get_json(&setup.admin, &run_path).await;
        let done = run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0);
        if done >= 3 {
            Ok(())
        } else {
            Err(format!("{run}"))
        }
    })
    .await;
    let r = app
        .post(&setup.admin, &format!("{run_path}/cancel"), json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let asked: Value = r.json().await.unwrap();
    assert_eq!(asked["run"]["status"], "running", "{asked}");
    let run = app
        .wait_for_terminal(&setup.admin, setup.target.id, &restore_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "canceled", "{run}");
    assert!(
        run["summary"]
            .as_str()
            .unwrap()
            .contains("canceled by admin@example.com after"),
        "{run}"
    );
    let counts = &run["counts"];
    let total = counts["total"].as_u64().unwrap();
    let succeeded = counts["succeeded"].as_u64().unwrap();
    let skipped = counts["skipped"].as_u64().unwrap();
    assert!(succeeded >= 3 && succeeded < total, "{run}");
    assert_eq!(counts["failed"], 0, "{run}");
    let items = crate::operations::all_items(&app, &setup.admin, &setup.target, &restore_id).await;
    let canceled = items
        .iter()
        .filter(|i| i["status"] == "skipped" && i["error_code"] == "canceled")
        .count() as u64;
    assert!(
        canceled > 0 && canceled <= skipped,
        "{canceled} of {skipped}"
    );

    // No write reached graph-sim after the run ended, and each created object is an item.
    let finished_at =
        chrono::DateTime::parse_from_rfc3339(run["finished_at"].as_str().unwrap()).unwrap();
    let journal = app.sim_journal(&setup.target).await;
    let late: Vec<&Value> = journal
        .iter()
        .filter(|e| {
            chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap() > finished_at
        })
        .collect();
    assert!(late.is_empty(), "{late:#?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.sim_journal(&setup.target).await.len(), journal.len());

    // Audited, and a finished run cannot be canceled.
    let audit = app
        .get_json(
            &setup.admin,
            &format!("/tenants/{}/audit-events", setup.target.id),
        )
        .await;
    let actions: Vec<&str> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["run_id"] == restore_id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"restore.live.cancel_requested"),
        "{actions:?}"
    );
    assert!(actions.contains(&"restore.live.finished"), "{actions:?}");
    let capture_id = setup.snapshot["run_id"].as_str().unwrap();
    let r = app
        .post(
            &setup.admin,
            &format!("/tenants/{}/runs/{capture_id}/cancel", setup.source.id),
            json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    app.shutdown().await;
}

//! x

use super::*;

#[tokio::test]
async fn undo_puts_updated_objects_back_and_deletes_created_ones() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let source = app.add_tenant("Undo Source").await;
    let target = app.add_tenant("Undo Target").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    for i in 0..15 {
        app.sim_load(
            &source,
            CONFIGS,
            config(&format!("Policy {i:02}"), "from the baseline"),
        )
        .await;
    }
    // The target already has the first 10 under the same names, with other content.
    for i in 0..10 {
        app.sim_load(
            &target,
            CONFIGS,
            config(&format!("Policy {i:02}"), "tuned locally"),
        )
        .await;
    }
    let before = export(&app, &target).await;
    let (capture_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    let (restore_id, restored, items) = restore(&app, &admin, &target, &snapshot, "live").await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(restored["counts"]["updated"], 10, "{restored}");
    assert_eq!(restored["counts"]["created"], 5, "{restored}");
    let pre = restored["pre_restore_snapshot_id"]
        .as_str()
        .expect("pre-restore copy");
    let copy = app
        .get_json(&admin, &format!("/tenants/{}/snapshots/{pre}", target.id))
        .await;
    assert_eq!(copy["snapshot"]["purpose"], "pre_restore", "{copy}");
    assert_eq!(copy["snapshot"]["item_count"], 10, "{copy}");
    let created: Vec<String> = items
        .iter()
        .filter(|i| i["action"] == "created")
        .map(|i| i["result_graph_id"].as_str().unwrap().to_string())
        .collect();
    let updated: Vec<String> = items
        .iter()
        .filter(|i| i["action"] == "updated")
        .map(|i| i["result_graph_id"].as_str().unwrap().to_string())
        .collect();
    let journal_before_undo = app.sim_journal(&target).await.len();

    let undo_path = format!("/tenants/{}/runs/{restore_id}/undo", target.id);
    let r = app
        .post(
            &admin,
            &undo_path,
            json!({"confirm": "wrong", "delete_created": true}),
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        422,
        "undo needs the typed confirmation"
    );
    let operator = app.add_user("operator@example.com").await;
    app.grant(&operator, &target, Role::Operator).await;
    let r = app
        .post(
            &operator,
            &undo_path,
            json!({"confirm": target.name, "delete_created": true}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 403, "undo is for admins");

    let undo_id = start(
        &app,
        &admin,
        &undo_path,
        json!({"confirm": target.name, "delete_created": true}),
    )
    .await;
    let undo = app
        .wait_for_terminal(&admin, target.id, &undo_id, WAIT)
        .await;
    assert_eq!(undo["status"], "succeeded", "{undo}");
    assert_eq!(undo["operation"], "restore_undo");
    assert_eq!(undo["parent_run_id"], restore_id.as_str());
    assert_eq!(undo["counts"]["updated"], 10, "{undo}");
    assert_eq!(undo["counts"]["deleted"], 5, "{undo}");

    let after = export(&app, &target).await;
    assert_eq!(
        contents(&after, CONFIGS),
        contents(&before, CONFIGS),
        "the 10 equal their pre-restore content and the 5 are gone"
    );
    // graph-sim saw exactly those writes: one update per updated object and one delete per
    // created object.
    let undo_writes: Vec<Value> = app.sim_journal(&target).await[journal_before_undo..].to_vec();
    assert_eq!(undo_writes.len(), 15, "{undo_writes:?}");
    for id in &updated {
        let writes: Vec<&Value> = undo_writes
            .iter()
            .filter(|e| e["path"].as_str().unwrap().ends_with(id.as_str()))
            .collect();
        assert_eq!(writes.len(), 1, "{id}: {writes:?}");
        assert_eq!(writes[0]["method"], "PATCH");
    }
    for id in &created {
        let writes: Vec<&Value> = undo_writes
            .iter()
            .filter(|e| e["path"].as_str().unwrap().ends_with(id.as_str()))
            .collect();
        assert_eq!(writes.len(), 1, "{id}: {writes:?}");
        assert_eq!(writes[0]["method"], "DELETE");
    }
    // Audit trail: queued, started and finished for the restore and for its undo.
    let audit = app
        .get_json(&admin, &format!("/tenants/{}/audit-events", target.id))
        .await;
    let actions: Vec<(&str, &str)> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["run_id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    for (action, run) in [
        ("restore.live.queued", restore_id.as_str()),
        ("restore.live.finished", restore_id.as_str()),
        ("restore.undo.queued", undo_id.as_str()),
        ("restore.undo.started", undo_id.as_str()),
        ("restore.undo.finished", undo_id.as_str()),
    ] {
        assert!(
            actions.contains(&(action, run)),
            "{action} missing: {actions:?}"
        );
    }
    // Undoing the undo is a restore of its own pre-restore copy.
    let r = app
        .post(
            &admin,
            &format!("/tenants/{}/runs/{undo_id}/undo", target.id),
            json!({"confirm": target.name}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let err: Value = r.json().await.unwrap();
    let undo_copy = undo["pre_restore_snapshot_id"].as_str().unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains(undo_copy),
        "{err}"
    );
    let redo = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": undo_copy}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let redo = app.wait_for_terminal(&admin, target.id, &redo, WAIT).await;
    assert_eq!(redo["status"], "succeeded", "{redo}");
    assert_eq!(
        (
            redo["counts"]["updated"].as_u64(),
            redo["counts"]["created"].as_u64()
        ),
        (Some(10), Some(5)),
        "{redo}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_run_page_offers_undo_and_shows_how_items_were_matched() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let (_, admin, snapshot) = twin_source(&app).await;
    let target = app.add_tenant("Page Target").await;
    app.grant(&admin, &target, Role::Admin).await;
    app.sim_load(&target, CONFIGS, config("Baseline", "already here"))
        .await;
    let (run_id, run, _) = restore(&app, &admin, &target, &snapshot, "live").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let run_page = format!("/tenants/{}/runs/{run_id}", target.id);
    let html = crate::pages::page_of(&app, &admin.email, &run_page).await;
    for needle in [
        "id=\"start-undo\"",
        "matched by name and type",
        "no matching object: a new one",
        "id=\"pre-restore-link\"",
    ] {
        assert!(html.contains(needle), "{needle} missing from the run page");
    }
    let (status, location) = crate::pages::submit_as(
        &app,
        &admin.email,
        &format!("{run_page}/undo"),
        &[
            ("confirm", target.name.as_str()),
            ("delete_created", "true"),
        ],
    )
    .await;
    assert_eq!(status.as_u16(), 303, "{location}");
    let undo_id = location
        .split("/runs/")
        .nth(1)
        .and_then(|rest| rest.split(['?', '#']).next())
        .unwrap()
        .to_string();
    let undo = app
        .wait_for_terminal(&admin, target.id, &undo_id, WAIT)
        .await;
    assert_eq!(undo["operation"], "restore_undo", "{undo}");
    assert_eq!(undo["status"], "succeeded", "{undo}");
    assert_eq!(
        (
            undo["counts"]["updated"].as_u64(),
            undo["counts"]["deleted"].as_u64()
        ),
        (Some(1), Some(7)),
        "{undo}"
    );
    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/runs/{undo_id}", target.id),
    )
    .await;
    assert!(html.contains("Undo of"), "the undo links to its restore");
    app.shutdown().await;
}

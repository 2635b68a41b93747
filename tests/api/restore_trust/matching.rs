//! Target matching on real-world data: same-named policies, ambiguous names, exact selections.

use super::*;

#[tokio::test]
async fn same_named_policies_become_separate_objects_and_preview_shows_it() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let (source, admin, snapshot) = twin_source(&app).await;
    let source_export = export(&app, &source).await;

    // Into an empty tenant: preview says create for all 8, live creates 8 objects with
    // exactly the source's contents.
    let empty = app.add_tenant("Empty Target").await;
    app.grant(&admin, &empty, Role::Admin).await;
    let (_, preview, items) = restore(&app, &admin, &empty, &snapshot, "preview").await;
    assert_eq!(preview["status"], "succeeded", "{preview}");
    assert_eq!(
        by_action(&items),
        BTreeMap::from([("would_create".into(), 8)])
    );
    assert!(items.iter().all(|i| i["match"] == "none"), "{items:?}");
    assert_eq!(preview["counts"]["created"], 8, "{preview}");
    assert!(
        app.sim_journal(&empty).await.is_empty(),
        "a preview wrote to the tenant"
    );
    let (_, live, items) = restore(&app, &admin, &empty, &snapshot, "live").await;
    assert_eq!(live["status"], "succeeded", "{live}");
    assert_eq!(by_action(&items), BTreeMap::from([("created".into(), 8)]));
    let ids: std::collections::HashSet<&str> = items
        .iter()
        .map(|i| i["result_graph_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8, "two items share a target object: {items:?}");
    let target_export = export(&app, &empty).await;
    for collection in [CONFIGS, CATALOG, SCRIPTS] {
        assert_eq!(
            contents(&target_export, collection),
            contents(&source_export, collection),
            "{collection}"
        );
    }
    // Graph's order of settings is kept: the restored policy reads back unsorted, as
    // captured.
    for policy in target_export[CATALOG].as_array().unwrap() {
        let order: Vec<&str> = policy["settings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s["settingInstance"]["settingDefinitionId"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            order,
            [
                "device_vendor_msft_zeta",
                "device_vendor_msft_alpha",
                "device_vendor_msft_mid"
            ]
        );
    }
    // Restoring again maps every item to its own object: nothing changes.
    let (_, again, items) = restore(&app, &admin, &empty, &snapshot, "live").await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(by_action(&items), BTreeMap::from([("unchanged".into(), 8)]));
    assert!(items.iter().all(|i| i["match"] == "mapping"), "{items:?}");

    // Into a tenant that already holds one "Baseline": it is updated at most once, the
    // other source "Baseline" gets an object of its own, never both written to one.
    let busy = app.add_tenant("Busy Target").await;
    app.grant(&admin, &busy, Role::Admin).await;
    let existing = app
        .sim_load(&busy, CONFIGS, config("Baseline", "already here"))
        .await;
    let existing_id = existing["id"].as_str().unwrap().to_string();
    let (_, preview, preview_items) = restore(&app, &admin, &busy, &snapshot, "preview").await;
    assert_eq!(preview["status"], "succeeded", "{preview}");
    let baseline: Vec<&Value> = preview_items
        .iter()
        .filter(|i| i["display_name"] == "Baseline")
        .collect();
    let decisions: Vec<(&str, &str, Option<&str>)> = baseline
        .iter()
        .map(|i| {
            (
                i["action"].as_str().unwrap(),
                i["match"].as_str().unwrap(),
                i["result_graph_id"].as_str(),
            )
        })
        .collect();
    assert!(
        decisions.contains(&("would_update", "name", Some(existing_id.as_str())))
            && decisions.iter().any(|d| d.0 == "would_create"),
        "{decisions:?}"
    );
    let update = baseline
        .iter()
        .find(|i| i["action"] == "would_update")
        .unwrap();
    assert!(
        !update["diff"]["changes"].as_array().unwrap().is_empty(),
        "the overwrite is visible before anything is written: {update}"
    );
    let (_, live, live_items) = restore(&app, &admin, &busy, &snapshot, "live").await;
    assert_eq!(live["status"], "succeeded", "{live}");
    // Preview and live made the same decisions, item by item.
    let live_by_key: HashMap<&str, &Value> = live_items
        .iter()
        .map(|i| (i["item_key"].as_str().unwrap(), i))
        .collect();
    for p in &preview_items {
        let l = live_by_key[p["item_key"].as_str().unwrap()];
        let expected = match p["action"].as_str().unwrap() {
            "would_update" => "updated",
            "would_create" => "created",
            other => other,
        };
        assert_eq!(l["action"], expected, "{p} vs {l}");
        assert_eq!(l["match"], p["match"], "{p} vs {l}");
    }
    assert_eq!(live["counts"]["updated"], 1, "{live}");
    assert_eq!(live["counts"]["created"], 7, "{live}");
    let writes_to_existing = app
        .sim_journal(&busy)
        .await
        .into_iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.contains(&existing_id)))
        .count();
    assert_eq!(
        writes_to_existing, 1,
        "the existing Baseline was written more than once"
    );
    let busy_export = export(&app, &busy).await;
    assert_eq!(busy_export[CONFIGS].as_array().unwrap().len(), 4);
    assert_eq!(
        contents(&busy_export, CONFIGS),
        contents(&source_export, CONFIGS),
        "one target object per source object, with equal content"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn ambiguous_name_matches_are_conflicts_listing_the_candidates() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let source = app.add_tenant("Single Source").await;
    let target = app.add_tenant("Doubled Target").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    app.sim_load(&source, CONFIGS, config("Shared", "source"))
        .await;
    let a = app
        .sim_load(&target, CONFIGS, config("Shared", "one"))
        .await;
    let b = app
        .sim_load(&target, CONFIGS, config("Shared", "two"))
        .await;
    let (run_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &run_id).await;

    let (_, preview, items) = restore(&app, &admin, &target, &snapshot, "preview").await;
    assert_eq!(preview["counts"]["conflict"], 1, "{preview}");
    let (_, live, items_live) = restore(&app, &admin, &target, &snapshot, "live").await;
    assert_eq!(live["status"], "failed", "{live}");
    for item in items.iter().chain(&items_live) {
        assert_eq!(item["action"], "conflict", "{item}");
        let candidates = item["diff"]["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 2, "{item}");
        for id in [&a["id"], &b["id"]] {
            assert!(candidates.contains(id), "{item}");
            assert!(
                item["error_message"]
                    .as_str()
                    .unwrap()
                    .contains(id.as_str().unwrap())
            );
        }
    }
    assert!(
        app.sim_journal(&target).await.is_empty(),
        "a conflict wrote to the target"
    );
    assert!(
        live["summary"].as_str().unwrap().contains("1 conflict"),
        "{live}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn selections_are_exact_and_part_of_de_duplication() {
    // No worker: runs stay queued, so de-duplication can be observed.
    let app = spawn_app_with(AppOptions::default()).await;
    let tenant = app.add_tenant("Selective").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    let (scope, _) =
        policyvault::store::accounts::member_scope(&app.services.db, tenant.id, admin.id)
            .await
            .unwrap()
            .expect("the admin is a member");
    let snapshot = policyvault::store::content::snapshot_for_run(
        &app.services.db,
        &scope,
        uuid::Uuid::now_v7(),
        &[],
        admin.id,
        true,
    )
    .await
    .unwrap();
    let mut item_ids = Vec::new();
    for i in 0..3 {
        let item = policyvault::store::content::add_snapshot_item(
            &app.services.db,
            &snapshot,
            &policyvault::store::content::CapturedObject {
                policy_type: "deviceConfigurations".into(),
                source_id: format!("cfg-{i}"),
                display_name: format!("Cfg {i}"),
                payload: config(&format!("Cfg {i}"), "x"),
                assignments: json!([]),
                content_hash: format!("h{i}"),
            },
        )
        .await
        .unwrap();
        item_ids.push(item.id.to_string());
    }
    let path = format!("/tenants/{}/restores", tenant.id);
    let body = |ids: Value| json!({"source": {"snapshot_id": snapshot.id}, "item_ids": ids, "mode": "preview"});

    let r = app.post(&admin, &path, body(json!([]))).await;
    assert_eq!(r.status().as_u16(), 422);
    let err: Value = r.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("select at least one item"),
        "{err}"
    );
    let r = app
        .post(
            &admin,
            &path,
            json!({"source": {"snapshot_id": snapshot.id}, "item_ids": [], "mode": "live", "confirm": tenant.name}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 422, "live restores refuse it too");

    let first = app
        .post(&admin, &path, body(json!([item_ids[0], item_ids[1]])))
        .await;
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.unwrap();
    let other = app.post(&admin, &path, body(json!([item_ids[2]]))).await;
    assert_eq!(
        other.status().as_u16(),
        202,
        "another selection is another run"
    );
    let other: Value = other.json().await.unwrap();
    assert_ne!(first["run"]["id"], other["run"]["id"]);
    let all = app
        .post(
            &admin,
            &path,
            json!({"source": {"snapshot_id": snapshot.id}, "mode": "preview"}),
        )
        .await;
    assert_eq!(
        all.status().as_u16(),
        202,
        "everything is a selection of its own"
    );
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["run"]["selection"]["all"], true);

    // The same selection in another order (and with a repeat) is the same run.
    let same = app
        .post(
            &admin,
            &path,
            body(json!([item_ids[1], item_ids[0], item_ids[1]])),
        )
        .await;
    assert_eq!(same.status().as_u16(), 200);
    let same: Value = same.json().await.unwrap();
    assert_eq!(same["deduplicated"], true);
    assert_eq!(same["run"]["id"], first["run"]["id"]);
    assert_eq!(same["run"]["selection"]["item_count"], 2);
    assert_eq!(
        same["run"]["selection"]["digest"],
        first["run"]["selection"]["digest"]
    );
    let mut shared: Vec<String> = same["item_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    shared.sort();
    let mut expected = vec![item_ids[0].clone(), item_ids[1].clone()];
    expected.sort();
    assert_eq!(shared, expected, "the answer names the selection it shares");
    app.shutdown().await;
}

//! Restores on real-world data: policies that share a display name stay separate objects,
//! preview shows the same decisions as the live restore, selections are exact, undo puts
//! the target back, crash-heavy runs finish, and Graph's own error message reaches the item.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{AppOptions, Role, TestApp, TestTenant, TestUser, spawn_app_with, wait_for};
use crate::operations::{all_items, capture, snapshot_of_run, start};

const WAIT: Duration = Duration::from_secs(240);

fn config(name: &str, description: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": name,
        "description": description,
        "passwordRequired": description.len().is_multiple_of(2),
    })
}

/// A settings-catalog policy whose settings are deliberately not in sorted order.
fn catalog(name: &str, value: &str) -> Value {
    let setting = |id: &str, v: &str| {
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": id,
            "simpleSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue",
                "value": v,
            },
        }})
    };
    json!({
        "name": name,
        "description": format!("{name} {value}"),
        "platforms": "windows10",
        "technologies": "mdm",
        "settings": [
            setting("device_vendor_msft_zeta", value),
            setting("device_vendor_msft_alpha", value),
            setting("device_vendor_msft_mid", value),
        ],
    })
}

fn script(name: &str, body: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.deviceManagementScript",
        "displayName": name,
        "description": body,
        "fileName": "run.ps1",
        "runAsAccount": "system",
        "enforceSignatureCheck": false,
        "runAs32Bit": false,
        "scriptContent": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, body),
    })
}

const CONFIGS: &str = "deviceManagement/deviceConfigurations";
const CATALOG: &str = "deviceManagement/configurationPolicies";
const SCRIPTS: &str = "deviceManagement/deviceManagementScripts";

/// A source tenant with pairs of same-named, same-typed, different policies in three
/// collections, captured; returns the admin and the snapshot.
async fn twin_source(app: &TestApp) -> (TestTenant, TestUser, Value) {
    let source = app.add_tenant("Twins").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    for (a, b) in [("first copy", "second copy"), ("alpha", "beta")] {
        let name = if a == "alpha" { "Kiosk" } else { "Baseline" };
        app.sim_load(&source, CONFIGS, config(name, a)).await;
        app.sim_load(&source, CONFIGS, config(name, b)).await;
    }
    app.sim_load(&source, CATALOG, catalog("Edge baseline", "1"))
        .await;
    app.sim_load(&source, CATALOG, catalog("Edge baseline", "2"))
        .await;
    app.sim_load(&source, SCRIPTS, script("Cleanup", "Write-Output one"))
        .await;
    app.sim_load(&source, SCRIPTS, script("Cleanup", "Write-Output two"))
        .await;
    let (run_id, run) = capture(app, &admin, &source).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let snapshot = snapshot_of_run(app, &admin, &source, &run_id).await;
    (source, admin, snapshot)
}

async fn export(app: &TestApp, tenant: &TestTenant) -> Value {
    app.sim_get(&format!("/_sim/tenants/{}/export", tenant.sim_id))
        .await
}

/// The content of every object of a collection, comparable across tenants (ids, times and
/// annotations gone), as a sorted list: equal lists mean equal objects one for one.
fn contents(export: &Value, collection: &str) -> Vec<String> {
    let key = collection.rsplit('/').next().unwrap();
    let contract = policyvault::graph::registry::get(key).unwrap();
    let mut out: Vec<String> = export[collection]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let n = policyvault::graph::normalize::normalize(contract, o);
            let mut payload = n.payload;
            payload.as_object_mut().unwrap().remove("roleScopeTagIds");
            policyvault::graph::normalize::canonical_json(&payload)
        })
        .collect();
    out.sort();
    out
}

fn by_action(items: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for i in items {
        *out.entry(i["action"].as_str().unwrap_or("none").to_string())
            .or_insert(0) += 1;
    }
    out
}

async fn restore(
    app: &TestApp,
    admin: &TestUser,
    target: &TestTenant,
    snapshot: &Value,
    mode: &str,
) -> (String, Value, Vec<Value>) {
    let run_id = start(
        app,
        admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": mode, "confirm": target.name}),
    )
    .await;
    let run = app.wait_for_terminal(admin, target.id, &run_id, WAIT).await;
    let items = all_items(app, admin, target, &run_id).await;
    (run_id, run, items)
}

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
    assert_eq!(items.len(), 320);
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
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
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

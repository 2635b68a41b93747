//! Restores on real-world data: policies that share a display name stay separate objects,
//! preview shows the same decisions as the live restore, selections are exact, undo puts
//! the target back, crash-heavy runs finish, and Graph's own error message reaches the item.

mod matching;
mod resilience;
mod undo;

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
    // The seeded objects: every new tenant's own (the built-in scope tag, the service-default
    // enrollment configurations, the singletons) are in the snapshot too, and left out here.
    let listed = app
        .get_json(
            admin,
            &format!(
                "/tenants/{}/snapshots/{}/items?limit=200",
                snapshot["tenant_id"].as_str().unwrap(),
                snapshot["id"].as_str().unwrap()
            ),
        )
        .await;
    let item_ids: Vec<Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            let id = i["source_id"].as_str().unwrap_or_default();
            let contract =
                policyvault::graph::registry::get(i["policy_type"].as_str().unwrap()).unwrap();
            !contract.comes_with_every_tenant(id)
        })
        .map(|i| i["id"].clone())
        .collect();
    let run_id = start(
        app,
        admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": mode, "confirm": target.name, "item_ids": item_ids}),
    )
    .await;
    let run = app.wait_for_terminal(admin, target.id, &run_id, WAIT).await;
    let items = all_items(app, admin, target, &run_id).await;
    (run_id, run, items)
}

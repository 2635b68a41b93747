//! Intune operations against graph-sim's demo data: capture, restore round trip, preview,
//! re-run, and restores under injected faults.

mod archives;
mod backup_sets;
mod changes;
mod credentials;
mod drift;
mod lifecycle;
mod restore;
mod retention;
mod tenants;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{AppOptions, Role, TestApp, TestTenant, TestUser, spawn_app_with, wait_until};

const WAIT: Duration = Duration::from_secs(240);

pub fn demo_app() -> AppOptions {
    AppOptions {
        worker: true,
        sim: Some(graph_sim::SimConfig {
            demo: true,
            throttle: false,
            ..graph_sim::SimConfig::default()
        }),
        ..AppOptions::default()
    }
}

/// Registers graph-sim's demo tenant `name` in PolicyVault.
pub async fn register_demo_tenant(app: &TestApp, name: &str) -> TestTenant {
    let tenants = app.sim_get("/_sim/tenants").await;
    let sim = tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no demo tenant {name}: {tenants}"))
        .clone();
    let tenant = policyvault::store::tenants::create(
        &app.services.db,
        &app.services.secrets,
        policyvault::store::tenants::NewTenant {
            name: policyvault::domain::TenantName::parse(name).unwrap(),
            entra_tenant_id: sim["id"].as_str().unwrap().to_string(),
            client_id: sim["client_id"].as_str().unwrap().to_string(),
            credential: policyvault::store::tenants::NewCredential::Secret(
                secrecy::SecretString::from(sim["client_secret"].as_str().unwrap().to_string()),
            ),
            graph_base_url: app.sim_url(),
            login_base_url: app.sim_url(),
        },
    )
    .await
    .unwrap();
    TestTenant {
        id: tenant.id,
        name: name.to_string(),
        sim_id: sim["id"].as_str().unwrap().to_string(),
    }
}

pub async fn start(app: &TestApp, user: &TestUser, path: &str, body: Value) -> String {
    let response = app.post(user, path, body).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{path}: {body}");
    body["run"]["id"].as_str().unwrap().to_string()
}

pub async fn all_items(
    app: &TestApp,
    user: &TestUser,
    tenant: &TestTenant,
    run_id: &str,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get_json(
                user,
                &format!(
                    "/tenants/{}/runs/{run_id}/items?limit=200&cursor={cursor}",
                    tenant.id
                ),
            )
            .await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => return items,
        }
    }
}

pub async fn capture(app: &TestApp, user: &TestUser, tenant: &TestTenant) -> (String, Value) {
    let run_id = start(
        app,
        user,
        &format!("/tenants/{}/snapshots", tenant.id),
        json!({}),
    )
    .await;
    let run = app.wait_for_terminal(user, tenant.id, &run_id, WAIT).await;
    (run_id, run)
}

pub async fn snapshot_of_run(
    app: &TestApp,
    user: &TestUser,
    tenant: &TestTenant,
    run_id: &str,
) -> Value {
    let list = app
        .get_json(user, &format!("/tenants/{}/snapshots", tenant.id))
        .await;
    list["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["run_id"] == run_id)
        .cloned()
        .expect("the capture's snapshot")
}

/// A captured demo tenant and an empty restore target, both administered by one admin.
pub struct RestoreSetup {
    pub source: TestTenant,
    pub target: TestTenant,
    pub admin: TestUser,
    pub snapshot: Value,
}

pub async fn restore_setup(app: &TestApp, source: &str, target: &str) -> RestoreSetup {
    let source = register_demo_tenant(app, source).await;
    let target = app.add_tenant(target).await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    let (capture_id, _) = capture(app, &admin, &source).await;
    let snapshot = snapshot_of_run(app, &admin, &source, &capture_id).await;
    RestoreSetup {
        source,
        target,
        admin,
        snapshot,
    }
}

/// Every snapshot item's payload by (type, name, `@odata.type`), comparable across tenants:
/// scope tags are tenant-specific and not carried across, so they are left out.
async fn payloads(
    app: &TestApp,
    user: &TestUser,
    tenant: &TestTenant,
    snapshot_id: &str,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get_json(
                user,
                &format!(
                    "/tenants/{}/snapshots/{snapshot_id}/items?payload=true&limit=200&cursor={cursor}",
                    tenant.id
                ),
            )
            .await;
        let items = page["items"].as_array().unwrap();
        for item in items {
            let mut payload = item["payload"].clone();
            if let Some(obj) = payload.as_object_mut() {
                obj.remove("roleScopeTagIds");
            }
            let key = format!(
                "{}/{}/{}",
                item["policy_type"].as_str().unwrap(),
                item["display_name"].as_str().unwrap(),
                payload["@odata.type"].as_str().unwrap_or_default()
            );
            out.insert(key, payload);
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => return out,
        }
    }
}

/// Calls graph-sim's Graph surface as the tenant's app would.
pub async fn sim_graph(
    app: &TestApp,
    tenant: &TestTenant,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let listed = app.sim_get("/_sim/tenants").await;
    let creds = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tenant.sim_id.as_str())
        .unwrap()
        .clone();
    let token: Value = app
        .http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            app.sim_url(),
            tenant.sim_id
        ))
        .form(&[
            ("client_id", creds["client_id"].as_str().unwrap()),
            ("client_secret", creds["client_secret"].as_str().unwrap()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut request = app
        .http
        .request(method, format!("{}/beta/{path}", app.sim_url()))
        .bearer_auth(token["access_token"].as_str().unwrap());
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

//! Backup sets: versions of changed objects, and objects that went missing.

use super::*;

#[tokio::test]
async fn backup_sets_version_changed_objects_and_mark_missing_ones() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Versioned").await;
    let op = app.add_user("operator@example.com").await;
    app.grant(&op, &tenant, Role::Operator).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let stored = app
            .sim_load(
                &tenant,
                "deviceManagement/deviceConfigurations",
                json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": format!("Policy {i}"), "description": "v1"}),
            )
            .await;
        ids.push(stored["id"].as_str().unwrap().to_string());
    }
    let created = app
        .post(
            &op,
            &format!("/tenants/{}/backup-sets", tenant.id),
            json!({"name": "Configs", "description": "weekly", "policy_types": ["deviceConfigurations"], "capture": true}),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap().to_string();
    let first = app
        .wait_for_terminal(&op, tenant.id, created["run"]["id"].as_str().unwrap(), WAIT)
        .await;
    assert_eq!(first["counts"]["succeeded"], 3);

    let patched = sim_graph(
        &app,
        &tenant,
        reqwest::Method::PATCH,
        &format!("deviceManagement/deviceConfigurations/{}", ids[0]),
        Some(json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "description": "v2"})),
    )
    .await;
    assert!(patched.status().is_success(), "{}", patched.status());
    let deleted = sim_graph(
        &app,
        &tenant,
        reqwest::Method::DELETE,
        &format!("deviceManagement/deviceConfigurations/{}", ids[1]),
        None,
    )
    .await;
    assert!(deleted.status().is_success());
    app.sim_load(
        &tenant,
        "deviceManagement/deviceConfigurations",
        json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Policy 3"}),
    )
    .await;

    let second_id = start(
        &app,
        &op,
        &format!("/tenants/{}/backup-sets/{set_id}/capture", tenant.id),
        json!({}),
    )
    .await;
    let second = app
        .wait_for_terminal(&op, tenant.id, &second_id, WAIT)
        .await;
    assert_eq!(second["status"], "succeeded", "{second}");
    let items = all_items(&app, &op, &tenant, &second_id).await;
    let action_of = |name: &str| {
        items
            .iter()
            .find(|i| i["display_name"] == name)
            .map(|i| i["action"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(action_of("Policy 0"), "new_version");
    assert_eq!(action_of("Policy 1"), "missing");
    assert_eq!(action_of("Policy 2"), "unchanged");
    assert_eq!(action_of("Policy 3"), "added");

    let latest = app
        .get_json(
            &op,
            &format!("/tenants/{}/backup-sets/{set_id}/items", tenant.id),
        )
        .await;
    let latest = latest["items"].as_array().unwrap();
    assert_eq!(latest.len(), 4);
    let missing: Vec<&Value> = latest
        .iter()
        .filter(|i| !i["missing_since"].is_null())
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["display_name"], "Policy 1");
    let all = app
        .get_json(
            &op,
            &format!(
                "/tenants/{}/backup-sets/{set_id}/items?all_versions=true",
                tenant.id
            ),
        )
        .await;
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        5,
        "Policy 0 has two versions"
    );
    app.shutdown().await;
}

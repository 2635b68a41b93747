//! Baselines and drift: a customer tenant against a baseline backup set of another tenant,
//! accepted exceptions, the estate summary, and the changes a backup-set capture records.

use super::*;

/// (kind, policy type, graph id, path) of each entry of a drift report.
fn entry_keys(report: &Value) -> Vec<(String, String, String, String)> {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("kind"), s("policy_type"), s("graph_id"), s("path"))
        })
        .collect()
}

#[tokio::test]
async fn drift_against_another_tenants_baseline_with_exceptions() {
    let app = spawn_app_with(demo_app()).await;
    let source = register_demo_tenant(&app, "contoso").await;
    let customer = app.add_tenant("Customer B").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &customer, Role::Admin).await;

    // The standard: a backup set of the reference tenant.
    let created = app
        .post(
            &admin,
            &format!("/tenants/{}/backup-sets", source.id),
            json!({"name": "Standard", "policy_types": ["deviceConfigurations", "deviceCompliancePolicies"], "capture": true}),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(
            &admin,
            source.id,
            created["run"]["id"].as_str().unwrap(),
            WAIT,
        )
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");

    let baseline_path = format!("/tenants/{}/baseline", customer.id);
    let none = app.get_json(&admin, &baseline_path).await;
    assert_eq!(none, json!({"baseline": null}));
    // Only admins set a baseline; only sets the caller may read can be one.
    let viewer = app.add_user("viewer@customer-b.example").await;
    app.grant(&viewer, &customer, Role::Viewer).await;
    let r = app
        .put(&viewer, &baseline_path, json!({"backup_set_id": set_id}))
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let customer_admin = app.add_user("admin@customer-b.example").await;
    app.grant(&customer_admin, &customer, Role::Admin).await;
    let r = app
        .put(
            &customer_admin,
            &baseline_path,
            json!({"backup_set_id": set_id}),
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        404,
        "a set of a tenant they are no member of"
    );
    let r = app
        .put(
            &admin,
            &baseline_path,
            json!({"backup_set_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .put(&admin, &baseline_path, json!({"backup_set_id": set_id}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["baseline"]["backup_set_id"], set_id.as_str());
    assert_eq!(
        body["baseline"]["backup_set_tenant_id"],
        source.id.to_string()
    );

    // The customer gets the standard by a restore, then a capture measures it.
    let restore_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", customer.id),
        json!({"source": {"backup_set_id": set_id}, "mode": "live", "confirm": customer.name}),
    )
    .await;
    let restore = app
        .wait_for_terminal(&admin, customer.id, &restore_id, WAIT)
        .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let (first_run, run) = capture(&app, &admin, &customer).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let drift_path = format!("/tenants/{}/drift", customer.id);
    let first = app.get_json(&admin, &drift_path).await["drift"].clone();
    assert_eq!(first["run_id"], first_run.as_str(), "{first:#}");
    assert_eq!(first["missing"], 0, "{first:#}");
    let baseline_settings = first["baseline_settings"].as_u64().unwrap();
    assert!(baseline_settings > 20, "{first:#}");
    assert!(first["score"].as_f64().unwrap() > 0.9, "{first:#}");

    // Drift: one setting edited, one policy deleted, one policy added.
    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", customer.sim_id))
        .await;
    let edited = &export["deviceManagement/deviceConfigurations"][0];
    let edited_id = edited["id"].as_str().unwrap();
    let r = sim_graph(
        &app,
        &customer,
        reqwest::Method::PATCH,
        &format!("deviceManagement/deviceConfigurations/{edited_id}"),
        Some(json!({"description": "Changed in the customer tenant"})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);
    let deleted = &export["deviceManagement/deviceCompliancePolicies"][0];
    let r = sim_graph(
        &app,
        &customer,
        reqwest::Method::DELETE,
        &format!(
            "deviceManagement/deviceCompliancePolicies/{}",
            deleted["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);
    let r = sim_graph(
        &app,
        &customer,
        reqwest::Method::POST,
        "deviceManagement/deviceConfigurations",
        Some(json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Local extra", "cameraBlocked": true})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 201);

    let (second_run, _) = capture(&app, &admin, &customer).await;
    let second = app.get_json(&admin, &drift_path).await["drift"].clone();
    assert_eq!(second["run_id"], second_run.as_str());
    let before = entry_keys(&first);
    let fresh: Vec<&Value> = second["entries"]
        .as_array()
        .unwrap()
        .iter()
        .zip(entry_keys(&second))
        .filter(|(_, k)| !before.contains(k))
        .map(|(e, _)| e)
        .collect();
    assert_eq!(fresh.len(), 3, "{fresh:#?}");
    let description = fresh
        .iter()
        .find(|e| e["kind"] == "differing")
        .expect("the edited setting");
    assert_eq!(description["graph_id"], edited_id);
    assert_eq!(description["path"], "description");
    assert_eq!(description["tenant"], "Changed in the customer tenant");
    let missing = fresh
        .iter()
        .find(|e| e["kind"] == "missing")
        .expect("the deleted policy");
    assert_eq!(missing["display_name"], deleted["displayName"]);
    assert_eq!(missing["path"], "*");
    assert!(missing["settings"].as_u64().unwrap() > 0);
    let extra = fresh
        .iter()
        .find(|e| e["kind"] == "extra")
        .expect("the added policy");
    assert_eq!(extra["display_name"], "Local extra");
    assert_eq!(second["missing"], 1);
    assert!(second["score"].as_f64().unwrap() < first["score"].as_f64().unwrap());

    // New drift is a notification for the tenant's admins.
    for user in [&admin, &customer_admin] {
        let notes = app.get_json(user, "/notifications").await;
        assert!(
            notes["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "drift" && n["run_id"] == second_run.as_str()),
            "{notes:#}"
        );
    }

    // Accepting two differences: later drift leaves them out and counts them as matching.
    let exceptions_path = format!("/tenants/{}/drift/exceptions", customer.id);
    for (entry, reason) in [
        (description, "Described locally"),
        (missing, "Customer does not use it"),
    ] {
        let r = app
            .post(
                &admin,
                &exceptions_path,
                json!({"policy_type": entry["policy_type"], "graph_id": entry["graph_id"],
                       "path": entry["path"], "reason": reason}),
            )
            .await;
        assert_eq!(r.status().as_u16(), 201);
    }
    let again = app
        .post(
            &admin,
            &exceptions_path,
            json!({"policy_type": description["policy_type"], "graph_id": edited_id,
                   "path": "description", "reason": "twice"}),
        )
        .await;
    assert_eq!(again.status().as_u16(), 409);
    for bad in [
        json!({"policy_type": "noSuchType", "graph_id": edited_id, "reason": "x"}),
        json!({"policy_type": "deviceConfigurations", "graph_id": edited_id, "reason": "  "}),
        json!({"policy_type": "deviceConfigurations", "graph_id": "", "reason": "x"}),
    ] {
        let r = app.post(&admin, &exceptions_path, bad.clone()).await;
        assert_eq!(r.status().as_u16(), 422, "{bad}");
    }
    let r = app
        .post(
            &viewer,
            &exceptions_path,
            json!({"policy_type": "deviceConfigurations", "graph_id": edited_id, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let listed = app.get_json(&viewer, &exceptions_path).await;
    assert_eq!(listed["exceptions"].as_array().unwrap().len(), 2);
    let audit = app
        .get_json(&admin, &format!("/tenants/{}/audit-events", customer.id))
        .await;
    let actions: Vec<&str> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"baseline.set"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "drift.exception.accepted")
            .count(),
        2
    );

    capture(&app, &admin, &customer).await;
    let third = app.get_json(&admin, &drift_path).await["drift"].clone();
    let keys = entry_keys(&third);
    assert!(
        !keys
            .iter()
            .any(|(_, _, id, path)| id == edited_id && path == "description"),
        "{third:#}"
    );
    assert_eq!(third["missing"], 0, "{third:#}");
    assert_eq!(third["excepted"], 2);
    assert!(third["score"].as_f64().unwrap() > second["score"].as_f64().unwrap());
    assert_eq!(third["baseline_settings"], second["baseline_settings"]);

    // The estate summary: the customer, worst first; the reference tenant has no baseline.
    let estate = app.get_json(&admin, "/drift").await;
    let lines = estate["tenants"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{estate:#}");
    assert_eq!(lines[0]["tenant_id"], customer.id.to_string());
    assert_eq!(lines[0]["score"], third["score"]);
    let r = app.get(&admin, "/drift?cursor=not-a-cursor").await;
    assert_eq!(r.status().as_u16(), 422);

    // The pages.
    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/drift", customer.id),
    )
    .await;
    assert!(html.contains("aligned"), "{html}");
    assert!(html.contains("Local extra"), "{html}");
    assert!(html.contains("Customer does not use it"), "{html}");
    let html = crate::pages::page_of(&app, &admin.email, "/drift").await;
    assert!(html.contains("Customer B"), "{html}");

    // Removing the baseline: no new drift, the summary forgets the tenant.
    let r = app.delete(&admin, &baseline_path).await;
    assert_eq!(r.status().as_u16(), 204);
    let estate = app.get_json(&admin, "/drift").await;
    assert_eq!(estate["tenants"], json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn a_backup_set_capture_records_what_it_changed() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = register_demo_tenant(&app, "contoso").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    let created = app
        .post(
            &admin,
            &format!("/tenants/{}/backup-sets", tenant.id),
            json!({"name": "Profiles", "policy_types": ["deviceConfigurations"], "capture": true}),
        )
        .await;
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(
        &admin,
        tenant.id,
        created["run"]["id"].as_str().unwrap(),
        WAIT,
    )
    .await;
    let changes_path = format!("/tenants/{}/backup-sets/{set_id}/changes", tenant.id);
    let first = app.get_json(&admin, &changes_path).await;
    assert_eq!(first, json!({"run_id": null, "since": null, "changes": []}));

    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", tenant.sim_id))
        .await;
    let profile = &export["deviceManagement/deviceConfigurations"][1];
    let id = profile["id"].as_str().unwrap();
    let r = sim_graph(
        &app,
        &tenant,
        reqwest::Method::PATCH,
        &format!("deviceManagement/deviceConfigurations/{id}"),
        Some(json!({"description": "Edited between captures"})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);
    let run_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/backup-sets/{set_id}/capture", tenant.id),
        json!({}),
    )
    .await;
    let run = app
        .wait_for_terminal(&admin, tenant.id, &run_id, WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let second = app.get_json(&admin, &changes_path).await;
    assert_eq!(second["run_id"], run_id.as_str());
    assert!(second["since"].is_string());
    assert_eq!(
        second["changes"],
        json!([{"policy_type": "deviceConfigurations", "graph_id": id,
                "display_name": profile["displayName"], "change": "changed",
                "settings": [{"path": "description", "before": profile["description"], "after": "Edited between captures"}],
                "changed_by": second["changes"][0]["changed_by"]}]),
        "{second:#}"
    );
    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/backup-sets/{set_id}", tenant.id),
    )
    .await;
    assert!(html.contains("1 changed, 0 added, 0 removed"), "{html}");
    app.shutdown().await;
}

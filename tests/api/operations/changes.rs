//! Changes on every capture: what changed since the previous capture, object by object and
//! setting by setting.

use super::*;

#[tokio::test]
async fn a_capture_lists_exactly_what_changed_since_the_previous_one() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = register_demo_tenant(&app, "contoso").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, crate::helpers::Role::Admin)
        .await;
    let (first_run, _) = capture(&app, &admin, &tenant).await;
    let first = snapshot_of_run(&app, &admin, &tenant, &first_run).await;
    let first_id = first["id"].as_str().unwrap();
    let none = app
        .get_json(
            &admin,
            &format!("/tenants/{}/snapshots/{first_id}/changes", tenant.id),
        )
        .await;
    assert_eq!(none, json!({"previous_snapshot_id": null, "changes": []}));

    // Three policies edited in the tenant, one added, one deleted.
    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", tenant.sim_id))
        .await;
    let app_id = app
        .sim_get("/_sim/tenants")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tenant.sim_id.as_str())
        .unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut edited = Vec::new();
    for collection in [
        "deviceManagement/deviceConfigurations",
        "deviceManagement/deviceCompliancePolicies",
        "deviceManagement/windowsFeatureUpdateProfiles",
    ] {
        let o = &export[collection][0];
        let id = o["id"].as_str().unwrap().to_string();
        let r = sim_graph(
            &app,
            &tenant,
            reqwest::Method::PATCH,
            &format!("{collection}/{id}"),
            Some(json!({"description": "Changed by the test"})),
        )
        .await;
        assert_eq!(r.status().as_u16(), 204, "{collection}");
        edited.push((id, o["description"].clone()));
    }
    let added = sim_graph(
        &app,
        &tenant,
        reqwest::Method::POST,
        "deviceManagement/assignmentFilters",
        Some(json!({"displayName": "New filter", "platform": "windows10AndLater", "rule": "(device.model -eq \"x\")"})),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
    let gone = &export["deviceManagement/deviceCategories"][0];
    let gone_id = gone["id"].as_str().unwrap();
    let r = sim_graph(
        &app,
        &tenant,
        reqwest::Method::DELETE,
        &format!("deviceManagement/deviceCategories/{gone_id}"),
        None,
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);

    let (second_run, _) = capture(&app, &admin, &tenant).await;
    let second = snapshot_of_run(&app, &admin, &tenant, &second_run).await;
    let second_id = second["id"].as_str().unwrap();
    let body = app
        .get_json(
            &admin,
            &format!("/tenants/{}/snapshots/{second_id}/changes", tenant.id),
        )
        .await;
    assert_eq!(body["previous_snapshot_id"], first_id);
    let changes = body["changes"].as_array().unwrap();
    let of =
        |kind: &str| -> Vec<&Value> { changes.iter().filter(|c| c["change"] == kind).collect() };
    assert_eq!(of("changed").len(), 3, "{body:#}");
    assert_eq!(of("added").len(), 1, "{body:#}");
    assert_eq!(of("removed").len(), 1, "{body:#}");
    for (id, before) in &edited {
        let c = of("changed")
            .into_iter()
            .find(|c| c["graph_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} not among the changes: {body:#}"));
        assert_eq!(
            c["settings"],
            json!([{"path": "description", "before": before, "after": "Changed by the test"}]),
            "{c}"
        );
        // Intune's audit log names the app that made the change.
        assert_eq!(
            c["changed_by"],
            json!(format!("application {}", app_id)),
            "{c}"
        );
    }
    assert_eq!(of("added")[0]["display_name"], "New filter");
    assert_eq!(of("added")[0]["policy_type"], "assignmentFilters");
    assert_eq!(of("removed")[0]["graph_id"], gone_id);

    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/snapshots/{second_id}", tenant.id),
    )
    .await;
    assert!(html.contains("3 changed, 1 added, 1 removed"), "{html}");
    assert!(html.contains("Changed by the test"));

    // The history of one edited policy: two versions, the second saying what changed.
    let (id, before) = &edited[0];
    let history_path = format!(
        "/tenants/{}/policies/deviceConfigurations/{id}/history",
        tenant.id
    );
    let history = app.get_json(&admin, &history_path).await;
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history:#}");
    assert_eq!(versions[0]["snapshot_id"], first_id);
    assert_eq!(versions[0]["changes"], json!([]));
    assert_eq!(
        versions[1]["changes"],
        json!([{"path": "description", "before": before, "after": "Changed by the test"}])
    );
    assert_eq!(
        versions[1]["changed_by"],
        json!(format!("application {app_id}"))
    );
    // The history page, linked from the snapshot page.
    assert!(
        html.contains(&format!("/policies/deviceConfigurations/{id}/history")),
        "{html}"
    );
    let page = crate::pages::page_of(
        &app,
        &admin.email,
        &format!(
            "/tenants/{}/policies/deviceConfigurations/{id}/history",
            tenant.id
        ),
    )
    .await;
    assert!(page.contains("2 versions"), "{page}");
    assert!(page.contains("Changed by the test"), "{page}");
    assert!(page.contains(&format!("application {app_id}")), "{page}");
    let unknown = app
        .get(
            &admin,
            &format!(
                "/tenants/{}/policies/deviceConfigurations/no-such-id/history",
                tenant.id
            ),
        )
        .await;
    assert_eq!(unknown.status().as_u16(), 404);
    let bad_type = app
        .get(
            &admin,
            &format!("/tenants/{}/policies/noSuchType/{id}/history", tenant.id),
        )
        .await;
    assert_eq!(bad_type.status().as_u16(), 422);

    // A third capture with nothing changed in between: no changes, compared with the second.
    let (third_run, _) = capture(&app, &admin, &tenant).await;
    let third = snapshot_of_run(&app, &admin, &tenant, &third_run).await;
    let body = app
        .get_json(
            &admin,
            &format!(
                "/tenants/{}/snapshots/{}/changes",
                tenant.id,
                third["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(
        body,
        json!({"previous_snapshot_id": second_id, "changes": []})
    );
    let history = app.get_json(&admin, &history_path).await;
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "an unchanged capture is no new version");
    assert_eq!(versions[1]["captures"], 2);
    app.shutdown().await;
}

#[tokio::test]
async fn comparisons_show_what_differs_from_a_capture_now_and_against_a_baseline() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = register_demo_tenant(&app, "contoso").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, crate::helpers::Role::Admin)
        .await;
    let (run_id, _) = capture(&app, &admin, &tenant).await;
    let snapshot = snapshot_of_run(&app, &admin, &tenant, &run_id).await;
    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", tenant.sim_id))
        .await;
    let profile = &export["deviceManagement/deviceConfigurations"][0];
    let id = profile["id"].as_str().unwrap();
    let r = sim_graph(
        &app,
        &tenant,
        reqwest::Method::PATCH,
        &format!("deviceManagement/deviceConfigurations/{id}"),
        Some(json!({"description": "Changed after the capture"})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);
    let journal_before = app.sim_journal(&tenant).await.len();

    // The capture against the tenant now: exactly the one change.
    let path = format!("/tenants/{}/comparisons", tenant.id);
    let compare_id = start(
        &app,
        &admin,
        &path,
        json!({"left": {"snapshot_id": snapshot["id"]}, "right": {"live": true}}),
    )
    .await;
    let run = app
        .wait_for_terminal(&admin, tenant.id, &compare_id, WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["operation"], "compare");
    let items = all_items(&app, &admin, &tenant, &compare_id).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0]["change"], "changed");
    assert_eq!(items[0]["result_graph_id"], id);
    assert_eq!(
        items[0]["settings"],
        json!([{"path": "description", "before": profile["description"], "after": "Changed after the capture"}])
    );
    // Reads only.
    let journal = app.sim_journal(&tenant).await;
    assert!(
        journal[journal_before..]
            .iter()
            .all(|e| e["method"] == "GET"
                || e["method"] == "POST" && e["path"].as_str().unwrap().ends_with("$batch")),
        "{journal:?}"
    );

    // The run page shows the setting that differs.
    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/runs/{compare_id}", tenant.id),
    )
    .await;
    assert!(html.contains("Changed after the capture"), "{html}");
    // The snapshot page starts the same comparison (joining the finished one's target anew).
    let snapshot_page = format!(
        "/tenants/{}/snapshots/{}",
        tenant.id,
        snapshot["id"].as_str().unwrap()
    );
    let html = crate::pages::page_of(&app, &admin.email, &snapshot_page).await;
    assert!(html.contains("Compare with the tenant now"), "{html}");
    let (status, target) =
        crate::pages::submit_as(&app, &admin.email, &format!("{snapshot_page}/compare"), &[]).await;
    assert_eq!(status.as_u16(), 303, "{target}");
    assert!(target.contains("/runs/"), "{target}");

    // Against a baseline in another tenant: a new tenant holds none of it.
    let other = app.add_tenant("Customer B").await;
    app.grant(&admin, &other, crate::helpers::Role::Admin).await;
    let baseline_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/comparisons", other.id),
        json!({"left": {"snapshot_id": snapshot["id"]}, "right": {"live": true}}),
    )
    .await;
    let run = app
        .wait_for_terminal(&admin, other.id, &baseline_id, WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let items = all_items(&app, &admin, &other, &baseline_id).await;
    let removed = items.iter().filter(|i| i["change"] == "removed").count();
    assert!(removed >= 150, "{removed} of {}", items.len());
    // Its items hold the baseline tenant's settings: a member of Customer B only sees the run,
    // not them.
    let b_only = app.add_user("viewer@customer-b.example").await;
    app.grant(&b_only, &other, crate::helpers::Role::Viewer)
        .await;
    let r = app
        .get(
            &b_only,
            &format!("/tenants/{}/runs/{baseline_id}/items", other.id),
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .get(
            &b_only,
            &format!("/tenants/{}/runs/{baseline_id}", other.id),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);

    // Bad input is a 422, an unknown capture a 404.
    for (body, status) in [
        (
            json!({"left": {"live": true}, "right": {"live": true}}),
            422,
        ),
        (
            json!({"left": {"snapshot_id": snapshot["id"], "live": true}, "right": {"live": true}}),
            422,
        ),
        (json!({"left": {}, "right": {"live": true}}), 422),
        (
            json!({"left": {"snapshot_id": uuid::Uuid::new_v4()}, "right": {"live": true}}),
            404,
        ),
    ] {
        let r = app.post(&admin, &path, body.clone()).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
    }
    app.shutdown().await;
}

/// A capture that finds nothing records no item and so makes no progress: its empty flushes
/// write nothing (an attempt that records nothing counts against the attempts limit).
#[tokio::test]
async fn a_capture_that_finds_nothing_records_no_progress() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = app.add_tenant("Empty").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, crate::helpers::Role::Admin)
        .await;
    let run_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/snapshots", tenant.id),
        json!({"policy_types": ["deviceConfigurations"]}),
    )
    .await;
    let run = app
        .wait_for_terminal(&admin, tenant.id, &run_id, Duration::from_secs(60))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["total"], 0, "{run}");
    let row = policyvault::store::runs::get(&app.services.db, run_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.attempt, row.progress_attempt), (1, 0));
    app.shutdown().await;
}

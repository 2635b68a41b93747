//! Retention through the API: a tenant's overrides (admins set them, everyone reads them,
//! bad values refused), a prune run that deletes what they release — one item per deletion
//! with the bytes reclaimed — and prune schedules (admins only).

use super::*;

#[tokio::test]
async fn a_prune_run_deletes_what_the_tenants_retention_releases() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = register_demo_tenant(&app, "contoso").await;
    let admin = app.add_user("admin@example.com").await;
    let operator = app.add_user("operator@example.com").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    app.grant(&operator, &tenant, Role::Operator).await;
    let base = format!("/tenants/{}", tenant.id);
    let mut captures = Vec::new();
    for _ in 0..3 {
        let (run_id, run) = capture(&app, &admin, &tenant).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        captures.push(run_id);
    }

    // Reading: the global settings, no overrides.
    let read = app.get_json(&operator, &format!("{base}/retention")).await;
    assert_eq!(read["retention"]["overrides"]["snapshot_keep"], Value::Null);
    assert_eq!(
        read["retention"]["effective"], read["retention"]["global"],
        "{read}"
    );
    // Writing: admins only, values checked.
    let keep_one = json!({"snapshot_days": 0, "snapshot_keep": 1});
    let r = app
        .put(&operator, &format!("{base}/retention"), keep_one.clone())
        .await;
    assert_eq!(r.status().as_u16(), 403);
    for bad in [
        json!({"snapshot_keep": 100000}),
        json!({"snapshot_keep": -1}),
        json!({"keep": 1}),
    ] {
        let r = app
            .put(&admin, &format!("{base}/retention"), bad.clone())
            .await;
        assert_eq!(r.status().as_u16(), 422, "{bad}");
    }
    let r = app
        .put(&admin, &format!("{base}/retention"), keep_one)
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let set: Value = r.json().await.unwrap();
    assert_eq!(set["retention"]["effective"]["snapshot_keep"], 1, "{set}");
    assert_eq!(set["retention"]["effective"]["snapshot_days"], 0, "{set}");
    assert_eq!(set["retention"]["overrides"]["run_days"], Value::Null);

    // Pruning: admins only.
    let r = app
        .post(&operator, &format!("{base}/prunes"), json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let prune_id = start(&app, &admin, &format!("{base}/prunes"), json!({})).await;
    let run = app
        .wait_for_terminal(&admin, tenant.id, &prune_id, WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["operation"], "prune");
    assert_eq!(run["counts"]["deleted"], 2, "{run}");
    let summary = run["summary"].as_str().unwrap();
    assert!(summary.contains("2 deletions"), "{summary}");
    assert!(
        summary.contains("KiB reclaimed") || summary.contains("MiB reclaimed"),
        "{summary}"
    );
    let items = all_items(&app, &admin, &tenant, &prune_id).await;
    assert_eq!(items.len(), 2, "{items:?}");
    for item in &items {
        assert_eq!(item["action"], "deleted", "{item}");
        assert!(
            item["display_name"]
                .as_str()
                .unwrap()
                .starts_with("Snapshot of ")
        );
    }
    // The newest snapshot is the one left.
    let snapshots = app.get_json(&admin, &format!("{base}/snapshots")).await;
    let left = snapshots["snapshots"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{snapshots}");
    assert_eq!(left[0]["run_id"], captures[2].as_str());
    // Audited.
    let audit = app.get_json(&admin, &format!("{base}/audit-events")).await;
    assert!(
        audit["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "retention.updated"),
        "{audit}"
    );

    // Prune schedules: admins only.
    let schedule = json!({"operation": "prune", "cron": "30 3 * * *", "enabled": false});
    let r = app
        .post(&operator, &format!("{base}/schedules"), schedule.clone())
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .post(&admin, &format!("{base}/schedules"), schedule)
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["schedule"]["operation"], "prune");
    app.shutdown().await;
}

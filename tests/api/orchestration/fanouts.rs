//! Fan-outs: one parent over ordinary runs in many tenants — children de-duplicated (an
//! active run is joined), the parent's counts and status from its children (`partial` when
//! one failed), one notification for the parent and none for the children it started,
//! cancel of the parent cancels its open children, and a live fan-out restore confirmed by
//! the number of tenants and audited in each.

use super::*;
use crate::helpers::{TestApp, TestUser};
use crate::operations::{demo_app, restore_setup};

async fn wait_fanout(app: &TestApp, user: &TestUser, id: &str) -> Value {
    wait_for(TERMINAL_WAIT, "the fan-out to finish", || async {
        let body = app.get_json(user, &format!("/fanouts/{id}")).await;
        if body["fanout"]["status"] == "running" {
            Err(format!("{body}"))
        } else {
            Ok(body["fanout"].clone())
        }
    })
    .await
}

async fn notifications(app: &TestApp, user: &TestUser) -> Vec<Value> {
    app.get_json(user, "/notifications?limit=200").await["notifications"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn capturing_all_tenants_is_one_parent_over_one_run_per_tenant() {
    let mut app = spawn_app_with(no_worker()).await;
    let operator = app.add_user("operator@example.com").await;
    let mut tenants = Vec::new();
    for name in ["Contoso", "Fabrikam", "Northwind"] {
        let tenant = app.add_tenant(name).await;
        load_some_policies(&app, &tenant, 3).await;
        tenants.push(tenant);
    }
    app.grant(&operator, &tenants[0], Role::Operator).await;
    app.grant(&operator, &tenants[1], Role::Admin).await;
    app.grant(&operator, &tenants[2], Role::Viewer).await;
    // Every kind, so a child's own notification would show.
    let r = app
        .put(
            &operator,
            "/notification-preferences",
            json!({"kinds": ["queued", "running", "succeeded", "failed", "partial", "canceled", "fanout"]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    // A capture of Contoso is already queued: the fan-out joins it.
    let direct: Value = app
        .post(
            &operator,
            &format!("/tenants/{}/snapshots", tenants[0].id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let direct_id = direct["run"]["id"].as_str().unwrap().to_string();

    // Bad input starts nothing.
    for (body, field) in [
        (
            json!({"operation": "restore_undo", "all_tenants": true}),
            "operation",
        ),
        (json!({"operation": "capture_snapshot"}), "tenant_ids"),
        (
            json!({"operation": "capture_snapshot", "tenant_ids": [tenants[2].id]}),
            "tenant_ids",
        ),
        (
            json!({"operation": "capture_snapshot", "tenant_ids": [uuid::Uuid::new_v4()]}),
            "tenant_ids",
        ),
        (
            json!({"operation": "restore", "tenant_ids": [tenants[1].id]}),
            "source",
        ),
    ] {
        let r = app.post(&operator, "/fanouts", body.clone()).await;
        assert_eq!(r.status().as_u16(), 422, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}: {answer}"
        );
    }
    assert!(
        app.get_json(&operator, "/fanouts").await["fanouts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let r = app
        .post(
            &operator,
            "/fanouts",
            json!({"operation": "capture_snapshot", "all_tenants": true}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let started: Value = r.json().await.unwrap();
    let fanout = &started["fanout"];
    let id = fanout["id"].as_str().unwrap().to_string();
    assert_eq!(fanout["status"], "running", "{started}");
    assert_eq!(fanout["tenant_count"], 2);
    // Northwind, where the operator is a viewer, is skipped with the reason.
    assert_eq!(
        started["skipped"][0]["tenant_id"],
        tenants[2].id.to_string()
    );
    assert!(
        started["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("viewer"),
        "{started}"
    );
    let children = fanout["children"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    let of = |tenant: &crate::helpers::TestTenant| {
        children
            .iter()
            .find(|c| c["tenant_id"] == tenant.id.to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(of(&tenants[0])["joined"], true);
    assert_eq!(of(&tenants[0])["run"]["id"], direct_id.as_str());
    assert_eq!(of(&tenants[1])["joined"], false);
    let started_run = of(&tenants[1])["run"]["id"].as_str().unwrap().to_string();

    app.start_worker();
    let done = wait_fanout(&app, &operator, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["counts"]["succeeded"], 2, "{done}");
    assert_eq!(done["counts"]["failed"], 0);
    assert!(
        done["summary"].as_str().unwrap().contains("2 succeeded"),
        "{done}"
    );
    for child in done["children"].as_array().unwrap() {
        assert_eq!(child["run"]["status"], "succeeded", "{child}");
    }
    // One notification for the parent; none for the run it started; the joined run (a
    // start of its own) told its initiator as usual.
    let notes = wait_for(TERMINAL_WAIT, "the fan-out's notification", || async {
        let notes = notifications(&app, &operator).await;
        if notes.iter().any(|n| n["kind"] == "fanout") {
            Ok(notes)
        } else {
            Err(format!("{notes:?}"))
        }
    })
    .await;
    let parent: Vec<&Value> = notes.iter().filter(|n| n["kind"] == "fanout").collect();
    assert_eq!(parent.len(), 1, "{notes:?}");
    assert_eq!(parent[0]["fanout_id"], id.as_str());
    assert!(
        parent[0]["title"].as_str().unwrap().contains("2 tenants"),
        "{parent:?}"
    );
    assert!(
        !notes.iter().any(|n| n["run_id"] == started_run.as_str()),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n["run_id"] == direct_id.as_str() && n["kind"] == "succeeded"),
        "{notes:?}"
    );
    // Listed, and the page shows every child.
    let list = app.get_json(&operator, "/fanouts").await;
    assert_eq!(list["fanouts"][0]["id"], id.as_str());
    assert!(list["fanouts"][0].get("children").is_none());
    let page = app.get(&operator, &format!("/fanouts/{id}")).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Contoso") && html.contains("Fabrikam"),
        "{html}"
    );
    // Someone else's fan-out is not found.
    let other = app.add_user("other@example.com").await;
    assert_eq!(
        app.get(&other, &format!("/fanouts/{id}"))
            .await
            .status()
            .as_u16(),
        404
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_failed_child_makes_the_parent_partial() {
    let app = spawn_app().await;
    let operator = app.add_user("operator@example.com").await;
    let mut tenants = Vec::new();
    for name in ["Contoso", "Fabrikam"] {
        let tenant = app.add_tenant(name).await;
        load_some_policies(&app, &tenant, 2).await;
        app.grant(&operator, &tenant, Role::Operator).await;
        tenants.push(tenant);
    }
    // Fabrikam's app registration is refused: its capture fails.
    app.sim_fault(&tenants[1], json!({"kind": "token_failure", "status": 401}))
        .await;
    let started: Value = app
        .post(
            &operator,
            "/fanouts",
            json!({"operation": "capture_snapshot", "tenant_ids": [tenants[0].id, tenants[1].id]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = started["fanout"]["id"].as_str().unwrap().to_string();
    let done = wait_fanout(&app, &operator, &id).await;
    assert_eq!(done["status"], "partial", "{done}");
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    assert_eq!(done["counts"]["failed"], 1, "{done}");
    // The failed child did not notify on its own; the parent did, once.
    let notes = wait_for(TERMINAL_WAIT, "the fan-out's notification", || async {
        let notes = notifications(&app, &operator).await;
        if notes.iter().any(|n| n["kind"] == "fanout") {
            Ok(notes)
        } else {
            Err(format!("{notes:?}"))
        }
    })
    .await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0]["title"]
            .as_str()
            .unwrap()
            .contains("finished with some failures"),
        "{notes:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn canceling_a_parent_cancels_its_open_children() {
    let app = spawn_app_with(no_worker()).await;
    let operator = app.add_user("operator@example.com").await;
    let mut ids = Vec::new();
    for name in ["Contoso", "Fabrikam", "Northwind"] {
        let tenant = app.add_tenant(name).await;
        load_some_policies(&app, &tenant, 2).await;
        app.grant(&operator, &tenant, Role::Operator).await;
        ids.push(tenant.id);
    }
    let started: Value = app
        .post(
            &operator,
            "/fanouts",
            json!({"operation": "capture_snapshot", "tenant_ids": ids}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = started["fanout"]["id"].as_str().unwrap().to_string();
    assert_eq!(started["fanout"]["counts"]["queued"], 3, "{started}");
    let viewer = app.add_user("viewer@example.com").await;
    assert_eq!(
        app.post(&viewer, &format!("/fanouts/{id}/cancel"), json!({}))
            .await
            .status()
            .as_u16(),
        404
    );
    let r = app
        .post(&operator, &format!("/fanouts/{id}/cancel"), json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let canceled: Value = r.json().await.unwrap();
    let fanout = &canceled["fanout"];
    assert_eq!(fanout["status"], "canceled", "{canceled}");
    assert_eq!(fanout["counts"]["canceled"], 3, "{canceled}");
    assert!(fanout["cancel_requested_at"].is_string());
    for child in fanout["children"].as_array().unwrap() {
        assert_eq!(child["run"]["status"], "canceled", "{child}");
        assert_eq!(child["run"]["error_code"], "canceled");
    }
    // Twice is once.
    let again: Value = app
        .post(&operator, &format!("/fanouts/{id}/cancel"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["fanout"]["finished_at"], fanout["finished_at"]);
    assert_eq!(
        again["fanout"]["cancel_requested_at"],
        fanout["cancel_requested_at"]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_live_fanout_restore_is_confirmed_by_the_tenant_count_and_audited_in_each() {
    let app = spawn_app_with(demo_app()).await;
    let setup = restore_setup(&app, "contoso", "Target one").await;
    let second = app.add_tenant("Target two").await;
    app.grant(&setup.admin, &second, Role::Admin).await;
    let targets = json!([setup.target.id, second.id]);
    let body = |confirm: Value| {
        json!({
            "operation": "restore",
            "tenant_ids": targets,
            "source": {"snapshot_id": setup.snapshot["id"]},
            "confirm_tenant_count": confirm,
        })
    };
    for wrong in [Value::Null, json!(1), json!(3)] {
        let r = app
            .post(&setup.admin, "/fanouts", body(wrong.clone()))
            .await;
        assert_eq!(r.status().as_u16(), 422, "{wrong}");
        let answer: Value = r.json().await.unwrap();
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"confirm_tenant_count\": 2"),
            "{answer}"
        );
    }
    // An operator somewhere is not an admin there.
    let operator = app.add_user("operator@example.com").await;
    app.grant(&operator, &setup.source, Role::Viewer).await;
    app.grant(&operator, &setup.target, Role::Operator).await;
    let r = app
        .post(
            &operator,
            "/fanouts",
            json!({"operation": "restore", "tenant_ids": [setup.target.id], "source": {"snapshot_id": setup.snapshot["id"]}, "confirm_tenant_count": 1}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);

    let r = app.post(&setup.admin, "/fanouts", body(json!(2))).await;
    assert_eq!(r.status().as_u16(), 202);
    let started: Value = r.json().await.unwrap();
    let id = started["fanout"]["id"].as_str().unwrap().to_string();
    let done = wait_fanout(&app, &setup.admin, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["counts"]["succeeded"], 2);
    for child in done["children"].as_array().unwrap() {
        assert_eq!(child["run"]["operation"], "restore");
        let tenant = child["tenant_id"].as_str().unwrap();
        let run = child["run"]["id"].as_str().unwrap();
        let audit = app
            .get_json(&setup.admin, &format!("/tenants/{tenant}/audit-events"))
            .await;
        let queued: Vec<&Value> = audit["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["run_id"] == run && e["action"] == "restore.live.queued")
            .collect();
        assert_eq!(queued.len(), 1, "{audit}");
        assert_eq!(queued[0]["details"]["fanout_id"], id.as_str(), "{audit}");
        assert!(
            child["run"]["counts"]["created"].as_i64().unwrap() > 0,
            "{child}"
        );
    }
    app.shutdown().await;
}

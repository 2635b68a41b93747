//! A tenant's life: a platform admin registers it (a connection test run starts with it),
//! its admin disables it (no starts, schedules pause) and enables it, and a platform admin
//! purges it (a `tenant_purge` run deletes its data; its audit trail and members stay).
//! And API tokens that expire or only read.

use std::sync::Arc;

use secrecy::SecretString;

use super::*;
use crate::helpers::spawn_app;

pub(super) async fn platform_admin(app: &TestApp, email: &str) -> TestUser {
    let user = app.add_user(email).await;
    let row = policyvault::store::accounts::user_by_email(
        &app.services.db,
        &policyvault::domain::Email::parse(email).unwrap(),
    )
    .await
    .unwrap();
    policyvault::store::accounts::set_platform_admin(&app.services.db, row, true)
        .await
        .unwrap();
    user
}

pub(super) async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_tenant_is_registered_tested_disabled_enabled_and_purged() {
    let app = spawn_app_with(demo_app()).await;
    let platform = platform_admin(&app, "platform@example.com").await;
    let admin = app.add_user("admin@example.com").await;
    // A tenant that stays, to show a purge touches only its own tenant.
    let other = register_demo_tenant(&app, "fabrikam").await;
    app.grant(&platform, &other, Role::Admin).await;
    let (kept_snapshot, kept) = capture(&app, &platform, &other).await;
    assert_eq!(kept["status"], "succeeded");

    let sims = app.sim_get("/_sim/tenants").await;
    let sim = sims
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "contoso")
        .unwrap()
        .clone();
    let body = |secret: &str| {
        json!({
            "name": "Contoso",
            "entra_tenant_id": sim["id"],
            "client_id": sim["client_id"],
            "client_secret": secret,
            "graph_base_url": app.sim_url(),
            "login_base_url": app.sim_url(),
        })
    };

    // Only platform admins register tenants; bad values name their field.
    let (status, message) = error_of(app.post(&admin, "/tenants", body("x")).await).await;
    assert_eq!(status, 403, "{message}");
    for (bad, field) in [
        (json!({"name": ""}), "name"),
        (json!({"client_secret": " "}), "client_secret"),
        (json!({"graph_base_url": "graph.example"}), "graph_base_url"),
        (json!({"entra_tenant_id": "a b"}), "entra_tenant_id"),
    ] {
        let mut request = body("x");
        for (k, v) in bad.as_object().unwrap() {
            request[k] = v.clone();
        }
        let (status, message) = error_of(app.post(&platform, "/tenants", request).await).await;
        assert_eq!(status, 422, "{bad}: {message}");
        assert!(message.starts_with(field), "{bad}: {message}");
    }

    // Registered with a mistyped secret: the connection test run started with it fails.
    let response = app.post(&platform, "/tenants", body("mistyped")).await;
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert!(!created.to_string().contains("mistyped"), "{created}");
    let tenant = TestTenant {
        id: created["tenant"]["id"].as_str().unwrap().parse().unwrap(),
        name: "Contoso".into(),
        sim_id: sim["id"].as_str().unwrap().into(),
    };
    let test = created["connection_test"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(created["connection_test"]["operation"], "connection_test");
    let tested = app
        .wait_for_terminal(&platform, tenant.id, &test, WAIT)
        .await;
    assert_eq!(tested["status"], "failed", "{tested}");
    let (status, _) = error_of(app.post(&platform, "/tenants", body("x")).await).await;
    assert_eq!(status, 409, "the name is taken");
    // The secret rotated to the right one: the test passes, a capture works.
    let path = format!("/tenants/{}", tenant.id);
    let r = app
        .patch(
            &platform,
            &path,
            json!({"client_secret": sim["client_secret"]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let test = start(
        &app,
        &platform,
        &format!("{path}/connection-test"),
        json!({}),
    )
    .await;
    let tested = app
        .wait_for_terminal(&platform, tenant.id, &test, WAIT)
        .await;
    assert_eq!(tested["status"], "succeeded", "{tested}");
    let (_, run) = capture(&app, &platform, &tenant).await;
    assert_eq!(run["status"], "succeeded");
    app.grant(&admin, &tenant, Role::Admin).await;
    let schedule: Value = app
        .post(
            &admin,
            &format!("{path}/schedules"),
            json!({"operation": "capture_snapshot", "cron": "* * * * *", "timezone": "UTC"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(schedule["schedule"]["id"].is_string(), "{schedule}");

    // Disabled by its admin: a reason is required and shown; no starts; schedules pause.
    let (status, message) = error_of(app.delete(&admin, &path).await).await;
    assert_eq!(status, 422);
    assert!(message.starts_with("reason"), "{message}");
    let r = app
        .delete(&admin, &format!("{path}?reason=Contract%20ended"))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let disabled: Value = r.json().await.unwrap();
    assert_eq!(disabled["tenant"]["disabled_reason"], "Contract ended");
    let mine = app.get_json(&admin, "/tenants").await;
    let listed = mine["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tenant.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(listed["disabled_reason"], "Contract ended", "{mine}");
    let (status, message) = error_of(
        app.post(&admin, &format!("{path}/snapshots"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert!(message.contains("Contract ended"), "{message}");
    let orchestrator = policyvault::runs::Orchestrator::new(app.services.clone());
    let later = chrono::Utc::now() + chrono::Duration::minutes(2);
    let poll = orchestrator.poll_schedules("test", later).await.unwrap();
    assert_eq!((poll.started, poll.paused), (0, 1), "{poll:?}");

    // Enabled again: starts are taken.
    let r = app.post(&admin, &format!("{path}/enable"), json!({})).await;
    assert_eq!(r.status().as_u16(), 200);
    let test = start(&app, &admin, &format!("{path}/connection-test"), json!({})).await;
    app.wait_for_terminal(&admin, tenant.id, &test, WAIT).await;

    // A purge: platform admins only, after typing the name; a background run.
    let purge = format!("{path}?purge=true&confirm=Contoso&reason=Offboarded");
    let (status, _) = error_of(app.delete(&admin, &purge).await).await;
    assert_eq!(status, 403, "a tenant admin who is no platform admin");
    let (status, message) = error_of(
        app.delete(&platform, &format!("{path}?purge=true&confirm=contoso"))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(message.starts_with("confirm"), "{message}");
    let r = app.delete(&platform, &purge).await;
    assert_eq!(r.status().as_u16(), 202);
    let queued: Value = r.json().await.unwrap();
    assert_eq!(queued["run"]["operation"], "tenant_purge");
    let purge_run = queued["run"]["id"].as_str().unwrap().to_string();
    let purged = app
        .wait_for_terminal(&platform, tenant.id, &purge_run, WAIT)
        .await;
    assert_eq!(purged["status"], "succeeded", "{purged}");
    let items = all_items(&app, &platform, &tenant, &purge_run).await;
    assert_eq!(items.len(), 10, "{items:?}");
    let snapshots = items
        .iter()
        .find(|i| i["item_key"] == "purge/snapshots")
        .unwrap();
    assert_eq!(snapshots["diff"]["deleted"], 1, "{snapshots}");
    let schedules = items
        .iter()
        .find(|i| i["item_key"] == "purge/schedules")
        .unwrap();
    assert_eq!(schedules["diff"]["deleted"], 1, "{schedules}");
    assert!(
        purged["summary"]
            .as_str()
            .unwrap()
            .contains("client secret was dropped"),
        "{purged}"
    );
    // Nothing of it is left but the purge run, its audit trail and members.
    let snaps = app.get_json(&platform, &format!("{path}/snapshots")).await;
    assert_eq!(snaps["snapshots"].as_array().unwrap().len(), 0, "{snaps}");
    let runs = app.get_json(&platform, &format!("{path}/runs")).await;
    let ids: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![purge_run.as_str()], "{runs}");
    let audit = app
        .get_json(&platform, &format!("{path}/audit-events"))
        .await;
    let actions: Vec<&str> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "tenant.created",
        "tenant.disabled",
        "tenant.enabled",
        "tenant.purge.queued",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    let (status, message) = error_of(
        app.post(&platform, &format!("{path}/enable"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "a purged tenant is not enabled again");
    assert!(message.contains("purged"), "{message}");
    // The other tenant keeps its snapshot.
    let theirs = app
        .get_json(&platform, &format!("/tenants/{}/snapshots", other.id))
        .await;
    assert_eq!(theirs["snapshots"].as_array().unwrap().len(), 1, "{theirs}");
    let _ = kept_snapshot;
    app.shutdown().await;
}

#[tokio::test]
async fn tokens_expire_and_read_only_tokens_only_read() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("contoso").await;
    let user = app.add_user("operator@example.com").await;
    let other = app.add_user("other@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;

    for bad in [
        json!({"name": ""}),
        json!({"name": "ci", "expires_in_days": 0}),
        json!({"name": "ci", "expires_in_days": 400}),
    ] {
        let r = app.post(&user, "/tokens", bad.clone()).await;
        assert_eq!(r.status().as_u16(), 422, "{bad}");
    }
    let r = app
        .post(
            &user,
            "/tokens",
            json!({"name": "dashboard", "expires_in_days": 30, "read_only": true}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["token"]["read_only"], true);
    let expires: chrono::DateTime<chrono::Utc> = created["token"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.1).contains(&days), "{days}");
    let reader = TestUser {
        token: Arc::new(SecretString::from(
            created["secret"].as_str().unwrap().to_string(),
        )),
        ..user.clone()
    };
    // It reads, and is refused on a start and on any other change.
    let r = app
        .get(&reader, &format!("/tenants/{}/runs", tenant.id))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let (status, message) = error_of(
        app.post(
            &reader,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    assert!(message.contains("read-only"), "{message}");
    let (status, _) = error_of(app.post(&reader, "/tokens", json!({"name": "x"})).await).await;
    assert_eq!(status, 403);
    // Listed (without secrets), revoked by its owner only.
    let list = app.get_json(&user, "/tokens").await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 2, "{list}");
    assert!(
        !list
            .to_string()
            .contains(created["secret"].as_str().unwrap())
    );
    let id = created["token"]["id"].as_str().unwrap();
    let r = app.delete(&other, &format!("/tokens/{id}")).await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app.delete(&user, &format!("/tokens/{id}")).await;
    assert_eq!(r.status().as_u16(), 200);
    let revoked: Value = r.json().await.unwrap();
    assert_eq!(revoked["token"]["active"], false);
    let r = app.get(&reader, "/tenants").await;
    assert_eq!(r.status().as_u16(), 401);

    // A token past its expiry is refused.
    let row = policyvault::store::accounts::user_by_email(
        &app.services.db,
        &policyvault::domain::Email::parse(&user.email).unwrap(),
    )
    .await
    .unwrap();
    let (_, secret) = policyvault::store::accounts::issue_token(
        &app.services.db,
        &row,
        "old",
        policyvault::store::accounts::TokenLimits {
            expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
            read_only: false,
        },
    )
    .await
    .unwrap();
    let expired = TestUser {
        token: Arc::new(secret),
        ..user.clone()
    };
    let r = app.get(&expired, "/tenants").await;
    assert_eq!(r.status().as_u16(), 401);
    app.shutdown().await;
}

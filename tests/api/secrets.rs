//! After a suite of runs (successes and failures), neither the tenants' client secrets nor
//! any bearer token graph-sim issued, nor users' API tokens and passwords, appear in any
//! table, notification, audit event or captured log line.

use std::time::Duration;

use sea_orm::EntityTrait;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{AppOptions, Role, TestApp, spawn_app_with};

/// Every row of every table, Debug-formatted (all columns).
async fn dump_tables(app: &TestApp) -> String {
    let db = &app.services.db;
    let mut out = String::new();
    macro_rules! dump {
        ($($entity:path),* $(,)?) => {$(
            let rows = <$entity>::find().all(db).await.expect("dump");
            out.push_str(&format!("{rows:?}\n"));
        )*};
    }
    dump!(
        entity::tenants::Entity,
        entity::users::Entity,
        entity::memberships::Entity,
        entity::api_tokens::Entity,
        entity::snapshots::Entity,
        entity::snapshot_items::Entity,
        entity::backup_sets::Entity,
        entity::backup_items::Entity,
        entity::runs::Entity,
        entity::run_items::Entity,
        entity::notifications::Entity,
        entity::audit_events::Entity,
        entity::object_mappings::Entity,
        entity::sessions::Entity,
    );
    out
}

#[tokio::test]
async fn no_secret_or_token_is_stored_or_logged() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Secretive").await;
    let other = app.add_tenant("Other").await;
    let locked = app.add_tenant("Locked").await;
    let admin = app.add_user("admin@example.com").await;
    for t in [&tenant, &other, &locked] {
        app.grant(&admin, t, Role::Admin).await;
    }
    for i in 0..5 {
        app.sim_load(
            &tenant,
            "deviceManagement/deviceConfigurations",
            json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": format!("Cfg {i}")}),
        )
        .await;
    }
    let secrets: Vec<(String, String)> = {
        let listed = app.sim_get("/_sim/tenants").await;
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_string(),
                    t["client_secret"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };

    // A success, a failing restore (every write refused), and a token failure.
    let capture: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let capture_id = capture["run"]["id"].as_str().unwrap();
    let done = app
        .wait_for_terminal(&admin, tenant.id, capture_id, Duration::from_secs(60))
        .await;
    assert_eq!(done["status"], "succeeded");
    let snapshots = app
        .get_json(&admin, &format!("/tenants/{}/snapshots", tenant.id))
        .await;
    let snapshot_id = snapshots["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.sim_post(
        &format!("/_sim/tenants/{}/faults", other.sim_id),
        json!({"kind": "error_rate", "rate": 1.0, "status": 500, "methods": ["POST"]}),
    )
    .await;
    let restore: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/restores", other.id),
            json!({"source": {"snapshot_id": snapshot_id}, "mode": "live", "confirm": "Other"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let restore_id = restore["run"]["id"].as_str().unwrap();
    let failed = app
        .wait_for_terminal(&admin, other.id, restore_id, Duration::from_secs(60))
        .await;
    // Every create fails; the target's own service defaults are unchanged.
    assert_eq!(failed["status"], "partial", "{failed}");
    assert!(
        failed["counts"]["failed"].as_u64().unwrap() >= 1,
        "{failed}"
    );
    app.sim_post(
        &format!("/_sim/tenants/{}/faults", locked.sim_id),
        json!({"kind": "token_failure", "status": 401}),
    )
    .await;
    let denied: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", locked.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let denied_id = denied["run"]["id"].as_str().unwrap();
    let denied = app
        .wait_for_terminal(&admin, locked.id, denied_id, Duration::from_secs(60))
        .await;
    assert_eq!(denied["status"], "failed", "{denied}");
    assert_eq!(denied["error_code"], "token_failed");

    // What a Graph bearer token from graph-sim looks like: its header segment is constant.
    let (sim_id, secret) = secrets
        .iter()
        .find(|(id, _)| *id == other.sim_id)
        .cloned()
        .unwrap();
    let client_id = app
        .sim_get("/_sim/tenants")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == sim_id.as_str())
        .unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token: Value = app
        .http
        .post(format!("{}/{sim_id}/oauth2/v2.0/token", app.sim_url()))
        .form(&[
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_header = token["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();
    assert!(token_header.len() > 10);

    let tables = dump_tables(&app).await;
    let logs = String::from_utf8_lossy(&crate::helpers::CAPTURED_LOGS.lock().unwrap()).to_string();
    assert!(logs.contains(capture_id), "the logs were not captured");
    let mut needles: Vec<(String, String)> = secrets
        .iter()
        .map(|(id, s)| (format!("client secret of sim tenant {id}"), s.clone()))
        .collect();
    needles.push((
        "a graph-sim bearer token".into(),
        format!("{token_header}."),
    ));
    needles.push((
        "the user's API token".into(),
        admin.token.expose_secret().to_string(),
    ));
    needles.push(("the user's password".into(), "correct horse battery".into()));
    for (what, needle) in &needles {
        assert!(
            !tables.contains(needle.as_str()),
            "{what} found in the database"
        );
        assert!(!logs.contains(needle.as_str()), "{what} found in the logs");
    }
    app.shutdown().await;
}

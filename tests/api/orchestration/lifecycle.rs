//! Deadlines and the notifications of every transition.

use super::*;

#[tokio::test]
async fn a_hung_run_fails_timed_out_within_its_maximum_duration() {
    let app = spawn_app_with(AppOptions {
        worker: true,
        settings: vec![("runs.max_duration_secs".into(), "3".into())],
        ..AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Hung").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 1).await;
    // Every Graph answer now takes a minute: the worker hangs on it.
    let fault = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", tenant.sim_id),
            json!({"kind": "latency", "fixed_ms": 60_000, "jitter_ms": 0}),
        )
        .await;
    assert!(fault.status().is_success());

    let started = std::time::Instant::now();
    let body: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run_id = body["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error_code"], "timed_out");
    assert!(
        run["summary"]
            .as_str()
            .unwrap()
            .contains("maximum duration"),
        "{run}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_initiator_is_notified_of_every_transition() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("Notified").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 2).await;

    // By default a run that simply succeeds tells nobody: failures, partial results,
    // cancellations, finished live restores and drift do.
    let prefs = app.get_json(&user, "/notification-preferences").await;
    assert_eq!(prefs["preferences"]["default"], true);
    assert_eq!(
        prefs["preferences"]["kinds"],
        json!([
            "failed",
            "partial",
            "canceled",
            "live_restore",
            "drift",
            "fanout"
        ])
    );
    let quiet: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let quiet_id = quiet["run"]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(&user, tenant.id, &quiet_id, TERMINAL_WAIT)
        .await;
    let notes = app.get_json(&user, "/notifications").await;
    assert_eq!(notes["notifications"], json!([]), "{notes}");
    // Bad choices are refused; this user now asks for every step.
    for bad in [
        json!({"kinds": ["everything"]}),
        json!({"kinds": ["failed"], "tenant_ids": [uuid::Uuid::new_v4()]}),
    ] {
        let r = app
            .put(&user, "/notification-preferences", bad.clone())
            .await;
        assert_eq!(r.status().as_u16(), 422, "{bad}");
    }
    let r = app
        .put(
            &user,
            "/notification-preferences",
            json!({"kinds": ["queued", "running", "succeeded", "failed"], "tenant_ids": [tenant.id]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let prefs: Value = r.json().await.unwrap();
    assert_eq!(prefs["preferences"]["default"], false);

    let body: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run_id = body["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded");
    let n = 2 + crate::helpers::BASELINE_CAPTURED;
    assert!(
        run["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("{n} of {n}")),
        "{run}"
    );

    let notes = app.get_json(&user, "/notifications").await;
    let kinds: Vec<&str> = notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["run_id"] == run_id.as_str())
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in ["queued", "running", "succeeded"] {
        assert!(kinds.contains(&kind), "missing {kind} in {kinds:?}");
    }
    assert_eq!(notes["unread"].as_u64().unwrap(), kinds.len() as u64);
    app.shutdown().await;
}

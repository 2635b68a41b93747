//! Webhooks against a local receiver: a run's outcome is posted signed with HMAC-SHA256, a
//! 500 from the receiver is retried, nothing secret is in the body, and the delivery log
//! says what happened.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};

use super::*;

type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on port 0 that answers 500 to its first request and 200 afterwards.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let mut seen = store.lock().unwrap();
                seen.push((headers, body.to_vec()));
                if seen.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), received)
}

#[tokio::test]
async fn a_run_outcome_is_posted_signed_retried_after_a_500_and_logged() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("Contoso").await;
    load_some_policies(&app, &tenant, 2).await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    let (base, received) = receiver().await;
    let hooks = format!("/tenants/{}/webhooks", tenant.id);

    // Mistakes and roles first.
    for (body, status) in [
        (json!({"url": "not an address"}), 422),
        (json!({"url": "ftp://example.com/x"}), 422),
        (
            json!({"url": format!("{base}/hook"), "events": ["run.exploded"]}),
            422,
        ),
        (json!({"url": format!("{base}/hook"), "format": "fax"}), 422),
    ] {
        let r = app.post(&admin, &hooks, body.clone()).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
    }
    let operator = app.add_user("operator@example.com").await;
    app.grant(&operator, &tenant, Role::Operator).await;
    let r = app
        .post(&operator, &hooks, json!({"url": format!("{base}/hook")}))
        .await;
    assert_eq!(r.status().as_u16(), 403);

    let r = app
        .post(
            &admin,
            &hooks,
            json!({"url": format!("{base}/hook?token=sekret-in-the-url"), "events": ["run.succeeded", "run.failed"]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let hook_id = created["webhook"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["webhook"]["url_hint"], base.as_str());
    let listed = app.get_json(&admin, &hooks).await;
    let text = listed.to_string();
    assert!(
        !text.contains("sekret-in-the-url") && !text.contains(&secret),
        "{text}"
    );

    // A capture succeeds: its outcome is posted; the first answer is a 500, the retry lands.
    let r = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    let run: Value = r.json().await.unwrap();
    let run_id = run["run"]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(&admin, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    wait_for(Duration::from_secs(30), "the retried delivery", || async {
        let n = received.lock().unwrap().len();
        if n >= 2 {
            Ok(())
        } else {
            Err(format!("{n} requests"))
        }
    })
    .await;
    let requests = received.lock().unwrap().clone();
    for (headers, body) in &requests {
        let signature = headers["x-policyvault-signature"].to_str().unwrap();
        assert_eq!(
            signature,
            format!(
                "sha256={}",
                policyvault::runs::webhooks::sign(secret.as_bytes(), body)
            ),
            "the signature verifies with the webhook's secret"
        );
        assert_eq!(headers["x-policyvault-event"], "run.succeeded");
        let text = String::from_utf8_lossy(body);
        for secretive in [secret.as_str(), "sekret-in-the-url", "sim-secret", "Bearer"] {
            assert!(!text.contains(secretive), "{secretive} in {text}");
        }
    }
    assert_eq!(
        requests[0].1, requests[1].1,
        "the retry sends the same body"
    );
    let event: Value = serde_json::from_slice(&requests[1].1).unwrap();
    assert_eq!(event["event"], "run.succeeded");
    assert_eq!(event["run"]["id"], run_id.as_str());
    assert_eq!(event["tenant"]["name"], "Contoso");
    assert!(event["run"]["url"].as_str().unwrap().ends_with(&run_id));

    let log = wait_for(Duration::from_secs(10), "the delivery recorded", || async {
        let log = app
            .get_json(&admin, &format!("{hooks}/{hook_id}/deliveries"))
            .await;
        if log["deliveries"][0]["status"] == "delivered" {
            Ok(log)
        } else {
            Err(log.to_string())
        }
    })
    .await;
    let d = &log["deliveries"][0];
    assert_eq!(d["attempts"], 2, "{log}");
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["run_id"], run_id.as_str());
    // Viewers and operators do not read the log; deleting is idempotent.
    let r = app
        .get(&operator, &format!("{hooks}/{hook_id}/deliveries"))
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app.delete(&admin, &format!("{hooks}/{hook_id}")).await;
    assert_eq!(r.status().as_u16(), 204);
    let r = app.delete(&admin, &format!("{hooks}/{hook_id}")).await;
    assert_eq!(r.status().as_u16(), 204);
    app.shutdown().await;
}

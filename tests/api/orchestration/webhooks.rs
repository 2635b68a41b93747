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

/// `policyvault webhook ...` against the app's database and Redis.
fn cli(app: &crate::helpers::TestApp, args: &[&str]) -> std::process::Output {
    use secrecy::ExposeSecret;
    let settings = &app.services.settings;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_policyvault"))
        .arg("webhook")
        .args(args)
        .env("PV_ENV", "test")
        .env(
            "PV_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("PV__DATABASE__URL", settings.database.url.expose_secret())
        .env("PV__REDIS__URL", settings.redis.url.expose_secret())
        .env("PV__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
        .output()
        .expect("policyvault webhook");
    assert!(
        output.status.success(),
        "webhook {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn a_global_webhook_takes_every_tenants_events_and_no_tenant_sees_it() {
    let app = spawn_app().await;
    let admin = app.add_user("admin@example.com").await;
    let mut tenants = Vec::new();
    for name in ["Contoso", "Fabrikam"] {
        let tenant = app.add_tenant(name).await;
        load_some_policies(&app, &tenant, 2).await;
        app.grant(&admin, &tenant, Role::Admin).await;
        tenants.push(tenant);
    }
    let (base, received) = receiver().await;
    let url = format!("{base}/hook?token=estate-secret");
    let out = cli(
        &app,
        &[
            "add",
            "--url",
            &url,
            "--format",
            "slack",
            "--events",
            "run.succeeded",
        ],
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let mut lines = printed.lines();
    let id = lines.next().unwrap().to_string();
    let secret = lines.next().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{printed}");
    let listed = String::from_utf8(cli(&app, &["list"]).stdout).unwrap();
    assert!(listed.contains(&id) && listed.contains(&base), "{listed}");
    assert!(!listed.contains("estate-secret"), "{listed}");
    // Bad input is one line naming the flag.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_policyvault"))
        .args(["webhook", "add", "--url", "ftp://x", "--format", "json"])
        .env("PV_ENV", "test")
        .env(
            "PV_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let mut run_ids = Vec::new();
    for tenant in &tenants {
        let hooks = app
            .get_json(&admin, &format!("/tenants/{}/webhooks", tenant.id))
            .await;
        assert_eq!(
            hooks["webhooks"],
            json!([]),
            "no tenant lists a global webhook"
        );
        let run: Value = app
            .post(
                &admin,
                &format!("/tenants/{}/snapshots", tenant.id),
                json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        run_ids.push(run["run"]["id"].as_str().unwrap().to_string());
    }
    for (tenant, run_id) in tenants.iter().zip(&run_ids) {
        app.wait_for_terminal(&admin, tenant.id, run_id, TERMINAL_WAIT)
            .await;
    }
    // Two events; the receiver's first answer is a 500, so three requests at least.
    wait_for(Duration::from_secs(40), "both tenants' events", || async {
        let texts: Vec<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| String::from_utf8_lossy(body).to_string())
            .collect();
        if ["Contoso", "Fabrikam"]
            .iter()
            .all(|n| texts.iter().filter(|t| t.contains(n)).count() >= 1)
            && texts.len() >= 3
        {
            Ok(())
        } else {
            Err(format!("{texts:?}"))
        }
    })
    .await;
    for (headers, body) in received.lock().unwrap().iter() {
        let chat: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            chat.as_object().unwrap().len(),
            1,
            "slack: text only: {chat}"
        );
        assert_eq!(
            headers["x-policyvault-signature"].to_str().unwrap(),
            format!(
                "sha256={}",
                policyvault::runs::webhooks::sign(secret.as_bytes(), body)
            )
        );
    }
    let log = wait_for(Duration::from_secs(20), "both delivered", || async {
        let log = String::from_utf8(cli(&app, &["deliveries", "--id", &id]).stdout).unwrap();
        if log.matches("delivered").count() == 2 {
            Ok(log)
        } else {
            Err(log)
        }
    })
    .await;
    for tenant in &tenants {
        assert!(log.contains(&tenant.id.to_string()), "{log}");
    }
    cli(&app, &["remove", "--id", &id]);
    assert!(
        String::from_utf8(cli(&app, &["list"]).stdout)
            .unwrap()
            .is_empty()
    );
    app.shutdown().await;
}

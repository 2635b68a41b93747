//! Tenant isolation of the event stream.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, Body, TERMINAL_WAIT, app_with, browser, load_policies, send};
use crate::helpers::{Role, spawn_app_with};

/// Reads an SSE response until told to stop, returning every `data:` payload.
async fn read_events(
    mut response: reqwest::Response,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Value> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    loop {
        tokio::select! {
            chunk = response.chunk() => match chunk {
                Ok(Some(chunk)) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        }
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    events.push(serde_json::from_str(data.trim()).expect("JSON event"));
                }
            }
        }
    }
    events
}

#[tokio::test]
async fn the_event_stream_of_a_tenant_a_user_never_carries_tenant_b() {
    let app = spawn_app_with(app_with(&[])).await;
    let tenant_a = app.add_tenant("Contoso").await;
    let tenant_b = app.add_tenant("Fabrikam").await;
    load_policies(&app, &tenant_a, 3).await;
    load_policies(&app, &tenant_b, 3).await;
    let user_a = app.add_user("admin@contoso.example").await;
    let user_b = app.add_user("admin@fabrikam.example").await;
    app.grant(&user_a, &tenant_a, Role::Admin).await;
    app.grant(&user_b, &tenant_b, Role::Admin).await;

    // A listens with its API token, B with a browser session.
    let stream_a = send(
        &app,
        Method::GET,
        "/api/v1/events",
        Auth::Token(&user_a),
        Body::Empty,
    )
    .await;
    assert_eq!(stream_a.status(), 200);
    let b_browser = browser(&app, &user_b.email).await;
    let stream_b = send(
        &app,
        Method::GET,
        "/api/v1/events",
        Auth::Cookie(&b_browser, false),
        Body::Empty,
    )
    .await;
    assert_eq!(stream_b.status(), 200);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let reader_a = tokio::spawn(read_events(stream_a, stopped.clone()));
    let reader_b = tokio::spawn(read_events(stream_b, stopped));

    // Runs in both tenants, interleaved.
    let mut runs = Vec::new();
    for round in 0..2 {
        for (user, tenant) in [(&user_a, &tenant_a), (&user_b, &tenant_b)] {
            let path = if round == 0 {
                format!("/tenants/{}/snapshots", tenant.id)
            } else {
                format!("/tenants/{}/restores", tenant.id)
            };
            let body = if round == 0 {
                json!({})
            } else {
                let snapshots = app
                    .get_json(user, &format!("/tenants/{}/snapshots", tenant.id))
                    .await;
                json!({"source": {"snapshot_id": snapshots["snapshots"][0]["id"]}, "mode": "preview"})
            };
            let started: Value = app.post(user, &path, body).await.json().await.unwrap();
            let id = started["run"]["id"].as_str().unwrap().to_string();
            runs.push((user, tenant, id));
        }
        for (user, tenant, id) in runs.drain(..) {
            app.wait_for_terminal(user, tenant.id, &id, TERMINAL_WAIT)
                .await;
        }
    }
    // The last events of the runs may still be on their way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.send(true).unwrap();
    let events_a = reader_a.await.unwrap();
    let events_b = reader_b.await.unwrap();
    assert!(!events_a.is_empty(), "A's stream carried A's events");
    assert!(!events_b.is_empty(), "B's stream carried B's events");
    for (events, tenant) in [(&events_a, &tenant_a), (&events_b, &tenant_b)] {
        let id = tenant.id.to_string();
        for event in events {
            assert_eq!(event["tenant_id"], id.as_str(), "{event}");
            assert_eq!(event["run"]["tenant_id"], id.as_str(), "{event}");
        }
    }
    app.shutdown().await;
}

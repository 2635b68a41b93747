//! Tenant isolation of the event stream.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, Body, TERMINAL_WAIT, app_with, browser, load_policies, send};
use crate::helpers::{Role, spawn_app_with, wait_until};

/// Every `data:` payload a stream carried so far, shared with the test while it reads.
type Seen = Arc<Mutex<Vec<Value>>>;

/// Reads an SSE response into `seen` until told to stop.
async fn read_events(
    mut response: reqwest::Response,
    mut stop: tokio::sync::watch::Receiver<bool>,
    seen: Seen,
) {
    let mut buffer = String::new();
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
                    let event = serde_json::from_str(data.trim()).expect("JSON event");
                    seen.lock().unwrap().push(event);
                }
            }
        }
    }
}

/// Whether `seen` holds the state event of each run ending with the status it ended with.
fn carried_ends(seen: &Seen, ends: &[(String, Value)]) -> bool {
    let seen = seen.lock().unwrap();
    ends.iter().all(|(id, status)| {
        seen.iter().any(|event| {
            event["kind"] == "state"
                && event["run"]["id"] == id.as_str()
                && event["run"]["status"] == *status
        })
    })
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
    let (seen_a, seen_b) = (Seen::default(), Seen::default());
    let reader_a = tokio::spawn(read_events(stream_a, stopped.clone(), seen_a.clone()));
    let reader_b = tokio::spawn(read_events(stream_b, stopped, seen_b.clone()));

    // Runs in both tenants, interleaved.
    let mut runs = Vec::new();
    let (mut ends_a, mut ends_b) = (Vec::new(), Vec::new());
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
            let run = app
                .wait_for_terminal(user, tenant.id, &id, TERMINAL_WAIT)
                .await;
            let ends = if tenant.id == tenant_a.id {
                &mut ends_a
            } else {
                &mut ends_b
            };
            ends.push((id, run["status"].clone()));
        }
    }
    // A run's end is published after it is stored, so its event may still be on its way
    // when the API already reports it: read until each stream has carried the end of
    // every run of its tenant.
    wait_until(
        TERMINAL_WAIT,
        "each tenant's stream to carry the end of each of its runs",
        || async { carried_ends(&seen_a, &ends_a) && carried_ends(&seen_b, &ends_b) },
    )
    .await;
    stop.send(true).unwrap();
    reader_a.await.unwrap();
    reader_b.await.unwrap();
    let events_a = seen_a.lock().unwrap().clone();
    let events_b = seen_b.lock().unwrap().clone();
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

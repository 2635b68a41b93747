use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn setup() -> (TestSim, String, String) {
    let s = spawn_demo().await;
    let (t, tok) = s.demo_token("contoso").await;
    (s, t["id"].as_str().unwrap().to_string(), tok)
}

#[tokio::test]
async fn outage_answers_503_with_retry_after_until_cleared() {
    let (s, id, tok) = setup().await;
    s.fault(&id, json!({"kind": "outage", "retry_after_secs": 7}))
        .await;
    let r = s
        .get(&tok, "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_graph_error(&r, 503, "ServiceUnavailable");
    assert_eq!(r.headers["retry-after"], "7");
    let listed = s
        .admin(Method::GET, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    assert_eq!(listed.body[0]["kind"], "outage");
    let cleared = s
        .admin(Method::DELETE, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    assert_eq!(cleared.status, 204);
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/deviceConfigurations")
            .await
            .status,
        200
    );
    // Other tenants are unaffected by a tenant's faults.
    s.fault(&id, json!({"kind": "outage"})).await;
    let (_, other) = s.demo_token("fabrikam").await;
    assert_eq!(
        s.get(&other, "/beta/deviceManagement/deviceConfigurations")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn latency_delays_responses() {
    let (s, id, tok) = setup().await;
    let started = Instant::now();
    s.get(&tok, "/beta/deviceManagement/roleScopeTags").await;
    let baseline = started.elapsed();
    s.fault(
        &id,
        json!({"kind": "latency", "fixed_ms": 300, "jitter_ms": 50}),
    )
    .await;
    let started = Instant::now();
    let r = s.get(&tok, "/beta/deviceManagement/roleScopeTags").await;
    let delayed = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(delayed >= Duration::from_millis(300), "{delayed:?}");
    assert!(delayed < Duration::from_millis(3000) + baseline);
}

#[tokio::test]
async fn error_rate_fails_the_given_share_with_the_given_status() {
    let (s, id, tok) = setup().await;
    s.fault(
        &id,
        json!({"kind": "error_rate", "rate": 1.0, "status": 502}),
    )
    .await;
    for _ in 0..5 {
        assert_graph_error(
            &s.get(&tok, "/beta/deviceManagement/roleScopeTags").await,
            502,
            "BadGateway",
        );
    }
    s.admin(Method::DELETE, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    s.fault(
        &id,
        json!({"kind": "error_rate", "rate": 0.5, "status": 500}),
    )
    .await;
    let mut failed = 0;
    for _ in 0..60 {
        if s.get(&tok, "/beta/deviceManagement/roleScopeTags")
            .await
            .status
            == 500
        {
            failed += 1;
        }
    }
    assert!(
        (10..=50).contains(&failed),
        "about half should fail, got {failed}"
    );
    s.admin(Method::DELETE, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    // A write failed by the fault is not applied.
    s.fault(
        &id,
        json!({"kind": "error_rate", "status": 503, "methods": ["POST"], "count": 1}),
    )
    .await;
    let r = s
        .post(
            &tok,
            "/beta/deviceManagement/roleScopeTags",
            minimal_body("deviceManagement/roleScopeTags", "Never"),
        )
        .await;
    assert_graph_error(&r, 503, "ServiceUnavailable");
    assert!(r.headers.get("retry-after").is_some());
    let list = s
        .get(
            &tok,
            "/beta/deviceManagement/roleScopeTags?$filter=displayName%20eq%20'Never'",
        )
        .await;
    assert_eq!(list.body["value"], json!([]));
    // count: 1 — the next one passes.
    let r = s
        .post(
            &tok,
            "/beta/deviceManagement/roleScopeTags",
            minimal_body("deviceManagement/roleScopeTags", "Now"),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn malformed_returns_unparseable_json() {
    let (s, id, tok) = setup().await;
    s.fault(&id, json!({"kind": "malformed", "rate": 1.0}))
        .await;
    let r = s
        .get(&tok, "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.raw.is_empty());
    assert!(
        serde_json::from_slice::<Value>(&r.raw).is_err(),
        "body must not parse"
    );
}

#[tokio::test]
async fn drop_after_commit_applies_the_write_but_never_answers() {
    let (s, id, tok) = setup().await;
    s.fault(
        &id,
        json!({"kind": "drop_after_commit", "rate": 1.0, "collection": "deviceConfigurations"}),
    )
    .await;
    // Reads are untouched.
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/deviceConfigurations")
            .await
            .status,
        200
    );
    let sent = s
        .http
        .post(format!(
            "{}/beta/deviceManagement/deviceConfigurations",
            s.base
        ))
        .bearer_auth(&tok)
        .json(&minimal_body(
            "deviceManagement/deviceConfigurations",
            "Lost response",
        ))
        .send()
        .await;
    let err = sent.expect_err("the connection must close without a response");
    assert!(!err.is_timeout(), "{err}");
    s.admin(Method::DELETE, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    let list = s.get(&tok, "/beta/deviceManagement/deviceConfigurations?$filter=displayName%20eq%20'Lost%20response'").await;
    assert_eq!(
        list.body["value"].as_array().unwrap().len(),
        1,
        "the write committed exactly once"
    );
    let journal = s.journal(&id).await;
    let last = journal.last().unwrap();
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], "/beta/deviceManagement/deviceConfigurations");
    assert_eq!(last["status"], 201);
    assert!(last["at"].is_string());
}

#[tokio::test]
async fn token_failure_breaks_the_token_endpoint_only() {
    let (s, id, tok) = setup().await;
    s.fault(&id, json!({"kind": "token_failure", "status": 500}))
        .await;
    let t = s.tenant("contoso").await;
    let r = s
        .token_response(
            &id,
            t["client_id"].as_str().unwrap(),
            t["client_secret"].as_str().unwrap(),
        )
        .await;
    assert_eq!(r.status, 500);
    assert!(r.body["error"].is_string() && r.body["error_codes"].is_array());
    // Existing tokens still work against Graph.
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/roleScopeTags")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bad_fault_requests_are_rejected() {
    let (s, id, _) = setup().await;
    for bad in [
        json!({"kind": "meteor"}),
        json!({"kind": "error_rate", "rate": 3}),
        json!({"kind": "error_rate", "status": 200}),
        json!([]),
    ] {
        let r = s
            .admin(
                Method::POST,
                &format!("/_sim/tenants/{id}/faults"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    // A misspelt field is refused by name, never ignored (it would widen the fault).
    let r = s
        .admin(
            Method::POST,
            &format!("/_sim/tenants/{id}/faults"),
            Some(json!({"kind": "outage", "colection": "roleScopeTags"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colection"),
        "{}",
        r.body
    );
    let r = s
        .admin(
            Method::POST,
            "/_sim/tenants/nope/faults",
            Some(json!({"kind": "outage"})),
        )
        .await;
    assert_eq!(r.status, 404);
    // Several faults at once.
    s.fault(&id, json!({"kind": "latency", "fixed_ms": 10}))
        .await;
    s.fault(
        &id,
        json!({"kind": "outage", "collection": "roleScopeTags"}),
    )
    .await;
    let listed = s
        .admin(Method::GET, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
}

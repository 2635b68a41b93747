//! Outages, error rates, an exhausted retry budget, token failures, Graph's throttle, the
//! limiter's steady state and lost answers to writes.

use super::*;

#[tokio::test]
async fn outages_and_error_rates_are_retried_and_the_read_only_view_never_writes() {
    // One request in five fails below: with 6 attempts, one of the ~250 requests of a
    // capture of every type ran out of them about once in a hundred runs (0.2^6 × 250). With
    // 12 it is about once in a million; what is tested is that every failure is retried.
    let mut options = fast_options();
    options.retry.max_attempts = 12;
    let h = Harness::start_with(
        no_throttle(),
        options,
        Limiter::local(LimiterOptions::default()),
    )
    .await;
    let graph = h.tenant("flaky").await;
    for i in 0..30 {
        h.seed(
            "flaky",
            "deviceManagement/configurationPolicies",
            catalog_policy(&format!("F{i:02}"), 3),
        )
        .await;
    }
    let preview = graph.read_only();
    let c = contract("configurationPolicies");
    // Two 503s with Retry-After: 1 s, then service.
    h.fault(
        "flaky",
        json!({"kind": "outage", "count": 2, "retry_after_secs": 1}),
    )
    .await;
    let start = Instant::now();
    assert_eq!(preview.list(c).await.unwrap().len(), 30);
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    // 20 % of everything fails with 500/502/503/504, without Retry-After.
    for status in [500, 502, 503, 504] {
        h.fault(
            "flaky",
            json!({"kind": "error_rate", "rate": 0.05, "status": status, "omit_retry_after": true}),
        )
        .await;
    }
    for c in registry::all() {
        preview
            .list(c)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
    }
    let found = preview.find_by_match_key(c, "F07").await.unwrap();
    assert_eq!(found.len(), 1);
    preview
        .get(c, found[0]["id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(h.shared.metrics().retries >= 2);
    assert!(h.journal("flaky").await.is_empty());
}

#[tokio::test]
async fn an_outage_past_the_retry_budget_fails_with_a_safe_error_in_bounded_time() {
    let mut options = fast_options();
    options.retry.max_elapsed = Duration::from_secs(1);
    let h = Harness::start_with(
        no_throttle(),
        options,
        Limiter::local(LimiterOptions::default()),
    )
    .await;
    let graph = h.tenant("down").await;
    h.fault("down", json!({"kind": "outage", "omit_retry_after": true}))
        .await;
    let start = Instant::now();
    let err = graph
        .list(contract("deviceConfigurations"))
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(err.code(), "graph_unavailable");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.graph_code(), Some("ServiceUnavailable"));
    let text = format!("{err} {err:?}");
    assert!(text.contains("deviceConfigurations"), "{text}");
    assert!(
        !text.contains(SECRET) && !text.contains("Bearer") && !text.contains("eyJ"),
        "{text}"
    );

    // Token endpoint failures: permanent ones fail at once, with no secret in the message.
    h.clear_faults("down").await;
    let other = h.tenant("notoken").await;
    h.fault("notoken", json!({"kind": "token_failure", "status": 401}))
        .await;
    let err = other
        .list(contract("deviceConfigurations"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_failed");
    assert_eq!(err.graph_code(), Some("invalid_client"));
    assert!(!format!("{err} {err:?}").contains(SECRET));
    // Transient ones are retried.
    h.clear_faults("notoken").await;
    h.fault(
        "notoken",
        json!({"kind": "token_failure", "status": 503, "count": 1}),
    )
    .await;
    other.list(contract("deviceConfigurations")).await.unwrap();
}

/// Graph's own throttle (429 + Retry-After) is honoured and pauses the tenant.
#[tokio::test]
async fn throttled_requests_are_retried_after_the_pause_graph_asks_for() {
    let config = SimConfig {
        quotas: graph_sim::Quotas {
            requests_per_window: 8,
            writes_per_window: 4,
            tenant_requests_per_window: 8,
            tenant_writes_per_window: 4,
            window: Duration::from_secs(1),
        },
        ..SimConfig::default()
    };
    // Our limiter believes the documented quota, so only Graph holds us back.
    let h = Harness::start(config).await;
    let graph = h.tenant("busy").await;
    let c = contract("deviceConfigurations");
    for i in 0..3 {
        h.seed("busy", c.collection, json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": format!("D{i}")})).await;
    }
    for _ in 0..4 {
        assert_eq!(graph.list(c).await.unwrap().len(), 3);
    }
    for _ in 0..6 {
        graph.list(c).await.unwrap();
    }
    let stats = h.stats("busy").await;
    assert!(stats["throttled"].as_u64().unwrap() >= 1, "{stats}");
    assert!(h.shared.metrics().throttled >= 1);
}

/// With the limiter told the tenant's real quota, steady state sees no 429.
#[tokio::test]
async fn the_limiter_keeps_steady_state_clear_of_429() {
    let config = SimConfig {
        quotas: graph_sim::Quotas {
            requests_per_window: 20,
            writes_per_window: 5,
            tenant_requests_per_window: 20,
            tenant_writes_per_window: 5,
            window: Duration::from_secs(1),
        },
        ..SimConfig::default()
    };
    let mut options = fast_options();
    options.default_quota = Quota {
        reads: 20,
        writes: 5,
        window: Duration::from_secs(1),
    };
    let h = Harness::start_with(config, options, Limiter::local(LimiterOptions::default())).await;
    let graph = h.tenant("steady").await;
    let c = contract("deviceConfigurations");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let g = graph.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..4 {
                let body = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": format!("S{t}-{i}")});
                g.create(c, None, &body).await.unwrap();
                g.list(c).await.unwrap();
                g.list(c).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // 16 writes at 4 per second (90 % of 5) need over three seconds.
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(h.stats("steady").await["throttled"], 0);
    assert_eq!(h.shared.metrics().throttled, 0);
    assert!(h.shared.metrics().limiter_wait > Duration::ZERO);
}

#[tokio::test]
async fn a_lost_create_response_is_reported_as_ambiguous_and_the_object_is_found() {
    let h = Harness::start(no_throttle()).await;
    let graph = h.tenant("lossy").await;
    let c = contract("deviceConfigurations");
    h.fault(
        "lossy",
        json!({"kind": "drop_after_commit", "methods": ["POST"], "count": 1}),
    )
    .await;
    let body = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "O'Brien policy"});
    let err = graph.create(c, None, &body).await.unwrap_err();
    assert!(err.is_ambiguous_write(), "{err}");
    assert_eq!(err.code(), "ambiguous_write");
    // The create committed: looking it up (quote escaped) finds exactly one.
    let found = graph.find_by_match_key(c, "o'brien POLICY").await.unwrap();
    assert_eq!(found.len(), 1);
    let creates = h
        .journal("lossy")
        .await
        .iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(creates, 1);
    // An idempotent write whose answer is lost is simply sent again.
    h.fault(
        "lossy",
        json!({"kind": "drop_after_commit", "methods": ["PATCH"], "count": 1}),
    )
    .await;
    let id = found[0]["id"].as_str().unwrap();
    let mut changed = found[0].clone();
    changed["description"] = json!("patched");
    graph.update(c, id, &changed).await.unwrap();
    assert_eq!(graph.get(c, id).await.unwrap()["description"], "patched");
}

/// A fence that answers what the test set, counting how often it was asked.
struct TestFence {
    ours: std::sync::atomic::AtomicBool,
    asked: std::sync::atomic::AtomicU32,
}

impl policyvault::graph::WriteFence for TestFence {
    fn still_ours(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        use std::sync::atomic::Ordering;
        self.asked.fetch_add(1, Ordering::SeqCst);
        let ours = self.ours.load(Ordering::SeqCst);
        Box::pin(async move { ours })
    }
}

#[tokio::test]
async fn a_create_is_not_sent_once_the_fence_says_the_work_is_no_longer_ours() {
    use std::sync::atomic::Ordering;
    let h = Harness::start(no_throttle()).await;
    let client_id = uuid::Uuid::new_v4().to_string();
    let r = h
        .admin
        .put(format!("{}/_sim/tenants/fenced", h.base))
        .json(&json!({"name": "fenced", "client_id": client_id, "client_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let fence = std::sync::Arc::new(TestFence {
        ours: std::sync::atomic::AtomicBool::new(true),
        asked: std::sync::atomic::AtomicU32::new(0),
    });
    let graph = GraphClient::fenced(
        &h.connection("fenced", &client_id, SECRET),
        &h.shared,
        Some(fence.clone()),
    );
    let c = contract("deviceConfigurations");
    let body = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Fenced"});
    let created = graph.create(c, None, &body).await.unwrap();
    assert_eq!(
        fence.asked.load(Ordering::SeqCst),
        1,
        "asked before the create"
    );

    fence.ours.store(false, Ordering::SeqCst);
    let err = graph.create(c, None, &body).await.unwrap_err();
    assert_eq!(err.code(), "write_fenced", "{err}");
    // Reads and idempotent writes do not ask; only the first create reached graph-sim.
    let id = created["id"].as_str().unwrap();
    let mut changed = created.clone();
    changed["description"] = json!("patched");
    graph.update(c, id, &changed).await.unwrap();
    assert_eq!(fence.asked.load(Ordering::SeqCst), 2);
    let posts = h
        .journal("fenced")
        .await
        .iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(posts, 1);
}

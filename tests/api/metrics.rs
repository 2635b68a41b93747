//! `/metrics`: the counters an operator alerts on move when a run happens, and a scrape
//! never names a tenant.
//!
//! Counters are process-wide and tests run in parallel in one process, so every assertion is
//! on a delta and a lower bound.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Role, TestApp, spawn_app};

const TERMINAL_WAIT: Duration = Duration::from_secs(60);

/// The value of one sample (`name{labels}` exactly as rendered), 0 when absent.
fn sample(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            (key == series).then(|| value.parse::<f64>().ok())?
        })
        .unwrap_or(0.0)
}

/// The sum of every sample of a family (all label sets).
fn family_total(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &TestApp, base: &str) -> String {
    let response = app
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.expect("scrape body")
}

#[tokio::test]
async fn a_capture_moves_the_run_item_and_graph_counters() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("Metrics Contoso").await;
    let user = app.add_user("metrics-op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    for i in 0..3 {
        app.sim_load(
            &tenant,
            "deviceManagement/deviceConfigurations",
            json!({
                "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                "displayName": format!("Metrics policy {i}"),
                "passwordRequired": true,
            }),
        )
        .await;
    }

    let before = scrape(&app, &app.address).await;
    let started = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(started.status().as_u16(), 202);
    let started: Value = started.json().await.unwrap();
    let run_id = started["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let items = run["counts"]["succeeded"].as_f64().unwrap();
    assert!(items >= 3.0, "{run}");
    // The worker counts a run as it stores the terminal state, so a scrape right after the run
    // page shows it; other tests finishing in this process only add to the counters.
    let finished_series =
        r#"policyvault_runs_finished_total{operation="capture_snapshot",status="succeeded"}"#;
    let mut after = scrape(&app, &app.address).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sample(&after, finished_series) <= sample(&before, finished_series)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scrape(&app, &app.address).await;
    }

    let delta = |series: &str| {
        let (b, a) = (sample(&before, series), sample(&after, series));
        println!("{series}: {b} -> {a}");
        a - b
    };
    let started_delta = delta(r#"policyvault_runs_started_total{operation="capture_snapshot"}"#);
    let finished_delta = delta(finished_series);
    let items_delta = delta(r#"policyvault_run_items_total{outcome="succeeded"}"#);
    let duration_delta =
        delta(r#"policyvault_run_duration_seconds_count{operation="capture_snapshot"}"#);
    let graph_delta = family_total(&after, "policyvault_graph_requests_total")
        - family_total(&before, "policyvault_graph_requests_total");
    let graph_2xx_delta = delta(r#"policyvault_graph_requests_total{class="2xx"}"#);
    println!(
        "metrics deltas: runs_started {started_delta}, runs_finished {finished_delta}, \
         run_items {items_delta} (run had {items}), duration_count {duration_delta}, \
         graph_requests {graph_delta} (2xx {graph_2xx_delta})"
    );
    assert!(started_delta >= 1.0, "runs_started did not move:\n{after}");
    assert!(
        finished_delta >= 1.0,
        "runs_finished did not move:\n{after}"
    );
    assert!(items_delta >= items, "run_items did not move:\n{after}");
    assert!(
        duration_delta >= 1.0,
        "duration histogram did not move:\n{after}"
    );
    assert!(
        graph_2xx_delta >= 1.0,
        "graph requests did not move:\n{after}"
    );
    assert!(graph_delta >= graph_2xx_delta);

    // The gauges are there, per queue.
    for queue in ["capture", "restore", "preview"] {
        assert!(
            after.contains(&format!("policyvault_queue_depth{{queue=\"{queue}\"}} ")),
            "{after}"
        );
    }
    assert!(after.contains("\npolicyvault_oldest_queued_run_age_seconds "));
    for name in [
        "policyvault_runs_deduplicated_total",
        "policyvault_graph_throttled_total",
        "policyvault_graph_retries_total",
        "policyvault_graph_limiter_wait_seconds_total",
        "policyvault_reaper_actions_total",
    ] {
        assert!(after.contains(&format!("# TYPE {name} ")), "{name} missing");
    }

    // Cardinality and confidentiality: no tenant in any label.
    for secret in [
        tenant.id.to_string(),
        tenant.name.clone(),
        tenant.sim_id.clone(),
    ] {
        assert!(
            !after.contains(&secret),
            "the scrape names a tenant ({secret})"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_worker_serves_metrics_on_its_own_port() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let health = policyvault::worker::Health::default();
    health.register("consumer:capture");
    health.up("reaper");
    let router = policyvault::worker::health_router(app.services.clone(), health);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let body = scrape(&app, &base).await;
    assert!(
        body.contains("policyvault_queue_depth{queue=\"capture\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE policyvault_runs_finished_total counter"),
        "{body}"
    );
    assert!(
        body.contains("policyvault_worker_part_up{part=\"consumer:capture\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("policyvault_worker_part_up{part=\"reaper\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("policyvault_worker_part_restarts_total{part=\"reaper\"} 0"),
        "{body}"
    );
    server.abort();
    app.shutdown().await;
}

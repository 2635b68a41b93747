//! Redis and the database going away under a working fleet: consumers are restarted and
//! `/healthz` says so in the meantime, queue state is rebuilt after a flush, and a run rides
//! out a database that comes back within the budget. The outages are real: the worker talks
//! to the servers through a proxy the test cuts ([`crate::proxy`]).

use std::time::Duration;

use policyvault::services::Services;
use policyvault::settings::Settings;
use policyvault::worker::Health;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use super::*;
use crate::helpers::{TestApp, TestTenant, TestUser};
use crate::proxy::{Proxy, host_port, through};

/// The app's settings with Redis and the database reached through proxies of their own.
async fn proxied_settings(app: &TestApp) -> (Settings, Proxy, Proxy) {
    let mut settings: Settings = (*app.services.settings).clone();
    let redis_url = settings.redis.url.expose_secret().to_string();
    let db_url = settings.database.url.expose_secret().to_string();
    let redis = Proxy::start(&host_port(&redis_url)).await;
    let database = Proxy::start(&host_port(&db_url)).await;
    settings.redis.url = SecretString::from(through(&redis_url, redis.addr()));
    settings.database.url = SecretString::from(through(&db_url, database.addr()));
    settings.database.connect_timeout_secs = 1;
    (settings, redis, database)
}

/// A worker of the app's fleet whose Redis and database connections go through proxies,
/// with its health endpoint served on a port of its own.
struct ProxiedWorker {
    redis: Proxy,
    database: Proxy,
    health_url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl ProxiedWorker {
    async fn start(app: &TestApp, settings: &[(&str, &str)]) -> Self {
        let (mut worker_settings, redis, database) = proxied_settings(app).await;
        for (key, value) in settings {
            match *key {
                "worker.unhealthy_after_secs" => {
                    worker_settings.worker.unhealthy_after_secs = value.parse().unwrap()
                }
                "database.retry_budget_secs" => {
                    worker_settings.database.retry_budget_secs = value.parse().unwrap()
                }
                other => panic!("setting {other} not supported here"),
            }
        }
        let services = Services::connect(worker_settings)
            .await
            .expect("worker services");
        let health = Health::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let health_url = format!("http://{}/healthz", listener.local_addr().unwrap());
        let router = policyvault::worker::health_router(services.clone(), health.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let (stop, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(policyvault::worker::run_worker_with_health(
            services,
            async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            },
            health,
            None,
        ));
        Self {
            redis,
            database,
            health_url,
            stop,
            task,
            server,
        }
    }

    async fn health(&self, app: &TestApp) -> (u16, Value) {
        let response = app.http.get(&self.health_url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.server.abort();
    }
}

fn parts_up(health: &Value) -> bool {
    health["parts"]
        .as_array()
        // Three consumers, the reaper, the scheduler and webhook delivery.
        .is_some_and(|parts| parts.len() == 6 && parts.iter().all(|p| p["up"] == true))
}

async fn tenant_with_policies(app: &TestApp, user: &TestUser, name: &str, n: usize) -> TestTenant {
    let tenant = app.add_tenant(name).await;
    app.grant(user, &tenant, Role::Operator).await;
    load_some_policies(app, &tenant, n).await;
    tenant
}

#[tokio::test]
async fn a_worker_whose_redis_goes_away_turns_unhealthy_then_recovers_and_consumes_again() {
    let app = spawn_app_with(no_worker()).await;
    let user = app.add_user("ops@example.com").await;
    let tenant = tenant_with_policies(&app, &user, "Redis Blip", 3).await;
    let worker = ProxiedWorker::start(&app, &[("worker.unhealthy_after_secs", "1")]).await;

    let healthy = wait_for(TERMINAL_WAIT, "every worker part up", || async {
        let (status, body) = worker.health(&app).await;
        if status == 200 && parts_up(&body) {
            Ok(body)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    assert_eq!(healthy["status"], "ok", "{healthy}");

    worker.redis.cut();
    let unhealthy = wait_for(TERMINAL_WAIT, "/healthz to answer 503", || async {
        let (status, body) = worker.health(&app).await;
        if status == 503 {
            Ok(body)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    assert_eq!(unhealthy["status"], "unhealthy", "{unhealthy}");
    let down: Vec<&Value> = unhealthy["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["up"] == false)
        .collect();
    assert!(
        down.iter()
            .any(|p| p["name"].as_str().unwrap().starts_with("consumer:")
                && !p["reason"].as_str().unwrap_or_default().is_empty()),
        "a consumer is down with its reason: {unhealthy}"
    );

    worker.redis.restore();
    let recovered = wait_for(TERMINAL_WAIT, "/healthz back to 200", || async {
        let (status, body) = worker.health(&app).await;
        if status == 200 && parts_up(&body) {
            Ok(body)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    for part in recovered["parts"].as_array().unwrap() {
        if part["name"].as_str().unwrap().starts_with("consumer:") {
            assert!(
                part["restarts"].as_u64().unwrap() >= 1,
                "{part} was restarted"
            );
        }
    }

    // The restarted consumers take new work.
    let (_, run) = crate::operations::capture(&app, &user, &tenant).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["counts"]["succeeded"],
        3 + crate::helpers::BASELINE_CAPTURED,
        "{run}"
    );
    worker.stop().await;
    app.shutdown().await;
}

#[tokio::test]
async fn runs_in_flight_when_the_queues_are_flushed_all_finish_once() {
    let app = spawn_app_with(no_worker()).await;
    let user = app.add_user("ops@example.com").await;
    let mut tenants = Vec::new();
    for i in 0..5 {
        let tenant = tenant_with_policies(&app, &user, &format!("Flushed {i}"), 4).await;
        app.sim_fault(
            &tenant,
            json!({"kind": "latency", "fixed_ms": 60, "jitter_ms": 20}),
        )
        .await;
        tenants.push(tenant);
    }
    let worker = ProxiedWorker::start(&app, &[]).await;
    let mut runs = Vec::new();
    for tenant in &tenants {
        let run_id = crate::operations::start(
            &app,
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
        runs.push((tenant.clone(), run_id));
    }
    // Some runs are executing, the rest wait in the queue: every key of the deployment goes
    // (jobs, worker registrations, de-duplication keys), as after FLUSHALL.
    wait_until(TERMINAL_WAIT, "a run to be running", || async {
        for (tenant, run_id) in &runs {
            let run = app
                .get_json(&user, &format!("/tenants/{}/runs/{run_id}", tenant.id))
                .await;
            if run["run"]["status"] == "running" {
                return true;
            }
        }
        false
    })
    .await;
    let deleted = app.services.redis.delete_namespace().await.unwrap();
    assert!(deleted > 0, "the namespace had keys");

    for (tenant, run_id) in &runs {
        let run = app
            .wait_for_terminal(&user, tenant.id, run_id, TERMINAL_WAIT * 2)
            .await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let objects = 4 + crate::helpers::BASELINE_CAPTURED;
        assert_eq!(run["counts"]["succeeded"], objects, "{run}");
        let items = crate::operations::all_items(&app, &user, tenant, run_id).await;
        assert_eq!(
            items.len() as u64,
            objects,
            "one item row per object: {items:?}"
        );
    }
    // A start after the flush is de-duplicated again once the key is re-established.
    let (tenant, _) = &runs[0];
    let first = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.unwrap();
    let again: Value = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["run"]["id"], again["run"]["id"], "{again}");
    assert_eq!(again["deduplicated"], true, "{again}");
    worker.stop().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_restore_rides_out_a_database_that_goes_away_and_comes_back() {
    let mut app = spawn_app_with(crate::operations::demo_app()).await;
    let crate::operations::RestoreSetup {
        target,
        admin,
        snapshot,
        ..
    } = crate::operations::restore_setup(&app, "contoso", "Database Blip").await;
    app.stop_workers().await;
    app.sim_fault(
        &target,
        json!({"kind": "latency", "fixed_ms": 25, "jitter_ms": 5}),
    )
    .await;
    let worker = ProxiedWorker::start(&app, &[("database.retry_budget_secs", "60")]).await;
    let run_id = crate::operations::start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let path = format!("/tenants/{}/runs/{run_id}", target.id);
    wait_for(TERMINAL_WAIT, "the restore to record 5 items", || async {
        let run = app.get_json(&admin, &path).await;
        if run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0) >= 5 {
            Ok(())
        } else {
            Err(run.to_string())
        }
    })
    .await;
    // The database goes away for longer than a heartbeat interval and comes back.
    worker.database.cut();
    tokio::time::sleep(Duration::from_secs(3)).await;
    worker.database.restore();

    let run = app
        .wait_for_terminal(&admin, target.id, &run_id, TERMINAL_WAIT * 2)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["attempt"], 1, "the same attempt finished it: {run}");
    let items = crate::operations::all_items(&app, &admin, &target, &run_id).await;
    let total = snapshot["item_count"].as_u64().unwrap() as usize;
    assert_eq!(items.len(), total, "one row per item");
    let created = items.iter().filter(|i| i["action"] == "created").count();
    let creates = successful_creates(&app, &target).await;
    assert_eq!(
        creates, created,
        "graph-sim saw {creates} creates for {created} created items"
    );
    worker.stop().await;
    app.shutdown().await;
}

/// A web process whose database and Redis connections go through proxies.
async fn proxied_web(app: &TestApp) -> (String, Proxy, Proxy) {
    let (settings, redis, database) = proxied_settings(app).await;
    let services = Services::connect(settings).await.expect("web services");
    let web = policyvault::startup::Application::build(services)
        .await
        .expect("web");
    let base = format!("http://{}", web.addr());
    tokio::spawn(web.run_until(std::future::pending()));
    (base, redis, database)
}

#[tokio::test]
async fn the_api_answers_503_with_retry_after_while_its_database_is_away_and_signs_in_without_redis()
 {
    let app = spawn_app_with(no_worker()).await;
    let user = app.add_user("ops@example.com").await;
    let tenant = tenant_with_policies(&app, &user, "Away", 1).await;
    let (base, redis, database) = proxied_web(&app).await;
    let get = |path: String| {
        let request = app
            .http
            .get(format!("{base}/api/v1{path}"))
            .bearer_auth(user.token.expose_secret());
        async move { request.send().await.unwrap() }
    };
    assert_eq!(get("/tenants".into()).await.status(), 200);

    database.cut();
    let away = get("/tenants".into()).await;
    assert_eq!(away.status(), 503);
    assert_eq!(
        away.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let body: Value = away.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    database.restore();
    wait_until(TERMINAL_WAIT, "the API to answer again", || async {
        get("/tenants".into()).await.status() == 200
    })
    .await;

    // Without Redis: sign-in (throttled in the process instead), reading pages, and starts
    // (the sweeper delivers what could not be pushed) keep working.
    redis.cut();
    let signed_in = app
        .http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": user.email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200, "{:?}", signed_in.text().await);
    assert_eq!(
        get(format!("/tenants/{}/runs", tenant.id)).await.status(),
        200
    );
    let started = app
        .http
        .post(format!("{base}/api/v1/tenants/{}/snapshots", tenant.id))
        .bearer_auth(user.token.expose_secret())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let started: Value = started.json().await.unwrap();
    for _ in 0..4 {
        let wrong = app
            .http
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"email": "nobody@example.com", "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    }
    let mut refused = 0;
    for _ in 0..2 {
        let wrong = app
            .http
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"email": "nobody@example.com", "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        if wrong.status() == 429 {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 1,
        "the sixth failure in a row is throttled without Redis"
    );
    redis.restore();

    // The run started while Redis was away is delivered once it is back.
    let mut app = app;
    app.start_worker();
    let run = app
        .wait_for_terminal(
            &user,
            tenant.id,
            started["run"]["id"].as_str().unwrap(),
            TERMINAL_WAIT,
        )
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");

    let huge = "x".repeat(3 * 1024 * 1024);
    let too_large = app
        .http
        .post(format!("{base}/api/v1/tenants/{}/snapshots", tenant.id))
        .bearer_auth(user.token.expose_secret())
        .header("content-type", "application/json")
        .body(format!("{{\"policy_types\":[\"{huge}\"]}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    let body: Value = too_large.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    app.shutdown().await;
}

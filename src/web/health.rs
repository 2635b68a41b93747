//! Liveness (`/healthz`), readiness (`/readyz`: database, Redis, migrations current) and
//! Prometheus metrics (`/metrics`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use schemars::JsonSchema;
use serde::Serialize;

use super::AppState;
use super::routes::{Access, Routes};
use crate::runs::queue::{Family, Queues};
use crate::services::Services;
use crate::{metrics, store};

pub fn routes() -> Routes {
    Routes::new()
        .get("/healthz", Access::Public, healthz)
        .get("/readyz", Access::Public, readyz)
        .get("/metrics", Access::Public, web_metrics)
}

async fn web_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = scrape(state.services(), &state.orchestrator.queues).await;
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body)
}

/// `/healthz`: the process answers.
#[derive(Debug, Serialize, JsonSchema)]
struct Health {
    #[schemars(extend("const" = "ok"))]
    status: &'static str,
}

/// `/readyz`: whether the process can serve, and why not.
#[derive(Debug, Serialize, JsonSchema)]
struct Readiness {
    status: ReadyStatus,
    checks: ReadinessChecks,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ReadyStatus {
    Ready,
    NotReady,
}

/// `ok`, or what is wrong, per dependency.
#[derive(Debug, Serialize, JsonSchema)]
struct ReadinessChecks {
    database: String,
    redis: String,
}

async fn healthz() -> impl IntoResponse {
    Json(Health { status: "ok" })
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match store::ping(&state.services().db).await {
        Ok(()) => match store::pending_migrations(&state.services().db).await {
            Ok(0) => "ok".to_string(),
            Ok(n) => format!("{n} migrations pending: run `policyvault migrate`"),
            Err(_) => "cannot read migration state".to_string(),
        },
        Err(_) => "unreachable".to_string(),
    };
    let redis = match state.services().redis.ping().await {
        Ok(()) => "ok".to_string(),
        Err(_) => "unreachable".to_string(),
    };
    let ready = database == "ok" && redis == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready {
                ReadyStatus::Ready
            } else {
                ReadyStatus::NotReady
            },
            checks: ReadinessChecks { database, redis },
        }),
    )
}

/// A full scrape: the gauges read from Redis and the database now, then the counters. A
/// gauge whose source is unreachable is left out (its absence is the alert), the rest stays.
pub async fn scrape(services: &Services, queues: &Queues) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    metrics::header(
        &mut out,
        "policyvault_queue_depth",
        "Jobs waiting in each queue.",
        "gauge",
    );
    for family in Family::ALL {
        match queues.depth(family).await {
            Ok(n) => {
                let _ = writeln!(
                    out,
                    "policyvault_queue_depth{{queue=\"{}\"}} {n}",
                    family.as_str()
                );
            }
            Err(e) => tracing::warn!(queue = family.as_str(), error = %e, "queue depth unreadable"),
        }
    }
    metrics::header(
        &mut out,
        "policyvault_oldest_queued_run_age_seconds",
        "Age of the oldest run still queued (0 when none is).",
        "gauge",
    );
    match store::runs::oldest_queued_at(&services.db).await {
        Ok(oldest) => {
            let age = oldest.map_or(0.0, |at| {
                (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            let _ = writeln!(out, "policyvault_oldest_queued_run_age_seconds {age}");
        }
        Err(e) => tracing::warn!(error = %e, "oldest queued run unreadable"),
    }
    out.push_str(&metrics::render_counters());
    out
}

//! The worker process's own endpoint (it serves no API): `/healthz` from the supervisor's
//! [`Health`], `/metrics` as `serve` scrapes it.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use super::supervise::{Health, HealthStatus};
use crate::metrics;
use crate::runs::queue::Queues;
use crate::services::Services;

#[derive(Clone)]
struct WorkerEndpoint {
    services: Services,
    queues: Queues,
    health: Health,
}

/// `/healthz` answers 200 while every supervised part is up or has been down for less than
/// `worker.unhealthy_after_secs`, else 503; the body names each part, its state and why.
pub fn router(services: Services, health: Health) -> Router {
    let queues = Queues::new(&services.redis);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(worker_metrics))
        .with_state(WorkerEndpoint {
            services,
            queues,
            health,
        })
}

async fn healthz(State(endpoint): State<WorkerEndpoint>) -> impl IntoResponse {
    let grace = Duration::from_secs(endpoint.services.settings.worker.unhealthy_after_secs);
    let report = endpoint.health.report(grace);
    let status = match report.status {
        HealthStatus::Ok => StatusCode::OK,
        HealthStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(report))
}

async fn worker_metrics(State(endpoint): State<WorkerEndpoint>) -> impl IntoResponse {
    use std::fmt::Write as _;
    let mut body = crate::web::health::scrape(&endpoint.services, &endpoint.queues).await;
    let report = endpoint.health.report(Duration::ZERO);
    metrics::header(
        &mut body,
        "policyvault_worker_part_up",
        "1 while a supervised part of this worker (queue consumer, reaper) is up.",
        "gauge",
    );
    for part in &report.parts {
        let _ = writeln!(
            body,
            "policyvault_worker_part_up{{part=\"{}\"}} {}",
            part.name,
            u8::from(part.up)
        );
    }
    metrics::header(
        &mut body,
        "policyvault_worker_part_restarts_total",
        "Times the supervisor restarted a part of this worker.",
        "counter",
    );
    for part in &report.parts {
        let _ = writeln!(
            body,
            "policyvault_worker_part_restarts_total{{part=\"{}\"}} {}",
            part.name, part.restarts
        );
    }
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body)
}

//! HTTP: one module per resource, each owning its `router()`; `router()` here merges them
//! and adds the shared layers.

pub mod auth;
pub mod backup_sets;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod notifications;
pub mod restores;
pub mod runs;
pub mod snapshots;
pub mod tenants;

use axum::Router;
use tokio::sync::broadcast;

use crate::runs::Orchestrator;
use crate::runs::events::RunEvent;
use crate::startup::Services;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub orchestrator: Orchestrator,
    /// In-process fan-out of run events for SSE clients.
    pub events: broadcast::Sender<RunEvent>,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let events = crate::runs::events::spawn_fanout(services.redis.clone());
        Self {
            orchestrator: Orchestrator::new(services),
            events,
        }
    }

    pub fn services(&self) -> &Services {
        &self.orchestrator.services
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(tenants::router())
        .merge(snapshots::router())
        .merge(backup_sets::router())
        .merge(restores::router())
        .merge(runs::router())
        .merge(notifications::router())
        .merge(events::router());
    Router::new()
        .merge(health::router())
        .nest("/api/v1", api)
        .fallback(|| async { error::ApiError::NotFound })
        .with_state(state)
}

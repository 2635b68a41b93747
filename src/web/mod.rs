//! HTTP: one module per resource, each declaring its routes (method, path, [`Access`]) in
//! `routes()`; [`routes`] here merges them into the one route table that both builds the
//! router and is published by [`route_table`], and [`router`] adds the access guard. The
//! OpenAPI document ([`openapi`]) is generated from the same table.

pub mod archives;
pub mod auth;
pub mod backup_sets;
pub mod comparisons;
pub mod drift;
pub mod error;
pub mod events;
pub mod extract;
pub mod fanouts;
pub mod health;
pub mod memberships;
pub mod notifications;
pub mod openapi;
pub mod policies;
pub mod restores;
pub mod retention;
pub mod routes;
pub mod runs;
pub mod schedules;
pub mod session;
pub mod snapshots;
pub mod tenants;
pub mod tokens;
pub mod ui;
pub mod webhooks;

use crate::auth::throttle::LoginThrottle;
use axum::Router;
use tokio::sync::broadcast;

pub use routes::{Access, RouteInfo, Routes};

use crate::runs::Orchestrator;
use crate::runs::events::Notice;
use crate::services::Services;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub orchestrator: Orchestrator,
    /// In-process fan-out of run events and credential revocations for SSE clients.
    pub events: broadcast::Sender<Notice>,
    /// Failed sign-ins, in Redis (or this process while Redis is away).
    pub login_throttle: LoginThrottle,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let events = crate::runs::events::spawn_fanout(services.redis.clone());
        let login_throttle =
            LoginThrottle::new(services.redis.clone(), &services.settings.security);
        Self {
            orchestrator: Orchestrator::new(services),
            events,
            login_throttle,
        }
    }

    pub fn services(&self) -> &Services {
        &self.orchestrator.services
    }
}

/// Every route of the web process, with its access.
pub fn routes() -> Routes {
    let api = Routes::new()
        .merge(session::api_routes())
        .merge(tenants::routes())
        .merge(memberships::routes())
        .merge(snapshots::routes())
        .merge(backup_sets::routes())
        .merge(policies::routes())
        .merge(comparisons::routes())
        .merge(drift::routes())
        .merge(archives::routes())
        .merge(schedules::routes())
        .merge(fanouts::routes())
        .merge(retention::routes())
        .merge(webhooks::routes())
        .merge(restores::routes())
        .merge(runs::routes())
        .merge(notifications::routes())
        .merge(tokens::routes())
        .merge(events::routes())
        .merge(openapi::routes());
    Routes::new()
        .merge(health::routes())
        .merge(session::page_routes())
        .merge(ui::routes())
        .merge(openapi::page_routes())
        .nest("/api/v1", api)
}

/// The published route table: exactly the routes [`router`] serves (the access-matrix test
/// walks it).
pub fn route_table() -> Vec<RouteInfo> {
    routes().table()
}

/// The largest request body any route reads (JSON and forms); larger ones are answered 413.
pub const BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let (router, table) = routes().into_parts();
    router
        .route_layer(axum::middleware::from_fn_with_state(
            routes::Guard::new(state.clone(), table),
            routes::enforce,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .fallback(not_found)
        .with_state(state)
}

/// Unknown paths: JSON for the API, a page for everything else.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if routes::is_api_path(uri.path()) {
        error::ApiError::NotFound.into_response()
    } else {
        ui::error_page(error::ApiError::NotFound, false)
    }
}

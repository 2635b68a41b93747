//! HTTP: one module per resource, each owning its `router()`; `router()` here merges them
//! and adds the shared layers.

pub mod error;
pub mod health;

use axum::Router;

use crate::startup::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().merge(health::router()).with_state(state)
}

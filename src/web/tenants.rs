//! `GET /tenants`: the tenants the caller belongs to, with their role.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::auth::CurrentUser;
use super::error::ApiError;
use crate::store::accounts;

pub fn router() -> Router<AppState> {
    Router::new().route("/tenants", get(list))
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, ApiError> {
    let tenants = accounts::tenants_of(&state.services().db, user.id()).await?;
    let items: Vec<Value> = tenants
        .into_iter()
        .map(|(t, role)| json!({"id": t.id, "name": t.name, "role": role.as_str()}))
        .collect();
    Ok(Json(json!({"tenants": items})))
}

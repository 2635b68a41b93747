//! `GET /tenants`: the tenants the caller belongs to, with their role.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::CurrentUser;
use super::error::ApiError;
use super::routes::{Access, Routes};
use crate::store::accounts;

pub fn routes() -> Routes {
    Routes::new().get("/tenants", Access::User, list)
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, ApiError> {
    let tenants = accounts::tenants_of(&state.services().db, user.id()).await?;
    let items: Vec<Value> = tenants
        .into_iter()
        .map(|(t, role)| json!({"id": t.id, "name": t.name, "role": role.as_str()}))
        .collect();
    Ok(Json(json!({"tenants": items})))
}

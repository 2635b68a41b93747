//! `GET /tenants`: the tenants the caller belongs to, with their role.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::CurrentUser;
use super::error::ApiError;
use super::openapi::{Doc, shape};
use super::routes::{Access, Routes};
use crate::store::accounts;

pub fn routes() -> Routes {
    Routes::new().get("/tenants", Access::User, list).doc(
        Doc::new("The tenants the caller belongs to, with the caller's role").returns_shape(
            200,
            "The tenants",
            shape::object(&[("tenants", shape::array(tenant_shape()))]),
        ),
    )
}

/// `{id, name, role}` of a tenant the caller belongs to (also in the session answer).
pub fn tenant_shape() -> Value {
    shape::object(&[
        ("id", shape::uuid()),
        ("name", shape::string()),
        ("role", shape::string()),
    ])
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, ApiError> {
    let tenants = accounts::tenants_of(&state.services().db, user.id()).await?;
    let items: Vec<Value> = tenants
        .into_iter()
        .map(|(t, role)| json!({"id": t.id, "name": t.name, "role": role.as_str()}))
        .collect();
    Ok(Json(json!({"tenants": items})))
}

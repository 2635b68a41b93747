//! `GET /tenants`: the tenants the caller belongs to, with their role.

use axum::Json;
use axum::extract::State;
use entity::enums::Role;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::auth::CurrentUser;
use super::error::ApiError;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::store::accounts;

pub fn routes() -> Routes {
    Routes::new().get("/tenants", Access::User, list).doc(
        Doc::new("The tenants the caller belongs to, with the caller's role")
            .returns::<TenantList>(200, "The tenants"),
    )
}

/// A tenant the caller belongs to, with the caller's role in it (also in the session
/// answer).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    #[schemars(schema_with = "super::openapi::vocabulary::role")]
    pub role: Role,
}

impl From<accounts::MemberTenant> for Tenant {
    fn from(member: accounts::MemberTenant) -> Self {
        Self {
            id: member.tenant.id,
            name: member.tenant.name,
            role: member.role,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct TenantList {
    tenants: Vec<Tenant>,
}

/// The caller's tenants, as both this route and the session answer list them.
pub(super) async fn tenants_of(state: &AppState, user_id: Uuid) -> Result<Vec<Tenant>, ApiError> {
    let tenants = accounts::tenants_of(&state.services().db, user_id).await?;
    Ok(tenants.into_iter().map(Tenant::from).collect())
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<TenantList>, ApiError> {
    Ok(Json(TenantList {
        tenants: tenants_of(&state, user.id()).await?,
    }))
}

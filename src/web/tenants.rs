//! `GET /tenants`: the tenants the caller belongs to, with their role.

use axum::Json;
use axum::extract::State;
use entity::enums::Role;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::extract;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::store::accounts;
use crate::store::tenants::{self as tenant_store, TenantChanges};

pub fn routes() -> Routes {
    Routes::new()
        .get("/tenants", Access::User, list)
        .doc(
            Doc::new("The tenants the caller belongs to, with the caller's role")
                .returns::<TenantList>(200, "The tenants"),
        )
        .post(
            "/tenants/{tenant}/connection-test",
            Access::Tenant(Role::Operator),
            connection_test,
        )
        .doc(super::runs::started_doc(
            "Test the tenant's connection: sign in with its app registration and read one \
             collection, as a run (its one item says why, if it fails)",
        ))
        .patch("/tenants/{tenant}", Access::Tenant(Role::Admin), edit)
        .doc(
            Doc::new(
                "Edit a tenant's connection (admins): its name, app registration's client id, \
                 a new client secret (stored sealed, never shown), Graph and login URLs",
            )
            .body::<TenantPatch>()
            .returns::<TenantBody>(200, "The tenant"),
        )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TenantPatch {
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    graph_base_url: Option<String>,
    login_base_url: Option<String>,
}

/// A tenant's connection as its admins see it (the secret never).
#[derive(Debug, Serialize, JsonSchema)]
struct TenantView {
    id: Uuid,
    name: String,
    entra_tenant_id: String,
    client_id: String,
    graph_base_url: String,
    login_base_url: String,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct TenantBody {
    tenant: TenantView,
}

async fn connection_test(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<axum::response::Response, ApiError> {
    access.require(Role::Operator)?;
    let started = state
        .orchestrator
        .start(crate::runs::start::StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: crate::runs::RunSpec::ConnectionTest,
        })
        .await?;
    Ok(super::runs::started_response(&state, &started))
}

async fn edit(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(patch): extract::Json<TenantPatch>,
) -> Result<Json<TenantBody>, ApiError> {
    access.require(Role::Admin)?;
    let changes = TenantChanges::parse(
        patch.name.as_deref(),
        patch.client_id.as_deref(),
        patch.client_secret.map(SecretString::from),
        patch.graph_base_url.as_deref(),
        patch.login_base_url.as_deref(),
    )
    .map_err(ApiError::Validation)?;
    let fields = changes.fields();
    let services = state.services();
    let tenant = tenant_store::update(
        &services.db,
        &services.secrets,
        access.tenant.clone(),
        changes,
    )
    .await
    .map_err(|e| match e {
        crate::store::StoreError::Conflict { .. } => {
            ApiError::Conflict("name: another tenant has this name".into())
        }
        other => other.into(),
    })?;
    access
        .audit(
            &state,
            "tenant.updated",
            serde_json::json!({"fields": fields}),
        )
        .await?;
    Ok(Json(TenantBody {
        tenant: TenantView {
            id: tenant.id,
            name: tenant.name,
            entra_tenant_id: tenant.entra_tenant_id,
            client_id: tenant.client_id,
            graph_base_url: tenant.graph_base_url,
            login_base_url: tenant.login_base_url,
            updated_at: tenant.updated_at,
        },
    }))
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

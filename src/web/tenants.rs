//! Tenants: the caller's tenants with their role; registering one (platform admins, with a
//! connection test run); editing, disabling, enabling and purging one (its admins; purging
//! also needs a platform admin).

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
        .post("/tenants", Access::Platform, create)
        .doc(
            Doc::new(
                "Register a tenant (platform admins): its app registration's credentials are \
                 checked by a connection test run started at once; the caller becomes its admin",
            )
            .body::<TenantCreate>()
            .returns::<CreatedBody>(201, "The tenant and its connection test run"),
        )
        .delete("/tenants/{tenant}", Access::Tenant(Role::Admin), remove)
        .doc(
            Doc::new(
                "Disable a tenant (admins; `reason` required): no starts, schedules skip their \
                 ticks, data kept. With `purge=true` and `confirm` = the tenant's name (also a \
                 platform admin): disable it and delete its data in a `tenant_purge` run",
            )
            .query::<RemoveQuery>()
            .returns::<TenantBody>(200, "The tenant, disabled")
            .returns::<super::runs::StartedBody>(202, "The purge run was queued"),
        )
        .post(
            "/tenants/{tenant}/enable",
            Access::Tenant(Role::Admin),
            enable,
        )
        .doc(
            Doc::new("Enable a disabled tenant again (admins; not a purged one)")
                .returns::<TenantBody>(200, "The tenant"),
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
                 a new client secret or certificate (stored sealed, never shown), or a switch to \
                 the shared app; Graph and login URLs",
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
    /// A new client secret: the tenant signs in with it from now on.
    client_secret: Option<String>,
    /// PEM text with the app's certificate and its unencrypted RSA private key: the tenant
    /// signs in with client assertions signed by it from now on.
    certificate: Option<String>,
    /// `true`: sign in with the MSP's shared multi-tenant app (`[shared_app]`).
    #[serde(default)]
    use_shared_app: bool,
    graph_base_url: Option<String>,
    login_base_url: Option<String>,
}

/// A tenant's connection as its admins see it (the secret never).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct TenantView {
    id: Uuid,
    name: String,
    entra_tenant_id: String,
    client_id: String,
    /// What it signs in with: `secret`, `certificate` or `shared_app`.
    credential: String,
    /// The certificate of a `certificate` tenant (never its key).
    certificate: Option<CertificateView>,
    graph_base_url: String,
    login_base_url: String,
    /// Set while disabled: no starts, schedules paused.
    disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    disabled_reason: Option<String>,
    /// Set once a purge deleted its data.
    purged_at: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<entity::tenants::Model> for TenantView {
    fn from(tenant: entity::tenants::Model) -> Self {
        Self {
            id: tenant.id,
            name: tenant.name,
            entra_tenant_id: tenant.entra_tenant_id,
            client_id: tenant.client_id,
            certificate: tenant
                .certificate_thumbprint
                .map(|thumbprint| CertificateView {
                    thumbprint,
                    expires_at: tenant.certificate_expires_at,
                }),
            credential: tenant.credential,
            graph_base_url: tenant.graph_base_url,
            login_base_url: tenant.login_base_url,
            disabled_at: tenant.disabled_at,
            disabled_reason: tenant.disabled_reason,
            purged_at: tenant.purged_at,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

/// A certificate credential as shown: what to find it by in the Entra portal.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CertificateView {
    /// SHA-1 thumbprint, upper-case hex, as the Entra portal lists it.
    thumbprint: String,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct TenantBody {
    tenant: TenantView,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TenantCreate {
    name: String,
    /// The Entra directory id (or primary domain) of the customer.
    entra_tenant_id: String,
    /// The app registration's client id; leave it out (with the secret and certificate) to
    /// sign in with the MSP's shared multi-tenant app (`[shared_app]`).
    client_id: Option<String>,
    client_secret: Option<String>,
    /// PEM text with the app's certificate and its unencrypted RSA private key, instead of
    /// a client secret.
    certificate: Option<String>,
    /// Default: the configured `graph.graph_base_url`.
    graph_base_url: Option<String>,
    /// Default: the configured `graph.login_base_url`.
    login_base_url: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct CreatedBody {
    tenant: TenantView,
    /// The connection test started with it: its items say whether sign-in and a read work.
    connection_test: crate::runs::RunView,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RemoveQuery {
    /// Why (shown beside the tenant); required unless purging.
    reason: Option<String>,
    /// Delete the tenant's data too (platform admins; needs `confirm`).
    #[serde(default)]
    purge: bool,
    /// The tenant's exact name, typed to confirm a purge.
    confirm: Option<String>,
}

/// Registers a tenant for a platform admin: the tenant, its creator as admin, the audit
/// event and the connection test run. Shared by the API and the tenant pages.
pub(super) async fn register(
    state: &AppState,
    user: &CurrentUser,
    new: tenant_store::NewTenant,
) -> Result<(entity::tenants::Model, crate::runs::start::Started), ApiError> {
    if !user.user.platform_admin {
        return Err(ApiError::Forbidden(
            "only platform admins register tenants (policyvault user add --platform-admin)".into(),
        ));
    }
    let services = state.services();
    let tenant = tenant_store::create(&services.db, &services.secrets, new)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict { .. } => {
                ApiError::Conflict("name: another tenant has this name".into())
            }
            other => other.into(),
        })?;
    accounts::grant_membership(&services.db, &tenant, &user.user, Role::Admin).await?;
    let (scope, _) = accounts::member_scope(&services.db, tenant.id, user.id())
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::store::activity::audit(
        &services.db,
        crate::store::activity::NewAuditEvent {
            tenant_id: tenant.id,
            actor_id: Some(user.id()),
            action: "tenant.created".into(),
            run_id: None,
            details: serde_json::json!({"name": tenant.name, "entra_tenant_id": tenant.entra_tenant_id}),
        },
    )
    .await?;
    let started = state
        .orchestrator
        .start(crate::runs::start::StartRequest {
            run_id: None,
            fanout_id: None,
            scope,
            initiator_id: user.id(),
            spec: crate::runs::RunSpec::ConnectionTest,
        })
        .await?;
    Ok((tenant, started))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    extract::Json(body): extract::Json<TenantCreate>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let graph = &state.services().settings.graph;
    let services = state.services();
    let new = tenant_store::NewTenant::register(
        &body.name,
        &body.entra_tenant_id,
        tenant_store::CredentialInput {
            client_id: body.client_id.as_deref(),
            client_secret: body.client_secret.map(SecretString::from),
            certificate: body.certificate.as_deref(),
            use_shared_app: false,
        },
        services.shared_app.as_ref(),
        body.graph_base_url
            .as_deref()
            .unwrap_or(&graph.graph_base_url),
        body.login_base_url
            .as_deref()
            .unwrap_or(&graph.login_base_url),
    )
    .map_err(ApiError::Validation)?;
    let (tenant, started) = register(&state, &user, new).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(CreatedBody {
            tenant: tenant.into(),
            connection_test: state.orchestrator.view(&started.run),
        }),
    )
        .into_response())
}

/// What removing a tenant did: disabled it, or also queued its purge.
pub(super) enum Removed {
    Disabled(entity::tenants::Model),
    Purging(crate::runs::start::Started),
}

/// Disables a tenant, or (purge) disables it and queues its purge; shared by the API and
/// the settings page.
pub(super) async fn remove_tenant(
    state: &AppState,
    access: &TenantAccess,
    reason: Option<&str>,
    purge: bool,
    confirm: Option<&str>,
) -> Result<Removed, ApiError> {
    access.require(Role::Admin)?;
    let db = &state.services().db;
    if !purge {
        let reason = tenant_store::parse_reason(reason).map_err(ApiError::Validation)?;
        let tenant = tenant_store::disable(db, access.tenant.clone(), reason.clone()).await?;
        access
            .audit(
                state,
                "tenant.disabled",
                serde_json::json!({"reason": reason}),
            )
            .await?;
        return Ok(Removed::Disabled(tenant));
    }
    if confirm.map(str::trim) != Some(access.tenant.name.as_str()) {
        return Err(ApiError::Validation(format!(
            "confirm: type the tenant's name ({:?}) to purge its data",
            access.tenant.name
        )));
    }
    if !access.user.user.platform_admin {
        return Err(ApiError::Forbidden(
            "only platform admins purge a tenant's data".into(),
        ));
    }
    let active = crate::store::runs::count_active(db, std::slice::from_ref(access.scope())).await?;
    if active > 0 {
        return Err(ApiError::Conflict(format!(
            "{active} run(s) of this tenant are still queued or running; cancel them or let them \
             finish before purging"
        )));
    }
    let reason = match reason.map(str::trim) {
        Some(r) if !r.is_empty() => {
            tenant_store::parse_reason(Some(r)).map_err(ApiError::Validation)?
        }
        _ => "removed".to_string(),
    };
    if access.tenant.disabled_at.is_none() {
        tenant_store::disable(db, access.tenant.clone(), reason.clone()).await?;
    }
    access
        .audit(
            state,
            "tenant.purge.queued",
            serde_json::json!({"reason": reason}),
        )
        .await?;
    let started = access
        .start(state, crate::runs::RunSpec::TenantPurge)
        .await?;
    Ok(Removed::Purging(started))
}

async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Query(query): extract::Query<RemoveQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match remove_tenant(
        &state,
        &access,
        query.reason.as_deref(),
        query.purge,
        query.confirm.as_deref(),
    )
    .await?
    {
        Removed::Disabled(tenant) => Ok(Json(TenantBody {
            tenant: tenant.into(),
        })
        .into_response()),
        Removed::Purging(started) => Ok(super::runs::started_response(&state, &started)),
    }
}

/// Enables a disabled tenant again; shared by the API and the settings page.
pub(super) async fn enable_tenant(
    state: &AppState,
    access: &TenantAccess,
) -> Result<entity::tenants::Model, ApiError> {
    access.require(Role::Admin)?;
    let tenant = tenant_store::enable(&state.services().db, access.tenant.clone()).await?;
    access
        .audit(state, "tenant.enabled", serde_json::json!({}))
        .await?;
    Ok(tenant)
}

async fn enable(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<TenantBody>, ApiError> {
    Ok(Json(TenantBody {
        tenant: enable_tenant(&state, &access).await?.into(),
    }))
}

async fn connection_test(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<axum::response::Response, ApiError> {
    access.require(Role::Operator)?;
    let started = access
        .start(&state, crate::runs::RunSpec::ConnectionTest)
        .await?;
    Ok(super::runs::started_response(&state, &started))
}

/// Applies a checked edit and audits the fields it changed; shared by the API and the
/// settings page.
pub(super) async fn edit_tenant(
    state: &AppState,
    access: &TenantAccess,
    changes: TenantChanges,
) -> Result<entity::tenants::Model, ApiError> {
    access.require(Role::Admin)?;
    changes
        .check_for(&access.tenant)
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
            state,
            "tenant.updated",
            serde_json::json!({"fields": fields}),
        )
        .await?;
    Ok(tenant)
}

async fn edit(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(patch): extract::Json<TenantPatch>,
) -> Result<Json<TenantBody>, ApiError> {
    access.require(Role::Admin)?;
    let services = state.services();
    let changes = TenantChanges::parse(
        patch.name.as_deref(),
        tenant_store::CredentialInput {
            client_id: patch.client_id.as_deref(),
            client_secret: patch.client_secret.map(SecretString::from),
            certificate: patch.certificate.as_deref(),
            use_shared_app: patch.use_shared_app,
        },
        services.shared_app.as_ref(),
        patch.graph_base_url.as_deref(),
        patch.login_base_url.as_deref(),
    )
    .map_err(ApiError::Validation)?;
    let tenant = edit_tenant(&state, &access, changes).await?;
    Ok(Json(TenantBody {
        tenant: tenant.into(),
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
    /// Why the tenant is disabled, while it is (no starts, schedules paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

impl From<accounts::MemberTenant> for Tenant {
    fn from(member: accounts::MemberTenant) -> Self {
        Self {
            id: member.tenant.id,
            disabled_reason: member
                .tenant
                .disabled_at
                .map(|_| member.tenant.disabled_reason.unwrap_or_default()),
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

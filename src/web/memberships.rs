//! A tenant's members: admins list them, grant or change roles of existing users, and remove
//! members. A tenant always keeps at least one admin.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use entity::enums::Role;
use entity::users;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract::{self, Path};
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::domain::Email;
use crate::store::accounts;

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/tenants/{tenant}/memberships",
            Access::Tenant(Role::Admin),
            list,
        )
        .doc(Doc::new("List the tenant's members").returns::<MembershipList>(200, "The members"))
        .put(
            "/tenants/{tenant}/memberships",
            Access::Tenant(Role::Admin),
            grant,
        )
        .doc(
            Doc::new("Grant an existing user a role in the tenant, or change it")
                .body::<GrantBody>()
                .returns::<MembershipBody>(200, "The membership"),
        )
        .delete(
            "/tenants/{tenant}/memberships/{user}",
            Access::Tenant(Role::Admin),
            remove,
        )
        .doc(Doc::new("Remove a member (idempotent)").no_content("Removed, or was no member"))
}

#[derive(Debug, Serialize, JsonSchema)]
struct Membership {
    user_id: Uuid,
    email: String,
    #[schemars(schema_with = "super::openapi::vocabulary::role")]
    role: Role,
}

impl From<(&users::Model, Role)> for Membership {
    fn from((user, role): (&users::Model, Role)) -> Self {
        Self {
            user_id: user.id,
            email: user.email.clone(),
            role,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
struct MembershipList {
    memberships: Vec<Membership>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct MembershipBody {
    membership: Membership,
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Json<MembershipList>, ApiError> {
    let members = accounts::members_of(&state.services().db, access.tenant_id()).await?;
    let memberships = members
        .iter()
        .map(|(user, role)| Membership::from((user, *role)))
        .collect();
    Ok(Json(MembershipList { memberships }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    /// Of a user that exists (`policyvault user add`).
    email: String,
    #[schemars(schema_with = "super::openapi::vocabulary::role")]
    role: String,
}

async fn grant(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<GrantBody>,
) -> Result<Response, ApiError> {
    let (user, role, _) = grant_role(&state, &access, &body.email, &body.role, false).await?;
    Ok((
        StatusCode::OK,
        Json(MembershipBody {
            membership: Membership::from((&user, role)),
        }),
    )
        .into_response())
}

/// Grants a user a role in the tenant (or changes it), audited `membership.granted`. With
/// `invite`, an e-mail that has no account yet gets one, with a generated password that is
/// returned here only (to hand over); otherwise such an e-mail is a validation error.
pub(super) async fn grant_role(
    state: &AppState,
    access: &TenantAccess,
    email: &str,
    role: &str,
    invite: bool,
) -> Result<(users::Model, Role, Option<String>), ApiError> {
    access.require(Role::Admin)?;
    let email = Email::parse(email).map_err(|e| ApiError::Validation(e.to_string()))?;
    let role: Role = role
        .parse()
        .map_err(|e: entity::enums::UnknownValue| ApiError::Validation(format!("role: {e}")))?;
    let db = &state.services().db;
    let (user, password) = match accounts::find_user_by_email(db, &email).await? {
        Some(user) => (user, None),
        None if invite => {
            let password = crate::auth::password::generate();
            let parsed =
                crate::domain::Password::parse(secrecy::SecretString::from(password.clone()))
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("generated password: {e}")))?;
            let user = accounts::create_user(db, &email, &parsed).await?;
            (user, Some(password))
        }
        None => {
            return Err(ApiError::Validation(format!(
                "email: no user {email} exists; invite them, or create users with `policyvault user add`"
            )));
        }
    };
    if role != Role::Admin {
        refuse_losing_the_last_admin(state, access, user.id).await?;
    }
    let membership = accounts::grant_membership(db, &access.tenant, &user, role).await?;
    access
        .audit(
            state,
            "membership.granted",
            serde_json::json!({"email": user.email, "role": role.as_str(), "invited": password.is_some()}),
        )
        .await?;
    tracing::info!(tenant_id = %access.tenant_id(), user_id = %user.id, role = role.as_str(), by = %access.user.id(), "membership granted");
    Ok((user, membership.role, password))
}

async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, user_id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    revoke_member(&state, &access, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member (idempotent), audited `membership.removed` when there was one.
pub(super) async fn revoke_member(
    state: &AppState,
    access: &TenantAccess,
    user_id: Uuid,
) -> Result<(), ApiError> {
    access.require(Role::Admin)?;
    refuse_losing_the_last_admin(state, access, user_id).await?;
    let db = &state.services().db;
    let email = accounts::emails_of(db, &[user_id]).await?.remove(&user_id);
    // Idempotent: removing someone who is not (or no longer) a member is already done.
    if accounts::revoke_membership(db, access.tenant_id(), user_id).await? {
        access
            .audit(
                state,
                "membership.removed",
                serde_json::json!({"email": email, "user_id": user_id}),
            )
            .await?;
        tracing::info!(tenant_id = %access.tenant_id(), user_id = %user_id, by = %access.user.id(), "membership removed");
    }
    Ok(())
}

/// 409 when the change would leave the tenant without an admin.
async fn refuse_losing_the_last_admin(
    state: &AppState,
    access: &TenantAccess,
    user_id: Uuid,
) -> Result<(), ApiError> {
    let members = accounts::members_of(&state.services().db, access.tenant_id()).await?;
    let admins: Vec<Uuid> = members
        .iter()
        .filter(|(_, role)| *role == Role::Admin)
        .map(|(u, _)| u.id)
        .collect();
    if admins == [user_id] {
        return Err(ApiError::Conflict(
            "a tenant keeps at least one admin; make someone else admin first".into(),
        ));
    }
    Ok(())
}

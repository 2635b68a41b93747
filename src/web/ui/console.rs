//! The MSP console's administration pages: registering a tenant (platform admins), a
//! tenant's settings (connection, secret rotation, connection test, disable, enable, purge),
//! its members (invite, grant, revoke) and the caller's API tokens. A form with a mistake
//! comes back with what was typed (never a secret) and the error beside its field.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use entity::enums::Role;
use secrecy::SecretString;
use uuid::Uuid;

use super::view::{opt_time, time};
use super::{FormData, PageError, Path, Query, Shell, redirect, render_status};
use crate::store::{accounts, tenants as tenant_store};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, TenantAccess};
use crate::web::error::ApiError;

/// A rejected form: the message of each field that is wrong, and the one for the form.
#[derive(Debug, Default)]
pub(super) struct FormErrors {
    by_field: HashMap<String, String>,
    pub form: Option<String>,
}

impl FormErrors {
    /// Places an error by the field its message starts with (`client_secret: ...`); others
    /// are the form's.
    fn from_error(error: ApiError, fields: &[&str]) -> Result<Self, PageError> {
        let message = match &error {
            ApiError::Validation(m) | ApiError::Conflict(m) | ApiError::Forbidden(m) => m.clone(),
            ApiError::BadRequest(m) => m.clone(),
            _ => return Err(error.into()),
        };
        let mut errors = Self::default();
        match message.split_once(": ") {
            Some((field, rest)) if fields.contains(&field) => {
                errors.by_field.insert(field.to_string(), rest.to_string());
            }
            _ => errors.form = Some(message),
        }
        Ok(errors)
    }

    pub fn of(&self, field: &str) -> &str {
        self.by_field.get(field).map(String::as_str).unwrap_or("")
    }

    pub fn any(&self) -> bool {
        self.form.is_some() || !self.by_field.is_empty()
    }

    /// 422 for a form answered with its mistakes, 200 otherwise.
    fn status(&self) -> StatusCode {
        if self.any() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        }
    }
}

// ---- registering a tenant ----

#[derive(Template)]
#[template(path = "tenant_new.html")]
struct NewTenantPage {
    shell: Shell,
    values: HashMap<&'static str, String>,
    errors: FormErrors,
    /// (field, label, hint)
    fields: [(&'static str, &'static str, &'static str); 3],
    /// (field, label, default)
    endpoints: [(&'static str, &'static str, String); 2],
    /// The configured shared app's client id: tenants may be added by directory id alone.
    shared_app: Option<String>,
}

impl NewTenantPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }
}

const TENANT_FIELDS: [&str; 7] = [
    "name",
    "entra_tenant_id",
    "client_id",
    "client_secret",
    "certificate",
    "graph_base_url",
    "login_base_url",
];

fn require_platform_admin(user: &CurrentUser) -> Result<(), PageError> {
    if user.user.platform_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only platform admins register tenants (policyvault user platform-admin)".into(),
        )
        .into())
    }
}

async fn new_tenant_page(
    state: &AppState,
    user: &CurrentUser,
    values: HashMap<&'static str, String>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let shell = Shell::new(state, user, None, "Add a tenant").await?;
    let graph = &state.services().settings.graph;
    let status = errors.status();
    render_status(
        status,
        &NewTenantPage {
            shell,
            values,
            errors,
            fields: [
                (
                    "name",
                    "Display name",
                    "Live restores are confirmed by typing it.",
                ),
                (
                    "entra_tenant_id",
                    "Entra tenant (directory) id or primary domain",
                    "",
                ),
                ("client_id", "Application (client) id", ""),
            ],
            endpoints: [
                (
                    "graph_base_url",
                    "Graph base URL",
                    graph.graph_base_url.clone(),
                ),
                (
                    "login_base_url",
                    "Login base URL",
                    graph.login_base_url.clone(),
                ),
            ],
            shared_app: shared_app_id(state),
        },
    )
}

fn shared_app_id(state: &AppState) -> Option<String> {
    state
        .services()
        .shared_app
        .as_ref()
        .map(|a| a.client_id.clone())
}

/// `GET /tenants/new`.
pub(super) async fn new_tenant(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    require_platform_admin(&user)?;
    new_tenant_page(&state, &user, HashMap::new(), FormErrors::default()).await
}

/// `POST /tenants/new`: registers the tenant and opens its connection test run.
pub(super) async fn create_tenant(
    State(state): State<AppState>,
    user: CurrentUser,
    form: FormData,
) -> Result<Response, PageError> {
    require_platform_admin(&user)?;
    let graph = state.services().settings.graph.clone();
    let field = |name: &str| form.get(name).unwrap_or("").to_string();
    let graph_url = form
        .get("graph_base_url")
        .map_or(graph.graph_base_url.clone(), str::to_string);
    let login_url = form
        .get("login_base_url")
        .map_or(graph.login_base_url.clone(), str::to_string);
    let parsed = tenant_store::NewTenant::register(
        &field("name"),
        &field("entra_tenant_id"),
        tenant_store::CredentialInput {
            client_id: form.get("client_id"),
            client_secret: form
                .get("client_secret")
                .map(|s| SecretString::from(s.to_string())),
            certificate: form.get("certificate"),
            use_shared_app: false,
        },
        state.services().shared_app.as_ref(),
        &graph_url,
        &login_url,
    )
    .map_err(ApiError::Validation);
    let result = match parsed {
        Ok(new) => crate::web::tenants::register(&state, &user, new).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((_, started)) => Ok(redirect(&format!(
            "{}?started=new",
            super::view::run_path(started.run.tenant_id, started.run.id)
        ))),
        Err(e) => {
            let errors = FormErrors::from_error(e, &TENANT_FIELDS)?;
            // What was typed comes back, except the secret and the private key.
            let values = TENANT_FIELDS
                .iter()
                .filter(|f| !matches!(**f, "client_secret" | "certificate"))
                .map(|f| (*f, field(f)))
                .collect();
            new_tenant_page(&state, &user, values, errors).await
        }
    }
}

// ---- a tenant's settings ----

#[derive(Template)]
#[template(path = "tenant_settings.html")]
struct SettingsPage {
    shell: Shell,
    tenant: entity::tenants::Model,
    /// Typed values of a rejected edit, else the stored ones.
    values: HashMap<&'static str, String>,
    errors: FormErrors,
    platform_admin: bool,
    done: Option<&'static str>,
    disabled_since: String,
    purged: bool,
    /// (field, label)
    fields: [(&'static str, &'static str); 4],
    /// What it signs in with, in words.
    credential: String,
    on_shared_app: bool,
    shared_app: Option<String>,
}

impl SettingsPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

fn stored_values(tenant: &entity::tenants::Model) -> HashMap<&'static str, String> {
    HashMap::from([
        ("name", tenant.name.clone()),
        ("client_id", tenant.client_id.clone()),
        ("graph_base_url", tenant.graph_base_url.clone()),
        ("login_base_url", tenant.login_base_url.clone()),
    ])
}

async fn settings_page(
    state: &AppState,
    access: &TenantAccess,
    values: Option<HashMap<&'static str, String>>,
    errors: FormErrors,
    done: Option<&'static str>,
) -> Result<Response, PageError> {
    let shell = Shell::new(state, &access.user, Some(access), "Tenant settings")
        .await?
        .in_section("settings");
    let tenant = tenant_store::get(&state.services().db, access.tenant_id()).await?;
    let status = errors.status();
    render_status(
        status,
        &SettingsPage {
            shell,
            values: values.unwrap_or_else(|| stored_values(&tenant)),
            errors,
            platform_admin: access.user.user.platform_admin,
            done,
            disabled_since: opt_time(tenant.disabled_at),
            purged: tenant.purged_at.is_some(),
            credential: credential_words(&tenant),
            on_shared_app: tenant.credential == tenant_store::CREDENTIAL_SHARED_APP,
            shared_app: shared_app_id(state),
            fields: [
                ("name", "Display name"),
                ("client_id", "Application (client) id"),
                ("graph_base_url", "Graph base URL"),
                ("login_base_url", "Login base URL"),
            ],
            tenant,
        },
    )
}

/// "a certificate (thumbprint …, valid until …)" and the like.
fn credential_words(tenant: &entity::tenants::Model) -> String {
    match tenant.credential.as_str() {
        tenant_store::CREDENTIAL_CERTIFICATE => format!(
            "a certificate, thumbprint {}, valid until {}",
            tenant.certificate_thumbprint.as_deref().unwrap_or("?"),
            opt_time(tenant.certificate_expires_at)
        ),
        tenant_store::CREDENTIAL_SHARED_APP => "the MSP's shared app".into(),
        _ => "a client secret".into(),
    }
}

/// `GET /tenants/{tenant}/settings`.
pub(super) async fn settings(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let done = match query.done.as_deref() {
        Some("saved") => Some("Saved."),
        Some("disabled") => Some("Disabled: nothing starts here until it is enabled."),
        Some("enabled") => Some("Enabled again."),
        _ => None,
    };
    settings_page(&state, &access, None, FormErrors::default(), done).await
}

/// `POST /tenants/{tenant}/settings`: name, client id, a new secret, URLs.
pub(super) async fn save_settings(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    access.require(Role::Admin)?;
    let stored = stored_values(&access.tenant);
    let field = |name: &str| form.get(name).unwrap_or("").to_string();
    // Only what differs from the stored values is an edit.
    let changed = |name: &str| {
        let typed = field(name);
        (stored.get(name) != Some(&typed)).then_some(typed)
    };
    let (name, client_id, graph, login) = (
        changed("name"),
        changed("client_id"),
        changed("graph_base_url"),
        changed("login_base_url"),
    );
    let services = state.services();
    let result = match tenant_store::TenantChanges::parse(
        name.as_deref(),
        tenant_store::CredentialInput {
            client_id: client_id.as_deref(),
            client_secret: form
                .get("client_secret")
                .map(|s| SecretString::from(s.to_string())),
            certificate: form.get("certificate"),
            use_shared_app: form.get("use_shared_app").is_some(),
        },
        services.shared_app.as_ref(),
        graph.as_deref(),
        login.as_deref(),
    ) {
        Ok(changes) => crate::web::tenants::edit_tenant(&state, &access, changes)
            .await
            .map(|_| ()),
        Err(e) if e.starts_with("name: give at least one") => {
            return Ok(redirect(&format!(
                "/tenants/{}/settings?done=saved",
                access.tenant_id()
            )));
        }
        Err(e) => Err(ApiError::Validation(e)),
    };
    match result {
        Ok(()) => Ok(redirect(&format!(
            "/tenants/{}/settings?done=saved",
            access.tenant_id()
        ))),
        Err(e) => {
            let errors = FormErrors::from_error(e, &TENANT_FIELDS)?;
            let values = ["name", "client_id", "graph_base_url", "login_base_url"]
                .into_iter()
                .map(|f| (f, field(f)))
                .collect();
            settings_page(&state, &access, Some(values), errors, None).await
        }
    }
}

/// `POST /tenants/{tenant}/connection-test` (the settings page's button).
pub(super) async fn connection_test(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: axum::http::HeaderMap,
) -> Result<Response, PageError> {
    access.require(Role::Operator)?;
    let started = access
        .start(&state, crate::runs::RunSpec::ConnectionTest)
        .await?;
    super::started(&headers, &started)
}

/// `POST /tenants/{tenant}/settings/disable`.
pub(super) async fn disable(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    match crate::web::tenants::remove_tenant(&state, &access, form.get("reason"), false, None).await
    {
        Ok(_) => Ok(redirect(&format!(
            "/tenants/{}/settings?done=disabled",
            access.tenant_id()
        ))),
        Err(e) => {
            let errors = FormErrors::from_error(e, &["reason"])?;
            settings_page(&state, &access, None, errors, None).await
        }
    }
}

/// `POST /tenants/{tenant}/settings/enable`.
pub(super) async fn enable(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<Response, PageError> {
    crate::web::tenants::enable_tenant(&state, &access).await?;
    Ok(redirect(&format!(
        "/tenants/{}/settings?done=enabled",
        access.tenant_id()
    )))
}

/// `POST /tenants/{tenant}/settings/purge`: after the typed name, the purge run's page.
pub(super) async fn purge(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> Result<Response, PageError> {
    match crate::web::tenants::remove_tenant(
        &state,
        &access,
        form.get("reason"),
        true,
        form.get("confirm"),
    )
    .await
    {
        Ok(crate::web::tenants::Removed::Purging(started)) => super::started(&headers, &started),
        Ok(crate::web::tenants::Removed::Disabled(_)) => Ok(redirect(&format!(
            "/tenants/{}/settings?done=disabled",
            access.tenant_id()
        ))),
        Err(e) => {
            let errors = FormErrors::from_error(e, &["confirm", "reason"])?;
            settings_page(&state, &access, None, errors, None).await
        }
    }
}

// ---- members ----

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    shell: Shell,
    members: Vec<(Uuid, String, &'static str)>,
    roles: [&'static str; 3],
    email: String,
    role: String,
    errors: FormErrors,
    /// An invited member's first password, shown once.
    invited: Option<(String, String)>,
    done: Option<&'static str>,
}

async fn members_page(
    state: &AppState,
    access: &TenantAccess,
    typed: (String, String),
    errors: FormErrors,
    invited: Option<(String, String)>,
    done: Option<&'static str>,
) -> Result<Response, PageError> {
    let shell = Shell::new(state, &access.user, Some(access), "Members")
        .await?
        .in_section("members");
    let members = accounts::members_of(&state.services().db, access.tenant_id())
        .await?
        .into_iter()
        .map(|(u, role)| (u.id, u.email, role.as_str()))
        .collect();
    let status = errors.status();
    render_status(
        status,
        &MembersPage {
            shell,
            members,
            roles: ["viewer", "operator", "admin"],
            email: typed.0,
            role: typed.1,
            errors,
            invited,
            done,
        },
    )
}

/// `GET /tenants/{tenant}/members`.
pub(super) async fn members(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let done = match query.done.as_deref() {
        Some("granted") => Some("Role granted."),
        Some("revoked") => Some("Access revoked: it ends at once, also for their queued runs."),
        _ => None,
    };
    members_page(
        &state,
        &access,
        (String::new(), "viewer".into()),
        FormErrors::default(),
        None,
        done,
    )
    .await
}

/// `POST /tenants/{tenant}/members`: grant a role, inviting a new e-mail when asked.
pub(super) async fn grant(
    State(state): State<AppState>,
    access: TenantAccess,
    form: FormData,
) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or("").to_string();
    let role = form.get("role").unwrap_or("viewer").to_string();
    match crate::web::memberships::grant_role(
        &state,
        &access,
        &email,
        &role,
        form.checked("invite"),
    )
    .await
    {
        Ok((user, _, Some(password))) => {
            members_page(
                &state,
                &access,
                (String::new(), "viewer".into()),
                FormErrors::default(),
                Some((user.email, password)),
                Some("Invited."),
            )
            .await
        }
        Ok(_) => Ok(redirect(&format!(
            "/tenants/{}/members?done=granted",
            access.tenant_id()
        ))),
        Err(e) => {
            let errors = FormErrors::from_error(e, &["email", "role"])?;
            members_page(&state, &access, (email, role), errors, None, None).await
        }
    }
}

/// `POST /tenants/{tenant}/members/{user}/revoke`.
pub(super) async fn revoke(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, user_id)): Path<(String, Uuid)>,
) -> Result<Response, PageError> {
    crate::web::memberships::revoke_member(&state, &access, user_id).await?;
    Ok(redirect(&format!(
        "/tenants/{}/members?done=revoked",
        access.tenant_id()
    )))
}

// ---- API tokens ----

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    shell: Shell,
    tokens: Vec<TokenRow>,
    /// A token just created: its name and secret, shown this once.
    created: Option<(String, String)>,
    name: String,
    expires_in_days: String,
    read_only: bool,
    errors: FormErrors,
    done: Option<&'static str>,
}

struct TokenRow {
    id: Uuid,
    name: String,
    prefix: String,
    scope: &'static str,
    created: String,
    expires: String,
    last_used: String,
    state: String,
    active: bool,
}

async fn tokens_page(
    state: &AppState,
    user: &CurrentUser,
    created: Option<(String, String)>,
    typed: (String, String, bool),
    errors: FormErrors,
    done: Option<&'static str>,
) -> Result<Response, PageError> {
    let shell = Shell::new(state, user, None, "API tokens").await?;
    let now = chrono::Utc::now();
    let tokens = accounts::tokens_of(&state.services().db, user.id())
        .await?
        .into_iter()
        .map(|t| {
            let expired = t.expires_at.is_some_and(|at| at <= now);
            TokenRow {
                id: t.id,
                state: match (t.revoked_at, expired) {
                    (Some(at), _) => format!("revoked {}", time(at)),
                    (None, true) => "expired".into(),
                    (None, false) => "active".into(),
                },
                active: t.revoked_at.is_none() && !expired,
                name: t.name,
                prefix: t.token_prefix,
                scope: if t.read_only { "read-only" } else { "full" },
                created: time(t.created_at),
                expires: t
                    .expires_at
                    .map_or_else(|| "never (until revoked)".into(), time),
                last_used: opt_time(t.last_used_at),
            }
        })
        .collect();
    let status = errors.status();
    render_status(
        status,
        &TokensPage {
            shell,
            tokens,
            created,
            name: typed.0,
            expires_in_days: typed.1,
            read_only: typed.2,
            errors,
            done,
        },
    )
}

/// `GET /tokens`.
pub(super) async fn tokens(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let done = (query.done.as_deref() == Some("revoked"))
        .then_some("Token revoked: it is refused from the next request on.");
    tokens_page(
        &state,
        &user,
        None,
        (String::new(), "90".into(), false),
        FormErrors::default(),
        done,
    )
    .await
}

/// `POST /tokens`: the new token's secret is on the answer page only.
pub(super) async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    form: FormData,
) -> Result<Response, PageError> {
    let name = form.get("name").unwrap_or("").to_string();
    let days = form.get("expires_in_days").unwrap_or("").to_string();
    let read_only = form.checked("read_only");
    let expires_in_days = match days.as_str() {
        "" | "never" => Ok(None),
        n => n.parse::<u32>().map(Some).map_err(|_| {
            ApiError::Validation(format!("expires_in_days: {n:?} is not a number of days"))
        }),
    };
    let result = match expires_in_days {
        Ok(expires_in_days) => {
            crate::web::tokens::issue(
                &state,
                &user,
                crate::web::tokens::NewToken {
                    name: name.clone(),
                    expires_in_days,
                    read_only,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(created) => {
            tokens_page(
                &state,
                &user,
                Some((created.token.name, created.secret)),
                (String::new(), "90".into(), false),
                FormErrors::default(),
                None,
            )
            .await
        }
        Err(e) => {
            let errors = FormErrors::from_error(e, &["name", "expires_in_days"])?;
            tokens_page(&state, &user, None, (name, days, read_only), errors, None).await
        }
    }
}

/// `POST /tokens/{id}/revoke`.
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    crate::web::tokens::revoke_own(&state, &user, id).await?;
    Ok(redirect("/tokens?done=revoked"))
}

// ---- bulk schedules from the overview ----

/// `POST /schedules` (the overview's "Apply schedule"): the selected tenants each get a
/// snapshot capture on the cron expression.
pub(super) async fn schedule_selected(
    State(state): State<AppState>,
    user: CurrentUser,
    form: FormData,
) -> Result<Response, PageError> {
    let tenant_ids = form.ids("tenant_id")?;
    if tenant_ids.is_empty() {
        return Err(ApiError::Validation(
            "tenant_id: select at least one tenant to schedule".into(),
        )
        .into());
    }
    let created = crate::web::schedules::schedule_tenants(
        &state,
        &user,
        crate::web::schedules::ManyRequest {
            tenant_ids: Some(tenant_ids),
            all_tenants: false,
            operation: "capture_snapshot".into(),
            cron: form.get("cron").unwrap_or("").to_string(),
            timezone: form.get("timezone").unwrap_or("UTC").to_string(),
            spread_secs: 0,
            enabled: true,
        },
    )
    .await?;
    Ok(redirect(&format!(
        "/tenants?state=scheduled&scheduled={}",
        created.schedules.len()
    )))
}

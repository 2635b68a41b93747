//! Managed tenants and their sealed Graph credentials.

use std::time::Duration;

use chrono::Utc;
use entity::tenants;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{StoreError, StoreResult};
use crate::crypto::SecretBox;
use crate::domain::TenantName;
use crate::graph::{
    CertificateError, ClientCertificate, ClientCredential, QuotaOverrides, TenantConnection,
};
use crate::settings::SharedAppSettings;

/// What a tenant signs in with, checked and ready to be sealed.
pub enum NewCredential {
    /// Its own app registration's client secret.
    Secret(SecretString),
    /// Its own app registration's certificate; `pem` is the text it was read from
    /// (certificate and private key), sealed as it is.
    Certificate {
        certificate: Box<ClientCertificate>,
        pem: SecretString,
    },
    /// The MSP's shared multi-tenant app from the configuration.
    SharedApp,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([REDACTED])"),
            Self::Certificate { certificate, .. } => {
                write!(f, "Certificate({})", certificate.thumbprint())
            }
            Self::SharedApp => f.write_str("SharedApp"),
        }
    }
}

impl NewCredential {
    /// The field name the audit trail records for it.
    fn field(&self) -> &'static str {
        match self {
            Self::Secret(_) => "client_secret",
            Self::Certificate { .. } => "certificate",
            Self::SharedApp => "shared_app",
        }
    }

    /// A certificate credential from PEM text (certificate and private key); the message
    /// starts with `certificate:`.
    pub fn certificate(pem: &str) -> Result<Self, String> {
        if pem.len() > MAX_PEM_BYTES {
            return Err(format!(
                "certificate: at most {} KiB of PEM text",
                MAX_PEM_BYTES / 1024
            ));
        }
        let certificate =
            ClientCertificate::from_pem(pem).map_err(|e| format!("certificate: {e}"))?;
        Ok(Self::Certificate {
            certificate: Box::new(certificate),
            pem: SecretString::from(pem.to_string()),
        })
    }
}

/// Largest PEM text (certificate chain and key) accepted for a certificate credential.
const MAX_PEM_BYTES: usize = 64 * 1024;

/// The MSP's multi-tenant app registration (`[shared_app]`), its credential read.
#[derive(Debug, Clone)]
pub struct SharedApp {
    pub client_id: String,
    pub credential: ClientCredential,
}

impl SharedApp {
    /// The configured shared app, if one is; a certificate file that cannot be read or used
    /// is an error naming the key.
    pub fn from_settings(settings: &SharedAppSettings) -> Result<Option<Self>, String> {
        let Some(client_id) = settings
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            return Ok(None);
        };
        let credential = match (&settings.client_secret, &settings.certificate_file) {
            (Some(secret), _) => ClientCredential::Secret(secret.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "shared_app.certificate_file: cannot read {}: {e}",
                        path.display()
                    )
                })?;
                let cert = ClientCertificate::parse(&text)
                    .map_err(|e| format!("shared_app.certificate_file: {e}"))?;
                if cert.not_after() <= Utc::now() {
                    tracing::warn!(
                        thumbprint = %cert.thumbprint(),
                        "the shared app's certificate has expired; Entra will refuse it"
                    );
                }
                ClientCredential::Certificate(std::sync::Arc::new(cert))
            }
            (None, None) => {
                return Err("shared_app.client_secret: or certificate_file must be set".into());
            }
        };
        Ok(Some(Self {
            client_id: client_id.to_string(),
            credential,
        }))
    }
}

/// The credential fields of a registration or an edit, as given.
#[derive(Debug, Default)]
pub struct CredentialInput<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<SecretString>,
    /// PEM text: the certificate and its private key.
    pub certificate: Option<&'a str>,
    /// Sign in with the shared app (implied when a registration gives no client id).
    pub use_shared_app: bool,
}

impl CredentialInput<'_> {
    /// The client id and credential it asks for; messages start with their field. A
    /// registration must end with a credential; an edit may leave it as it is.
    fn resolve(
        self,
        shared: Option<&SharedApp>,
        registering: bool,
    ) -> Result<(Option<String>, Option<NewCredential>), String> {
        let client_id = self.client_id.map(str::trim);
        if client_id.is_some_and(str::is_empty) && !registering {
            return Err("client_id: must not be empty".into());
        }
        let client_id = client_id.filter(|c| !c.is_empty());
        if let Some(value) = client_id
            && (value.chars().count() > 1024 || value.chars().any(char::is_control))
        {
            return Err(
                "client_id: must be at most 1024 characters without control characters".into(),
            );
        }
        let secret = match self.client_secret {
            // A registration form leaves the field empty when it gives another credential.
            Some(s) if s.expose_secret().trim().is_empty() => {
                if !registering || (self.certificate.is_none() && client_id.is_some()) {
                    return Err("client_secret: must not be empty".into());
                }
                None
            }
            Some(s) => {
                if s.expose_secret().chars().count() > 1024
                    || s.expose_secret().chars().any(char::is_control)
                {
                    return Err(
                        "client_secret: must be at most 1024 characters without control characters"
                            .into(),
                    );
                }
                Some(s)
            }
            None => None,
        };
        let certificate = self.certificate.filter(|c| !c.trim().is_empty());
        let wants_shared = self.use_shared_app
            || (registering && client_id.is_none() && secret.is_none() && certificate.is_none());
        if wants_shared {
            if secret.is_some() || certificate.is_some() || client_id.is_some() {
                return Err(
                    "shared_app: a tenant on the shared app takes no client_id, client_secret or certificate"
                        .into(),
                );
            }
            let Some(app) = shared else {
                return Err(if registering {
                    "client_id: give the app registration's client id with its client secret or certificate (no shared app is configured: shared_app.client_id)".into()
                } else {
                    "shared_app: no shared app is configured (shared_app.client_id)".into()
                });
            };
            return Ok((Some(app.client_id.clone()), Some(NewCredential::SharedApp)));
        }
        let credential = match (secret, certificate) {
            (Some(_), Some(_)) => {
                return Err("certificate: give a client_secret or a certificate, not both".into());
            }
            (Some(secret), None) => Some(NewCredential::Secret(secret)),
            (None, Some(pem)) => Some(NewCredential::certificate(pem)?),
            (None, None) => None,
        };
        if registering {
            if client_id.is_none() {
                return Err("client_id: must not be empty".into());
            }
            if credential.is_none() {
                return Err("client_secret: give the app's client secret or a certificate".into());
            }
        }
        Ok((client_id.map(str::to_string), credential))
    }
}

/// What registering a tenant takes; the credential is sealed before it reaches the database.
#[derive(Debug)]
pub struct NewTenant {
    pub name: TenantName,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub credential: NewCredential,
    pub graph_base_url: String,
    pub login_base_url: String,
}

impl NewTenant {
    /// Checks a registration with a client secret; the message of a bad value starts with
    /// its field (`name: ...`, `client_secret: ...`).
    pub fn parse(
        name: &str,
        entra_tenant_id: &str,
        client_id: &str,
        client_secret: SecretString,
        graph_base_url: &str,
        login_base_url: &str,
    ) -> Result<Self, String> {
        let input = CredentialInput {
            client_id: Some(client_id),
            client_secret: Some(client_secret),
            ..CredentialInput::default()
        };
        Self::register(
            name,
            entra_tenant_id,
            input,
            None,
            graph_base_url,
            login_base_url,
        )
    }

    /// Checks a registration with any credential: a client secret, a certificate, or the
    /// shared app (`shared`, when configured) for a registration that gives no client id.
    pub fn register(
        name: &str,
        entra_tenant_id: &str,
        credential: CredentialInput<'_>,
        shared: Option<&SharedApp>,
        graph_base_url: &str,
        login_base_url: &str,
    ) -> Result<Self, String> {
        let name = TenantName::parse(name).map_err(|e| format!("name: {e}"))?;
        let entra = entra_tenant_id.trim();
        if entra.is_empty() {
            return Err("entra_tenant_id: must not be empty".into());
        }
        if entra.chars().count() > 1024
            || !entra
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err(format!(
                "entra_tenant_id: {entra:?} is neither a directory id nor a domain name"
            ));
        }
        let (client_id, credential) = credential.resolve(shared, true)?;
        let (Some(client_id), Some(credential)) = (client_id, credential) else {
            return Err("client_id: must not be empty".into());
        };
        Ok(Self {
            name,
            entra_tenant_id: entra.to_string(),
            client_id,
            credential,
            graph_base_url: parse_url("graph_base_url", graph_base_url)?,
            login_base_url: parse_url("login_base_url", login_base_url)?,
        })
    }
}

/// An http(s) URL; the message starts with the field.
fn parse_url(field: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if !(v.starts_with("https://") || v.starts_with("http://")) {
        return Err(format!("{field}: must be an http:// or https:// URL"));
    }
    reqwest::Url::parse(v).map_err(|_| format!("{field}: not a URL"))?;
    Ok(v.to_string())
}

/// The associated data that binds a sealed secret to its tenant row.
fn secret_context(tenant_id: Uuid) -> String {
    format!("tenant:{tenant_id}:client_secret")
}

/// The same for a sealed certificate private key.
fn key_context(tenant_id: Uuid) -> String {
    format!("tenant:{tenant_id}:private_key")
}

pub async fn create(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    new: NewTenant,
) -> StoreResult<tenants::Model> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let row = tenants::ActiveModel {
        id: Set(id),
        name: Set(new.name.as_str().to_string()),
        entra_tenant_id: Set(new.entra_tenant_id),
        graph_base_url: Set(trim_url(&new.graph_base_url)),
        login_base_url: Set(trim_url(&new.login_base_url)),
        client_id: Set(new.client_id),
        client_secret_enc: Set(String::new()),
        credential: Set(String::new()),
        certificate_pem: Set(None),
        certificate_thumbprint: Set(None),
        certificate_expires_at: Set(None),
        private_key_enc: Set(None),
        read_quota: Set(None),
        write_quota: Set(None),
        quota_window_secs: Set(None),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        purged_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut row = row;
    set_credential(&mut row, secrets, id, &new.credential);
    Ok(row.insert(db).await?)
}

/// Writes a credential into a tenant row: the chosen kind's material sealed, the others'
/// dropped.
fn set_credential(
    row: &mut tenants::ActiveModel,
    secrets: &SecretBox,
    id: Uuid,
    credential: &NewCredential,
) {
    let empty = || secrets.seal(&SecretString::from(String::new()), &secret_context(id));
    row.certificate_pem = Set(None);
    row.certificate_thumbprint = Set(None);
    row.certificate_expires_at = Set(None);
    row.private_key_enc = Set(None);
    match credential {
        NewCredential::Secret(secret) => {
            row.credential = Set(CREDENTIAL_SECRET.into());
            row.client_secret_enc = Set(secrets.seal(secret, &secret_context(id)));
        }
        NewCredential::Certificate { certificate, pem } => {
            row.credential = Set(CREDENTIAL_CERTIFICATE.into());
            row.client_secret_enc = Set(empty());
            row.certificate_pem = Set(Some(certificate.certificate_pem()));
            row.certificate_thumbprint = Set(Some(certificate.thumbprint()));
            row.certificate_expires_at = Set(Some(certificate.not_after()));
            row.private_key_enc = Set(Some(secrets.seal(pem, &key_context(id))));
        }
        NewCredential::SharedApp => {
            row.credential = Set(CREDENTIAL_SHARED_APP.into());
            row.client_secret_enc = Set(empty());
        }
    }
}

/// `tenants.credential` values.
pub const CREDENTIAL_SECRET: &str = "secret";
pub const CREDENTIAL_CERTIFICATE: &str = "certificate";
pub const CREDENTIAL_SHARED_APP: &str = "shared_app";

/// What an edit of a tenant changes; `None` leaves a field as it is. A new secret is sealed
/// before it reaches the database.
#[derive(Debug, Default)]
pub struct TenantChanges {
    pub name: Option<TenantName>,
    pub client_id: Option<String>,
    pub credential: Option<NewCredential>,
    pub graph_base_url: Option<String>,
    pub login_base_url: Option<String>,
}

impl TenantChanges {
    /// Checks an edit's values; the message of a bad one starts with its field
    /// (`name: ...`, `graph_base_url: ...`).
    pub fn parse(
        name: Option<&str>,
        credential: CredentialInput<'_>,
        shared: Option<&SharedApp>,
        graph_base_url: Option<&str>,
        login_base_url: Option<&str>,
    ) -> Result<Self, String> {
        let name = name
            .map(|n| TenantName::parse(n).map_err(|e| format!("name: {e}")))
            .transpose()?;
        let (client_id, credential) = credential.resolve(shared, false)?;
        let url = |field: &str, value: Option<&str>| -> Result<Option<String>, String> {
            value.map(|v| parse_url(field, v)).transpose()
        };
        let changes = Self {
            name,
            client_id,
            credential,
            graph_base_url: url("graph_base_url", graph_base_url)?,
            login_base_url: url("login_base_url", login_base_url)?,
        };
        if changes.fields().is_empty() {
            return Err("name: give at least one of name, client_id, client_secret, certificate, use_shared_app, graph_base_url, login_base_url".into());
        }
        Ok(changes)
    }

    /// Checks the edit against the tenant it applies to: a tenant leaving the shared app for
    /// a secret or certificate of its own names its own app's client id too.
    pub fn check_for(&self, tenant: &tenants::Model) -> Result<(), String> {
        let own_credential = matches!(
            self.credential,
            Some(NewCredential::Secret(_) | NewCredential::Certificate { .. })
        );
        if tenant.credential == CREDENTIAL_SHARED_APP && own_credential && self.client_id.is_none()
        {
            return Err(
                "client_id: give the client id of the tenant's own app registration with its \
                 secret or certificate (it signs in with the shared app now)"
                    .into(),
            );
        }
        Ok(())
    }

    /// The names of the fields it changes (for the audit trail; never a value).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            self.name.as_ref().map(|_| "name"),
            self.client_id.as_ref().map(|_| "client_id"),
            self.credential.as_ref().map(NewCredential::field),
            self.graph_base_url.as_ref().map(|_| "graph_base_url"),
            self.login_base_url.as_ref().map(|_| "login_base_url"),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Applies an edit to a tenant (a name taken by another tenant is a conflict).
pub async fn update(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    tenant: tenants::Model,
    changes: TenantChanges,
) -> StoreResult<tenants::Model> {
    let id = tenant.id;
    let mut active: tenants::ActiveModel = tenant.into();
    if let Some(name) = changes.name {
        active.name = Set(name.as_str().to_string());
    }
    if let Some(client_id) = changes.client_id {
        active.client_id = Set(client_id);
    }
    if let Some(credential) = &changes.credential {
        set_credential(&mut active, secrets, id, credential);
    }
    if let Some(url) = changes.graph_base_url {
        active.graph_base_url = Set(trim_url(&url));
    }
    if let Some(url) = changes.login_base_url {
        active.login_base_url = Set(trim_url(&url));
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// A tenant's disable reason: what its admins are shown beside it.
pub fn parse_reason(raw: Option<&str>) -> Result<String, String> {
    let reason = raw.map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err("reason: say why the tenant is disabled (1 to 500 characters)".into());
    }
    if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err("reason: must be 1 to 500 characters without control characters".into());
    }
    Ok(reason.to_string())
}

/// Disables a tenant: no starts from now on, its schedules skip their ticks. Disabling a
/// disabled tenant replaces the reason and keeps the original time.
pub async fn disable(
    db: &impl ConnectionTrait,
    tenant: tenants::Model,
    reason: String,
) -> StoreResult<tenants::Model> {
    let now = Utc::now();
    let since = tenant.disabled_at.unwrap_or(now);
    let mut active: tenants::ActiveModel = tenant.into();
    active.disabled_at = Set(Some(since));
    active.disabled_reason = Set(Some(reason));
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Enables a disabled tenant again (a purged one has no data and no secret left: refused).
pub async fn enable(
    db: &impl ConnectionTrait,
    tenant: tenants::Model,
) -> StoreResult<tenants::Model> {
    if tenant.purged_at.is_some() {
        return Err(StoreError::Refused(
            "the tenant was purged; register it again instead".into(),
        ));
    }
    let mut active: tenants::ActiveModel = tenant.into();
    active.disabled_at = Set(None);
    active.disabled_reason = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Why a start in this tenant is refused, if it is: the tenant is disabled.
pub fn refusal(tenant: &tenants::Model) -> Option<String> {
    tenant.disabled_at.map(|_| {
        format!(
            "the tenant is disabled: {}",
            tenant
                .disabled_reason
                .as_deref()
                .unwrap_or("no reason given")
        )
    })
}

/// Marks a tenant purged: its client secret is dropped and it stays disabled.
pub async fn mark_purged(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    tenant: tenants::Model,
) -> StoreResult<tenants::Model> {
    let now = Utc::now();
    let id = tenant.id;
    let mut active: tenants::ActiveModel = tenant.into();
    active.client_secret_enc =
        Set(secrets.seal(&SecretString::from(String::new()), &secret_context(id)));
    active.private_key_enc = Set(None);
    active.purged_at = Set(Some(now));
    active.disabled_reason = Set(Some("removed: its data was purged".into()));
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Registers a tenant, or refreshes the endpoints and credentials of the one with that name.
pub async fn upsert_by_name(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    new: NewTenant,
) -> StoreResult<tenants::Model> {
    let Some(existing) = find_by_name(db, new.name.as_str()).await? else {
        return create(db, secrets, new).await;
    };
    let id = existing.id;
    let mut active: tenants::ActiveModel = existing.into();
    active.entra_tenant_id = Set(new.entra_tenant_id);
    active.graph_base_url = Set(trim_url(&new.graph_base_url));
    active.login_base_url = Set(trim_url(&new.login_base_url));
    active.client_id = Set(new.client_id);
    set_credential(&mut active, secrets, id, &new.credential);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn find_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> StoreResult<Option<tenants::Model>> {
    Ok(tenants::Entity::find()
        .filter(tenants::Column::Name.eq(name.trim()))
        .one(db)
        .await?)
}

/// Looks a tenant up by its id or, failing that, its exact name (CLI convenience).
pub async fn find_by_id_or_name(
    db: &impl ConnectionTrait,
    key: &str,
) -> StoreResult<tenants::Model> {
    if let Ok(id) = Uuid::parse_str(key.trim())
        && let Some(found) = tenants::Entity::find_by_id(id).one(db).await?
    {
        return Ok(found);
    }
    find_by_name(db, key).await?.ok_or(StoreError::NotFound)
}

pub async fn list_all(db: &impl ConnectionTrait) -> StoreResult<Vec<tenants::Model>> {
    Ok(tenants::Entity::find()
        .order_by_asc(tenants::Column::Name)
        .all(db)
        .await?)
}

/// Decrypts a tenant's Graph client secret; fails clearly when the key is wrong.
pub fn client_secret(secrets: &SecretBox, tenant: &tenants::Model) -> StoreResult<SecretString> {
    Ok(secrets.open(&tenant.client_secret_enc, &secret_context(tenant.id))?)
}

/// Why a tenant's credential cannot be used; `code` is the run's error code.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "the tenant's credential cannot be decrypted with the configured key (security.encryption_key)"
    )]
    Unreadable(#[from] crate::crypto::CryptoError),
    #[error(
        "the tenant signs in with the shared app, but no shared app is configured (shared_app.client_id)"
    )]
    NoSharedApp,
    #[error("the tenant's stored certificate is not usable: {0}")]
    Certificate(#[from] CertificateError),
}

impl CredentialError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "secret_unreadable",
            Self::NoSharedApp => "shared_app_missing",
            Self::Certificate(_) => "certificate_unusable",
        }
    }
}

/// How to reach the tenant's Graph, its credential decrypted (a shared-app tenant's from
/// `shared`).
pub fn connection(
    secrets: &SecretBox,
    shared: Option<&SharedApp>,
    tenant: &tenants::Model,
) -> Result<TenantConnection, CredentialError> {
    let (client_id, credential) = match tenant.credential.as_str() {
        CREDENTIAL_SHARED_APP => {
            let app = shared.ok_or(CredentialError::NoSharedApp)?;
            (app.client_id.clone(), app.credential.clone())
        }
        CREDENTIAL_CERTIFICATE => {
            let sealed = tenant.private_key_enc.as_deref().unwrap_or_default();
            let pem = secrets.open(sealed, &key_context(tenant.id))?;
            let cert = ClientCertificate::parse(pem.expose_secret())?;
            (
                tenant.client_id.clone(),
                ClientCredential::Certificate(std::sync::Arc::new(cert)),
            )
        }
        _ => (
            tenant.client_id.clone(),
            ClientCredential::Secret(
                secrets.open(&tenant.client_secret_enc, &secret_context(tenant.id))?,
            ),
        ),
    };
    Ok(TenantConnection {
        graph_base_url: tenant.graph_base_url.clone(),
        login_base_url: tenant.login_base_url.clone(),
        entra_tenant_id: tenant.entra_tenant_id.clone(),
        client_id,
        credential,
        quota: quota_overrides(tenant),
    })
}

/// A negative quota in the row is as good as none.
fn quota_overrides(tenant: &tenants::Model) -> QuotaOverrides {
    let unsigned = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    QuotaOverrides {
        reads: unsigned(tenant.read_quota),
        writes: unsigned(tenant.write_quota),
        window: unsigned(tenant.quota_window_secs).map(|s| Duration::from_secs(u64::from(s))),
    }
}

fn trim_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<tenants::Model> {
    tenants::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The tenant's scope for the installation's own command line (`policyvault schedule list`):
/// whoever runs it already holds the database's credentials.
pub fn command_line_scope(tenant: &tenants::Model) -> super::TenantScope {
    super::TenantScope::granted(tenant.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_quotas_become_overrides_and_negative_ones_none() {
        let now = Utc::now();
        let row = tenants::Model {
            id: Uuid::nil(),
            name: "t".into(),
            entra_tenant_id: "e".into(),
            graph_base_url: "https://graph.microsoft.com".into(),
            login_base_url: "https://login.microsoftonline.com".into(),
            client_id: "c".into(),
            client_secret_enc: "x".into(),
            credential: CREDENTIAL_SECRET.into(),
            certificate_pem: None,
            certificate_thumbprint: None,
            certificate_expires_at: None,
            private_key_enc: None,
            read_quota: Some(-5),
            write_quota: Some(50),
            quota_window_secs: Some(10),
            disabled_at: None,
            disabled_reason: None,
            purged_at: None,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            quota_overrides(&row),
            QuotaOverrides {
                reads: None,
                writes: Some(50),
                window: Some(Duration::from_secs(10)),
            }
        );
    }
}

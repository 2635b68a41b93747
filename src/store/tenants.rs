//! Managed tenants and their sealed Graph credentials.

use std::time::Duration;

use chrono::Utc;
use entity::tenants;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use secrecy::SecretString;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use crate::crypto::SecretBox;
use crate::domain::TenantName;
use crate::graph::{QuotaOverrides, TenantConnection};

/// What registering a tenant takes; the secret is sealed before it reaches the database.
#[derive(Debug)]
pub struct NewTenant {
    pub name: TenantName,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub graph_base_url: String,
    pub login_base_url: String,
}

impl NewTenant {
    /// Checks a registration's values; the message of a bad one starts with its field
    /// (`name: ...`, `client_secret: ...`).
    pub fn parse(
        name: &str,
        entra_tenant_id: &str,
        client_id: &str,
        client_secret: SecretString,
        graph_base_url: &str,
        login_base_url: &str,
    ) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        let name = TenantName::parse(name).map_err(|e| format!("name: {e}"))?;
        for (field, value) in [
            ("entra_tenant_id", entra_tenant_id),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{field}: must not be empty"));
            }
            if value.chars().count() > 1024 || value.chars().any(char::is_control) {
                return Err(format!(
                    "{field}: must be at most 1024 characters without control characters"
                ));
            }
        }
        let entra = entra_tenant_id.trim();
        if !entra
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err(format!(
                "entra_tenant_id: {entra:?} is neither a directory id nor a domain name"
            ));
        }
        Ok(Self {
            name,
            entra_tenant_id: entra.to_string(),
            client_id: client_id.trim().to_string(),
            client_secret,
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
        client_secret_enc: Set(secrets.seal(&new.client_secret, &secret_context(id))),
        read_quota: Set(None),
        write_quota: Set(None),
        quota_window_secs: Set(None),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        purged_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(row.insert(db).await?)
}

/// What an edit of a tenant changes; `None` leaves a field as it is. A new secret is sealed
/// before it reaches the database.
#[derive(Debug, Default)]
pub struct TenantChanges {
    pub name: Option<TenantName>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub graph_base_url: Option<String>,
    pub login_base_url: Option<String>,
}

impl TenantChanges {
    /// Checks an edit's values; the message of a bad one starts with its field
    /// (`name: ...`, `graph_base_url: ...`).
    pub fn parse(
        name: Option<&str>,
        client_id: Option<&str>,
        client_secret: Option<SecretString>,
        graph_base_url: Option<&str>,
        login_base_url: Option<&str>,
    ) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        let name = name
            .map(|n| TenantName::parse(n).map_err(|e| format!("name: {e}")))
            .transpose()?;
        let client_id = match client_id.map(str::trim) {
            Some("") => return Err("client_id: must not be empty".into()),
            other => other.map(str::to_string),
        };
        if client_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().trim().is_empty())
        {
            return Err("client_secret: must not be empty".into());
        }
        let url = |field: &str, value: Option<&str>| -> Result<Option<String>, String> {
            value.map(|v| parse_url(field, v)).transpose()
        };
        let changes = Self {
            name,
            client_id,
            client_secret,
            graph_base_url: url("graph_base_url", graph_base_url)?,
            login_base_url: url("login_base_url", login_base_url)?,
        };
        if changes.fields().is_empty() {
            return Err("name: give at least one of name, client_id, client_secret, graph_base_url, login_base_url".into());
        }
        Ok(changes)
    }

    /// The names of the fields it changes (for the audit trail; never a value).
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        for (name, set) in [
            ("name", self.name.is_some()),
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("graph_base_url", self.graph_base_url.is_some()),
            ("login_base_url", self.login_base_url.is_some()),
        ] {
            if set {
                fields.push(name);
            }
        }
        fields
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
    if let Some(secret) = changes.client_secret {
        active.client_secret_enc = Set(secrets.seal(&secret, &secret_context(id)));
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
    let context = secret_context(existing.id);
    let mut active: tenants::ActiveModel = existing.into();
    active.entra_tenant_id = Set(new.entra_tenant_id);
    active.graph_base_url = Set(trim_url(&new.graph_base_url));
    active.login_base_url = Set(trim_url(&new.login_base_url));
    active.client_id = Set(new.client_id);
    active.client_secret_enc = Set(secrets.seal(&new.client_secret, &context));
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

/// How to reach the tenant's Graph, its client secret decrypted.
pub fn connection(secrets: &SecretBox, tenant: &tenants::Model) -> StoreResult<TenantConnection> {
    Ok(TenantConnection {
        graph_base_url: tenant.graph_base_url.clone(),
        login_base_url: tenant.login_base_url.clone(),
        entra_tenant_id: tenant.entra_tenant_id.clone(),
        client_id: tenant.client_id.clone(),
        client_secret: client_secret(secrets, tenant)?,
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

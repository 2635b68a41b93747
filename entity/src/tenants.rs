//! Managed customer tenants: Graph and login endpoints, app credentials and Graph quotas.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    /// The Entra (Azure AD) directory id the app registration lives in.
    pub entra_tenant_id: String,
    pub graph_base_url: String,
    pub login_base_url: String,
    pub client_id: String,
    /// Client secret encrypted with the configured key, base64; never the plaintext. An
    /// empty sealed value for tenants signing in another way.
    pub client_secret_enc: String,
    /// What the tenant signs in with: `secret`, `certificate` or `shared_app` (the MSP's
    /// multi-tenant app registration from the configuration).
    pub credential: String,
    /// The public certificate (PEM) of a `certificate` tenant.
    pub certificate_pem: Option<String>,
    /// Its SHA-1 thumbprint, upper-case hex, as the Entra portal lists it.
    pub certificate_thumbprint: Option<String>,
    pub certificate_expires_at: Option<DateTimeUtc>,
    /// The certificate's private key, sealed like the client secret.
    pub private_key_enc: Option<String>,
    /// Graph read/write requests allowed per `quota_window_secs`; `None` = configured default.
    pub read_quota: Option<i32>,
    pub write_quota: Option<i32>,
    pub quota_window_secs: Option<i32>,
    /// Set while the tenant is disabled: no starts, schedules paused.
    pub disabled_at: Option<DateTimeUtc>,
    /// Why, as its admins are shown it.
    pub disabled_reason: Option<String>,
    /// Set when a `tenant_purge` run deleted the tenant's data (the tenant stays disabled).
    pub purged_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::snapshots::Entity")]
    Snapshots,
    #[sea_orm(has_many = "super::backup_sets::Entity")]
    BackupSets,
    #[sea_orm(has_many = "super::runs::Entity")]
    Runs,
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::snapshots::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Snapshots.def()
    }
}

impl Related<super::backup_sets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BackupSets.def()
    }
}

impl Related<super::runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Runs.def()
    }
}

/// The tenant's members, through `memberships`.
impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        super::memberships::Relation::User.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::memberships::Relation::Tenant.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}

//! An outbound webhook of a tenant (or, without one, a global webhook taking every tenant's
//! events): where to post run events (sealed), how, and which.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None`: a global webhook (managed from the command line).
    pub tenant_id: Option<Uuid>,
    /// The address, sealed (it may carry a secret token in its path or query).
    pub url_enc: String,
    /// What may be shown of the address: its scheme and host.
    pub url_hint: String,
    /// The HMAC-SHA256 signing secret, sealed.
    pub secret_enc: String,
    /// `json`, `teams` or `slack`.
    pub format: String,
    /// JSON array of the event kinds it receives.
    #[sea_orm(column_type = "JsonBinary")]
    pub kinds: Json,
    pub enabled: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    Tenant,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

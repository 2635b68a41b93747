//! Versions of the Graph objects in a backup set.
//!
//! A new version is written when an object's content hash changes; `is_latest` marks the
//! current one per (set, policy type, source id).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backup_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub backup_set_id: Uuid,
    pub policy_type: String,
    /// The object's Graph id in the tenant it was captured from.
    pub source_id: String,
    pub display_name: String,
    /// 1-based, increasing per (set, policy type, source id).
    pub version: i32,
    /// Normalized JSON of the object, sub-resources included.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub assignments: Json,
    pub content_hash: String,
    pub is_latest: bool,
    /// Set when a capture no longer found the object in the tenant.
    pub missing_since: Option<DateTimeUtc>,
    /// The capture run that wrote this version (informational, not a foreign key).
    pub run_id: Option<Uuid>,
    pub captured_at: DateTimeUtc,
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
    #[sea_orm(
        belongs_to = "super::backup_sets::Entity",
        from = "Column::BackupSetId",
        to = "super::backup_sets::Column::Id",
        on_delete = "Cascade"
    )]
    BackupSet,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::backup_sets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BackupSet.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

//! A tenant's overrides of the global retention settings; `None` keeps the global value.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_retention")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Keep snapshots this many days (0: no age limit).
    pub snapshot_days: Option<i32>,
    /// Keep at least the newest this many snapshots (0: no count rule).
    pub snapshot_keep: Option<i32>,
    /// Keep this many versions of each backup-set object (0: all).
    pub backup_versions_keep: Option<i32>,
    /// Keep finished runs and their item results this many days (0: forever).
    pub run_days: Option<i32>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
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

//! A tenant's baseline: the backup set (of this or another tenant) it should match.
//!
//! At most one per tenant. Every capture of the tenant computes its drift against it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "baselines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The backup set whose latest versions are the standard.
    pub backup_set_id: Uuid,
    pub set_by: Option<Uuid>,
    pub set_at: DateTimeUtc,
    /// The tenant's newest drift report against this baseline (informational).
    pub latest_report_id: Option<Uuid>,
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

impl ActiveModelBehavior for ActiveModel {}

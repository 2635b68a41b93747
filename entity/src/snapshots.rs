//! Point-in-time copies of a tenant's supported Intune objects; items in `snapshot_items`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The capture run that produced it (informational, not a foreign key).
    pub run_id: Option<Uuid>,
    /// JSON array of the policy types captured.
    #[sea_orm(column_type = "JsonBinary")]
    pub policy_types: Json,
    pub item_count: i32,
    /// `capture` (a capture run's copy of the tenant) or `pre_restore` (the target's objects
    /// as a restore found them, before it changed them).
    pub purpose: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// The earlier capture this one was compared with (informational, not a foreign key).
    pub previous_snapshot_id: Option<Uuid>,
    /// What changed since `previous_snapshot_id`, as the capture run computed it: a JSON array
    /// of object changes. `None` where nothing was compared (a first capture).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub changes: Option<Json>,
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
        belongs_to = "super::users::Entity",
        from = "Column::CreatedBy",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    Creator,
    #[sea_orm(has_many = "super::snapshot_items::Entity")]
    Items,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Creator.def()
    }
}

impl Related<super::snapshot_items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Items.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

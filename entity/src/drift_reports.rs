//! What one capture of a tenant found against the tenant's baseline.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "drift_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The capture compared (informational, not a foreign key).
    pub snapshot_id: Uuid,
    /// The baseline backup set it was compared with (informational, not a foreign key).
    pub backup_set_id: Uuid,
    pub run_id: Option<Uuid>,
    pub computed_at: DateTimeUtc,
    /// Share of the baseline's settings the tenant matches (accepted exceptions count as
    /// matching), 0.0 to 1.0; 1.0 for an empty baseline.
    pub score: f64,
    pub baseline_settings: i32,
    pub matching_settings: i32,
    /// Baseline objects the tenant does not have.
    pub missing: i32,
    /// Objects of the baseline's types the baseline does not have.
    pub extra: i32,
    /// Settings that differ in objects both have.
    pub differing: i32,
    /// Differences left out because an exception accepts them.
    pub excepted: i32,
    /// JSON array of drift entries.
    #[sea_orm(column_type = "JsonBinary")]
    pub entries: Json,
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

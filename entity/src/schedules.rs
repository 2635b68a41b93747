//! A tenant's recurring capture: a cron expression in a time zone, spread, enabled.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Whose rights the schedule's runs use (`None` once that user was deleted).
    pub owner_id: Option<Uuid>,
    pub operation: super::enums::RunOperation,
    /// The set a `backup_set_capture` schedule captures.
    pub backup_set_id: Option<Uuid>,
    pub cron: String,
    pub timezone: String,
    pub spread_secs: i32,
    pub enabled: bool,
    /// When the next run starts (its tick plus the schedule's spread offset).
    pub next_run_at: Option<DateTimeUtc>,
    pub last_tick_at: Option<DateTimeUtc>,
    pub last_run_id: Option<Uuid>,
    /// Why the schedule stopped itself (its owner lost access, its set is gone).
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
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

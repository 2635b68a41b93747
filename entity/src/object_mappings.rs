//! Which target-tenant Graph object a source-tenant Graph object was restored to.
//!
//! Written by restores and read by the next restore, so it updates instead of duplicating.
//! Both ends reference `tenants`, so there is no single `Related<tenants::Entity>`; join
//! through [`Relation::SourceTenant`] or [`Relation::TargetTenant`].

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "object_mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub source_tenant_id: Uuid,
    pub policy_type: String,
    pub source_graph_id: String,
    pub target_tenant_id: Uuid,
    pub target_graph_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::SourceTenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    SourceTenant,
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TargetTenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    TargetTenant,
}

impl ActiveModelBehavior for ActiveModel {}

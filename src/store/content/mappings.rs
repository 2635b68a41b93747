//! Source→target object mappings: which target object a restored source object became.

use chrono::Utc;
use entity::object_mappings;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use crate::store::{StoreResult, TenantScope};

pub async fn mapping(
    db: &impl ConnectionTrait,
    source: &TenantScope,
    policy_type: &str,
    source_graph_id: &str,
    target: &TenantScope,
) -> StoreResult<Option<object_mappings::Model>> {
    Ok(object_mappings::Entity::find()
        .filter(object_mappings::Column::SourceTenantId.eq(source.tenant_id()))
        .filter(object_mappings::Column::PolicyType.eq(policy_type))
        .filter(object_mappings::Column::SourceGraphId.eq(source_graph_id))
        .filter(object_mappings::Column::TargetTenantId.eq(target.tenant_id()))
        .one(db)
        .await?)
}

pub async fn upsert_mapping(
    db: &impl ConnectionTrait,
    source: &TenantScope,
    policy_type: &str,
    source_graph_id: &str,
    target: &TenantScope,
    target_graph_id: &str,
) -> StoreResult<()> {
    let now = Utc::now();
    let row = object_mappings::ActiveModel {
        id: Set(Uuid::now_v7()),
        source_tenant_id: Set(source.tenant_id()),
        policy_type: Set(policy_type.to_string()),
        source_graph_id: Set(source_graph_id.to_string()),
        target_tenant_id: Set(target.tenant_id()),
        target_graph_id: Set(target_graph_id.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    object_mappings::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                object_mappings::Column::SourceTenantId,
                object_mappings::Column::PolicyType,
                object_mappings::Column::SourceGraphId,
                object_mappings::Column::TargetTenantId,
            ])
            .update_columns([
                object_mappings::Column::TargetGraphId,
                object_mappings::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The (source tenant, source Graph id) pairs mapped to a target object: who claims it.
pub async fn mapping_claimants(
    db: &impl ConnectionTrait,
    target: &TenantScope,
    policy_type: &str,
    target_graph_id: &str,
) -> StoreResult<Vec<(Uuid, String)>> {
    Ok(object_mappings::Entity::find()
        .select_only()
        .column(object_mappings::Column::SourceTenantId)
        .column(object_mappings::Column::SourceGraphId)
        .filter(object_mappings::Column::TargetTenantId.eq(target.tenant_id()))
        .filter(object_mappings::Column::PolicyType.eq(policy_type))
        .filter(object_mappings::Column::TargetGraphId.eq(target_graph_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// Forgets every mapping to a target object (it was deleted).
pub async fn delete_mappings_to(
    db: &impl ConnectionTrait,
    target: &TenantScope,
    policy_type: &str,
    target_graph_id: &str,
) -> StoreResult<()> {
    object_mappings::Entity::delete_many()
        .filter(object_mappings::Column::TargetTenantId.eq(target.tenant_id()))
        .filter(object_mappings::Column::PolicyType.eq(policy_type))
        .filter(object_mappings::Column::TargetGraphId.eq(target_graph_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every mapping from objects of `source` to objects of `target`: (policy type, source id) →
/// target id.
pub async fn mappings_between(
    db: &impl ConnectionTrait,
    source: &TenantScope,
    target: &TenantScope,
) -> StoreResult<std::collections::HashMap<(String, String), String>> {
    Ok(object_mappings::Entity::find()
        .filter(object_mappings::Column::SourceTenantId.eq(source.tenant_id()))
        .filter(object_mappings::Column::TargetTenantId.eq(target.tenant_id()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| ((m.policy_type, m.source_graph_id), m.target_graph_id))
        .collect())
}

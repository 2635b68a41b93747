//! Captured content: snapshots and their items, backup sets and their versioned items, and
//! the source→target object mappings restores keep.
//!
//! Split by what is kept (snapshots, backup sets, mappings); every public name is
//! re-exported here, so callers keep using `store::content::…`.

mod backup_sets;
mod mappings;
mod snapshots;

pub use backup_sets::*;
pub use mappings::*;
pub use snapshots::*;

use entity::enums::TargetType;
use entity::{backup_items, snapshot_items};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

/// One captured Graph object, normalized, ready to store as a snapshot or backup item.
#[derive(Debug, Clone)]
pub struct CapturedObject {
    pub policy_type: String,
    pub source_id: String,
    pub display_name: String,
    pub payload: Json,
    pub assignments: Json,
    pub content_hash: String,
}

/// Which tenant holds a snapshot or backup set, and nothing else about it: a restore source
/// may live in another tenant, and the caller needs a scope of that tenant (a membership)
/// before reading any of it.
pub async fn content_owner(
    db: &impl ConnectionTrait,
    kind: TargetType,
    id: Uuid,
) -> StoreResult<Option<Uuid>> {
    Ok(match kind {
        TargetType::Snapshot => {
            entity::snapshots::Entity::find_by_id(id)
                .select_only()
                .column(entity::snapshots::Column::TenantId)
                .into_tuple()
                .one(db)
                .await?
        }
        TargetType::BackupSet => {
            entity::backup_sets::Entity::find_by_id(id)
                .select_only()
                .column(entity::backup_sets::Column::TenantId)
                .into_tuple()
                .one(db)
                .await?
        }
        TargetType::Tenant | TargetType::Run => None,
    })
}

/// Ids of the items a restore source offers (latest backup items, or snapshot items).
pub async fn source_item_ids(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    kind: TargetType,
    source_id: Uuid,
) -> StoreResult<std::collections::HashSet<Uuid>> {
    let ids: Vec<Uuid> = match kind {
        TargetType::Snapshot => {
            snapshot_items::Entity::find()
                .select_only()
                .column(snapshot_items::Column::Id)
                .filter(snapshot_items::Column::TenantId.eq(scope.tenant_id()))
                .filter(snapshot_items::Column::SnapshotId.eq(source_id))
                .into_tuple()
                .all(db)
                .await?
        }
        TargetType::BackupSet => {
            backup_items::Entity::find()
                .select_only()
                .column(backup_items::Column::Id)
                .filter(backup_items::Column::TenantId.eq(scope.tenant_id()))
                .filter(backup_items::Column::BackupSetId.eq(source_id))
                .filter(backup_items::Column::IsLatest.eq(true))
                .into_tuple()
                .all(db)
                .await?
        }
        // Only snapshots and backup sets hold content.
        TargetType::Tenant | TargetType::Run => return Err(StoreError::NotFound),
    };
    Ok(ids.into_iter().collect())
}

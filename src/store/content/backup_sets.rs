//! Backup sets and their versioned items: a new version only when the content changed.

use chrono::Utc;
use entity::{backup_items, backup_sets};
use sea_orm::prelude::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::CapturedObject;
use crate::graph::registry::PolicyType;
use crate::store::{StoreError, StoreResult, TenantScope};

#[derive(Debug, Clone)]
pub struct NewBackupSet {
    pub name: String,
    pub description: Option<String>,
    pub policy_types: Vec<PolicyType>,
    pub created_by: Uuid,
}

pub async fn create_backup_set(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    new: NewBackupSet,
) -> StoreResult<backup_sets::Model> {
    let now = Utc::now();
    let row = backup_sets::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_id()),
        name: Set(new.name),
        description: Set(new.description),
        policy_types: Set(Json::from(
            new.policy_types.iter().map(|t| t.key()).collect::<Vec<_>>(),
        )),
        created_by: Set(Some(new.created_by)),
        created_at: Set(now),
        updated_at: Set(now),
        last_captured_at: Set(None),
        changes: Set(None),
        changes_run_id: Set(None),
        changes_since: Set(None),
    };
    Ok(row.insert(db).await?)
}

pub async fn backup_sets(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<backup_sets::Model>> {
    let mut query =
        backup_sets::Entity::find().filter(backup_sets::Column::TenantId.eq(scope.tenant_id()));
    if let Some(before) = before {
        query = query.filter(backup_sets::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(backup_sets::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn backup_set(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<backup_sets::Model> {
    backup_sets::Entity::find_by_id(id)
        .filter(backup_sets::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Items of a backup set: latest versions only, or every version.
pub async fn backup_items(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    backup_set_id: Uuid,
    latest_only: bool,
    after: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<backup_items::Model>> {
    let mut query = backup_items::Entity::find()
        .filter(backup_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(backup_items::Column::BackupSetId.eq(backup_set_id));
    if latest_only {
        query = query.filter(backup_items::Column::IsLatest.eq(true));
    }
    if let Some(after) = after {
        query = query.filter(backup_items::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(backup_items::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Every latest item of a backup set (for capture comparison and restores).
pub async fn latest_backup_items(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    backup_set_id: Uuid,
) -> StoreResult<Vec<backup_items::Model>> {
    Ok(backup_items::Entity::find()
        .filter(backup_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(backup_items::Column::BackupSetId.eq(backup_set_id))
        .filter(backup_items::Column::IsLatest.eq(true))
        .order_by_asc(backup_items::Column::PolicyType)
        .order_by_asc(backup_items::Column::SourceId)
        .all(db)
        .await?)
}

/// The (policy type, source id) of the given item versions of a backup set, whichever
/// version each is: a selection made before a newer capture still names its objects.
pub async fn backup_item_objects(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    backup_set_id: Uuid,
    item_ids: &[Uuid],
) -> StoreResult<std::collections::HashSet<(String, String)>> {
    let mut out = std::collections::HashSet::new();
    for chunk in item_ids.chunks(500) {
        let rows: Vec<(String, String)> = backup_items::Entity::find()
            .select_only()
            .column(backup_items::Column::PolicyType)
            .column(backup_items::Column::SourceId)
            .filter(backup_items::Column::TenantId.eq(scope.tenant_id()))
            .filter(backup_items::Column::BackupSetId.eq(backup_set_id))
            .filter(backup_items::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// What syncing one captured object into a backup set did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    Added,
    NewVersion,
    Unchanged,
}

/// Adds a version of an object to a backup set only when its content hash changed.
pub async fn sync_backup_item(
    db: &impl ConnectionTrait,
    set: &backup_sets::Model,
    object: &CapturedObject,
    run_id: Uuid,
) -> StoreResult<(SyncOutcome, backup_items::Model)> {
    let latest = backup_items::Entity::find()
        .filter(backup_items::Column::BackupSetId.eq(set.id))
        .filter(backup_items::Column::PolicyType.eq(object.policy_type.as_str()))
        .filter(backup_items::Column::SourceId.eq(object.source_id.as_str()))
        .filter(backup_items::Column::IsLatest.eq(true))
        .one(db)
        .await?;
    let version = match &latest {
        Some(item) if item.content_hash == object.content_hash => {
            if item.missing_since.is_some() || item.display_name != object.display_name {
                let mut active: backup_items::ActiveModel = item.clone().into();
                active.missing_since = Set(None);
                active.display_name = Set(object.display_name.clone());
                return Ok((SyncOutcome::Unchanged, active.update(db).await?));
            }
            return Ok((SyncOutcome::Unchanged, item.clone()));
        }
        Some(item) => {
            backup_items::Entity::update_many()
                .col_expr(backup_items::Column::IsLatest, Expr::value(false))
                .filter(backup_items::Column::Id.eq(item.id))
                .exec(db)
                .await?;
            item.version + 1
        }
        None => 1,
    };
    let row = backup_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(set.tenant_id),
        backup_set_id: Set(set.id),
        policy_type: Set(object.policy_type.clone()),
        source_id: Set(object.source_id.clone()),
        display_name: Set(object.display_name.clone()),
        version: Set(version),
        payload: Set(object.payload.clone()),
        assignments: Set(object.assignments.clone()),
        content_hash: Set(object.content_hash.clone()),
        is_latest: Set(true),
        missing_since: Set(None),
        run_id: Set(Some(run_id)),
        captured_at: Set(Utc::now()),
    };
    let inserted = row.insert(db).await?;
    let outcome = if version == 1 {
        SyncOutcome::Added
    } else {
        SyncOutcome::NewVersion
    };
    Ok((outcome, inserted))
}

/// Marks an item whose object disappeared from the tenant (kept, never deleted).
pub async fn mark_backup_item_missing(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    item_id: Uuid,
) -> StoreResult<()> {
    backup_items::Entity::update_many()
        .col_expr(backup_items::Column::MissingSince, Expr::value(Utc::now()))
        .filter(backup_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(backup_items::Column::Id.eq(item_id))
        .filter(backup_items::Column::MissingSince.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn touch_backup_set(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    set_id: Uuid,
) -> StoreResult<()> {
    let now = Utc::now();
    backup_sets::Entity::update_many()
        .col_expr(backup_sets::Column::LastCapturedAt, Expr::value(now))
        .col_expr(backup_sets::Column::UpdatedAt, Expr::value(now))
        .filter(backup_sets::Column::TenantId.eq(scope.tenant_id()))
        .filter(backup_sets::Column::Id.eq(set_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores what a capture run changed in the set since it was captured at `since`.
pub async fn record_backup_set_changes(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    set_id: Uuid,
    run_id: Uuid,
    since: Option<chrono::DateTime<Utc>>,
    changes: Json,
) -> StoreResult<()> {
    backup_sets::Entity::update_many()
        .col_expr(backup_sets::Column::Changes, Expr::value(changes))
        .col_expr(backup_sets::Column::ChangesRunId, Expr::value(run_id))
        .col_expr(backup_sets::Column::ChangesSince, Expr::value(since))
        .filter(backup_sets::Column::TenantId.eq(scope.tenant_id()))
        .filter(backup_sets::Column::Id.eq(set_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A backup item as the diff engine reads it.
pub fn backup_item_as_captured(i: &backup_items::Model) -> crate::graph::compare::Captured<'_> {
    crate::graph::compare::Captured {
        policy_type: &i.policy_type,
        graph_id: &i.source_id,
        display_name: &i.display_name,
        payload: &i.payload,
        assignments: &i.assignments,
    }
}

/// Sets the policy types a backup set holds (an import learns them from its files).
pub async fn set_backup_set_types(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    set_id: Uuid,
    types: &[crate::graph::registry::PolicyType],
) -> StoreResult<()> {
    let keys: Vec<&str> = crate::graph::registry::in_restore_order(types)
        .iter()
        .map(|t| t.key())
        .collect();
    backup_sets::Entity::update_many()
        .col_expr(
            backup_sets::Column::PolicyTypes,
            Expr::value(Json::from(keys)),
        )
        .filter(backup_sets::Column::TenantId.eq(scope.tenant_id()))
        .filter(backup_sets::Column::Id.eq(set_id))
        .exec(db)
        .await?;
    Ok(())
}

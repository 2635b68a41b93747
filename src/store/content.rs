//! Captured content: snapshots and their items, backup sets and their versioned items, and
//! the source→target object mappings restores keep.

use chrono::Utc;
use entity::enums::TargetType;
use entity::{backup_items, backup_sets, object_mappings, snapshot_items, snapshots};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
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

// ---- snapshots ----

/// The snapshot a capture run fills; created on the run's first attempt, found again on a
/// resumed one.
pub async fn snapshot_for_run(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    policy_types: &[String],
    created_by: Uuid,
) -> StoreResult<snapshots::Model> {
    run_snapshot(
        db,
        scope,
        run_id,
        SNAPSHOT_CAPTURE,
        Json::from(policy_types.to_vec()),
        created_by,
    )
    .await
}

/// `snapshots.purpose` of a capture run's snapshot.
pub const SNAPSHOT_CAPTURE: &str = "capture";
/// `snapshots.purpose` of the copy a live restore (or undo) takes of the target's objects
/// before it changes them.
pub const SNAPSHOT_PRE_RESTORE: &str = "pre_restore";

/// The snapshot of `purpose` that run `run_id` fills, created on first use.
async fn run_snapshot(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    purpose: &str,
    policy_types: Json,
    created_by: Uuid,
) -> StoreResult<snapshots::Model> {
    let tenant_id = scope.tenant_id();
    let find = || {
        snapshots::Entity::find()
            .filter(snapshots::Column::TenantId.eq(tenant_id))
            .filter(snapshots::Column::RunId.eq(run_id))
            .filter(snapshots::Column::Purpose.eq(purpose))
    };
    if let Some(existing) = find().one(db).await? {
        return Ok(existing);
    }
    let row = snapshots::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        run_id: Set(Some(run_id)),
        policy_types: Set(policy_types),
        item_count: Set(0),
        purpose: Set(purpose.to_string()),
        created_by: Set(Some(created_by)),
        created_at: Set(Utc::now()),
    };
    Ok(row.insert(db).await?)
}

/// The pre-restore snapshot of a writing run (created on its first update) and the run's
/// link to it.
pub async fn pre_restore_snapshot(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run: &entity::runs::Model,
) -> StoreResult<snapshots::Model> {
    if run.tenant_id != scope.tenant_id() {
        return Err(StoreError::NotFound);
    }
    let snapshot = run_snapshot(
        db,
        scope,
        run.id,
        SNAPSHOT_PRE_RESTORE,
        Json::Array(Vec::new()),
        run.initiator_id,
    )
    .await?;
    if run.pre_restore_snapshot_id != Some(snapshot.id) {
        entity::runs::Entity::update_many()
            .col_expr(
                entity::runs::Column::PreRestoreSnapshotId,
                Expr::value(snapshot.id),
            )
            .filter(entity::runs::Column::Id.eq(run.id))
            .filter(entity::runs::Column::TenantId.eq(scope.tenant_id()))
            .filter(entity::runs::Column::PreRestoreSnapshotId.is_null())
            .exec(db)
            .await?;
    }
    Ok(snapshot)
}

/// Adds an object to a pre-restore snapshot unless it already holds that object: the
/// first copy is the state before the run, and a resumed run must not replace it with
/// the state its own earlier attempt wrote.
pub async fn keep_pre_restore_copy(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
    object: &CapturedObject,
) -> StoreResult<()> {
    let row = snapshot_item_row(snapshot, object);
    let inserted = snapshot_items::Entity::insert(row)
        .on_conflict_do_nothing_on([
            snapshot_items::Column::SnapshotId,
            snapshot_items::Column::PolicyType,
            snapshot_items::Column::SourceId,
        ])
        .exec(db)
        .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
        // Already kept by an earlier attempt: the snapshot's summary is current.
        return Ok(());
    }
    let mut types: Vec<String> = snapshot_items::Entity::find()
        .select_only()
        .column(snapshot_items::Column::PolicyType)
        .distinct()
        .filter(snapshot_items::Column::SnapshotId.eq(snapshot.id))
        .into_tuple()
        .all(db)
        .await?;
    types.sort();
    snapshots::Entity::update_many()
        .col_expr(
            snapshots::Column::PolicyTypes,
            Expr::value(Json::from(types)),
        )
        .filter(snapshots::Column::Id.eq(snapshot.id))
        .exec(db)
        .await?;
    seal_snapshot(db, snapshot).await
}

/// One item of a snapshot by the Graph id it was captured with.
pub async fn snapshot_item_by_source(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    snapshot_id: Uuid,
    policy_type: &str,
    source_id: &str,
) -> StoreResult<Option<snapshot_items::Model>> {
    Ok(snapshot_items::Entity::find()
        .filter(snapshot_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshot_items::Column::SnapshotId.eq(snapshot_id))
        .filter(snapshot_items::Column::PolicyType.eq(policy_type))
        .filter(snapshot_items::Column::SourceId.eq(source_id))
        .one(db)
        .await?)
}

fn snapshot_item_row(
    snapshot: &snapshots::Model,
    object: &CapturedObject,
) -> snapshot_items::ActiveModel {
    snapshot_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(snapshot.tenant_id),
        snapshot_id: Set(snapshot.id),
        policy_type: Set(object.policy_type.clone()),
        source_id: Set(object.source_id.clone()),
        display_name: Set(object.display_name.clone()),
        payload: Set(object.payload.clone()),
        assignments: Set(object.assignments.clone()),
        content_hash: Set(object.content_hash.clone()),
        created_at: Set(Utc::now()),
    }
}

pub async fn add_snapshot_item(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
    object: &CapturedObject,
) -> StoreResult<snapshot_items::Model> {
    let row = snapshot_item_row(snapshot, object);
    snapshot_items::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                snapshot_items::Column::SnapshotId,
                snapshot_items::Column::PolicyType,
                snapshot_items::Column::SourceId,
            ])
            .update_columns([
                snapshot_items::Column::DisplayName,
                snapshot_items::Column::Payload,
                snapshot_items::Column::Assignments,
                snapshot_items::Column::ContentHash,
            ])
            .to_owned(),
        )
        .exec(db)
        .await?;
    snapshot_items::Entity::find()
        .filter(snapshot_items::Column::SnapshotId.eq(snapshot.id))
        .filter(snapshot_items::Column::PolicyType.eq(object.policy_type.as_str()))
        .filter(snapshot_items::Column::SourceId.eq(object.source_id.as_str()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Stores the final item count of a snapshot (one its run filled).
pub async fn seal_snapshot(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
) -> StoreResult<()> {
    use sea_orm::PaginatorTrait;
    let snapshot_id = snapshot.id;
    let count = snapshot_items::Entity::find()
        .filter(snapshot_items::Column::SnapshotId.eq(snapshot_id))
        .count(db)
        .await?;
    snapshots::Entity::update_many()
        .col_expr(snapshots::Column::ItemCount, Expr::value(count as i32))
        .filter(snapshots::Column::Id.eq(snapshot_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn snapshots(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<snapshots::Model>> {
    let mut query =
        snapshots::Entity::find().filter(snapshots::Column::TenantId.eq(scope.tenant_id()));
    if let Some(before) = before {
        query = query.filter(snapshots::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(snapshots::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn snapshot(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<snapshots::Model> {
    snapshots::Entity::find_by_id(id)
        .filter(snapshots::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn snapshot_items(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    snapshot_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<snapshot_items::Model>> {
    let mut query = snapshot_items::Entity::find()
        .filter(snapshot_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshot_items::Column::SnapshotId.eq(snapshot_id));
    if let Some(after) = after {
        query = query.filter(snapshot_items::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(snapshot_items::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Every item of a snapshot (the restore source).
pub async fn all_snapshot_items(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    snapshot_id: Uuid,
) -> StoreResult<Vec<snapshot_items::Model>> {
    Ok(snapshot_items::Entity::find()
        .filter(snapshot_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshot_items::Column::SnapshotId.eq(snapshot_id))
        .order_by_asc(snapshot_items::Column::Id)
        .all(db)
        .await?)
}

// ---- backup sets ----

#[derive(Debug, Clone)]
pub struct NewBackupSet {
    pub name: String,
    pub description: Option<String>,
    pub policy_types: Vec<String>,
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
        policy_types: Set(Json::from(new.policy_types)),
        created_by: Set(Some(new.created_by)),
        created_at: Set(now),
        updated_at: Set(now),
        last_captured_at: Set(None),
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
            snapshots::Entity::find_by_id(id)
                .select_only()
                .column(snapshots::Column::TenantId)
                .into_tuple()
                .one(db)
                .await?
        }
        TargetType::BackupSet => {
            backup_sets::Entity::find_by_id(id)
                .select_only()
                .column(backup_sets::Column::TenantId)
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

// ---- object mappings ----

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

pub async fn delete_mapping(
    db: &impl ConnectionTrait,
    source: &TenantScope,
    policy_type: &str,
    source_graph_id: &str,
    target: &TenantScope,
) -> StoreResult<()> {
    object_mappings::Entity::delete_many()
        .filter(object_mappings::Column::SourceTenantId.eq(source.tenant_id()))
        .filter(object_mappings::Column::PolicyType.eq(policy_type))
        .filter(object_mappings::Column::SourceGraphId.eq(source_graph_id))
        .filter(object_mappings::Column::TargetTenantId.eq(target.tenant_id()))
        .exec(db)
        .await?;
    Ok(())
}

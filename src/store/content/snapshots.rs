//! Snapshots and their items: capture snapshots, pre-restore copies, and reading them back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{snapshot_items, snapshots};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::{ExprTrait, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::CapturedObject;
use crate::graph::registry::PolicyType;
use crate::store::runs as run_store;
use crate::store::{StoreError, StoreResult, TenantScope};

/// The snapshot a capture run fills; created on the run's first attempt, found again on a
/// resumed one. `fresh`: the run cannot have one yet (its first attempt, not resumed), so
/// none is looked for.
pub async fn snapshot_for_run(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    policy_types: &[PolicyType],
    created_by: Uuid,
    fresh: bool,
) -> StoreResult<snapshots::Model> {
    run_snapshot(
        db,
        scope,
        run_id,
        SNAPSHOT_CAPTURE,
        Json::from(policy_types.iter().map(|t| t.key()).collect::<Vec<_>>()),
        created_by,
        fresh,
    )
    .await
}

/// `snapshots.purpose` of a capture run's snapshot.
pub const SNAPSHOT_CAPTURE: &str = "capture";
/// `snapshots.purpose` of the copy a live restore (or undo) takes of the target's objects
/// before it changes them.
pub const SNAPSHOT_PRE_RESTORE: &str = "pre_restore";

/// The snapshot of `purpose` that run `run_id` fills, created on first use; `fresh`: the
/// run cannot have one yet, so none is looked for.
async fn run_snapshot(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    purpose: &str,
    policy_types: Json,
    created_by: Uuid,
    fresh: bool,
) -> StoreResult<snapshots::Model> {
    if !fresh {
        let existing = snapshots::Entity::find()
            .filter(snapshots::Column::TenantId.eq(scope.tenant_id()))
            .filter(snapshots::Column::RunId.eq(run_id))
            .filter(snapshots::Column::Purpose.eq(purpose))
            .one(db)
            .await?;
        if let Some(existing) = existing {
            return Ok(existing);
        }
    }
    let row = snapshots::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_id()),
        run_id: Set(Some(run_id)),
        policy_types: Set(policy_types),
        item_count: Set(0),
        purpose: Set(purpose.to_string()),
        created_by: Set(Some(created_by)),
        created_at: Set(Utc::now()),
        previous_snapshot_id: Set(None),
        changes: Set(None),
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
        false,
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
    let row = snapshot_item_row(snapshot, object.clone());
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
    object: CapturedObject,
) -> snapshot_items::ActiveModel {
    snapshot_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(snapshot.tenant_id),
        snapshot_id: Set(snapshot.id),
        policy_type: Set(object.policy_type),
        source_id: Set(object.source_id),
        display_name: Set(object.display_name),
        payload: Set(object.payload),
        assignments: Set(object.assignments),
        content_hash: Set(object.content_hash),
        created_at: Set(Utc::now()),
    }
}

/// One row of [`add_snapshot_items`]' insert. The JSON goes in as its text (cast to `jsonb`
/// on PostgreSQL): a statement then holds each object once, compactly, rather than as
/// copies of its tree.
fn snapshot_item_values(
    backend: DbBackend,
    snapshot: &snapshots::Model,
    object: CapturedObject,
    created_at: chrono::DateTime<Utc>,
) -> [Expr; 10] {
    let json = |v: &Json| {
        let text = Expr::value(v.to_string());
        match backend {
            DbBackend::Postgres => Func::cast_as(text, "jsonb").into(),
            _ => text,
        }
    };
    [
        Expr::value(Uuid::now_v7()),
        Expr::value(snapshot.tenant_id),
        Expr::value(snapshot.id),
        Expr::value(object.policy_type),
        Expr::value(object.source_id),
        Expr::value(object.display_name),
        json(&object.payload),
        json(&object.assignments),
        Expr::value(object.content_hash),
        Expr::value(created_at),
    ]
}

/// Stores one captured object in a snapshot (see [`add_snapshot_items`]); returns its row.
pub async fn add_snapshot_item(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
    object: &CapturedObject,
) -> StoreResult<snapshot_items::Model> {
    let ids = add_snapshot_items(db, snapshot, vec![object.clone()]).await?;
    let id = ids.first().copied().ok_or(StoreError::NotFound)?;
    snapshot_items::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The multi-row upsert of snapshot items, without its rows: an object an earlier attempt
/// stored is replaced in place (its row keeps its id).
fn snapshot_items_upsert() -> sea_orm::sea_query::InsertStatement {
    let mut insert = Query::insert();
    insert
        .into_table(snapshot_items::Entity)
        .columns([
            snapshot_items::Column::Id,
            snapshot_items::Column::TenantId,
            snapshot_items::Column::SnapshotId,
            snapshot_items::Column::PolicyType,
            snapshot_items::Column::SourceId,
            snapshot_items::Column::DisplayName,
            snapshot_items::Column::Payload,
            snapshot_items::Column::Assignments,
            snapshot_items::Column::ContentHash,
            snapshot_items::Column::CreatedAt,
        ])
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
        );
    insert
}

/// Stores captured objects in a snapshot and records `run`'s results for them (each
/// result's `source_ref` the object's stored row) after `others`, as [`add_snapshot_items`]
/// and then [`run_store::record_items`] would: in one statement on PostgreSQL when they fit
/// in one.
pub async fn add_snapshot_items_recorded(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
    run: &entity::runs::Model,
    stored: Vec<(run_store::ItemResult, CapturedObject)>,
    mut others: Vec<run_store::ItemResult>,
) -> StoreResult<run_store::Counts> {
    let fits =
        stored.len() <= INSERT_CHUNK && stored.len() + others.len() <= run_store::RECORD_AFTER_MAX;
    if stored.is_empty() || !fits || db.get_database_backend() != DbBackend::Postgres {
        let (results, objects): (Vec<_>, Vec<_>) = stored.into_iter().unzip();
        let ids = add_snapshot_items(db, snapshot, objects).await?;
        others.extend(
            results
                .into_iter()
                .zip(ids)
                .map(|(result, id)| run_store::ItemResult {
                    source_ref: Some(id),
                    ..result
                }),
        );
        return run_store::record_items(db, run, others).await;
    }
    // One statement may not touch a row twice: an object listed twice keeps its last copy.
    let key = |o: &CapturedObject| (o.policy_type.clone(), o.source_id.clone());
    let last: HashMap<(String, String), usize> = stored
        .iter()
        .enumerate()
        .map(|(i, (_, object))| (key(object), i))
        .collect();
    let mut write = snapshot_items_upsert();
    write.returning(Query::returning().columns([
        snapshot_items::Column::Id,
        snapshot_items::Column::PolicyType,
        snapshot_items::Column::SourceId,
    ]));
    let mut results: Vec<_> = others.into_iter().map(|result| (result, None)).collect();
    let created_at = Utc::now();
    for (i, (result, object)) in stored.into_iter().enumerate() {
        let (policy_type, source_id) = key(&object);
        // The id the upsert stored or kept for the object.
        let stored_id = Expr::cust_with_values(
            "(SELECT stored.id FROM stored WHERE stored.policy_type = $1 AND stored.source_id = $2)",
            [policy_type.clone(), source_id.clone()],
        );
        results.push((result, Some(stored_id)));
        if last.get(&(policy_type, source_id)) == Some(&i) {
            write
                .values(snapshot_item_values(
                    DbBackend::Postgres,
                    snapshot,
                    object,
                    created_at,
                ))
                .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?;
        }
    }
    let prelude = run_store::Prelude {
        name: "stored",
        write,
    };
    run_store::record_items_after(db, run, prelude, results).await
}

/// Rows of one multi-row insert of snapshot items (10 columns each).
const INSERT_CHUNK: usize = 200;

/// Stores captured objects in a snapshot (replacing what an earlier attempt stored for the
/// same object) in multi-row statements; returns the stored rows' ids in `objects`' order.
pub async fn add_snapshot_items(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
    objects: Vec<CapturedObject>,
) -> StoreResult<Vec<Uuid>> {
    let keys: Vec<(String, String)> = objects
        .iter()
        .map(|o| (o.policy_type.clone(), o.source_id.clone()))
        .collect();
    // One statement may not touch a row twice: an object listed twice keeps its last copy.
    let mut last: HashMap<&(String, String), usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        last.insert(key, i);
    }
    let backend = db.get_database_backend();
    let returning = db.support_returning();
    // The ids as stored: an object kept by an earlier attempt keeps its row's id.
    let mut ids: HashMap<(String, String), Uuid> = HashMap::with_capacity(keys.len());
    let created_at = Utc::now();
    let mut rows = objects
        .into_iter()
        .enumerate()
        .filter(|(i, _)| last.get(&keys[*i]) == Some(i))
        .map(|(_, object)| snapshot_item_values(backend, snapshot, object, created_at))
        .peekable();
    while rows.peek().is_some() {
        let mut insert = snapshot_items_upsert();
        for row in rows.by_ref().take(INSERT_CHUNK) {
            insert
                .values(row)
                .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?;
        }
        if returning {
            // The upsert answers with every row it wrote, inserted or updated.
            insert.returning(Query::returning().columns([
                snapshot_items::Column::Id,
                snapshot_items::Column::PolicyType,
                snapshot_items::Column::SourceId,
            ]));
            for row in db.query_all(&insert).await? {
                let id: Uuid = row.try_get("", "id")?;
                let policy_type: String = row.try_get("", "policy_type")?;
                let source_id: String = row.try_get("", "source_id")?;
                ids.insert((policy_type, source_id), id);
            }
        } else {
            db.execute(&insert).await?;
        }
    }
    if !returning {
        read_item_ids(db, snapshot, &keys, &mut ids).await?;
    }
    keys.iter()
        .map(|key| ids.get(key).copied().ok_or(StoreError::NotFound))
        .collect()
}

/// The stored ids of `keys` in `snapshot`, for backends whose upsert cannot return them.
async fn read_item_ids(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
    keys: &[(String, String)],
    ids: &mut HashMap<(String, String), Uuid>,
) -> StoreResult<()> {
    let source_ids: Vec<&str> = keys.iter().map(|(_, id)| id.as_str()).collect();
    for chunk in source_ids.chunks(INSERT_CHUNK * 5) {
        let rows: Vec<(Uuid, String, String)> = snapshot_items::Entity::find()
            .select_only()
            .column(snapshot_items::Column::Id)
            .column(snapshot_items::Column::PolicyType)
            .column(snapshot_items::Column::SourceId)
            .filter(snapshot_items::Column::SnapshotId.eq(snapshot.id))
            .filter(snapshot_items::Column::SourceId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        ids.extend(rows.into_iter().map(|(id, t, s)| ((t, s), id)));
    }
    Ok(())
}

/// Stores the final item count of a snapshot (one its run filled).
pub async fn seal_snapshot(
    db: &impl ConnectionTrait,
    snapshot: &snapshots::Model,
) -> StoreResult<()> {
    let snapshot_id = snapshot.id;
    // Counted by the update itself: one statement.
    let count = Query::select()
        .expr(Expr::col(snapshot_items::Column::Id).count())
        .from(snapshot_items::Entity)
        .and_where(Expr::col(snapshot_items::Column::SnapshotId).eq(snapshot_id))
        .to_owned();
    snapshots::Entity::update_many()
        .col_expr(snapshots::Column::ItemCount, Expr::from(count))
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

/// What follows the end of a capture, read by [`seal_capture`] in the statement that seals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedCapture {
    /// The capture this one is compared with, and when it was taken: the latest of the
    /// tenant's 50 captures before it over the same policy types whose run succeeded (a
    /// capture that could not read a type would show its objects as removed).
    pub previous: Option<(Uuid, DateTime<Utc>)>,
    /// The tenant has a baseline to compare the capture with.
    pub has_baseline: bool,
}

/// [`seal_snapshot`] for a capture's snapshot, returning what follows it: one statement
/// (`RETURNING` with correlated subqueries, on PostgreSQL and SQLite alike).
pub async fn seal_capture(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    snapshot: &snapshots::Model,
) -> StoreResult<SealedCapture> {
    let backend = db.get_database_backend();
    let p = |i| crate::store::placeholder(backend, i);
    let previous = |column: &str| {
        format!(
            "(SELECT q.{column} FROM (SELECT o.id, o.run_id, o.created_at, o.policy_types \
             FROM snapshots o WHERE o.tenant_id = snapshots.tenant_id AND o.purpose = '{SNAPSHOT_CAPTURE}' \
             AND o.id < snapshots.id ORDER BY o.id DESC LIMIT 50) AS q \
             JOIN runs r ON r.id = q.run_id AND r.tenant_id = snapshots.tenant_id \
             WHERE r.status = '{}' AND q.policy_types = snapshots.policy_types \
             ORDER BY q.id DESC LIMIT 1)",
            entity::enums::RunStatus::Succeeded.as_str()
        )
    };
    let sql = format!(
        "UPDATE snapshots SET item_count = \
         (SELECT COUNT(i.id) FROM snapshot_items i WHERE i.snapshot_id = {}) \
         WHERE snapshots.id = {} AND snapshots.tenant_id = {} \
         RETURNING {} AS previous_id, {} AS previous_at, \
         EXISTS (SELECT 1 FROM baselines b WHERE b.tenant_id = snapshots.tenant_id) AS has_baseline",
        p(1),
        p(2),
        p(3),
        previous("id"),
        previous("created_at"),
    );
    let values = [
        snapshot.id.into(),
        snapshot.id.into(),
        scope.tenant_id().into(),
    ];
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
        .ok_or(StoreError::NotFound)?;
    let previous_id: Option<Uuid> = row.try_get("", "previous_id")?;
    let previous_at: Option<DateTime<Utc>> = row.try_get("", "previous_at")?;
    Ok(SealedCapture {
        previous: previous_id.zip(previous_at),
        has_baseline: row.try_get("", "has_baseline")?,
    })
}

/// Stores what changed in `snapshot` since `previous`.
pub async fn record_changes(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    snapshot_id: Uuid,
    previous_id: Uuid,
    changes: Json,
) -> StoreResult<()> {
    snapshots::Entity::update_many()
        .col_expr(
            snapshots::Column::PreviousSnapshotId,
            Expr::value(previous_id),
        )
        .col_expr(snapshots::Column::Changes, Expr::value(changes))
        .filter(snapshots::Column::Id.eq(snapshot_id))
        .filter(snapshots::Column::TenantId.eq(scope.tenant_id()))
        .exec(db)
        .await?;
    Ok(())
}

/// Every capture of one object, oldest first (at most the latest `limit`): the snapshots of
/// the tenant's captures that hold it, with the item.
pub async fn object_history(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    policy_type: &str,
    source_id: &str,
    limit: u64,
) -> StoreResult<Vec<(snapshots::Model, snapshot_items::Model)>> {
    let items = snapshot_items::Entity::find()
        .filter(snapshot_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshot_items::Column::PolicyType.eq(policy_type))
        .filter(snapshot_items::Column::SourceId.eq(source_id))
        .order_by_desc(snapshot_items::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = items.iter().map(|i| i.snapshot_id).collect();
    let snapshots: std::collections::HashMap<Uuid, snapshots::Model> = snapshots::Entity::find()
        .filter(snapshots::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshots::Column::Purpose.eq(SNAPSHOT_CAPTURE))
        .filter(snapshots::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out: Vec<(snapshots::Model, snapshot_items::Model)> = items
        .into_iter()
        .filter_map(|i| Some((snapshots.get(&i.snapshot_id)?.clone(), i)))
        .collect();
    out.sort_by_key(|(s, _)| s.id);
    Ok(out)
}

/// A snapshot item as the diff engine reads it.
pub fn as_captured(i: &snapshot_items::Model) -> crate::graph::compare::Captured<'_> {
    crate::graph::compare::Captured {
        policy_type: &i.policy_type,
        graph_id: &i.source_id,
        display_name: &i.display_name,
        payload: &i.payload,
        assignments: &i.assignments,
    }
}

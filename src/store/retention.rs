//! Retention: what a tenant keeps (the global settings, overridden per tenant) and what a
//! `prune` run may delete at a given time.
//!
//! [`plan`] is pure database reading at an instant the caller gives (the worker: now; tests:
//! any clock), so which rows go is decided in one place and tested without waiting days.
//! The deletions themselves ([`delete_snapshot`], [`delete_versions`], [`delete_runs`]) are
//! guarded again at the moment they run: a snapshot a run started reading since the plan,
//! or a run that is no longer terminal, is left alone.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::enums::RunStatus;
use entity::{backup_items, backup_sets, run_items, runs, snapshot_items, snapshots};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use super::content::{SNAPSHOT_CAPTURE, SNAPSHOT_PRE_RESTORE};
use super::{StoreResult, TenantScope};
use crate::settings::RetentionSettings;

/// The rules one tenant is pruned by (0 turns a rule off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Policy {
    pub snapshot_days: u32,
    pub snapshot_keep: u32,
    pub backup_versions_keep: u32,
    pub run_days: u32,
    /// Global only: how long a live restore stays undoable.
    pub undo_window_days: u32,
}

impl Policy {
    pub fn of(settings: &RetentionSettings) -> Self {
        Self {
            snapshot_days: settings.snapshot_days,
            snapshot_keep: settings.snapshot_keep,
            backup_versions_keep: settings.backup_versions_keep,
            run_days: settings.run_days,
            undo_window_days: settings.undo_window_days,
        }
    }
}

/// A tenant's overrides; `None` keeps the global value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Overrides {
    pub snapshot_days: Option<u32>,
    pub snapshot_keep: Option<u32>,
    pub backup_versions_keep: Option<u32>,
    pub run_days: Option<u32>,
}

impl Overrides {
    fn of(row: &entity::tenant_retention::Model) -> Self {
        let u = |v: Option<i32>| v.map(|v| u32::try_from(v).unwrap_or(0));
        Self {
            snapshot_days: u(row.snapshot_days),
            snapshot_keep: u(row.snapshot_keep),
            backup_versions_keep: u(row.backup_versions_keep),
            run_days: u(row.run_days),
        }
    }

    pub fn apply(&self, global: Policy) -> Policy {
        Policy {
            snapshot_days: self.snapshot_days.unwrap_or(global.snapshot_days),
            snapshot_keep: self.snapshot_keep.unwrap_or(global.snapshot_keep),
            backup_versions_keep: self
                .backup_versions_keep
                .unwrap_or(global.backup_versions_keep),
            run_days: self.run_days.unwrap_or(global.run_days),
            undo_window_days: global.undo_window_days,
        }
    }
}

/// The tenant's overrides (none stored: all `None`).
pub async fn overrides(db: &impl ConnectionTrait, scope: &TenantScope) -> StoreResult<Overrides> {
    Ok(
        entity::tenant_retention::Entity::find_by_id(scope.tenant_id())
            .one(db)
            .await?
            .map(|row| Overrides::of(&row))
            .unwrap_or_default(),
    )
}

/// The rules the tenant is pruned by: the global settings with its overrides applied.
pub async fn policy(
    db: &impl ConnectionTrait,
    settings: &RetentionSettings,
    scope: &TenantScope,
) -> StoreResult<Policy> {
    Ok(overrides(db, scope).await?.apply(Policy::of(settings)))
}

/// Replaces the tenant's overrides (all `None` removes them).
pub async fn set_overrides(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    overrides: Overrides,
    by: Uuid,
) -> StoreResult<()> {
    use entity::tenant_retention as tr;
    tr::Entity::delete_by_id(scope.tenant_id()).exec(db).await?;
    if overrides == Overrides::default() {
        return Ok(());
    }
    let i = |v: Option<u32>| v.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
    tr::ActiveModel {
        tenant_id: Set(scope.tenant_id()),
        snapshot_days: Set(i(overrides.snapshot_days)),
        snapshot_keep: Set(i(overrides.snapshot_keep)),
        backup_versions_keep: Set(i(overrides.backup_versions_keep)),
        run_days: Set(i(overrides.run_days)),
        updated_by: Set(Some(by)),
        updated_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Why a snapshot the rules would delete is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// The tenant's newest capture snapshot.
    Newest,
    /// A queued or running run reads it.
    InUse,
    /// A pre-restore copy whose restore can still be undone.
    UndoWindow,
}

impl Protection {
    pub fn code(self) -> &'static str {
        match self {
            Protection::Newest => "newest_snapshot",
            Protection::InUse => "in_use",
            Protection::UndoWindow => "undo_window",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    pub id: Uuid,
    pub purpose: String,
    pub created_at: DateTime<Utc>,
    pub item_count: i32,
}

/// Old versions of one backup set's objects.
#[derive(Debug, Clone)]
pub struct VersionBatch {
    pub backup_set_id: Uuid,
    pub backup_set_name: String,
    pub ids: Vec<Uuid>,
}

/// What pruning the tenant at `now` deletes, and what it keeps although a rule says delete.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub snapshots: Vec<SnapshotEntry>,
    pub protected: Vec<(SnapshotEntry, Protection)>,
    pub versions: Vec<VersionBatch>,
    /// Finished runs older than the run rule (live restores still undoable excluded).
    pub runs: Vec<Uuid>,
    /// The cut-off of the run rule, if it is on.
    pub runs_before: Option<DateTime<Utc>>,
}

/// Decides what pruning the tenant of `scope` at `now` by `policy` deletes. `in_use`: ids of
/// snapshots queued or running runs read (of any tenant: a cross-tenant restore reads this
/// one's); `running`: the pruning run itself, never deleted.
pub async fn plan(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    policy: Policy,
    now: DateTime<Utc>,
    in_use: &HashSet<Uuid>,
) -> StoreResult<Plan> {
    let tenant_id = scope.tenant_id();
    let mut plan = Plan::default();
    let days = |d: u32| now - Duration::days(i64::from(d));
    let undo_cutoff = days(policy.undo_window_days);

    // Snapshots, newest first.
    let rows = snapshots::Entity::find()
        .filter(snapshots::Column::TenantId.eq(tenant_id))
        .order_by_desc(snapshots::Column::CreatedAt)
        .order_by_desc(snapshots::Column::Id)
        .all(db)
        .await?;
    let mut rank = 0u32;
    for row in rows {
        let entry = SnapshotEntry {
            id: row.id,
            purpose: row.purpose.clone(),
            created_at: row.created_at,
            item_count: row.item_count,
        };
        let aged = policy.snapshot_days > 0 && row.created_at < days(policy.snapshot_days);
        let (expired, protection) = if row.purpose == SNAPSHOT_PRE_RESTORE {
            // Pre-restore copies follow the age rule, and outlive the undo window.
            let protection = (row.created_at >= undo_cutoff).then_some(Protection::UndoWindow);
            (aged, protection)
        } else {
            let outranked = policy.snapshot_keep > 0 && rank >= policy.snapshot_keep;
            let expired = match (policy.snapshot_days > 0, policy.snapshot_keep > 0) {
                (true, true) => aged && outranked,
                (true, false) => aged,
                (false, true) => outranked,
                (false, false) => false,
            };
            let protection =
                (rank == 0 && row.purpose == SNAPSHOT_CAPTURE).then_some(Protection::Newest);
            rank += 1;
            (expired, protection)
        };
        if !expired {
            continue;
        }
        let protection = protection.or(in_use.contains(&row.id).then_some(Protection::InUse));
        match protection {
            Some(p) => plan.protected.push((entry, p)),
            None => plan.snapshots.push(entry),
        }
    }

    // Backup-set versions beyond the newest K of each object (the latest is always kept).
    if policy.backup_versions_keep > 0 {
        let sets: HashMap<Uuid, String> = backup_sets::Entity::find()
            .filter(backup_sets::Column::TenantId.eq(tenant_id))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let versions: Vec<(Uuid, Uuid, String, String, i32, bool)> = backup_items::Entity::find()
            .select_only()
            .column(backup_items::Column::Id)
            .column(backup_items::Column::BackupSetId)
            .column(backup_items::Column::PolicyType)
            .column(backup_items::Column::SourceId)
            .column(backup_items::Column::Version)
            .column(backup_items::Column::IsLatest)
            .filter(backup_items::Column::TenantId.eq(tenant_id))
            .order_by_asc(backup_items::Column::BackupSetId)
            .order_by_asc(backup_items::Column::PolicyType)
            .order_by_asc(backup_items::Column::SourceId)
            .order_by_desc(backup_items::Column::Version)
            .into_tuple()
            .all(db)
            .await?;
        let mut batches: Vec<VersionBatch> = Vec::new();
        let mut object: Option<(Uuid, String, String)> = None;
        let mut seen = 0u32;
        for (id, set, policy_type, source_id, _version, latest) in versions {
            let key = (set, policy_type, source_id);
            if object.as_ref() != Some(&key) {
                object = Some(key);
                seen = 0;
            }
            seen += 1;
            if seen <= policy.backup_versions_keep || latest {
                continue;
            }
            match batches.last_mut() {
                Some(b) if b.backup_set_id == set => b.ids.push(id),
                _ => batches.push(VersionBatch {
                    backup_set_id: set,
                    backup_set_name: sets.get(&set).cloned().unwrap_or_default(),
                    ids: vec![id],
                }),
            }
        }
        plan.versions = batches;
    }

    // Finished runs older than the rule.
    if policy.run_days > 0 {
        let before = days(policy.run_days);
        plan.runs_before = Some(before);
        let old: Vec<(Uuid, entity::enums::RunOperation, Option<DateTime<Utc>>)> =
            runs::Entity::find()
                .select_only()
                .column(runs::Column::Id)
                .column(runs::Column::Operation)
                .column(runs::Column::FinishedAt)
                .filter(runs::Column::TenantId.eq(tenant_id))
                .filter(runs::Column::Status.is_in(terminal_statuses()))
                .filter(runs::Column::FinishedAt.lt(before))
                .into_tuple()
                .all(db)
                .await?;
        // Runs an active run follows from (a re-run or undo in flight) stay.
        let parents: HashSet<Uuid> = runs::Entity::find()
            .select_only()
            .column(runs::Column::ParentRunId)
            .filter(runs::Column::TenantId.eq(tenant_id))
            .filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
            .filter(runs::Column::ParentRunId.is_not_null())
            .into_tuple::<Option<Uuid>>()
            .all(db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        plan.runs = old
            .into_iter()
            .filter(|(id, op, finished)| {
                let undoable = op.writes_to_tenant() && finished.is_some_and(|f| f >= undo_cutoff);
                !undoable && !parents.contains(id)
            })
            .map(|(id, ..)| id)
            .collect();
    }
    Ok(plan)
}

fn terminal_statuses() -> [RunStatus; 4] {
    [
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Partial,
        RunStatus::Canceled,
    ]
}

/// `CAST(COALESCE(SUM(LENGTH(CAST(a AS TEXT)) + ...), 0) AS BIGINT)`: the stored size of
/// JSON columns, the same on PostgreSQL and SQLite.
fn json_bytes(columns: &[&str]) -> Expr {
    let sum = columns
        .iter()
        .map(|c| format!("COALESCE(LENGTH(CAST({c} AS TEXT)), 0)"))
        .collect::<Vec<_>>()
        .join(" + ");
    Expr::cust(format!("CAST(COALESCE(SUM({sum}), 0) AS BIGINT)"))
}

/// Deletes one snapshot of the tenant (its items go with it) unless `in_use` names it now.
/// Returns the bytes of content reclaimed, `None` when it was kept or already gone.
pub async fn delete_snapshot(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    id: Uuid,
    in_use: &HashSet<Uuid>,
) -> StoreResult<Option<i64>> {
    if in_use.contains(&id) {
        return Ok(None);
    }
    let txn = db.begin().await?;
    let bytes: Option<i64> = snapshot_items::Entity::find()
        .select_only()
        .expr(json_bytes(&["payload", "assignments"]))
        .filter(snapshot_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshot_items::Column::SnapshotId.eq(id))
        .into_tuple()
        .one(&txn)
        .await?;
    let deleted = snapshots::Entity::delete_many()
        .filter(snapshots::Column::TenantId.eq(scope.tenant_id()))
        .filter(snapshots::Column::Id.eq(id))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok((deleted > 0).then_some(bytes.unwrap_or(0)))
}

/// Deletes old backup-item versions of the tenant (never a latest one); returns how many and
/// their bytes.
pub async fn delete_versions(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    ids: &[Uuid],
) -> StoreResult<(u64, i64)> {
    let mut deleted = 0;
    let mut bytes = 0;
    for chunk in ids.chunks(500) {
        let txn = db.begin().await?;
        let filter = || {
            backup_items::Column::TenantId
                .eq(scope.tenant_id())
                .and(backup_items::Column::Id.is_in(chunk.iter().copied()))
                .and(backup_items::Column::IsLatest.eq(false))
        };
        let size: Option<i64> = backup_items::Entity::find()
            .select_only()
            .expr(json_bytes(&["payload", "assignments"]))
            .filter(filter())
            .into_tuple()
            .one(&txn)
            .await?;
        deleted += backup_items::Entity::delete_many()
            .filter(filter())
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        bytes += size.unwrap_or(0);
    }
    Ok((deleted, bytes))
}

/// Deletes finished runs of the tenant and their item results (anything else that names them
/// keeps its row, without the link); returns runs and item results deleted, and their bytes.
pub async fn delete_runs(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    ids: &[Uuid],
) -> StoreResult<(u64, u64, i64)> {
    let (mut deleted, mut items, mut bytes) = (0, 0, 0);
    for chunk in ids.chunks(500) {
        let txn = db.begin().await?;
        let ids = || chunk.iter().copied();
        let run_filter = || {
            runs::Column::TenantId
                .eq(scope.tenant_id())
                .and(runs::Column::Id.is_in(ids()))
                .and(runs::Column::Status.is_in(terminal_statuses()))
        };
        let kept: Vec<Uuid> = runs::Entity::find()
            .select_only()
            .column(runs::Column::Id)
            .filter(run_filter())
            .into_tuple()
            .all(&txn)
            .await?;
        let run_bytes: Option<i64> = runs::Entity::find()
            .select_only()
            .expr(json_bytes(&["params", "summary"]))
            .filter(run_filter())
            .into_tuple()
            .one(&txn)
            .await?;
        let item_filter = || {
            run_items::Column::TenantId
                .eq(scope.tenant_id())
                .and(run_items::Column::RunId.is_in(kept.iter().copied()))
        };
        let item_bytes: Option<i64> = run_items::Entity::find()
            .select_only()
            .expr(json_bytes(&["diff", "error_message", "display_name"]))
            .filter(item_filter())
            .into_tuple()
            .one(&txn)
            .await?;
        items += run_items::Entity::delete_many()
            .filter(item_filter())
            .exec(&txn)
            .await?
            .rows_affected;
        deleted += runs::Entity::delete_many()
            .filter(run_filter())
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        bytes += run_bytes.unwrap_or(0) + item_bytes.unwrap_or(0);
    }
    Ok((deleted, items, bytes))
}

/// Operation and parameters of every queued or running run (of any tenant), for finding the
/// snapshots they read.
pub async fn active_specs(
    db: &impl ConnectionTrait,
) -> StoreResult<Vec<(entity::enums::RunOperation, serde_json::Value)>> {
    Ok(runs::Entity::find()
        .select_only()
        .column(runs::Column::Operation)
        .column(runs::Column::Params)
        .filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .into_tuple()
        .all(db)
        .await?)
}

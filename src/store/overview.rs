//! The health of many tenants at once, for the tenants overview: each tenant's latest run,
//! its latest finished capture or connection test, when it last had a successful backup, its
//! schedules and its drift. A fixed number of grouped queries for any number of tenants
//! (chunked at 500 ids), never one query per tenant.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::{RunOperation, RunStatus};
use entity::{baselines, drift_reports, runs, schedules};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{StoreResult, TenantScope};

/// What the overview knows about one tenant.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// The newest run of any operation.
    pub latest: Option<runs::Model>,
    /// The newest finished capture (snapshot or backup set) or connection test: failed or
    /// partial means the tenant is failing.
    pub latest_check: Option<runs::Model>,
    /// When a capture last succeeded.
    pub last_backup_at: Option<DateTime<Utc>>,
    pub schedules: u32,
    pub schedules_enabled: u32,
    /// The latest drift report against the tenant's baseline, if it has one.
    pub drift: Option<Drift>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    pub score: f64,
    /// Missing + extra + differing entries.
    pub entries: i32,
}

impl Health {
    pub fn failing(&self) -> bool {
        self.latest_check
            .as_ref()
            .is_some_and(|r| matches!(r.status, RunStatus::Failed | RunStatus::Partial))
    }
}

const CHECKS: [RunOperation; 3] = [
    RunOperation::CaptureSnapshot,
    RunOperation::BackupSetCapture,
    RunOperation::ConnectionTest,
];
const CAPTURES: [RunOperation; 2] = [
    RunOperation::CaptureSnapshot,
    RunOperation::BackupSetCapture,
];
const FINISHED: [RunStatus; 4] = [
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::Partial,
    RunStatus::Canceled,
];

/// The health of each of the given tenants (a tenant with nothing yet has the default).
pub async fn health(
    db: &impl ConnectionTrait,
    scopes: &[TenantScope],
) -> StoreResult<HashMap<Uuid, Health>> {
    let mut out: HashMap<Uuid, Health> = scopes
        .iter()
        .map(|s| (s.tenant_id(), Health::default()))
        .collect();
    for chunk in scopes.chunks(500) {
        let ids: Vec<Uuid> = chunk.iter().map(TenantScope::tenant_id).collect();
        for run in newest_runs(db, &ids, None).await? {
            if let Some(h) = out.get_mut(&run.tenant_id) {
                h.latest = Some(run);
            }
        }
        for run in newest_runs(db, &ids, Some((&CHECKS, &FINISHED))).await? {
            if let Some(h) = out.get_mut(&run.tenant_id) {
                h.latest_check = Some(run);
            }
        }
        let backups: Vec<(Uuid, Option<DateTime<Utc>>)> = runs::Entity::find()
            .select_only()
            .column(runs::Column::TenantId)
            .column_as(runs::Column::FinishedAt.max(), "finished")
            .filter(runs::Column::TenantId.is_in(ids.clone()))
            .filter(runs::Column::Operation.is_in(CAPTURES))
            .filter(runs::Column::Status.eq(RunStatus::Succeeded))
            .group_by(runs::Column::TenantId)
            .into_tuple()
            .all(db)
            .await?;
        for (tenant, at) in backups {
            if let Some(h) = out.get_mut(&tenant) {
                h.last_backup_at = at;
            }
        }
        let counts: Vec<(Uuid, bool, i64)> = schedules::Entity::find()
            .select_only()
            .column(schedules::Column::TenantId)
            .column(schedules::Column::Enabled)
            .column_as(schedules::Column::Id.count(), "n")
            .filter(schedules::Column::TenantId.is_in(ids.clone()))
            .group_by(schedules::Column::TenantId)
            .group_by(schedules::Column::Enabled)
            .into_tuple()
            .all(db)
            .await?;
        for (tenant, enabled, n) in counts {
            if let Some(h) = out.get_mut(&tenant) {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                h.schedules += n;
                if enabled {
                    h.schedules_enabled += n;
                }
            }
        }
        let reports: Vec<Uuid> = baselines::Entity::find()
            .filter(baselines::Column::TenantId.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|b| b.latest_report_id)
            .collect();
        if !reports.is_empty() {
            let rows: Vec<(Uuid, f64, i32, i32, i32)> = drift_reports::Entity::find()
                .select_only()
                .column(drift_reports::Column::TenantId)
                .column(drift_reports::Column::Score)
                .column(drift_reports::Column::Missing)
                .column(drift_reports::Column::Extra)
                .column(drift_reports::Column::Differing)
                .filter(drift_reports::Column::Id.is_in(reports))
                .filter(drift_reports::Column::TenantId.is_in(ids.clone()))
                .into_tuple()
                .all(db)
                .await?;
            for (tenant, score, missing, extra, differing) in rows {
                if let Some(h) = out.get_mut(&tenant) {
                    h.drift = Some(Drift {
                        score,
                        entries: missing + extra + differing,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The newest run of each tenant (optionally of these operations in these states): the
/// newest creation time per tenant, then the runs created at those times.
async fn newest_runs(
    db: &impl ConnectionTrait,
    tenants: &[Uuid],
    only: Option<(&[RunOperation], &[RunStatus])>,
) -> StoreResult<Vec<runs::Model>> {
    let restrict = |query: sea_orm::Select<runs::Entity>| match only {
        Some((operations, statuses)) => query
            .filter(runs::Column::Operation.is_in(operations.iter().copied()))
            .filter(runs::Column::Status.is_in(statuses.iter().copied())),
        None => query,
    };
    let newest: Vec<(Uuid, DateTime<Utc>)> = restrict(runs::Entity::find())
        .select_only()
        .column(runs::Column::TenantId)
        .column_as(runs::Column::QueuedAt.max(), "newest")
        .filter(runs::Column::TenantId.is_in(tenants.iter().copied()))
        .group_by(runs::Column::TenantId)
        .into_tuple()
        .all(db)
        .await?;
    if newest.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: HashMap<Uuid, DateTime<Utc>> = newest.iter().copied().collect();
    let mut pairs = sea_orm::Condition::any();
    for (tenant, at) in &newest {
        pairs = pairs.add(
            Expr::col(runs::Column::TenantId)
                .eq(*tenant)
                .and(Expr::col(runs::Column::QueuedAt).eq(*at)),
        );
    }
    let rows = restrict(runs::Entity::find()).filter(pairs).all(db).await?;
    // Two runs created in the same instant: the greater id (both are time-ordered).
    let mut best: HashMap<Uuid, runs::Model> = HashMap::new();
    for run in rows {
        if wanted.get(&run.tenant_id) != Some(&run.queued_at) {
            continue;
        }
        match best.get(&run.tenant_id) {
            Some(kept) if kept.id >= run.id => {}
            _ => {
                best.insert(run.tenant_id, run);
            }
        }
    }
    Ok(best.into_values().collect())
}

/// Display names of restore sources: backup sets by name, snapshots by time — only those of
/// the given tenants (the caller's), by id.
pub async fn source_names(
    db: &impl ConnectionTrait,
    scopes: &[TenantScope],
    backup_sets: &[Uuid],
    snapshots: &[Uuid],
) -> StoreResult<HashMap<Uuid, String>> {
    let tenants: Vec<Uuid> = scopes.iter().map(TenantScope::tenant_id).collect();
    let mut out = HashMap::new();
    if !backup_sets.is_empty() && !tenants.is_empty() {
        for set in entity::backup_sets::Entity::find()
            .filter(entity::backup_sets::Column::Id.is_in(backup_sets.iter().copied()))
            .filter(entity::backup_sets::Column::TenantId.is_in(tenants.clone()))
            .all(db)
            .await?
        {
            out.insert(set.id, format!("backup set {}", set.name));
        }
    }
    if !snapshots.is_empty() && !tenants.is_empty() {
        for snapshot in entity::snapshots::Entity::find()
            .filter(entity::snapshots::Column::Id.is_in(snapshots.iter().copied()))
            .filter(entity::snapshots::Column::TenantId.is_in(tenants))
            .all(db)
            .await?
        {
            out.insert(
                snapshot.id,
                format!(
                    "snapshot of {}",
                    snapshot.created_at.format("%Y-%m-%d %H:%M UTC")
                ),
            );
        }
    }
    Ok(out)
}

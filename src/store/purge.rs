//! Purging a tenant: deleting everything stored for it but the tenant row itself, its
//! memberships, its audit trail and the purge run. One [`Part`] at a time, each in its own
//! transaction and safe to repeat, so a purge taken over by another worker goes on where the
//! first stopped.

use entity::{
    backup_sets, baselines, drift_exceptions, drift_reports, notifications, object_mappings, runs,
    schedules, snapshots, tenant_retention, uploads, webhooks,
};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use uuid::Uuid;

use super::{StoreResult, TenantScope, retention};

/// What a purge deletes, in the order it deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Schedules,
    Webhooks,
    Drift,
    Snapshots,
    BackupSets,
    Uploads,
    Mappings,
    Runs,
    Notifications,
    Settings,
}

impl Part {
    pub const ALL: [Part; 10] = [
        Part::Schedules,
        Part::Webhooks,
        Part::Drift,
        Part::Snapshots,
        Part::BackupSets,
        Part::Uploads,
        Part::Mappings,
        Part::Runs,
        Part::Notifications,
        Part::Settings,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Part::Schedules => "purge/schedules",
            Part::Webhooks => "purge/webhooks",
            Part::Drift => "purge/drift",
            Part::Snapshots => "purge/snapshots",
            Part::BackupSets => "purge/backup-sets",
            Part::Uploads => "purge/uploads",
            Part::Mappings => "purge/object-mappings",
            Part::Runs => "purge/runs",
            Part::Notifications => "purge/notifications",
            Part::Settings => "purge/settings",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Part::Schedules => "Schedules",
            Part::Webhooks => "Webhooks",
            Part::Drift => "Baseline, drift reports and exceptions",
            Part::Snapshots => "Snapshots and their objects",
            Part::BackupSets => "Backup sets and their versions",
            Part::Uploads => "Uploaded archives",
            Part::Mappings => "Restore mappings to and from other tenants",
            Part::Runs => "Finished runs and their item results",
            Part::Notifications => "Notifications",
            Part::Settings => "Retention settings",
        }
    }
}

/// Deletes one part of the tenant's data; returns how many rows went (top-level rows: a
/// snapshot counts once, with all its objects).
pub async fn delete(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    part: Part,
    purge_run: Uuid,
) -> StoreResult<u64> {
    let tenant = scope.tenant_id();
    let txn = db.begin().await?;
    let deleted = match part {
        Part::Schedules => {
            schedules::Entity::delete_many()
                .filter(schedules::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::Webhooks => {
            webhooks::Entity::delete_many()
                .filter(webhooks::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::Drift => {
            let mut n = drift_exceptions::Entity::delete_many()
                .filter(drift_exceptions::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected;
            n += drift_reports::Entity::delete_many()
                .filter(drift_reports::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected;
            n += baselines::Entity::delete_many()
                .filter(baselines::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected;
            n
        }
        Part::Snapshots => {
            snapshots::Entity::delete_many()
                .filter(snapshots::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::BackupSets => {
            backup_sets::Entity::delete_many()
                .filter(backup_sets::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::Uploads => {
            uploads::Entity::delete_many()
                .filter(uploads::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::Mappings => {
            object_mappings::Entity::delete_many()
                .filter(
                    object_mappings::Column::SourceTenantId
                        .eq(tenant)
                        .or(object_mappings::Column::TargetTenantId.eq(tenant)),
                )
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::Runs => {
            let ids: Vec<Uuid> = runs::Entity::find()
                .select_only()
                .column(runs::Column::Id)
                .filter(runs::Column::TenantId.eq(tenant))
                .filter(runs::Column::Id.ne(purge_run))
                .into_tuple()
                .all(&txn)
                .await?;
            txn.commit().await?;
            // Finished runs only: an active one (there should be none) keeps its row.
            let (runs, _, _) = retention::delete_runs(db, scope, &ids).await?;
            return Ok(runs);
        }
        Part::Notifications => {
            notifications::Entity::delete_many()
                .filter(notifications::Column::TenantId.eq(tenant))
                .filter(
                    notifications::Column::RunId
                        .ne(purge_run)
                        .or(notifications::Column::RunId.is_null()),
                )
                .exec(&txn)
                .await?
                .rows_affected
        }
        Part::Settings => {
            tenant_retention::Entity::delete_many()
                .filter(tenant_retention::Column::TenantId.eq(tenant))
                .exec(&txn)
                .await?
                .rows_affected
        }
    };
    txn.commit().await?;
    Ok(deleted)
}

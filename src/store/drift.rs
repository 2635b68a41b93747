//! Baselines, drift reports and accepted drift exceptions of a tenant.
//!
//! A baseline links a tenant to a backup set that may belong to another tenant. The link is
//! made by an admin of the tenant who is a member of the set's tenant (checked by the web
//! layer); once made, it is what lets the tenant's captures read the set's latest versions
//! ([`baseline_source`]), the way a run claim lets a worker read its run's tenant.

use chrono::Utc;
use entity::{backup_items, backup_sets, baselines, drift_exceptions, drift_reports, tenants};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

/// Drift reports kept per tenant (older ones are pruned when a new one is recorded).
pub const REPORTS_KEPT: u64 = 30;

pub async fn baseline(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> StoreResult<Option<baselines::Model>> {
    Ok(baselines::Entity::find_by_id(scope.tenant_id())
        .one(db)
        .await?)
}

/// Makes `backup_set_id` the tenant's baseline (replacing any other).
pub async fn set_baseline(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    backup_set_id: Uuid,
    set_by: Uuid,
) -> StoreResult<baselines::Model> {
    let row = baselines::ActiveModel {
        tenant_id: Set(scope.tenant_id()),
        backup_set_id: Set(backup_set_id),
        set_by: Set(Some(set_by)),
        set_at: Set(Utc::now()),
        latest_report_id: Set(None),
    };
    baselines::Entity::insert(row)
        .on_conflict(
            OnConflict::column(baselines::Column::TenantId)
                .update_columns([
                    baselines::Column::BackupSetId,
                    baselines::Column::SetBy,
                    baselines::Column::SetAt,
                    baselines::Column::LatestReportId,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    baseline(db, scope).await?.ok_or(StoreError::NotFound)
}

/// Removes the tenant's baseline; false when it had none.
pub async fn clear_baseline(db: &impl ConnectionTrait, scope: &TenantScope) -> StoreResult<bool> {
    let result = baselines::Entity::delete_many()
        .filter(baselines::Column::TenantId.eq(scope.tenant_id()))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The tenant's baseline with its backup set and that set's latest versions (objects the
/// set's tenant no longer has are left out), read through the baseline link.
pub async fn baseline_source(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> StoreResult<Option<BaselineSource>> {
    let Some(baseline) = baseline(db, scope).await? else {
        return Ok(None);
    };
    let Some(set) = backup_sets::Entity::find_by_id(baseline.backup_set_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let items = backup_items::Entity::find()
        .filter(backup_items::Column::TenantId.eq(set.tenant_id))
        .filter(backup_items::Column::BackupSetId.eq(set.id))
        .filter(backup_items::Column::IsLatest.eq(true))
        .filter(backup_items::Column::MissingSince.is_null())
        .order_by_asc(backup_items::Column::PolicyType)
        .order_by_asc(backup_items::Column::SourceId)
        .all(db)
        .await?;
    Ok(Some(BaselineSource {
        set_scope: TenantScope::granted(set.tenant_id),
        baseline,
        set,
        items,
    }))
}

/// What a tenant's captures compare against.
#[derive(Debug)]
pub struct BaselineSource {
    pub baseline: baselines::Model,
    pub set: backup_sets::Model,
    /// The set's tenant, for the object mappings between it and this tenant.
    pub set_scope: TenantScope,
    pub items: Vec<backup_items::Model>,
}

/// A drift report to store.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub snapshot_id: Uuid,
    pub backup_set_id: Uuid,
    pub run_id: Uuid,
    pub drift: crate::graph::drift::Drift,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Stores a report, makes it the baseline's latest and prunes reports past
/// [`REPORTS_KEPT`]. Returns it with the previous latest report, if any.
pub async fn record_report(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    new: NewReport,
) -> StoreResult<(drift_reports::Model, Option<drift_reports::Model>)> {
    let previous = latest_report(db, scope).await?;
    let d = &new.drift;
    let row = drift_reports::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_id()),
        snapshot_id: Set(new.snapshot_id),
        backup_set_id: Set(new.backup_set_id),
        run_id: Set(Some(new.run_id)),
        computed_at: Set(Utc::now()),
        score: Set(d.score),
        baseline_settings: Set(count(d.baseline_settings)),
        matching_settings: Set(count(d.matching_settings)),
        missing: Set(count(d.missing)),
        extra: Set(count(d.extra)),
        differing: Set(count(d.differing)),
        excepted: Set(count(d.excepted)),
        entries: Set(serde_json::to_value(&d.entries).unwrap_or_default()),
    }
    .insert(db)
    .await?;
    baselines::Entity::update_many()
        .col_expr(baselines::Column::LatestReportId, Expr::value(row.id))
        .filter(baselines::Column::TenantId.eq(scope.tenant_id()))
        .filter(baselines::Column::BackupSetId.eq(new.backup_set_id))
        .exec(db)
        .await?;
    let kept: Vec<Uuid> = drift_reports::Entity::find()
        .select_only()
        .column(drift_reports::Column::Id)
        .filter(drift_reports::Column::TenantId.eq(scope.tenant_id()))
        .order_by_desc(drift_reports::Column::Id)
        .limit(REPORTS_KEPT)
        .into_tuple()
        .all(db)
        .await?;
    if let Some(oldest) = kept.last()
        && kept.len() as u64 == REPORTS_KEPT
    {
        drift_reports::Entity::delete_many()
            .filter(drift_reports::Column::TenantId.eq(scope.tenant_id()))
            .filter(drift_reports::Column::Id.lt(*oldest))
            .exec(db)
            .await?;
    }
    Ok((row, previous))
}

/// The tenant's newest drift report.
pub async fn latest_report(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> StoreResult<Option<drift_reports::Model>> {
    Ok(drift_reports::Entity::find()
        .filter(drift_reports::Column::TenantId.eq(scope.tenant_id()))
        .order_by_desc(drift_reports::Column::Id)
        .one(db)
        .await?)
}

/// One tenant's line of the estate's drift summary.
#[derive(Debug, Clone)]
pub struct TenantDrift {
    pub tenant: tenants::Model,
    pub baseline: baselines::Model,
    pub report: Option<drift_reports::Model>,
}

/// The baselines and latest reports of the given tenants (the caller's memberships): worst
/// score first, tenants without a report yet last, then by name.
pub async fn estate(
    db: &impl ConnectionTrait,
    scopes: &[TenantScope],
) -> StoreResult<Vec<TenantDrift>> {
    let ids: Vec<Uuid> = scopes.iter().map(TenantScope::tenant_id).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let rows = baselines::Entity::find()
            .filter(baselines::Column::TenantId.is_in(chunk.iter().copied()))
            .find_also_related(tenants::Entity)
            .all(db)
            .await?;
        let report_ids: Vec<Uuid> = rows
            .iter()
            .filter_map(|(b, _)| b.latest_report_id)
            .collect();
        let mut reports: std::collections::HashMap<Uuid, drift_reports::Model> =
            drift_reports::Entity::find()
                .filter(drift_reports::Column::Id.is_in(report_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        for (baseline, tenant) in rows {
            let Some(tenant) = tenant else { continue };
            let report = baseline.latest_report_id.and_then(|id| reports.remove(&id));
            out.push(TenantDrift {
                tenant,
                baseline,
                report,
            });
        }
    }
    out.sort_by(|a, b| {
        let score = |t: &TenantDrift| t.report.as_ref().map_or(2.0, |r| r.score);
        score(a)
            .total_cmp(&score(b))
            .then_with(|| a.tenant.name.cmp(&b.tenant.name))
    });
    Ok(out)
}

/// An exception to record.
#[derive(Debug, Clone)]
pub struct NewException {
    pub policy_type: String,
    pub graph_id: String,
    pub path: String,
    pub reason: String,
    pub created_by: Uuid,
}

/// Records an accepted difference; a second one for the same setting is a conflict.
pub async fn add_exception(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    new: NewException,
) -> StoreResult<drift_exceptions::Model> {
    Ok(drift_exceptions::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_id()),
        policy_type: Set(new.policy_type),
        graph_id: Set(new.graph_id),
        path: Set(new.path),
        reason: Set(new.reason),
        created_by: Set(Some(new.created_by)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

pub async fn exceptions(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> StoreResult<Vec<drift_exceptions::Model>> {
    Ok(drift_exceptions::Entity::find()
        .filter(drift_exceptions::Column::TenantId.eq(scope.tenant_id()))
        .order_by_asc(drift_exceptions::Column::Id)
        .all(db)
        .await?)
}

/// Deletes one exception; returns it (for the audit trail), or `None` if there was none.
pub async fn remove_exception(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<Option<drift_exceptions::Model>> {
    let Some(row) = drift_exceptions::Entity::find_by_id(id)
        .filter(drift_exceptions::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    drift_exceptions::Entity::delete_many()
        .filter(drift_exceptions::Column::TenantId.eq(scope.tenant_id()))
        .filter(drift_exceptions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(Some(row))
}

/// The entries of a stored report.
pub fn entries(report: &drift_reports::Model) -> Vec<crate::graph::drift::DriftEntry> {
    serde_json::from_value::<Vec<_>>(report.entries.clone()).unwrap_or_default()
}

//! Fan-outs: a parent row per "do this in these tenants", and one child row per tenant naming
//! the ordinary run there. A fan-out belongs to the user who started it; its children are
//! runs of tenants that user was a member of when it started.

use chrono::Utc;
use entity::enums::{RunOperation, RunStatus};
use entity::{fanout_runs, fanouts, runs};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

pub struct NewFanout {
    pub id: Uuid,
    pub initiator_id: Uuid,
    pub operation: RunOperation,
    pub params: Json,
    pub tenant_count: usize,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewFanout) -> StoreResult<fanouts::Model> {
    Ok(fanouts::ActiveModel {
        id: Set(new.id),
        initiator_id: Set(new.initiator_id),
        operation: Set(new.operation),
        params: Set(new.params),
        status: Set(RunStatus::Running),
        tenant_count: Set(i32::try_from(new.tenant_count).unwrap_or(i32::MAX)),
        summary: Set(None),
        started_at: Set(None),
        cancel_requested_at: Set(None),
        created_at: Set(Utc::now()),
        finished_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Names `run_id` as the fan-out's child in the scope's tenant (first writer wins: a retried
/// start keeps the child it has). `joined`: the run existed already (an identical start).
pub async fn add_child(
    db: &impl ConnectionTrait,
    fanout_id: Uuid,
    scope: &TenantScope,
    run_id: Uuid,
    joined: bool,
) -> StoreResult<()> {
    let row = fanout_runs::ActiveModel {
        fanout_id: Set(fanout_id),
        tenant_id: Set(scope.tenant_id()),
        run_id: Set(run_id),
        joined: Set(joined),
    };
    fanout_runs::Entity::insert(row)
        .on_conflict_do_nothing_on([fanout_runs::Column::FanoutId, fanout_runs::Column::TenantId])
        .exec(db)
        .await?;
    Ok(())
}

/// A fan-out of its initiator; anyone else's is not found.
pub async fn get(
    db: &impl ConnectionTrait,
    initiator_id: Uuid,
    id: Uuid,
) -> StoreResult<fanouts::Model> {
    fanouts::Entity::find_by_id(id)
        .filter(fanouts::Column::InitiatorId.eq(initiator_id))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The initiator's fan-outs, newest first (ids are time-ordered).
pub async fn list(
    db: &impl ConnectionTrait,
    initiator_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<fanouts::Model>> {
    let mut query = fanouts::Entity::find().filter(fanouts::Column::InitiatorId.eq(initiator_id));
    if let Some(before) = before {
        query = query.filter(fanouts::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(fanouts::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The children, with their runs, in tenant order.
pub async fn children(
    db: &impl ConnectionTrait,
    fanout_id: Uuid,
) -> StoreResult<Vec<(fanout_runs::Model, runs::Model)>> {
    Ok(fanout_runs::Entity::find()
        .filter(fanout_runs::Column::FanoutId.eq(fanout_id))
        .find_also_related(runs::Entity)
        .order_by_asc(fanout_runs::Column::TenantId)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(child, run)| Some((child, run?)))
        .collect())
}

/// Open fan-outs `run_id` is a child of.
pub async fn open_parents_of(db: &impl ConnectionTrait, run_id: Uuid) -> StoreResult<Vec<Uuid>> {
    Ok(fanout_runs::Entity::find()
        .select_only()
        .column(fanout_runs::Column::FanoutId)
        .inner_join(fanouts::Entity)
        .filter(fanout_runs::Column::RunId.eq(run_id))
        .filter(fanouts::Column::Status.eq(RunStatus::Running))
        .into_tuple()
        .all(db)
        .await?)
}

/// Every fan-out still `running` (the reaper settles those whose children all ended).
pub async fn open(db: &impl ConnectionTrait) -> StoreResult<Vec<fanouts::Model>> {
    Ok(fanouts::Entity::find()
        .filter(fanouts::Column::Status.eq(RunStatus::Running))
        .all(db)
        .await?)
}

/// `running → status` once; false when someone else settled it first.
pub async fn settle(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: RunStatus,
    summary: &str,
) -> StoreResult<bool> {
    let result = fanouts::Entity::update_many()
        .col_expr(fanouts::Column::Status, status.as_str().into())
        .col_expr(fanouts::Column::Summary, summary.into())
        .col_expr(fanouts::Column::FinishedAt, Utc::now().into())
        .filter(fanouts::Column::Id.eq(id))
        .filter(fanouts::Column::Status.eq(RunStatus::Running))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Every child was started: from now on the last child to finish settles the fan-out.
pub async fn mark_started(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<()> {
    fanouts::Entity::update_many()
        .col_expr(fanouts::Column::StartedAt, Utc::now().into())
        .filter(fanouts::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records the first cancel request; later ones change nothing.
pub async fn request_cancel(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<()> {
    fanouts::Entity::update_many()
        .col_expr(fanouts::Column::CancelRequestedAt, Utc::now().into())
        .filter(fanouts::Column::Id.eq(id))
        .filter(fanouts::Column::CancelRequestedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A fan-out by id alone, for the orchestrator's settling.
pub async fn get_any(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<fanouts::Model>> {
    Ok(fanouts::Entity::find_by_id(id).one(db).await?)
}

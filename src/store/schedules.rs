//! Schedules of a tenant and their ticks. The scheduler's reads span tenants (any worker
//! serves every schedule that is due); everything a schedule then does goes through its
//! owner's membership, checked per tick.

use chrono::{DateTime, Utc};
use entity::enums::RunOperation;
use entity::{schedule_ticks, schedules};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

/// A schedule to create.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub owner_id: Uuid,
    pub operation: RunOperation,
    pub backup_set_id: Option<Uuid>,
    pub cron: String,
    pub timezone: String,
    pub spread_secs: i32,
    pub enabled: bool,
}

/// Creates a schedule; `next_run_at` from its timing (`id` salts the spread offset).
pub async fn create(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
    new: NewSchedule,
    next_run_at: Option<DateTime<Utc>>,
) -> StoreResult<schedules::Model> {
    let now = Utc::now();
    Ok(schedules::ActiveModel {
        id: Set(id),
        tenant_id: Set(scope.tenant_id()),
        owner_id: Set(Some(new.owner_id)),
        operation: Set(new.operation),
        backup_set_id: Set(new.backup_set_id),
        cron: Set(new.cron),
        timezone: Set(new.timezone),
        spread_secs: Set(new.spread_secs),
        enabled: Set(new.enabled),
        next_run_at: Set(next_run_at),
        last_tick_at: Set(None),
        last_run_id: Set(None),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn list(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<schedules::Model>> {
    let mut query =
        schedules::Entity::find().filter(schedules::Column::TenantId.eq(scope.tenant_id()));
    if let Some(before) = before {
        query = query.filter(schedules::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(schedules::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn get(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<schedules::Model> {
    schedules::Entity::find_by_id(id)
        .filter(schedules::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Writes an edited schedule (the caller validated it and computed `next_run_at`).
pub async fn save(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    schedule: schedules::Model,
) -> StoreResult<schedules::Model> {
    if schedule.tenant_id != scope.tenant_id() {
        return Err(StoreError::NotFound);
    }
    let mut row: schedules::ActiveModel = schedule.into();
    row = row.reset_all();
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, scope: &TenantScope, id: Uuid) -> StoreResult<bool> {
    let result = schedules::Entity::delete_many()
        .filter(schedules::Column::TenantId.eq(scope.tenant_id()))
        .filter(schedules::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Enabled schedules whose next run is due, of every tenant, oldest due first.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<schedules::Model>> {
    Ok(schedules::Entity::find()
        .filter(schedules::Column::Enabled.eq(true))
        .filter(schedules::Column::NextRunAt.lte(now))
        .order_by_asc(schedules::Column::NextRunAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Takes a tick for `worker`: true for exactly one caller per (schedule, tick).
pub async fn take_tick(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    tick_at: DateTime<Utc>,
    worker: &str,
) -> StoreResult<bool> {
    let row = schedule_ticks::ActiveModel {
        schedule_id: Set(schedule_id),
        tick_at: Set(tick_at),
        run_id: Set(None),
        claimed_by: Set(worker.to_string()),
        claimed_at: Set(Utc::now()),
    };
    let inserted = schedule_ticks::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                schedule_ticks::Column::ScheduleId,
                schedule_ticks::Column::TickAt,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Ticks taken but never given a run whose claim is older than `stale_before` (the worker
/// that took them died in between): taken over by `worker`, one caller each.
pub async fn take_stale_ticks(
    db: &impl ConnectionTrait,
    stale_before: DateTime<Utc>,
    worker: &str,
    limit: u64,
) -> StoreResult<Vec<schedule_ticks::Model>> {
    let candidates = schedule_ticks::Entity::find()
        .filter(schedule_ticks::Column::RunId.is_null())
        .filter(schedule_ticks::Column::ClaimedAt.lt(stale_before))
        .limit(limit)
        .all(db)
        .await?;
    let mut taken = Vec::new();
    for tick in candidates {
        let updated = schedule_ticks::Entity::update_many()
            .col_expr(schedule_ticks::Column::ClaimedBy, Expr::value(worker))
            .col_expr(schedule_ticks::Column::ClaimedAt, Expr::value(Utc::now()))
            .filter(schedule_ticks::Column::ScheduleId.eq(tick.schedule_id))
            .filter(schedule_ticks::Column::TickAt.eq(tick.tick_at))
            .filter(schedule_ticks::Column::RunId.is_null())
            .filter(schedule_ticks::Column::ClaimedAt.eq(tick.claimed_at))
            .exec(db)
            .await?;
        if updated.rows_affected == 1 {
            taken.push(tick);
        }
    }
    Ok(taken)
}

/// A schedule by id, of any tenant (the scheduler's view).
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<schedules::Model>> {
    Ok(schedules::Entity::find_by_id(id).one(db).await?)
}

/// Records the run a tick started and moves the schedule past it (only forward: a slower
/// worker never moves it back).
pub async fn tick_started(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    tick_at: DateTime<Utc>,
    run_id: Uuid,
) -> StoreResult<()> {
    schedule_ticks::Entity::update_many()
        .col_expr(schedule_ticks::Column::RunId, Expr::value(run_id))
        .filter(schedule_ticks::Column::ScheduleId.eq(schedule_id))
        .filter(schedule_ticks::Column::TickAt.eq(tick_at))
        .exec(db)
        .await?;
    schedules::Entity::update_many()
        .col_expr(schedules::Column::LastRunId, Expr::value(run_id))
        .filter(schedules::Column::Id.eq(schedule_id))
        .filter(schedules::Column::LastTickAt.eq(tick_at))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves a schedule's next run forward to `next_run_at` after `tick_at` was handled.
pub async fn advance(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    tick_at: DateTime<Utc>,
    next_run_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    schedules::Entity::update_many()
        .col_expr(schedules::Column::NextRunAt, Expr::value(next_run_at))
        .col_expr(schedules::Column::LastTickAt, Expr::value(tick_at))
        .filter(schedules::Column::Id.eq(schedule_id))
        .filter(
            Condition::any()
                .add(schedules::Column::LastTickAt.is_null())
                .add(schedules::Column::LastTickAt.lt(tick_at)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Stops a schedule that cannot go on, saying why.
pub async fn disable(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    reason: &str,
) -> StoreResult<()> {
    schedules::Entity::update_many()
        .col_expr(schedules::Column::Enabled, Expr::value(false))
        .col_expr(schedules::Column::DisabledReason, Expr::value(reason))
        .col_expr(schedules::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(schedules::Column::Id.eq(schedule_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every tick of a schedule with its run, oldest first (for pages and tests).
pub async fn ticks(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    schedule_id: Uuid,
    limit: u64,
) -> StoreResult<Vec<schedule_ticks::Model>> {
    get(db, scope, schedule_id).await?;
    Ok(schedule_ticks::Entity::find()
        .filter(schedule_ticks::Column::ScheduleId.eq(schedule_id))
        .order_by_desc(schedule_ticks::Column::TickAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .rev()
        .collect())
}

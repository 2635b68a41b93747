//! Run Records and their item rows: the database half of the orchestration protocol.
//! Every state change here is a guarded (compare-and-set) update.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{ActionCount, ItemAction, RunItemStatus, RunOperation, RunStatus, TargetType};
use entity::{run_items, runs};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    TransactionSession, TransactionTrait,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

/// A run about to be queued.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub operation: RunOperation,
    pub target_type: TargetType,
    pub target_id: Uuid,
    /// Part of the de-duplication key (see [`runs::Model::selection_digest`]).
    pub selection_digest: String,
    pub initiator_id: Uuid,
    pub parent_run_id: Option<Uuid>,
    pub params: Json,
    pub max_attempts: i32,
}

/// Inserts a `queued` run. A concurrent start of the same (tenant, operation, target) that
/// is still active makes this fail with [`StoreError::Conflict`] (partial unique index).
pub async fn insert(db: &impl ConnectionTrait, new: NewRun) -> StoreResult<runs::Model> {
    let now = Utc::now();
    let row = runs::ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        operation: Set(new.operation),
        target_type: Set(new.target_type),
        target_id: Set(new.target_id),
        selection_digest: Set(new.selection_digest),
        status: Set(RunStatus::Queued),
        initiator_id: Set(new.initiator_id),
        parent_run_id: Set(new.parent_run_id),
        params: Set(new.params),
        attempt: Set(0),
        progress_attempt: Set(0),
        max_attempts: Set(new.max_attempts),
        lease_owner: Set(None),
        lease_token: Set(None),
        heartbeat_at: Set(None),
        queued_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        deadline_at: Set(None),
        total_items: Set(0),
        succeeded_items: Set(0),
        failed_items: Set(0),
        skipped_items: Set(0),
        created_items: Set(0),
        updated_items: Set(0),
        unchanged_items: Set(0),
        conflict_items: Set(0),
        deleted_items: Set(0),
        pre_restore_snapshot_id: Set(None),
        error_code: Set(None),
        error_context: Set(None),
        summary: Set(None),
        updated_at: Set(now),
    };
    Ok(row.insert(db).await?)
}

/// A run by id alone, for the orchestrator's own bookkeeping (de-duplication, re-offers,
/// the reaper); requests and executors read runs through a scope.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<runs::Model>> {
    Ok(runs::Entity::find_by_id(id).one(db).await?)
}

/// A run of one tenant; another tenant's run is simply not found.
pub async fn get_in_tenant(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<runs::Model> {
    runs::Entity::find_by_id(id)
        .filter(runs::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The queued or running run of a (tenant, operation, target, selection), if any.
pub async fn find_active(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    operation: RunOperation,
    target_id: Uuid,
    selection_digest: &str,
) -> StoreResult<Option<runs::Model>> {
    Ok(runs::Entity::find()
        .filter(runs::Column::TenantId.eq(scope.tenant_id()))
        .filter(runs::Column::Operation.eq(operation))
        .filter(runs::Column::TargetId.eq(target_id))
        .filter(runs::Column::SelectionDigest.eq(selection_digest))
        .filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .one(db)
        .await?)
}

/// Filters and keyset cursor of a run list (newest first).
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub operation: Option<RunOperation>,
    pub status: Option<RunStatus>,
    pub before: Option<RunCursor>,
}

/// Position after the last run of a page: (queued_at, id) of that run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCursor {
    pub queued_at: DateTime<Utc>,
    pub id: Uuid,
}

impl RunCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.queued_at.timestamp_micros(), self.id.simple())
    }

    /// `None` for text this type did not encode, including times no run can have (the
    /// databases reject years outside their range).
    pub fn decode(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('_')?;
        let queued_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        if !(1970..=9999).contains(&chrono::Datelike::year(&queued_at)) {
            return None;
        }
        Some(Self {
            queued_at,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

pub async fn list(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    filter: &RunFilter,
    limit: u64,
) -> StoreResult<(Vec<runs::Model>, Option<RunCursor>)> {
    let mut query = runs::Entity::find().filter(runs::Column::TenantId.eq(scope.tenant_id()));
    if let Some(op) = filter.operation {
        query = query.filter(runs::Column::Operation.eq(op));
    }
    if let Some(status) = filter.status {
        query = query.filter(runs::Column::Status.eq(status));
    }
    if let Some(cursor) = filter.before {
        query = query.filter(
            Condition::any()
                .add(runs::Column::QueuedAt.lt(cursor.queued_at))
                .add(
                    Condition::all()
                        .add(runs::Column::QueuedAt.eq(cursor.queued_at))
                        .add(runs::Column::Id.lt(cursor.id)),
                ),
        );
    }
    let mut rows = query
        .order_by_desc(runs::Column::QueuedAt)
        .order_by_desc(runs::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| RunCursor {
            queued_at: r.queued_at,
            id: r.id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

/// How many runs of the given tenants are queued or running.
pub async fn count_active(db: &impl ConnectionTrait, scopes: &[TenantScope]) -> StoreResult<u64> {
    let tenant_ids: Vec<Uuid> = scopes.iter().map(TenantScope::tenant_id).collect();
    use sea_orm::PaginatorTrait;
    if tenant_ids.is_empty() {
        return Ok(0);
    }
    Ok(runs::Entity::find()
        .filter(runs::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .count(db)
        .await?)
}

/// Re-runs started from a run of the tenant, oldest first.
pub async fn reruns_of(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
) -> StoreResult<Vec<runs::Model>> {
    Ok(runs::Entity::find()
        .filter(runs::Column::TenantId.eq(scope.tenant_id()))
        .filter(runs::Column::ParentRunId.eq(run_id))
        .order_by_asc(runs::Column::QueuedAt)
        .limit(100)
        .all(db)
        .await?)
}

/// Most runs [`list_active`] answers with.
pub const ACTIVE_LIMIT: u64 = 200;

/// Queued and running runs of the given tenants, oldest first (at most [`ACTIVE_LIMIT`]).
pub async fn list_active(
    db: &impl ConnectionTrait,
    scopes: &[TenantScope],
) -> StoreResult<Vec<runs::Model>> {
    let tenant_ids: Vec<Uuid> = scopes.iter().map(TenantScope::tenant_id).collect();
    if tenant_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(runs::Entity::find()
        .filter(runs::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .order_by_asc(runs::Column::QueuedAt)
        .limit(ACTIVE_LIMIT)
        .all(db)
        .await?)
}

/// Why a claim did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// Someone else has it, or it is already finished: nothing to do.
    NotQueued,
    /// The tenant already runs its fair share of the fleet: try again shortly.
    TenantBusy,
}

/// `queued → running` for one worker, if the run is still queued, its tenant has fewer
/// than `tenant_cap` running runs and — for runs that write to the tenant — no other
/// writing run of the tenant is running. Sets a fresh lease token, bumps the attempt and fixes the
/// deadline at the first start. A claimed run comes with the scope of its tenant: the
/// lease is the worker's proof that it may act there.
pub async fn claim(
    db: &(impl ConnectionTrait + TransactionTrait),
    run_id: Uuid,
    owner: &str,
    lease_token: Uuid,
    max_duration: Duration,
    tenant_cap: u32,
) -> StoreResult<Result<(runs::Model, TenantScope), ClaimRefusal>> {
    let now = Utc::now();
    let Some(run) = get(db, run_id).await? else {
        return Ok(Err(ClaimRefusal::NotQueued));
    };
    if run.status != RunStatus::Queued {
        return Ok(Err(ClaimRefusal::NotQueued));
    }
    let others = Alias::new("others");
    let running_in_tenant = Query::select()
        .expr(Expr::col((others.clone(), runs::Column::Id)).count())
        .from_as(runs::Entity, others.clone())
        .and_where(Expr::col((others.clone(), runs::Column::TenantId)).eq(run.tenant_id))
        .and_where(Expr::col((others, runs::Column::Status)).eq(RunStatus::Running.as_str()))
        .to_owned();
    // Runs that write to a tenant (restores, re-runs, undo) go one at a time per tenant:
    // two of them deciding targets at once could both take the same object by name.
    let writers = Alias::new("writers");
    let writing_in_tenant = Query::select()
        .expr(Expr::col((writers.clone(), runs::Column::Id)).count())
        .from_as(runs::Entity, writers.clone())
        .and_where(Expr::col((writers.clone(), runs::Column::TenantId)).eq(run.tenant_id))
        .and_where(
            Expr::col((writers.clone(), runs::Column::Status)).eq(RunStatus::Running.as_str()),
        )
        .and_where(
            Expr::col((writers, runs::Column::Operation)).is_in(
                RunOperation::ALL
                    .iter()
                    .filter(|op| op.writes_to_tenant())
                    .map(|op| op.as_str()),
            ),
        )
        .to_owned();
    let deadline = run.deadline_at.unwrap_or(now + max_duration);
    // Concurrent claims of one tenant's runs must not both see "below the cap": on
    // PostgreSQL they serialize on a per-tenant advisory lock (SQLite serializes writers).
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        let key = i64::from_be_bytes(run.tenant_id.as_bytes()[..8].try_into().unwrap_or([0; 8]));
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    let update = runs::Entity::update_many()
        .col_expr(
            runs::Column::Status,
            Expr::value(RunStatus::Running.as_str()),
        )
        .col_expr(runs::Column::LeaseOwner, Expr::value(owner))
        .col_expr(runs::Column::LeaseToken, Expr::value(lease_token))
        .col_expr(
            runs::Column::Attempt,
            Expr::col(runs::Column::Attempt).add(1),
        )
        .col_expr(runs::Column::HeartbeatAt, Expr::value(now))
        .col_expr(
            runs::Column::StartedAt,
            Expr::value(run.started_at.unwrap_or(now)),
        )
        .col_expr(runs::Column::DeadlineAt, Expr::value(deadline))
        .col_expr(runs::Column::UpdatedAt, Expr::value(now))
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::Status.eq(RunStatus::Queued))
        .filter(Expr::from(running_in_tenant).lt(tenant_cap as i64));
    let update = if run.operation.writes_to_tenant() {
        update.filter(Expr::from(writing_in_tenant).eq(0))
    } else {
        update
    };
    let updated = update.exec(&txn).await?;
    txn.commit().await?;
    if updated.rows_affected == 1 {
        let run = get(db, run_id).await?.ok_or(StoreError::NotFound)?;
        let scope = TenantScope::granted(run.tenant_id);
        return Ok(Ok((run, scope)));
    }
    let now_status = get(db, run_id).await?.map(|r| r.status);
    Ok(Err(if now_status == Some(RunStatus::Queued) {
        ClaimRefusal::TenantBusy
    } else {
        ClaimRefusal::NotQueued
    }))
}

/// Proves the lease holder is alive. False means the lease was lost (re-queued or finished).
pub async fn heartbeat(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    lease_token: Uuid,
) -> StoreResult<bool> {
    let now = Utc::now();
    let updated = runs::Entity::update_many()
        .col_expr(runs::Column::HeartbeatAt, Expr::value(now))
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::LeaseToken.eq(lease_token))
        .filter(runs::Column::Status.eq(RunStatus::Running))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Item counts of a run, derived from its item rows: by status, and by what was done
/// (a preview counts what it would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub skipped: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub conflict: i64,
    pub deleted: i64,
}

impl Counts {
    pub fn finished(&self) -> i64 {
        self.succeeded + self.failed + self.skipped
    }

    fn add(&mut self, status: Option<RunItemStatus>, action: Option<ItemAction>, n: i64) {
        self.total += n;
        match status {
            Some(RunItemStatus::Succeeded) => self.succeeded += n,
            Some(RunItemStatus::Failed) => self.failed += n,
            Some(RunItemStatus::Skipped) => self.skipped += n,
            _ => {}
        }
        match action.map(ItemAction::counts_as) {
            Some(ActionCount::Created) => self.created += n,
            Some(ActionCount::Updated) => self.updated += n,
            Some(ActionCount::Unchanged) => self.unchanged += n,
            Some(ActionCount::Conflict) => self.conflict += n,
            Some(ActionCount::Deleted) => self.deleted += n,
            Some(ActionCount::None) | None => {}
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct OutcomeCount {
    status: RunItemStatus,
    action: Option<ItemAction>,
    n: i64,
}

pub async fn count_items(db: &impl ConnectionTrait, run_id: Uuid) -> StoreResult<Counts> {
    let rows = run_items::Entity::find()
        .select_only()
        .column(run_items::Column::Status)
        .column(run_items::Column::Action)
        .column_as(run_items::Column::Id.count(), "n")
        .filter(run_items::Column::RunId.eq(run_id))
        .group_by(run_items::Column::Status)
        .group_by(run_items::Column::Action)
        .into_model::<OutcomeCount>()
        .all(db)
        .await?;
    let mut counts = Counts::default();
    for row in rows {
        counts.add(Some(row.status), row.action, row.n);
    }
    Ok(counts)
}

/// Copies the derived counts onto the Run Record (what lists and progress bars read).
/// `progressed`: an item result was just recorded, so this attempt made progress.
pub async fn refresh_counts(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    progressed: bool,
) -> StoreResult<Counts> {
    let counts = count_items(db, run_id).await?;
    let mut update = with_counts(runs::Entity::update_many(), &counts)
        .col_expr(runs::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(runs::Column::Id.eq(run_id));
    if progressed {
        update = update.col_expr(
            runs::Column::ProgressAttempt,
            Expr::col(runs::Column::Attempt),
        );
    }
    update.exec(db).await?;
    Ok(counts)
}

/// Sets every count column of the Run Record from `counts`.
fn with_counts(
    update: sea_orm::UpdateMany<runs::Entity>,
    counts: &Counts,
) -> sea_orm::UpdateMany<runs::Entity> {
    let n = |v: i64| Expr::value(v as i32);
    update
        .col_expr(runs::Column::TotalItems, n(counts.total))
        .col_expr(runs::Column::SucceededItems, n(counts.succeeded))
        .col_expr(runs::Column::FailedItems, n(counts.failed))
        .col_expr(runs::Column::SkippedItems, n(counts.skipped))
        .col_expr(runs::Column::CreatedItems, n(counts.created))
        .col_expr(runs::Column::UpdatedItems, n(counts.updated))
        .col_expr(runs::Column::UnchangedItems, n(counts.unchanged))
        .col_expr(runs::Column::ConflictItems, n(counts.conflict))
        .col_expr(runs::Column::DeletedItems, n(counts.deleted))
}

/// The terminal outcome written by [`finish`].
#[derive(Debug, Clone)]
pub struct Terminal {
    pub status: RunStatus,
    pub error_code: Option<String>,
    pub error_context: Option<Json>,
    pub summary: String,
}

/// Terminal compare-and-set: only the lease holder of a running run (or, with
/// `lease_token = None`, whoever finds it still queued/running — the reaper) may finish it.
/// Items the run never finished are recorded as failed `not_attempted` (so a re-run of the
/// failed items includes them) and the summary says how many.
pub async fn finish(
    db: &(impl ConnectionTrait + TransactionTrait),
    run_id: Uuid,
    lease_token: Option<Uuid>,
    terminal: &Terminal,
) -> StoreResult<bool> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut update = runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(terminal.status.as_str()))
        .col_expr(runs::Column::FinishedAt, Expr::value(now))
        .col_expr(runs::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            runs::Column::ErrorCode,
            Expr::value(terminal.error_code.clone()),
        )
        .col_expr(
            runs::Column::ErrorContext,
            Expr::value(terminal.error_context.clone()),
        )
        .col_expr(
            runs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .filter(runs::Column::Id.eq(run_id));
    update = match lease_token {
        Some(token) => update
            .filter(runs::Column::Status.eq(RunStatus::Running))
            .filter(runs::Column::LeaseToken.eq(token)),
        None => update.filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running])),
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        return Ok(false);
    }
    let left = run_items::Entity::update_many()
        .col_expr(
            run_items::Column::Status,
            Expr::value(RunItemStatus::Failed.as_str()),
        )
        .col_expr(
            run_items::Column::Action,
            Expr::value(ItemAction::NotAttempted.as_str()),
        )
        .col_expr(run_items::Column::ErrorCode, Expr::value("not_attempted"))
        .col_expr(
            run_items::Column::ErrorMessage,
            Expr::value(format!(
                "not attempted: the run ended early ({})",
                terminal.error_code.as_deref().unwrap_or("stopped")
            )),
        )
        .col_expr(run_items::Column::FinishedAt, Expr::value(now))
        .col_expr(run_items::Column::UpdatedAt, Expr::value(now))
        .filter(run_items::Column::RunId.eq(run_id))
        .filter(run_items::Column::Status.is_in([RunItemStatus::Pending, RunItemStatus::Running]))
        .exec(&txn)
        .await?
        .rows_affected;
    let counts = count_items(&txn, run_id).await?;
    let mut status = terminal.status;
    let mut error_code = terminal.error_code.clone();
    let summary = if left > 0 {
        // Items left over make an otherwise successful run partial.
        if status == RunStatus::Succeeded {
            status = if counts.succeeded + counts.skipped > 0 {
                RunStatus::Partial
            } else {
                RunStatus::Failed
            };
            error_code = Some("items_not_attempted".into());
        }
        format!("{} {left} item(s) not attempted.", terminal.summary)
    } else {
        terminal.summary.clone()
    };
    with_counts(runs::Entity::update_many(), &counts)
        .col_expr(runs::Column::Status, Expr::value(status.as_str()))
        .col_expr(runs::Column::ErrorCode, Expr::value(error_code))
        .col_expr(runs::Column::Summary, Expr::value(summary))
        .filter(runs::Column::Id.eq(run_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Hands a running run back to the queue (its worker died or shut down), guarded by the
/// lease it had.
pub async fn requeue(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    lease_token: Uuid,
) -> StoreResult<bool> {
    let now = Utc::now();
    let updated = runs::Entity::update_many()
        .col_expr(
            runs::Column::Status,
            Expr::value(RunStatus::Queued.as_str()),
        )
        .col_expr(
            runs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(runs::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
        .col_expr(runs::Column::UpdatedAt, Expr::value(now))
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::Status.eq(RunStatus::Running))
        .filter(runs::Column::LeaseToken.eq(lease_token))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Marks a queued run as just (re-)pushed so the sweeper leaves it alone for a while.
pub async fn touch(db: &impl ConnectionTrait, run_id: Uuid) -> StoreResult<()> {
    runs::Entity::update_many()
        .col_expr(runs::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(runs::Column::Id.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Running runs past their deadline.
pub async fn overdue(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> StoreResult<Vec<runs::Model>> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.eq(RunStatus::Running))
        .filter(runs::Column::DeadlineAt.lt(now))
        .limit(100)
        .all(db)
        .await?)
}

/// Running runs whose worker stopped proving it is alive.
pub async fn stale(
    db: &impl ConnectionTrait,
    heartbeat_before: DateTime<Utc>,
) -> StoreResult<Vec<runs::Model>> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.eq(RunStatus::Running))
        .filter(runs::Column::HeartbeatAt.lt(heartbeat_before))
        .limit(100)
        .all(db)
        .await?)
}

/// Queued runs not touched since `before` (candidates for a re-push).
pub async fn waiting(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> StoreResult<Vec<runs::Model>> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.eq(RunStatus::Queued))
        .filter(runs::Column::UpdatedAt.lt(before))
        .order_by_asc(runs::Column::QueuedAt)
        .limit(500)
        .all(db)
        .await?)
}

pub async fn count_queued(db: &impl ConnectionTrait) -> StoreResult<u64> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.eq(RunStatus::Queued))
        .count(db)
        .await?)
}

/// When the oldest still-queued run was queued (`None` when nothing is queued).
pub async fn oldest_queued_at(db: &impl ConnectionTrait) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(runs::Entity::find()
        .select_only()
        .column(runs::Column::QueuedAt)
        .filter(runs::Column::Status.eq(RunStatus::Queued))
        .order_by_asc(runs::Column::QueuedAt)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await?)
}

// ---- items ----

/// One item a run will act on, registered before work starts so progress has a total.
#[derive(Debug, Clone)]
pub struct PlannedItem {
    pub item_key: String,
    pub policy_type: String,
    pub display_name: String,
    pub source_ref: Option<Uuid>,
}

/// Registers items as `pending`; items already present (a resumed run) are left untouched.
pub async fn plan_items(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    items: &[PlannedItem],
) -> StoreResult<()> {
    let now = Utc::now();
    for chunk in items.chunks(200) {
        let rows = chunk.iter().map(|item| pending_row(run, item.clone(), now));
        run_items::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([run_items::Column::RunId, run_items::Column::ItemKey])
            .exec(db)
            .await?;
    }
    refresh_counts(db, run.id, false).await?;
    Ok(())
}

/// A new item row, not yet worked on.
fn pending_row(run: &runs::Model, item: PlannedItem, now: DateTime<Utc>) -> run_items::ActiveModel {
    run_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        run_id: Set(run.id),
        tenant_id: Set(run.tenant_id),
        item_key: Set(item.item_key),
        policy_type: Set(item.policy_type),
        display_name: Set(item.display_name),
        source_ref: Set(item.source_ref),
        status: Set(RunItemStatus::Pending),
        action: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        error_context: Set(None),
        match_kind: Set(None),
        diff: Set(None),
        result_graph_id: Set(None),
        write_intent: Set(None),
        attempts: Set(0),
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The result of acting on one item.
#[derive(Debug, Clone)]
pub struct ItemResult {
    pub item_key: String,
    pub policy_type: String,
    pub display_name: String,
    pub source_ref: Option<Uuid>,
    pub status: RunItemStatus,
    pub action: Option<ItemAction>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Whitelisted context of the error (see [`run_items::Model::error_context`]).
    pub error_context: Option<Json>,
    /// How a restore matched the item's target (`mapping`, `same_id`, `name`, `none`).
    pub match_kind: Option<String>,
    pub diff: Option<Json>,
    pub result_graph_id: Option<String>,
}

/// Upserts an item's result (by `(run_id, item_key)`) and refreshes the run's counts.
pub async fn record_item(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    result: ItemResult,
) -> StoreResult<Counts> {
    let now = Utc::now();
    let planned = PlannedItem {
        item_key: result.item_key,
        policy_type: result.policy_type,
        display_name: result.display_name,
        source_ref: result.source_ref,
    };
    let row = run_items::ActiveModel {
        status: Set(result.status),
        action: Set(result.action),
        error_code: Set(result.error_code),
        error_message: Set(result.error_message),
        error_context: Set(result.error_context),
        match_kind: Set(result.match_kind),
        diff: Set(result.diff),
        result_graph_id: Set(result.result_graph_id),
        attempts: Set(1),
        started_at: Set(Some(now)),
        finished_at: Set(Some(now)),
        ..pending_row(run, planned, now)
    };
    run_items::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([run_items::Column::RunId, run_items::Column::ItemKey])
                .update_columns([
                    run_items::Column::Status,
                    run_items::Column::Action,
                    run_items::Column::ErrorCode,
                    run_items::Column::ErrorMessage,
                    run_items::Column::ErrorContext,
                    run_items::Column::MatchKind,
                    run_items::Column::Diff,
                    run_items::Column::ResultGraphId,
                    run_items::Column::FinishedAt,
                    run_items::Column::UpdatedAt,
                    run_items::Column::DisplayName,
                ])
                .value(
                    run_items::Column::Attempts,
                    Expr::col((run_items::Entity, run_items::Column::Attempts)).add(1),
                )
                .to_owned(),
        )
        .exec(db)
        .await?;
    refresh_counts(db, run.id, true).await
}

/// Records that a create is about to be sent, so a resumed run knows to look before it
/// creates again.
pub async fn record_write_intent(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    item_key: &str,
    intent: Json,
) -> StoreResult<()> {
    run_items::Entity::update_many()
        .col_expr(run_items::Column::WriteIntent, Expr::value(intent))
        .col_expr(
            run_items::Column::Status,
            Expr::value(RunItemStatus::Running.as_str()),
        )
        .col_expr(run_items::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(run_items::Column::RunId.eq(run_id))
        .filter(run_items::Column::ItemKey.eq(item_key))
        .exec(db)
        .await?;
    Ok(())
}

/// Items of a run, in key order, with keyset pagination on the item key.
pub async fn items(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    after_key: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<run_items::Model>> {
    items_with(db, scope, run_id, None, after_key, limit).await
}

/// Which items of a run to list: those with a status, with an action, or with a status
/// and no action yet (a preview's items before or without a decision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Status(RunItemStatus),
    Action(ItemAction),
    StatusWithoutAction(RunItemStatus),
}

/// Like [`items`], only the items with `outcome` when given.
pub async fn items_with(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    outcome: Option<&ItemOutcome>,
    after_key: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<run_items::Model>> {
    let mut query = run_items::Entity::find()
        .filter(run_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(run_items::Column::RunId.eq(run_id));
    match outcome {
        Some(ItemOutcome::Status(status)) => {
            query = query.filter(run_items::Column::Status.eq(*status));
        }
        Some(ItemOutcome::Action(action)) => {
            query = query.filter(run_items::Column::Action.eq(*action));
        }
        Some(ItemOutcome::StatusWithoutAction(status)) => {
            query = query
                .filter(run_items::Column::Status.eq(*status))
                .filter(run_items::Column::Action.is_null());
        }
        None => {}
    }
    if let Some(key) = after_key {
        query = query.filter(run_items::Column::ItemKey.gt(key));
    }
    Ok(query
        .order_by_asc(run_items::Column::ItemKey)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many items of a run have each (status, action), counted in the database.
pub async fn item_outcomes(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
) -> StoreResult<Vec<(RunItemStatus, Option<ItemAction>, i64)>> {
    Ok(run_items::Entity::find()
        .select_only()
        .column(run_items::Column::Status)
        .column(run_items::Column::Action)
        .column_as(Expr::col(run_items::Column::Id).count(), "n")
        .filter(run_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(run_items::Column::RunId.eq(run_id))
        .group_by(run_items::Column::Status)
        .group_by(run_items::Column::Action)
        .into_tuple()
        .all(db)
        .await?)
}

/// Every item row of a run (the executor's resume view).
pub async fn all_items(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
) -> StoreResult<Vec<run_items::Model>> {
    Ok(run_items::Entity::find()
        .filter(run_items::Column::TenantId.eq(scope.tenant_id()))
        .filter(run_items::Column::RunId.eq(run_id))
        .order_by_asc(run_items::Column::ItemKey)
        .all(db)
        .await?)
}

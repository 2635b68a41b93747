//! The claim/lease lifecycle of a run: claim, heartbeat, finish, requeue, and the queries
//! the reaper and sweeper act on.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{ItemAction, RunItemStatus, RunOperation, RunStatus};
use entity::{run_items, runs, tenants};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionSession, TransactionTrait,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::store::{StoreResult, TenantScope};

use super::items::{count_items, counted_columns, with_counts};
use super::records::get;
use super::surroundings::{self, Surroundings, surroundings};
use crate::store::placeholder;

/// Why a claim did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// Someone else has it, or it is already finished: nothing to do.
    NotQueued,
    /// The tenant already runs its fair share of the fleet: try again shortly.
    TenantBusy,
}

/// The advisory lock key of a claim, from the `tenant_id` column in scope: a 64-bit hash of
/// the whole id. Tenant ids are time-ordered (UUIDv7), so ids made in the same millisecond
/// share their first 8 bytes — a key cut from them would make those tenants' claims wait
/// for each other.
pub const TENANT_LOCK_KEY: &str = "hashtextextended(tenant_id::text, 0)";

/// `queued → running` for one worker, if the run is still queued, its tenant has fewer
/// than `tenant_cap` running runs and — for runs that write to the tenant — no other
/// writing run of the tenant is running. Sets a fresh lease token, bumps the attempt and fixes the
/// deadline at the first start. A claimed run comes with the scope of its tenant (the
/// lease is the worker's proof that it may act there) and with what surrounds it, read in
/// the same statement on PostgreSQL.
pub async fn claim(
    db: &(impl ConnectionTrait + TransactionTrait),
    run_id: Uuid,
    owner: &str,
    lease_token: Uuid,
    max_duration: Duration,
    tenant_cap: u32,
) -> StoreResult<Result<Claim, ClaimRefusal>> {
    let request = ClaimRequest {
        run_id,
        owner,
        lease_token,
        max_duration,
        tenant_cap,
    };
    let claimed = match db.get_database_backend() {
        DbBackend::Postgres => claim_in_one_statement(db, &request).await?,
        _ => {
            let claimed = claim_in_transaction(db, &request).await?;
            match claimed {
                Some(run) => surroundings(db, run.id)
                    .await?
                    .map(|around| (run, around, None)),
                None => None,
            }
        }
    };
    if let Some((run, around, tenant)) = claimed {
        let scope = TenantScope::granted(run.tenant_id);
        return Ok(Ok(Claim {
            run,
            scope,
            around,
            tenant,
        }));
    }
    let now_status = get(db, run_id).await?.map(|r| r.status);
    Ok(Err(if now_status == Some(RunStatus::Queued) {
        ClaimRefusal::TenantBusy
    } else {
        ClaimRefusal::NotQueued
    }))
}

/// A claimed run.
#[derive(Debug, Clone)]
pub struct Claim {
    pub run: runs::Model,
    /// The run's tenant: the lease is the worker's proof that it may act there.
    pub scope: TenantScope,
    pub around: Surroundings,
    /// The tenant's row as the claim read it (PostgreSQL, in the same statement); `None`
    /// where it was not read.
    pub tenant: Option<tenants::Model>,
}

/// The tenant's columns next to a claimed run's: `t.<column> AS t_<column>, ...`.
fn tenant_columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| crate::store::aliased_columns::<tenants::Entity>("t", "t_"))
}

/// What [`claim`] was asked.
#[derive(Clone, Copy)]
struct ClaimRequest<'a> {
    run_id: Uuid,
    owner: &'a str,
    lease_token: Uuid,
    max_duration: Duration,
    tenant_cap: u32,
}

/// Runs that write to a tenant (restores, re-runs, undo) go one at a time per tenant: two of
/// them deciding targets at once could both take the same object by name.
fn writing_ops() -> impl Iterator<Item = &'static str> {
    RunOperation::ALL
        .iter()
        .filter(|op| op.writes_to_tenant())
        .map(|op| op.as_str())
}

/// The claim on PostgreSQL: the `claim_run` function (migration `claim_function`) takes the
/// tenant's advisory lock ([`TENANT_LOCK_KEY`]) and then updates the row under a snapshot
/// taken after it, all in the one statement that also reads what surrounds the run and its
/// tenant's row. (`LIMIT 1`, which a claim of one run is anyway, tells the planner so: it
/// would otherwise expect a set-returning function's 1,000 rows and hash the tenants table.)
async fn claim_in_one_statement(
    db: &impl ConnectionTrait,
    request: &ClaimRequest<'_>,
) -> StoreResult<Option<(runs::Model, Surroundings, Option<tenants::Model>)>> {
    let now = Utc::now();
    let writing: Vec<String> = writing_ops().map(str::to_string).collect();
    let sql = format!(
        "SELECT c.*, {}, {} \
         FROM (SELECT * FROM claim_run($1, $2, $3, $4, $5, $6, $7) LIMIT 1) AS c \
         LEFT JOIN tenants t ON t.id = c.tenant_id",
        surroundings::columns("c"),
        tenant_columns()
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [
                request.run_id.into(),
                request.owner.into(),
                request.lease_token.into(),
                now.into(),
                (now + request.max_duration).into(),
                i64::from(request.tenant_cap).into(),
                writing.into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let run = runs::Model::from_query_result(&row, "")?;
    let tenant = tenants::Model::from_query_result(&row, "t_").ok();
    Ok(Some((run, surroundings::from_row(&row)?, tenant)))
}

/// The claim on SQLite, which serializes writers: one guarded update in a transaction.
async fn claim_in_transaction(
    db: &(impl ConnectionTrait + TransactionTrait),
    request: &ClaimRequest<'_>,
) -> StoreResult<Option<runs::Model>> {
    let ClaimRequest {
        run_id,
        owner,
        lease_token,
        max_duration,
        tenant_cap,
    } = *request;
    let now = Utc::now();
    // The claimed row's own tenant: the subqueries refer to the row being updated.
    let own_tenant = Expr::col((runs::Entity, runs::Column::TenantId));
    let others = Alias::new("others");
    let running_in_tenant = Query::select()
        .expr(Expr::col((others.clone(), runs::Column::Id)).count())
        .from_as(runs::Entity, others.clone())
        .and_where(Expr::col((others.clone(), runs::Column::TenantId)).eq(own_tenant.clone()))
        .and_where(Expr::col((others, runs::Column::Status)).eq(RunStatus::Running.as_str()))
        .to_owned();
    let writers = Alias::new("writers");
    let writing_in_tenant = Query::select()
        .expr(Expr::col((writers.clone(), runs::Column::Id)).count())
        .from_as(runs::Entity, writers.clone())
        .and_where(Expr::col((writers.clone(), runs::Column::TenantId)).eq(own_tenant))
        .and_where(
            Expr::col((writers.clone(), runs::Column::Status)).eq(RunStatus::Running.as_str()),
        )
        .and_where(Expr::col((writers, runs::Column::Operation)).is_in(writing_ops()))
        .to_owned();
    let txn = db.begin().await?;
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
        // Fixed at the first start.
        .col_expr(
            runs::Column::StartedAt,
            Expr::col(runs::Column::StartedAt).if_null(now),
        )
        .col_expr(
            runs::Column::DeadlineAt,
            Expr::col(runs::Column::DeadlineAt).if_null(now + max_duration),
        )
        .col_expr(runs::Column::UpdatedAt, Expr::value(now))
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::Status.eq(RunStatus::Queued))
        .filter(Expr::expr(running_in_tenant).lt(tenant_cap as i64))
        .filter(
            Expr::col(runs::Column::Operation)
                .is_not_in(writing_ops())
                .or(Expr::expr(writing_in_tenant).eq(0)),
        );
    let claimed = update_one_returning(&txn, update, run_id).await?;
    txn.commit().await?;
    Ok(claimed)
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

/// The terminal outcome written by [`finish`] (or [`finish_settled`]).
#[derive(Debug, Clone)]
pub struct Terminal {
    pub status: RunStatus,
    pub error_code: Option<String>,
    pub error_context: Option<Json>,
    pub summary: String,
}

/// Who may finish a run in [`finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishGuard {
    /// The holder of this lease, while the run is running.
    Lease(Uuid),
    /// Whoever finds it still queued or running (the reaper).
    Active,
    /// Only while nobody has claimed it (a cancel of a queued run).
    Queued,
}

impl From<Option<Uuid>> for FinishGuard {
    fn from(lease: Option<Uuid>) -> Self {
        lease.map_or(FinishGuard::Active, FinishGuard::Lease)
    }
}

/// Terminal compare-and-set, by the writer `guard` admits. Items the run never finished are
/// recorded as failed `not_attempted` (so a re-run of the failed items includes them) — or,
/// for a canceled run, skipped `canceled` — and the summary says how many. Returns the
/// finished run, or `None` when `guard` does not admit this writer (nothing is changed).
pub async fn finish(
    db: &(impl ConnectionTrait + TransactionTrait),
    run_id: Uuid,
    guard: impl Into<FinishGuard>,
    terminal: &Terminal,
) -> StoreResult<Option<runs::Model>> {
    let guard = guard.into();
    let txn = db.begin().await?;
    let now = Utc::now();
    let canceled = terminal.status == RunStatus::Canceled;
    let (status, action, code, message) = if canceled {
        (
            RunItemStatus::Skipped,
            ItemAction::Skip,
            "canceled",
            "skipped: the run was canceled before this item".to_string(),
        )
    } else {
        (
            RunItemStatus::Failed,
            ItemAction::NotAttempted,
            "not_attempted",
            format!(
                "not attempted: the run ended early ({})",
                terminal.error_code.as_deref().unwrap_or("stopped")
            ),
        )
    };
    // Items before the run row, in the order recording items takes its locks. A writer the
    // guard refuses below rolls these back with the transaction.
    let left = run_items::Entity::update_many()
        .col_expr(run_items::Column::Status, Expr::value(status.as_str()))
        .col_expr(run_items::Column::Action, Expr::value(action.as_str()))
        .col_expr(run_items::Column::ErrorCode, Expr::value(code))
        .col_expr(run_items::Column::ErrorMessage, Expr::value(message))
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
    let summary = if left > 0 && canceled {
        format!("{} {left} item(s) skipped.", terminal.summary)
    } else if left > 0 {
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
    let mut update = with_counts(runs::Entity::update_many(), &counts)
        .col_expr(runs::Column::Status, Expr::value(status.as_str()))
        .col_expr(runs::Column::FinishedAt, Expr::value(now))
        .col_expr(runs::Column::UpdatedAt, Expr::value(now))
        .col_expr(runs::Column::ErrorCode, Expr::value(error_code))
        .col_expr(
            runs::Column::ErrorContext,
            Expr::value(terminal.error_context.clone()),
        )
        .col_expr(runs::Column::Summary, Expr::value(summary))
        .col_expr(
            runs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .filter(runs::Column::Id.eq(run_id));
    update = match guard {
        FinishGuard::Lease(token) => update
            .filter(runs::Column::Status.eq(RunStatus::Running))
            .filter(runs::Column::LeaseToken.eq(token)),
        FinishGuard::Active => {
            update.filter(runs::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        }
        FinishGuard::Queued => update.filter(runs::Column::Status.eq(RunStatus::Queued)),
    };
    let Some(finished) = update_one_returning(&txn, update, run_id).await? else {
        // Not this writer's to finish: dropping the transaction undoes the items above.
        return Ok(None);
    };
    txn.commit().await?;
    Ok(Some(finished))
}

/// [`finish`] in one statement, for the lease holder of a run whose items are all finished:
/// the update counts the items itself (as [`refresh_counts`] does) and applies only while
/// the run is running under `lease_token` and no item is left unfinished. `None` when it did
/// not apply — the lease is gone, an item is unfinished (a worker that lost the run may
/// still have written), or the backend has no `RETURNING`: then [`finish`] decides. The
/// finished run comes with what surrounds it, read by the same statement.
pub async fn finish_settled(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    lease_token: Uuid,
    terminal: &Terminal,
) -> StoreResult<Option<(runs::Model, Surroundings)>> {
    let backend = db.get_database_backend();
    if !db.support_returning() {
        return Ok(None);
    }
    let now = Utc::now();
    let values: [sea_orm::Value; 9] = [
        terminal.status.as_str().into(),
        now.into(),
        now.into(),
        terminal.error_code.clone().into(),
        terminal.error_context.clone().into(),
        terminal.summary.clone().into(),
        run_id.into(),
        run_id.into(),
        lease_token.into(),
    ];
    let stmt = Statement::from_sql_and_values(backend, settled_finish_sql(backend), values);
    let Some(row) = db.query_one_raw(stmt).await? else {
        return Ok(None);
    };
    let run = runs::Model::from_query_result(&row, "")?;
    Ok(Some((run, surroundings::from_row(&row)?)))
}

/// The statement of [`finish_settled`], with parameters (status, now, now, error code, error
/// context, summary, run id, run id, lease token).
fn settled_finish_sql(backend: DbBackend) -> String {
    let p = |i| placeholder(backend, i);
    let (select, set) = counted_columns();
    // SQLite's RETURNING names only the updated table's columns, PostgreSQL's every table's.
    let returned = match backend {
        DbBackend::Postgres => "runs.*",
        _ => "*",
    };
    let around = surroundings::columns("runs");
    format!(
        "UPDATE runs SET {set}, status = {}, finished_at = {}, updated_at = {}, \
         error_code = {}, error_context = {}, summary = {}, lease_owner = NULL \
         FROM (SELECT {select} FROM run_items WHERE run_id = {}) AS c \
         WHERE runs.id = {} AND runs.status = '{}' AND runs.lease_token = {} \
         AND c.n_total_items = c.n_succeeded_items + c.n_failed_items + c.n_skipped_items \
         RETURNING {returned}, {around}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(8),
        RunStatus::Running.as_str(),
        p(9),
    )
}

/// Applies an update meant for one run and returns the row as it was written: in the same
/// statement where the backend has `RETURNING`, else read back on the same connection.
/// `None` when the update's filters matched no row.
async fn update_one_returning(
    db: &impl ConnectionTrait,
    update: sea_orm::UpdateMany<runs::Entity>,
    run_id: Uuid,
) -> StoreResult<Option<runs::Model>> {
    if db.support_returning() {
        return Ok(update.exec_with_returning(db).await?.into_iter().next());
    }
    if update.exec(db).await?.rows_affected != 1 {
        return Ok(None);
    }
    get(db, run_id).await
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

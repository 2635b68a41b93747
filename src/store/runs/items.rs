//! Item rows of a run: planning, recording results and write intents, listing, and the
//! counts derived from them.

use chrono::{DateTime, Utc};
use entity::enums::{ActionCount, ItemAction, RunItemStatus, RunStatus};
use entity::{run_items, runs};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::store::placeholder;
use crate::store::{StoreResult, TenantScope};

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
    /// `run` as its Run Record reads once these counts are stored on it.
    pub fn applied_to(&self, run: &runs::Model) -> runs::Model {
        let n = |v: i64| v as i32;
        runs::Model {
            total_items: n(self.total),
            succeeded_items: n(self.succeeded),
            failed_items: n(self.failed),
            skipped_items: n(self.skipped),
            created_items: n(self.created),
            updated_items: n(self.updated),
            unchanged_items: n(self.unchanged),
            conflict_items: n(self.conflict),
            deleted_items: n(self.deleted),
            updated_at: Utc::now(),
            ..run.clone()
        }
    }

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

/// Items of a run that failed with `error_code`.
pub async fn count_failed_with(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    error_code: &str,
) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(run_items::Entity::find()
        .filter(run_items::Column::RunId.eq(run_id))
        .filter(run_items::Column::Status.eq(RunItemStatus::Failed.as_str()))
        .filter(run_items::Column::ErrorCode.eq(error_code))
        .count(db)
        .await?)
}

/// Copies the derived counts onto the Run Record (what lists and progress bars read) while
/// the run is running, and returns them: counted by the update itself, one statement where
/// the backend has `RETURNING`. `progressed`: an item result was just recorded, so this
/// attempt made progress.
pub async fn refresh_counts(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    progressed: bool,
) -> StoreResult<Counts> {
    let returning = db.support_returning();
    let sql = counted_update_sql(db.get_database_backend(), progressed, returning);
    let values = [Utc::now().into(), run_id.into(), run_id.into()];
    let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    if !returning {
        db.execute_raw(stmt).await?;
        return count_items(db, run_id).await;
    }
    match db.query_one_raw(stmt).await? {
        Some(row) => counts_of(&row),
        // The run is no longer running (finished by the reaper while a worker that lost it
        // still wrote): its Run Record keeps the counts its finish stored.
        None => count_items(db, run_id).await,
    }
}

/// The counts a counted update's `RETURNING` answered with.
fn counts_of(row: &sea_orm::QueryResult) -> StoreResult<Counts> {
    let mut n = [0i64; COUNT_COLUMNS.len()];
    for (value, column) in n.iter_mut().zip(COUNT_COLUMNS) {
        *value = i64::from(row.try_get::<i32>("", column)?);
    }
    let [
        total,
        succeeded,
        failed,
        skipped,
        created,
        updated,
        unchanged,
        conflict,
        deleted,
    ] = n;
    Ok(Counts {
        total,
        succeeded,
        failed,
        skipped,
        created,
        updated,
        unchanged,
        conflict,
        deleted,
    })
}

/// The count columns of the Run Record, in [`Counts`] order.
const COUNT_COLUMNS: [&str; 9] = [
    "total_items",
    "succeeded_items",
    "failed_items",
    "skipped_items",
    "created_items",
    "updated_items",
    "unchanged_items",
    "conflict_items",
    "deleted_items",
];

/// `UPDATE runs SET <counts> FROM (<the run's items counted>) ...` with parameters
/// (updated_at, run id, run id).
fn counted_update_sql(backend: DbBackend, progressed: bool, returning: bool) -> String {
    let p = |i| placeholder(backend, i);
    let items = format!("run_items WHERE run_id = {}", p(2));
    counted_update(&items, &p(1), &p(3), progressed, returning)
}

/// `UPDATE runs SET <counts of items>, updated_at = <now> ... WHERE runs.id = <run>` while
/// the run is running; `items` is the `FROM` of the counting select (rows with `status` and
/// `action`), `now` and `run` are placeholders.
fn counted_update(items: &str, now: &str, run: &str, progressed: bool, returning: bool) -> String {
    let (select, set) = counted_columns();
    let progress = if progressed {
        ", progress_attempt = attempt"
    } else {
        ""
    };
    let returning = if returning {
        format!(" RETURNING {}", COUNT_COLUMNS.join(", "))
    } else {
        String::new()
    };
    format!(
        "UPDATE runs SET {set}, updated_at = {now}{progress} \
         FROM (SELECT {select} FROM {items}) AS c \
         WHERE runs.id = {run} AND runs.status = '{}'{returning}",
        RunStatus::Running.as_str()
    )
}

/// The counting select list (`<expr> AS n_<column>, ...`) and the assignments
/// (`<column> = c.n_<column>, ...`), the same on every backend: built once. Items are counted
/// as [`Counts::add`] counts them: by status, and by what [`ItemAction::counts_as`] says an
/// action counts as.
pub(super) fn counted_columns() -> &'static (String, String) {
    static COLUMNS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        let sum = |column: &str, texts: &[&str]| {
            if texts.is_empty() {
                return "0".to_string();
            }
            let list = texts
                .iter()
                .map(|t| {
                    debug_assert!(t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
                    format!("'{t}'")
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("COALESCE(SUM(CASE WHEN {column} IN ({list}) THEN 1 ELSE 0 END), 0)")
        };
        let actions = |wanted: ActionCount| -> Vec<&str> {
            ItemAction::ALL
                .iter()
                .filter(|a| a.counts_as() == wanted)
                .map(|a| a.as_str())
                .collect()
        };
        let counted = [
            "COUNT(*)".to_string(),
            sum("status", &[RunItemStatus::Succeeded.as_str()]),
            sum("status", &[RunItemStatus::Failed.as_str()]),
            sum("status", &[RunItemStatus::Skipped.as_str()]),
            sum("action", &actions(ActionCount::Created)),
            sum("action", &actions(ActionCount::Updated)),
            sum("action", &actions(ActionCount::Unchanged)),
            sum("action", &actions(ActionCount::Conflict)),
            sum("action", &actions(ActionCount::Deleted)),
        ];
        let select = COUNT_COLUMNS
            .iter()
            .zip(&counted)
            .map(|(column, expr)| format!("{expr} AS n_{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let set = COUNT_COLUMNS
            .iter()
            .map(|column| format!("{column} = c.n_{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        (select, set)
    })
}

/// Sets every count column of the Run Record from `counts`.
pub(super) fn with_counts(
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
) -> StoreResult<Counts> {
    let now = Utc::now();
    for chunk in items.chunks(UPSERT_CHUNK) {
        let rows = chunk.iter().map(|item| pending_row(run, item.clone(), now));
        run_items::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([run_items::Column::RunId, run_items::Column::ItemKey])
            .exec(db)
            .await?;
    }
    refresh_counts(db, run.id, false).await
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

impl ItemResult {
    /// A succeeded item with nothing else said yet; executors fill in the rest.
    pub fn succeeded(item_key: &str, policy_type: &str, display_name: &str) -> Self {
        Self {
            item_key: item_key.to_string(),
            policy_type: policy_type.to_string(),
            display_name: display_name.to_string(),
            source_ref: None,
            status: RunItemStatus::Succeeded,
            action: None,
            error_code: None,
            error_message: None,
            error_context: None,
            match_kind: None,
            diff: None,
            result_graph_id: None,
        }
    }
}

/// Upserts an item's result (by `(run_id, item_key)`) and refreshes the run's counts.
pub async fn record_item(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    result: ItemResult,
) -> StoreResult<Counts> {
    record_items(db, run, vec![result]).await
}

/// Rows of one multi-row upsert: 200 rows of 21 columns stay far below PostgreSQL's
/// 65,535 bind parameters.
const UPSERT_CHUNK: usize = 200;

/// Upserts many items' results (by `(run_id, item_key)`; the last result of a key given
/// twice wins) in multi-row statements, then refreshes the run's counts once.
pub async fn record_items(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    results: Vec<ItemResult>,
) -> StoreResult<Counts> {
    let now = Utc::now();
    let counted_with_upsert = db.get_database_backend() == DbBackend::Postgres;
    let mut rows = last_of_each_key(results, |r| r)
        .map(|result| (result, None))
        .peekable();
    while rows.peek().is_some() {
        let upsert = results_upsert(run, rows.by_ref().take(UPSERT_CHUNK), now)?;
        if counted_with_upsert && rows.peek().is_none() {
            return upsert_and_count(db, run.id, None, upsert).await;
        }
        db.execute(&upsert).await?;
    }
    refresh_counts(db, run.id, true).await
}

/// The multi-row upsert of results ([`result_row`]s over [`result_upsert`]); a result given
/// with an expression has its `source_ref` set by it.
fn results_upsert(
    run: &runs::Model,
    results: impl Iterator<Item = (ItemResult, Option<Expr>)>,
    now: DateTime<Utc>,
) -> StoreResult<sea_orm::sea_query::InsertStatement> {
    use sea_orm::{IdenStatic, Iterable};
    let mut upsert = Query::insert();
    upsert
        .into_table(run_items::Entity)
        .columns(run_items::Column::iter())
        .on_conflict(result_upsert());
    for (result, source_ref) in results {
        let row = result_row(run, result, now);
        let values = run_items::Column::iter()
            .map(|column| match (&source_ref, row.get(column).into_value()) {
                (Some(expr), _) if matches!(column, run_items::Column::SourceRef) => {
                    Ok(expr.clone())
                }
                (_, Some(value)) => Ok(Expr::value(value)),
                (_, None) => Err(format!("run item column {} is not set", column.as_str())),
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|values| upsert.values(values).map_err(|e| e.to_string()).map(|_| ()));
        values.map_err(|e| crate::store::StoreError::Db(sea_orm::DbErr::Custom(e)))?;
    }
    Ok(upsert)
}

/// `results` without the earlier results of a key given again: one statement may not touch
/// a row twice (PostgreSQL refuses an upsert that does).
fn last_of_each_key<T>(
    results: Vec<T>,
    result: impl Fn(&T) -> &ItemResult,
) -> impl Iterator<Item = T> {
    let mut latest: std::collections::HashMap<String, usize> = Default::default();
    for (i, r) in results.iter().enumerate() {
        latest.insert(result(r).item_key.clone(), i);
    }
    results
        .into_iter()
        .enumerate()
        .filter(move |(i, r)| latest.get(&result(r).item_key) == Some(i))
        .map(|(_, r)| r)
}

/// A write that [`record_items_after`] runs first, in the same statement, as
/// `WITH <name> AS (<write>)`: what its `RETURNING` gives, the results may refer to.
pub struct Prelude {
    pub name: &'static str,
    pub write: sea_orm::sea_query::InsertStatement,
}

/// The most results [`record_items_after`] takes: one statement's worth.
pub const RECORD_AFTER_MAX: usize = UPSERT_CHUNK;

/// [`record_items`] of at most [`RECORD_AFTER_MAX`] results in one PostgreSQL statement
/// with `prelude` before them; a result given with an expression has its `source_ref` set by
/// it (a lookup in the prelude's rows). The caller falls back to two writes elsewhere.
pub async fn record_items_after(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    prelude: Prelude,
    results: Vec<(ItemResult, Option<Expr>)>,
) -> StoreResult<Counts> {
    if db.get_database_backend() != DbBackend::Postgres || results.len() > RECORD_AFTER_MAX {
        return Err(crate::store::StoreError::Db(sea_orm::DbErr::Custom(
            "record_items_after: one PostgreSQL statement's worth of results only".into(),
        )));
    }
    let upsert = results_upsert(run, last_of_each_key(results, |(r, _)| r), Utc::now())?;
    upsert_and_count(db, run.id, Some(prelude), upsert).await
}

/// The last upsert of a result write and the count refresh in one PostgreSQL statement
/// (after `prelude`, if any): the upsert is a CTE, and the counted rows are what it wrote
/// plus the run's other items (the statement's snapshot still holds the rows it replaced,
/// so those are left out).
async fn upsert_and_count(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    prelude: Option<Prelude>,
    mut upsert: sea_orm::sea_query::InsertStatement,
) -> StoreResult<Counts> {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqlWriterValues, Write};
    let backend = DbBackend::Postgres;
    upsert.returning(Query::returning().columns([
        run_items::Column::ItemKey,
        run_items::Column::Status,
        run_items::Column::Action,
    ]));
    let mut sql = SqlWriterValues::new("$", true);
    let written = (|| {
        if let Some(prelude) = &prelude {
            write!(sql, "WITH {} AS (", prelude.name)?;
            prelude
                .write
                .build_collect_into(PostgresQueryBuilder, &mut sql);
            sql.write_str("), up AS (")?;
        } else {
            sql.write_str("WITH up AS (")?;
        }
        upsert.build_collect_into(PostgresQueryBuilder, &mut sql);
        sql.write_str(") ")
    })();
    written.map_err(|e| crate::store::StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    let (mut sql, sea_orm::sea_query::Values(mut values)) = sql.into_parts();
    values.push(run_id.into());
    let run = placeholder(backend, values.len());
    values.push(Utc::now().into());
    let now = placeholder(backend, values.len());
    let items = format!(
        "(SELECT status, action FROM up UNION ALL \
          SELECT status, action FROM run_items \
          WHERE run_id = {run} AND item_key NOT IN (SELECT item_key FROM up)) AS i"
    );
    sql.push_str(&counted_update(&items, &now, &run, true, true));
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    match db.query_one_raw(stmt).await? {
        Some(row) => counts_of(&row),
        None => count_items(db, run_id).await,
    }
}

/// The row an item's result is stored as.
fn result_row(run: &runs::Model, result: ItemResult, now: DateTime<Utc>) -> run_items::ActiveModel {
    let planned = PlannedItem {
        item_key: result.item_key,
        policy_type: result.policy_type,
        display_name: result.display_name,
        source_ref: result.source_ref,
    };
    run_items::ActiveModel {
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
    }
}

/// A result over a planned (or earlier attempt's) row: what it says replaces what was there.
fn result_upsert() -> OnConflict {
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
            // An import learns a file's type only by reading it.
            run_items::Column::PolicyType,
        ])
        .value(
            run_items::Column::Attempts,
            Expr::col((run_items::Entity, run_items::Column::Attempts)).add(1),
        )
        .to_owned()
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

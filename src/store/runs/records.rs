//! Run Records as rows: inserting, reading by id or tenant, de-duplication look-ups and lists.

use chrono::{DateTime, Utc};
use entity::enums::{RunOperation, RunStatus, TargetType};
use entity::runs;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::store::{StoreError, StoreResult, TenantScope};

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

/// The `queued` notification a start owes its initiator, if their preferences want one.
#[derive(Debug, Clone)]
pub struct QueuedNotice {
    pub title: String,
    pub body: String,
}

/// What a tenant must be for a start to insert its run: enabled for every operation, but
/// disabled for a purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantState {
    Enabled,
    Disabled,
}

/// [`insert`], guarded by the tenant's state, and the initiator's `queued` notice when their
/// preferences want it (as [`activity::Preferences::wants`] decides), in one statement:
/// one round trip, no transaction. PostgreSQL only (the preference test is `jsonb`);
/// SQLite starts in a transaction. `None`: the tenant is gone or not in `state`, and
/// nothing was written.
///
/// [`activity::Preferences::wants`]: crate::store::activity::Preferences::wants
pub async fn insert_with_notice(
    db: &impl ConnectionTrait,
    new: NewRun,
    state: TenantState,
    notice: QueuedNotice,
) -> StoreResult<Option<runs::Model>> {
    const KIND: &str = "queued";
    let now = Utc::now();
    // $1-$10 the run, $11 the tenant's state, $12 now, $13-$15 the notice, $16-$18 the
    // preference test: the kind, the tenant, and the answer for a user who chose nothing;
    // $19 the kind as the notification stores it.
    let sql = r#"
WITH r AS (
    INSERT INTO runs (id, tenant_id, operation, target_type, target_id, selection_digest,
        status, initiator_id, parent_run_id, params, max_attempts, queued_at, updated_at)
    SELECT $1, t.id, $3, $4, $5, $6, 'queued', $7, $8, $9, $10, $12, $12
    FROM tenants t WHERE t.id = $2 AND (t.disabled_at IS NOT NULL) = $11
    RETURNING *
), p AS (
    SELECT kinds, tenant_ids FROM notification_preferences WHERE user_id = $7
), n AS (
    INSERT INTO notifications (id, user_id, tenant_id, run_id, kind, title, body, created_at)
    SELECT $13, r.initiator_id, r.tenant_id, r.id, $19, $14, $15, $12 FROM r
    WHERE CASE WHEN EXISTS (SELECT 1 FROM p)
        THEN EXISTS (SELECT 1 FROM p WHERE p.kinds @> $16
            AND (p.tenant_ids IS NULL OR p.tenant_ids @> $17))
        ELSE $18 END
)
SELECT * FROM r"#;
    let wanted_by_default = crate::store::activity::DEFAULT_KINDS.contains(&KIND);
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [
            new.id.into(),
            new.tenant_id.into(),
            new.operation.as_str().into(),
            new.target_type.as_str().into(),
            new.target_id.into(),
            new.selection_digest.into(),
            new.initiator_id.into(),
            new.parent_run_id.into(),
            new.params.into(),
            new.max_attempts.into(),
            (state == TenantState::Disabled).into(),
            now.into(),
            Uuid::now_v7().into(),
            notice.title.into(),
            notice.body.into(),
            serde_json::json!([KIND]).into(),
            serde_json::json!([new.tenant_id]).into(),
            wanted_by_default.into(),
            KIND.into(),
        ],
    );
    Ok(runs::Entity::find().from_raw_sql(statement).one(db).await?)
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
    /// Only runs queued at or after this instant.
    pub since: Option<DateTime<Utc>>,
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
    list_in(db, std::slice::from_ref(scope), filter, limit).await
}

/// Runs of several tenants (each granted by its scope), newest first, one page.
pub async fn list_in(
    db: &impl ConnectionTrait,
    scopes: &[TenantScope],
    filter: &RunFilter,
    limit: u64,
) -> StoreResult<(Vec<runs::Model>, Option<RunCursor>)> {
    if scopes.is_empty() {
        return Ok((Vec::new(), None));
    }
    let tenant_ids: Vec<Uuid> = scopes.iter().map(TenantScope::tenant_id).collect();
    let mut query = runs::Entity::find().filter(runs::Column::TenantId.is_in(tenant_ids));
    if let Some(op) = filter.operation {
        query = query.filter(runs::Column::Operation.eq(op));
    }
    if let Some(status) = filter.status {
        query = query.filter(runs::Column::Status.eq(status));
    }
    if let Some(since) = filter.since {
        query = query.filter(runs::Column::QueuedAt.gte(since));
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

/// Runs of one tenant by id (those that exist).
pub async fn get_many(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    ids: &[Uuid],
) -> StoreResult<Vec<runs::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(runs::Entity::find()
        .filter(runs::Column::TenantId.eq(scope.tenant_id()))
        .filter(runs::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
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

//! What the operations page reads from the database: queued runs per operation (depth and
//! oldest), running runs with the worker that holds each, and finished runs per five-minute
//! bucket of the last hour by outcome. `tenants`: the caller's tenants, or `None` for a
//! platform admin (every tenant).

use chrono::{DateTime, Duration, Utc};
use entity::enums::{RunOperation, RunStatus};
use entity::runs;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::StoreResult;

fn within(query: Select<runs::Entity>, tenants: Option<&[Uuid]>) -> Select<runs::Entity> {
    match tenants {
        Some(ids) => query.filter(runs::Column::TenantId.is_in(ids.iter().copied())),
        None => query,
    }
}

/// Queued runs of one operation: how many, and since when the oldest waits.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub operation: RunOperation,
    pub depth: u64,
    pub oldest: Option<DateTime<Utc>>,
}

pub async fn waiting(
    db: &impl ConnectionTrait,
    tenants: Option<&[Uuid]>,
) -> StoreResult<Vec<Waiting>> {
    if tenants.is_some_and(<[Uuid]>::is_empty) {
        return Ok(Vec::new());
    }
    let rows: Vec<(RunOperation, i64, Option<DateTime<Utc>>)> =
        within(runs::Entity::find(), tenants)
            .select_only()
            .column(runs::Column::Operation)
            .column_as(runs::Column::Id.count(), "depth")
            .column_as(runs::Column::QueuedAt.min(), "oldest")
            .filter(runs::Column::Status.eq(RunStatus::Queued))
            .group_by(runs::Column::Operation)
            .into_tuple()
            .all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(operation, depth, oldest)| Waiting {
            operation,
            depth: u64::try_from(depth).unwrap_or(0),
            oldest,
        })
        .collect())
}

/// Running runs, oldest first (at most `limit`).
pub async fn running(
    db: &impl ConnectionTrait,
    tenants: Option<&[Uuid]>,
    limit: u64,
) -> StoreResult<Vec<runs::Model>> {
    if tenants.is_some_and(<[Uuid]>::is_empty) {
        return Ok(Vec::new());
    }
    Ok(within(runs::Entity::find(), tenants)
        .filter(runs::Column::Status.eq(RunStatus::Running))
        .order_by_asc(runs::Column::StartedAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Finished runs in one five-minute bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    pub start: Option<DateTime<Utc>>,
    pub succeeded: u64,
    /// Failed or partial.
    pub failed: u64,
    pub canceled: u64,
}

/// The last hour in twelve five-minute buckets, oldest first, ending at `now`.
pub async fn last_hour(
    db: &impl ConnectionTrait,
    tenants: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Bucket>> {
    let mut out = Vec::with_capacity(12);
    for i in (0..12).rev() {
        let end = now - Duration::minutes(5 * i);
        let start = end - Duration::minutes(5);
        let mut bucket = Bucket {
            start: Some(start),
            ..Bucket::default()
        };
        if tenants.is_some_and(<[Uuid]>::is_empty) {
            out.push(bucket);
            continue;
        }
        let rows: Vec<(RunStatus, i64)> = within(runs::Entity::find(), tenants)
            .select_only()
            .column(runs::Column::Status)
            .column_as(runs::Column::Id.count(), "n")
            .filter(runs::Column::FinishedAt.gte(start))
            .filter(runs::Column::FinishedAt.lt(end))
            .group_by(runs::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match status {
                RunStatus::Succeeded => bucket.succeeded += n,
                RunStatus::Failed | RunStatus::Partial => bucket.failed += n,
                RunStatus::Canceled => bucket.canceled += n,
                _ => {}
            }
        }
        out.push(bucket);
    }
    Ok(out)
}

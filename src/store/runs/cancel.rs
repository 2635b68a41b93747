//! Cancel requests: one row per run, written once (a second request is the same request).

use chrono::Utc;
use entity::run_cancellations;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::store::{StoreResult, TenantScope};

/// Records that `by` asked to cancel the run (idempotent: the first request stands).
pub async fn request_cancel(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    run_id: Uuid,
    by: Uuid,
) -> StoreResult<()> {
    let row = run_cancellations::ActiveModel {
        run_id: Set(run_id),
        tenant_id: Set(scope.tenant_id()),
        requested_by: Set(Some(by)),
        requested_at: Set(Utc::now()),
    };
    run_cancellations::Entity::insert(row)
        .on_conflict(
            OnConflict::column(run_cancellations::Column::RunId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The run's cancel request, if one was made.
pub async fn cancel_request(
    db: &impl ConnectionTrait,
    run_id: Uuid,
) -> StoreResult<Option<run_cancellations::Model>> {
    Ok(run_cancellations::Entity::find_by_id(run_id)
        .one(db)
        .await?)
}

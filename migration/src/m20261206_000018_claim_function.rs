//! `claim_run(...)` on PostgreSQL: a run's claim in one statement, so one round trip.
//!
//! Claims of one tenant's runs serialize on a per-tenant advisory lock, and the update that
//! checks the tenant's running runs must read a snapshot taken after the lock: two
//! statements. In a function (volatile, so each statement inside takes a fresh snapshot)
//! they need no transaction of their own: the lock lasts until the calling statement
//! commits. The lock key is `store::runs::TENANT_LOCK_KEY`; the filters are those of the
//! claim's SQLite form in `store::runs::claim`. `p_writing` names the operations that write
//! to the tenant (one of them runs at a time per tenant). SQLite serializes writers and
//! needs no function.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: &str = r#"
CREATE OR REPLACE FUNCTION claim_run(
    p_run uuid,
    p_owner text,
    p_lease uuid,
    p_now timestamptz,
    p_deadline timestamptz,
    p_cap bigint,
    p_writing text[]
) RETURNS SETOF runs
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(tenant_id::text, 0))
        FROM runs WHERE id = p_run AND status = 'queued';
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    UPDATE runs SET
        status = 'running',
        lease_owner = p_owner,
        lease_token = p_lease,
        attempt = runs.attempt + 1,
        heartbeat_at = p_now,
        started_at = COALESCE(runs.started_at, p_now),
        deadline_at = COALESCE(runs.deadline_at, p_deadline),
        updated_at = p_now
    WHERE runs.id = p_run
      AND runs.status = 'queued'
      AND (SELECT count(o.id) FROM runs o
           WHERE o.tenant_id = runs.tenant_id AND o.status = 'running') < p_cap
      AND (runs.operation <> ALL (p_writing)
           OR (SELECT count(w.id) FROM runs w
               WHERE w.tenant_id = runs.tenant_id AND w.status = 'running'
                 AND w.operation = ANY (p_writing)) = 0)
    RETURNING runs.*;
END
$$
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(CREATE).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP FUNCTION IF EXISTS claim_run(uuid, text, uuid, timestamptz, timestamptz, bigint, text[])",
            )
            .await?;
        }
        Ok(())
    }
}

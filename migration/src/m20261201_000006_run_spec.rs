//! Run specs are self-contained: a re-run's stored parameters name the run it re-runs
//! (`original_run_id`), as an undo's already do, so the typed spec reads from `params` alone.
//! Existing re-runs get it from their `target_id`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE runs SET params = jsonb_set(params, '{original_run_id}', to_jsonb(target_id::text)) \
                 WHERE operation = 'restore_rerun' AND NOT (params ? 'original_run_id')"
            }
            // SQLite keeps uuids as 16-byte blobs: spell them out hyphenated.
            _ => {
                "UPDATE runs SET params = json_set(params, '$.original_run_id', lower( \
                   substr(hex(target_id), 1, 8) || '-' || substr(hex(target_id), 9, 4) || '-' || \
                   substr(hex(target_id), 13, 4) || '-' || substr(hex(target_id), 17, 4) || '-' || \
                   substr(hex(target_id), 21, 12))) \
                 WHERE operation = 'restore_rerun' AND json_extract(params, '$.original_run_id') IS NULL"
            }
        };
        db.execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE runs SET params = params - 'original_run_id' WHERE operation = 'restore_rerun'"
            }
            _ => {
                "UPDATE runs SET params = json_remove(params, '$.original_run_id') \
                 WHERE operation = 'restore_rerun'"
            }
        };
        db.execute_unprepared(sql).await?;
        Ok(())
    }
}

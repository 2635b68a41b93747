//! Comparison runs: `compare` joins the operations a run may have.

use sea_orm_migration::prelude::*;

use crate::helpers::set_operations;

#[derive(DeriveMigrationName)]
pub struct Migration;

const BEFORE: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
    "restore_undo",
];

const AFTER: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
    "restore_undo",
    "compare",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // One connection for the whole step: SQLite's CHECK rewrite spans several statements
    // (`writable_schema` is per connection).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_operations(manager, BEFORE, AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM runs WHERE operation = 'compare'")
            .await?;
        set_operations(manager, AFTER, BEFORE).await
    }
}

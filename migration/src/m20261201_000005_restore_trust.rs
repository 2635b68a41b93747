//! Restores you can trust: the selection a run acts on is part of its de-duplication key,
//! runs remember the attempt that last made progress, the pre-restore copy they took and
//! their outcome counts by action; items say how their target was matched and keep Graph's
//! (sanitized) error context; snapshots say why they exist; `restore_undo` is an operation.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{set_operations, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    TenantId,
    Operation,
    TargetId,
    Status,
    SelectionDigest,
    PreRestoreSnapshotId,
    ProgressAttempt,
    CreatedItems,
    UpdatedItems,
    UnchangedItems,
    ConflictItems,
    DeletedItems,
}

#[derive(DeriveIden)]
enum RunItems {
    Table,
    MatchKind,
    ErrorContext,
}

#[derive(DeriveIden)]
enum Snapshots {
    Table,
    Purpose,
}

const OPERATIONS_BEFORE: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
];

const OPERATIONS_AFTER: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
    "restore_undo",
];

async fn active_index(manager: &SchemaManager<'_>, with_selection: bool) -> Result<(), DbErr> {
    manager
        .drop_index(
            Index::drop()
                .name("ux_runs_active")
                .table(Runs::Table)
                .to_owned(),
        )
        .await?;
    let mut index = unique_index("ux_runs_active", Runs::Table);
    index
        .col(Runs::TenantId)
        .col(Runs::Operation)
        .col(Runs::TargetId);
    if with_selection {
        index.col(Runs::SelectionDigest);
    }
    manager
        .create_index(
            index
                .and_where(Expr::col(Runs::Status).is_in(["queued", "running"]))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite rewrites its schema here: one transaction keeps every statement on one
    // connection and makes the change all or nothing.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let run_columns = [
            text(Runs::SelectionDigest).default("").to_owned(),
            uuid_null(Runs::PreRestoreSnapshotId).to_owned(),
            integer(Runs::ProgressAttempt).default(0).to_owned(),
            integer(Runs::CreatedItems).default(0).to_owned(),
            integer(Runs::UpdatedItems).default(0).to_owned(),
            integer(Runs::UnchangedItems).default(0).to_owned(),
            integer(Runs::ConflictItems).default(0).to_owned(),
            integer(Runs::DeletedItems).default(0).to_owned(),
        ];
        for mut column in run_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Runs::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Runs in flight at the upgrade count only attempts from now on.
        manager
            .get_connection()
            .execute_unprepared("UPDATE runs SET progress_attempt = attempt")
            .await?;
        for mut column in [
            text_null(RunItems::MatchKind).to_owned(),
            json_binary_null(RunItems::ErrorContext).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RunItems::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Snapshots::Table)
                    .add_column(text(Snapshots::Purpose).default("capture").to_owned())
                    .to_owned(),
            )
            .await?;
        active_index(manager, true).await?;
        set_operations(manager, OPERATIONS_BEFORE, OPERATIONS_AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM runs WHERE operation = 'restore_undo'")
            .await?;
        set_operations(manager, OPERATIONS_AFTER, OPERATIONS_BEFORE).await?;
        // Fails while two active runs of one target differ only in their selection.
        active_index(manager, false).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Snapshots::Table)
                    .drop_column(Snapshots::Purpose)
                    .to_owned(),
            )
            .await?;
        for column in [RunItems::MatchKind, RunItems::ErrorContext] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RunItems::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Runs::SelectionDigest,
            Runs::PreRestoreSnapshotId,
            Runs::ProgressAttempt,
            Runs::CreatedItems,
            Runs::UpdatedItems,
            Runs::UnchangedItems,
            Runs::ConflictItems,
            Runs::DeletedItems,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Runs::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

//! Restores you can trust: the selection a run acts on is part of its de-duplication key,
//! runs remember the attempt that last made progress, the pre-restore copy they took and
//! their outcome counts by action; items say how their target was matched and keep Graph's
//! (sanitized) error context; snapshots say why they exist; `restore_undo` is an operation.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::unique_index;

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

fn in_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces the allowed values of `ck_runs_operation`. PostgreSQL alters the constraint;
/// SQLite cannot, so its stored table definition is rewritten in place — the procedure
/// SQLite documents for changing a CHECK constraint without rebuilding the table (the new
/// list is a superset on `up`, and `down` first fails if a row uses a removed value).
async fn set_operations(
    manager: &SchemaManager<'_>,
    from: &[&str],
    to: &[&str],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "ALTER TABLE runs DROP CONSTRAINT ck_runs_operation, \
                 ADD CONSTRAINT ck_runs_operation CHECK (operation IN ({}))",
                in_list(to)
            ))
            .await?;
        }
        DbBackend::Sqlite => {
            let row = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
                ))
                .await?
                .ok_or_else(|| DbErr::Migration("table runs not found".into()))?;
            let sql: String = row.try_get("", "sql")?;
            let old = format!("IN ({})", in_list(from));
            if !sql.contains(&old) {
                return Err(DbErr::Migration(format!(
                    "ck_runs_operation is not the expected `{old}`"
                )));
            }
            let new_sql = sql.replace(&old, &format!("IN ({})", in_list(to)));
            let version = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA schema_version",
                ))
                .await?
                .ok_or_else(|| DbErr::Migration("no schema version".into()))?
                .try_get_by_index::<i64>(0)?;
            db.execute_unprepared("PRAGMA writable_schema = ON").await?;
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'runs'",
                [new_sql.into()],
            ))
            .await?;
            db.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
                .await?;
            db.execute_unprepared("PRAGMA writable_schema = OFF")
                .await?;
        }
        other => {
            return Err(DbErr::Migration(format!("unsupported backend {other:?}")));
        }
    }
    Ok(())
}

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

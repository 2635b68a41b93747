//! Building blocks shared by the migrations: named foreign keys, indexes and CHECKs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

/// A named foreign key `from_table.from_col → to_table.id`.
pub(crate) fn fk(
    name: &str,
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

/// A named (non-unique) index; add columns with `.col(..)`.
pub(crate) fn index(name: &str, table: impl IntoIden) -> IndexCreateStatement {
    Index::create().name(name).table(table).to_owned()
}

/// A named unique index; add columns with `.col(..)`.
pub(crate) fn unique_index(name: &str, table: impl IntoIden) -> IndexCreateStatement {
    Index::create().name(name).table(table).unique().to_owned()
}

/// A named `CHECK (column IN (values...))` table constraint.
pub(crate) fn check_in(name: &str, column: impl IntoIden, values: &[&str]) -> Check {
    Check::named(
        Alias::new(name),
        Expr::col(column).is_in(values.iter().copied()),
    )
}

/// A descending index column, for "newest first" listings.
pub(crate) fn desc(col: impl IntoIden) -> (DynIden, IndexOrder) {
    (col.into_iden(), IndexOrder::Desc)
}

fn in_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces the allowed values of `ck_runs_operation`.
pub(crate) async fn set_operations(
    manager: &SchemaManager<'_>,
    from: &[&str],
    to: &[&str],
) -> Result<(), DbErr> {
    set_check_in(manager, "runs", "ck_runs_operation", "operation", from, to).await
}

/// Replaces the allowed values of the `CHECK (column IN (...))` constraint `name` of
/// `table`. PostgreSQL alters the constraint; SQLite cannot, so its stored table definition
/// is rewritten in place — the procedure SQLite documents for changing a CHECK constraint
/// without rebuilding the table (the new list is a superset on `up`, and `down` first fails
/// if a row uses a removed value).
pub(crate) async fn set_check_in(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    column: &str,
    from: &[&str],
    to: &[&str],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} DROP CONSTRAINT {name}, \
                 ADD CONSTRAINT {name} CHECK ({column} IN ({}))",
                in_list(to)
            ))
            .await?;
        }
        DbBackend::Sqlite => {
            let old = format!("IN ({})", in_list(from));
            let new = format!("IN ({})", in_list(to));
            rewrite_sqlite_table(manager, table, &old, &new).await?;
        }
        other => {
            return Err(DbErr::Migration(format!("unsupported backend {other:?}")));
        }
    }
    Ok(())
}

/// Replaces `old` by `new` in SQLite's stored definition of `table` — the procedure SQLite
/// documents for changes that leave the stored rows valid (a CHECK list widened, a NOT NULL
/// dropped) without rebuilding the table. Fails if the definition does not hold `old`.
pub(crate) async fn rewrite_sqlite_table(
    manager: &SchemaManager<'_>,
    table: &str,
    old: &str,
    new: &str,
) -> Result<(), DbErr> {
    // One connection for the whole rewrite: `writable_schema` is a setting of the
    // connection, and a pool may hand out another for the next statement.
    let txn = manager.get_connection().begin().await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
            [table.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("table {table} not found")))?;
    let sql: String = row.try_get("", "sql")?;
    if !sql.contains(old) {
        return Err(DbErr::Migration(format!(
            "the definition of {table} does not hold the expected `{old}`"
        )));
    }
    let new_sql = sql.replacen(old, new, 1);
    let version = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("no schema version".into()))?
        .try_get_by_index::<i64>(0)?;
    txn.execute_unprepared("PRAGMA writable_schema = ON")
        .await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        [new_sql.into(), table.into()],
    ))
    .await?;
    txn.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
        .await?;
    txn.execute_unprepared("PRAGMA writable_schema = OFF")
        .await?;
    txn.commit().await
}

/// Adds one column to a table.
pub(crate) async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Send,
    mut column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

/// Drops one column of a table.
pub(crate) async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Send,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

//! Building blocks shared by the migrations: named foreign keys, indexes and CHECKs.

use sea_orm_migration::prelude::*;

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

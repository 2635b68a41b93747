//! Changes on every capture: a capture snapshot names the capture it was compared with and
//! stores what changed since (objects added, removed and changed, with their settings), as
//! the capture run computed it. Both are empty on snapshots taken before this version.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Snapshots {
    Table,
    PreviousSnapshotId,
    Changes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Snapshots::Table)
                    .add_column(uuid_null(Snapshots::PreviousSnapshotId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Snapshots::Table)
                    .add_column(json_binary_null(Snapshots::Changes))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Snapshots::Changes, Snapshots::PreviousSnapshotId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Snapshots::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

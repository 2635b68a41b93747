//! Imports: `uploads` holds an uploaded archive until its `import` run has read it, and
//! `import` joins the operations a run may have.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, set_operations};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    TenantId,
    Filename,
    SizeBytes,
    Sha256,
    Content,
    CreatedBy,
    CreatedAt,
}

const BEFORE: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
    "restore_undo",
    "compare",
];

const AFTER: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
    "restore_undo",
    "compare",
    "import",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // One connection for the whole step: SQLite's CHECK rewrite spans several statements.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .col(pk_uuid(Uploads::Id))
                    .col(uuid(Uploads::TenantId))
                    .col(text(Uploads::Filename))
                    .col(big_integer(Uploads::SizeBytes))
                    .col(text(Uploads::Sha256))
                    .col(blob(Uploads::Content))
                    .col(uuid_null(Uploads::CreatedBy))
                    .col(timestamp_with_time_zone(Uploads::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_uploads_tenant",
                        Uploads::Table,
                        Uploads::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_uploads_created_by",
                        Uploads::Table,
                        Uploads::CreatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        set_operations(manager, BEFORE, AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM runs WHERE operation = 'import'")
            .await?;
        set_operations(manager, AFTER, BEFORE).await?;
        manager
            .drop_table(Table::drop().table(Uploads::Table).to_owned())
            .await
    }
}

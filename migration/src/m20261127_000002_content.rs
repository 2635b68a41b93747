//! Captured content: `snapshots`, `snapshot_items`, `backup_sets`, `backup_items`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{desc, fk, index, unique_index};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Snapshots {
    Table,
    Id,
    TenantId,
    RunId,
    PolicyTypes,
    ItemCount,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SnapshotItems {
    Table,
    Id,
    TenantId,
    SnapshotId,
    PolicyType,
    SourceId,
    DisplayName,
    Payload,
    Assignments,
    ContentHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BackupSets {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    PolicyTypes,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    LastCapturedAt,
}

#[derive(DeriveIden)]
enum BackupItems {
    Table,
    Id,
    TenantId,
    BackupSetId,
    PolicyType,
    SourceId,
    DisplayName,
    Version,
    Payload,
    Assignments,
    ContentHash,
    IsLatest,
    MissingSince,
    RunId,
    CapturedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Snapshots::Table)
                    .col(pk_uuid(Snapshots::Id))
                    .col(uuid(Snapshots::TenantId))
                    .col(uuid_null(Snapshots::RunId))
                    .col(json_binary(Snapshots::PolicyTypes))
                    .col(integer(Snapshots::ItemCount).default(0))
                    .col(uuid_null(Snapshots::CreatedBy))
                    .col(timestamp_with_time_zone(Snapshots::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_snapshots_tenant",
                        Snapshots::Table,
                        Snapshots::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_snapshots_created_by",
                        Snapshots::Table,
                        Snapshots::CreatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_snapshots_tenant_created", Snapshots::Table)
                    .col(Snapshots::TenantId)
                    .col(desc(Snapshots::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SnapshotItems::Table)
                    .col(pk_uuid(SnapshotItems::Id))
                    .col(uuid(SnapshotItems::TenantId))
                    .col(uuid(SnapshotItems::SnapshotId))
                    .col(text(SnapshotItems::PolicyType))
                    .col(text(SnapshotItems::SourceId))
                    .col(text(SnapshotItems::DisplayName))
                    .col(json_binary(SnapshotItems::Payload))
                    .col(json_binary(SnapshotItems::Assignments))
                    .col(text(SnapshotItems::ContentHash))
                    .col(timestamp_with_time_zone(SnapshotItems::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_snapshot_items_tenant",
                        SnapshotItems::Table,
                        SnapshotItems::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_snapshot_items_snapshot",
                        SnapshotItems::Table,
                        SnapshotItems::SnapshotId,
                        Snapshots::Table,
                        Snapshots::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index(
                    "ux_snapshot_items_snapshot_type_source",
                    SnapshotItems::Table,
                )
                .col(SnapshotItems::SnapshotId)
                .col(SnapshotItems::PolicyType)
                .col(SnapshotItems::SourceId)
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_snapshot_items_tenant_snapshot", SnapshotItems::Table)
                    .col(SnapshotItems::TenantId)
                    .col(SnapshotItems::SnapshotId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BackupSets::Table)
                    .col(pk_uuid(BackupSets::Id))
                    .col(uuid(BackupSets::TenantId))
                    .col(text(BackupSets::Name))
                    .col(text_null(BackupSets::Description))
                    .col(json_binary(BackupSets::PolicyTypes))
                    .col(uuid_null(BackupSets::CreatedBy))
                    .col(timestamp_with_time_zone(BackupSets::CreatedAt))
                    .col(timestamp_with_time_zone(BackupSets::UpdatedAt))
                    .col(timestamp_with_time_zone_null(BackupSets::LastCapturedAt))
                    .foreign_key(&mut fk(
                        "fk_backup_sets_tenant",
                        BackupSets::Table,
                        BackupSets::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_backup_sets_created_by",
                        BackupSets::Table,
                        BackupSets::CreatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index("ux_backup_sets_tenant_name", BackupSets::Table)
                    .col(BackupSets::TenantId)
                    .col(BackupSets::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_backup_sets_tenant_created", BackupSets::Table)
                    .col(BackupSets::TenantId)
                    .col(desc(BackupSets::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BackupItems::Table)
                    .col(pk_uuid(BackupItems::Id))
                    .col(uuid(BackupItems::TenantId))
                    .col(uuid(BackupItems::BackupSetId))
                    .col(text(BackupItems::PolicyType))
                    .col(text(BackupItems::SourceId))
                    .col(text(BackupItems::DisplayName))
                    .col(integer(BackupItems::Version))
                    .col(json_binary(BackupItems::Payload))
                    .col(json_binary(BackupItems::Assignments))
                    .col(text(BackupItems::ContentHash))
                    .col(boolean(BackupItems::IsLatest))
                    .col(timestamp_with_time_zone_null(BackupItems::MissingSince))
                    .col(uuid_null(BackupItems::RunId))
                    .col(timestamp_with_time_zone(BackupItems::CapturedAt))
                    .foreign_key(&mut fk(
                        "fk_backup_items_tenant",
                        BackupItems::Table,
                        BackupItems::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_backup_items_backup_set",
                        BackupItems::Table,
                        BackupItems::BackupSetId,
                        BackupSets::Table,
                        BackupSets::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index(
                    "ux_backup_items_set_type_source_version",
                    BackupItems::Table,
                )
                .col(BackupItems::BackupSetId)
                .col(BackupItems::PolicyType)
                .col(BackupItems::SourceId)
                .col(BackupItems::Version)
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_backup_items_tenant_set_type", BackupItems::Table)
                    .col(BackupItems::TenantId)
                    .col(BackupItems::BackupSetId)
                    .col(BackupItems::PolicyType)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            BackupItems::Table.into_iden(),
            BackupSets::Table.into_iden(),
            SnapshotItems::Table.into_iden(),
            Snapshots::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

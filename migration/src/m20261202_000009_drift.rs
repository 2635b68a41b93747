//! Changes of backup-set captures, baselines, drift reports and accepted drift exceptions.
//!
//! - `backup_sets.changes` (with `changes_run_id`, `changes_since`): what the set's latest
//!   capture changed against the versions it held before, as that capture run computed it.
//! - `baselines`: at most one per tenant, a backup set (of this or another tenant) the
//!   tenant should match.
//! - `drift_reports`: what a capture found against the tenant's baseline (missing, extra and
//!   differing settings, an alignment score), one per capture.
//! - `drift_exceptions`: settings or objects an admin accepted as different for this tenant;
//!   later drift ignores them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{desc, fk, index, unique_index};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BackupSets {
    Table,
    Id,
    Changes,
    ChangesRunId,
    ChangesSince,
}

#[derive(DeriveIden)]
enum Baselines {
    Table,
    TenantId,
    BackupSetId,
    SetBy,
    SetAt,
    LatestReportId,
}

#[derive(DeriveIden)]
enum DriftReports {
    Table,
    Id,
    TenantId,
    SnapshotId,
    BackupSetId,
    RunId,
    ComputedAt,
    Score,
    BaselineSettings,
    MatchingSettings,
    Missing,
    Extra,
    Differing,
    Excepted,
    Entries,
}

#[derive(DeriveIden)]
enum DriftExceptions {
    Table,
    Id,
    TenantId,
    PolicyType,
    GraphId,
    Path,
    Reason,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            json_binary_null(BackupSets::Changes),
            uuid_null(BackupSets::ChangesRunId),
            timestamp_with_time_zone_null(BackupSets::ChangesSince),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(BackupSets::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Baselines::Table)
                    .col(pk_uuid(Baselines::TenantId))
                    .col(uuid(Baselines::BackupSetId))
                    .col(uuid_null(Baselines::SetBy))
                    .col(timestamp_with_time_zone(Baselines::SetAt))
                    .col(uuid_null(Baselines::LatestReportId))
                    .foreign_key(&mut fk(
                        "fk_baselines_tenant",
                        Baselines::Table,
                        Baselines::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_baselines_backup_set",
                        Baselines::Table,
                        Baselines::BackupSetId,
                        BackupSets::Table,
                        BackupSets::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_baselines_set_by",
                        Baselines::Table,
                        Baselines::SetBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DriftReports::Table)
                    .col(pk_uuid(DriftReports::Id))
                    .col(uuid(DriftReports::TenantId))
                    .col(uuid(DriftReports::SnapshotId))
                    .col(uuid(DriftReports::BackupSetId))
                    .col(uuid_null(DriftReports::RunId))
                    .col(timestamp_with_time_zone(DriftReports::ComputedAt))
                    .col(double(DriftReports::Score))
                    .col(integer(DriftReports::BaselineSettings))
                    .col(integer(DriftReports::MatchingSettings))
                    .col(integer(DriftReports::Missing))
                    .col(integer(DriftReports::Extra))
                    .col(integer(DriftReports::Differing))
                    .col(integer(DriftReports::Excepted))
                    .col(json_binary(DriftReports::Entries))
                    .foreign_key(&mut fk(
                        "fk_drift_reports_tenant",
                        DriftReports::Table,
                        DriftReports::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_drift_reports_tenant_computed", DriftReports::Table)
                    .col(DriftReports::TenantId)
                    .col(desc(DriftReports::ComputedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DriftExceptions::Table)
                    .col(pk_uuid(DriftExceptions::Id))
                    .col(uuid(DriftExceptions::TenantId))
                    .col(text(DriftExceptions::PolicyType))
                    .col(text(DriftExceptions::GraphId))
                    .col(text(DriftExceptions::Path))
                    .col(text(DriftExceptions::Reason))
                    .col(uuid_null(DriftExceptions::CreatedBy))
                    .col(timestamp_with_time_zone(DriftExceptions::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_drift_exceptions_tenant",
                        DriftExceptions::Table,
                        DriftExceptions::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_drift_exceptions_created_by",
                        DriftExceptions::Table,
                        DriftExceptions::CreatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index("ux_drift_exceptions_setting", DriftExceptions::Table)
                    .col(DriftExceptions::TenantId)
                    .col(DriftExceptions::PolicyType)
                    .col(DriftExceptions::GraphId)
                    .col(DriftExceptions::Path)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DriftExceptions::Table.into_iden(),
            DriftReports::Table.into_iden(),
            Baselines::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            BackupSets::ChangesSince,
            BackupSets::ChangesRunId,
            BackupSets::Changes,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(BackupSets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

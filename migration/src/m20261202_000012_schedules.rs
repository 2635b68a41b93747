//! Schedules: a tenant's recurring capture (of the tenant, or of one of its backup sets) on a
//! cron expression in a time zone, and `schedule_ticks`, one row per schedule and fire time —
//! the key that lets any number of workers race for a tick and only one start its run.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{check_in, desc, fk, index};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Schedules {
    Table,
    Id,
    TenantId,
    OwnerId,
    Operation,
    BackupSetId,
    Cron,
    Timezone,
    SpreadSecs,
    Enabled,
    NextRunAt,
    LastTickAt,
    LastRunId,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScheduleTicks {
    Table,
    ScheduleId,
    TickAt,
    RunId,
    ClaimedBy,
    ClaimedAt,
}

#[derive(DeriveIden)]
enum BackupSets {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Schedules::Table)
                    .col(pk_uuid(Schedules::Id))
                    .col(uuid(Schedules::TenantId))
                    .col(uuid_null(Schedules::OwnerId))
                    .col(text(Schedules::Operation))
                    .col(uuid_null(Schedules::BackupSetId))
                    .col(text(Schedules::Cron))
                    .col(text(Schedules::Timezone))
                    .col(integer(Schedules::SpreadSecs).default(0))
                    .col(boolean(Schedules::Enabled).default(true))
                    .col(timestamp_with_time_zone_null(Schedules::NextRunAt))
                    .col(timestamp_with_time_zone_null(Schedules::LastTickAt))
                    .col(uuid_null(Schedules::LastRunId))
                    .col(text_null(Schedules::DisabledReason))
                    .col(timestamp_with_time_zone(Schedules::CreatedAt))
                    .col(timestamp_with_time_zone(Schedules::UpdatedAt))
                    .check(check_in(
                        "ck_schedules_operation",
                        Schedules::Operation,
                        &["capture_snapshot", "backup_set_capture"],
                    ))
                    .foreign_key(&mut fk(
                        "fk_schedules_tenant",
                        Schedules::Table,
                        Schedules::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_schedules_owner",
                        Schedules::Table,
                        Schedules::OwnerId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_schedules_backup_set",
                        Schedules::Table,
                        Schedules::BackupSetId,
                        BackupSets::Table,
                        BackupSets::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_schedules_due", Schedules::Table)
                    .col(Schedules::Enabled)
                    .col(Schedules::NextRunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_schedules_tenant_created", Schedules::Table)
                    .col(Schedules::TenantId)
                    .col(desc(Schedules::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScheduleTicks::Table)
                    .col(uuid(ScheduleTicks::ScheduleId))
                    .col(timestamp_with_time_zone(ScheduleTicks::TickAt))
                    .col(uuid_null(ScheduleTicks::RunId))
                    .col(text(ScheduleTicks::ClaimedBy))
                    .col(timestamp_with_time_zone(ScheduleTicks::ClaimedAt))
                    .primary_key(
                        Index::create()
                            .col(ScheduleTicks::ScheduleId)
                            .col(ScheduleTicks::TickAt),
                    )
                    .foreign_key(&mut fk(
                        "fk_schedule_ticks_schedule",
                        ScheduleTicks::Table,
                        ScheduleTicks::ScheduleId,
                        Schedules::Table,
                        Schedules::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_schedule_ticks_run", ScheduleTicks::Table)
                    .col(ScheduleTicks::RunId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScheduleTicks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Schedules::Table).to_owned())
            .await
    }
}

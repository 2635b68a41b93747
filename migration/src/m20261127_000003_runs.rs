//! Runs and what hangs off them: `runs`, `run_items`, `notifications`, `audit_events`,
//! and `object_mappings` (written by restore runs).

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{check_in, desc, fk, index, unique_index};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    TenantId,
    Operation,
    TargetType,
    TargetId,
    Status,
    InitiatorId,
    ParentRunId,
    Params,
    Attempt,
    MaxAttempts,
    LeaseOwner,
    LeaseToken,
    HeartbeatAt,
    QueuedAt,
    StartedAt,
    FinishedAt,
    DeadlineAt,
    TotalItems,
    SucceededItems,
    FailedItems,
    SkippedItems,
    ErrorCode,
    ErrorContext,
    Summary,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RunItems {
    Table,
    Id,
    RunId,
    TenantId,
    ItemKey,
    PolicyType,
    DisplayName,
    SourceRef,
    Status,
    Action,
    ErrorCode,
    ErrorMessage,
    Diff,
    ResultGraphId,
    WriteIntent,
    Attempts,
    StartedAt,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    TenantId,
    RunId,
    Kind,
    Title,
    Body,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    TenantId,
    ActorId,
    Action,
    RunId,
    Details,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ObjectMappings {
    Table,
    Id,
    SourceTenantId,
    PolicyType,
    SourceGraphId,
    TargetTenantId,
    TargetGraphId,
    CreatedAt,
    UpdatedAt,
}

/// Statuses in which a run holds its (tenant, operation, target) slot.
const ACTIVE_RUN_STATUSES: [&str; 2] = ["queued", "running"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_runs(manager).await?;
        create_run_items(manager).await?;
        create_notifications(manager).await?;
        create_audit_events(manager).await?;
        create_object_mappings(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ObjectMappings::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            Notifications::Table.into_iden(),
            RunItems::Table.into_iden(),
            Runs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_runs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Runs::Table)
                .col(pk_uuid(Runs::Id))
                .col(uuid(Runs::TenantId))
                .col(text(Runs::Operation))
                .col(text(Runs::TargetType))
                .col(uuid(Runs::TargetId))
                .col(text(Runs::Status))
                .col(uuid(Runs::InitiatorId))
                .col(uuid_null(Runs::ParentRunId))
                .col(json_binary(Runs::Params))
                .col(integer(Runs::Attempt).default(0))
                .col(integer(Runs::MaxAttempts))
                .col(text_null(Runs::LeaseOwner))
                .col(uuid_null(Runs::LeaseToken))
                .col(timestamp_with_time_zone_null(Runs::HeartbeatAt))
                .col(timestamp_with_time_zone(Runs::QueuedAt))
                .col(timestamp_with_time_zone_null(Runs::StartedAt))
                .col(timestamp_with_time_zone_null(Runs::FinishedAt))
                .col(timestamp_with_time_zone_null(Runs::DeadlineAt))
                .col(integer(Runs::TotalItems).default(0))
                .col(integer(Runs::SucceededItems).default(0))
                .col(integer(Runs::FailedItems).default(0))
                .col(integer(Runs::SkippedItems).default(0))
                .col(text_null(Runs::ErrorCode))
                .col(json_binary_null(Runs::ErrorContext))
                .col(text_null(Runs::Summary))
                .col(timestamp_with_time_zone(Runs::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_runs_tenant",
                    Runs::Table,
                    Runs::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                // A user who started runs cannot be deleted while those runs exist: the
                // worker re-checks the initiator's rights before doing any work.
                .foreign_key(&mut fk(
                    "fk_runs_initiator",
                    Runs::Table,
                    Runs::InitiatorId,
                    Users::Table,
                    Users::Id,
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "fk_runs_parent_run",
                    Runs::Table,
                    Runs::ParentRunId,
                    Runs::Table,
                    Runs::Id,
                    ForeignKeyAction::SetNull,
                ))
                .check(check_in(
                    "ck_runs_operation",
                    Runs::Operation,
                    &[
                        "capture_snapshot",
                        "backup_set_capture",
                        "restore",
                        "restore_rerun",
                        "restore_preview",
                    ],
                ))
                .check(check_in(
                    "ck_runs_status",
                    Runs::Status,
                    &[
                        "queued",
                        "running",
                        "succeeded",
                        "failed",
                        "partial",
                        "canceled",
                    ],
                ))
                .to_owned(),
        )
        .await?;

    // The authority on "one active run per target": a concurrent start that loses the race
    // gets a unique violation here, even when Redis has lost its de-duplication key.
    manager
        .create_index(
            unique_index("ux_runs_active", Runs::Table)
                .col(Runs::TenantId)
                .col(Runs::Operation)
                .col(Runs::TargetId)
                .and_where(Expr::col(Runs::Status).is_in(ACTIVE_RUN_STATUSES))
                .to_owned(),
        )
        .await?;
    let indexes = [
        index("ix_runs_tenant_queued", Runs::Table)
            .col(Runs::TenantId)
            .col(desc(Runs::QueuedAt))
            .to_owned(),
        index("ix_runs_tenant_operation_queued", Runs::Table)
            .col(Runs::TenantId)
            .col(Runs::Operation)
            .col(desc(Runs::QueuedAt))
            .to_owned(),
        index("ix_runs_tenant_status_queued", Runs::Table)
            .col(Runs::TenantId)
            .col(Runs::Status)
            .col(desc(Runs::QueuedAt))
            .to_owned(),
        // For the sweeper and the reaper, which scan by status across tenants.
        index("ix_runs_status_queued", Runs::Table)
            .col(Runs::Status)
            .col(Runs::QueuedAt)
            .to_owned(),
        index("ix_runs_initiator", Runs::Table)
            .col(Runs::InitiatorId)
            .to_owned(),
        index("ix_runs_parent_run", Runs::Table)
            .col(Runs::ParentRunId)
            .to_owned(),
    ];
    for stmt in indexes {
        manager.create_index(stmt).await?;
    }
    Ok(())
}

async fn create_run_items(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RunItems::Table)
                .col(pk_uuid(RunItems::Id))
                .col(uuid(RunItems::RunId))
                .col(uuid(RunItems::TenantId))
                .col(text(RunItems::ItemKey))
                .col(text(RunItems::PolicyType))
                .col(text(RunItems::DisplayName))
                .col(uuid_null(RunItems::SourceRef))
                .col(text(RunItems::Status))
                .col(text_null(RunItems::Action))
                .col(text_null(RunItems::ErrorCode))
                .col(text_null(RunItems::ErrorMessage))
                .col(json_binary_null(RunItems::Diff))
                .col(text_null(RunItems::ResultGraphId))
                .col(json_binary_null(RunItems::WriteIntent))
                .col(integer(RunItems::Attempts).default(0))
                .col(timestamp_with_time_zone_null(RunItems::StartedAt))
                .col(timestamp_with_time_zone_null(RunItems::FinishedAt))
                .col(timestamp_with_time_zone(RunItems::CreatedAt))
                .col(timestamp_with_time_zone(RunItems::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_run_items_run",
                    RunItems::Table,
                    RunItems::RunId,
                    Runs::Table,
                    Runs::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_run_items_tenant",
                    RunItems::Table,
                    RunItems::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(check_in(
                    "ck_run_items_status",
                    RunItems::Status,
                    &["pending", "running", "succeeded", "failed", "skipped"],
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            unique_index("ux_run_items_run_item_key", RunItems::Table)
                .col(RunItems::RunId)
                .col(RunItems::ItemKey)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("ix_run_items_tenant_run_status", RunItems::Table)
                .col(RunItems::TenantId)
                .col(RunItems::RunId)
                .col(RunItems::Status)
                .to_owned(),
        )
        .await
}

async fn create_notifications(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Notifications::Table)
                .col(pk_uuid(Notifications::Id))
                .col(uuid(Notifications::UserId))
                .col(uuid(Notifications::TenantId))
                .col(uuid_null(Notifications::RunId))
                .col(text(Notifications::Kind))
                .col(text(Notifications::Title))
                .col(text(Notifications::Body))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .foreign_key(&mut fk(
                    "fk_notifications_user",
                    Notifications::Table,
                    Notifications::UserId,
                    Users::Table,
                    Users::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_notifications_tenant",
                    Notifications::Table,
                    Notifications::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_notifications_run",
                    Notifications::Table,
                    Notifications::RunId,
                    Runs::Table,
                    Runs::Id,
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("ix_notifications_user_created", Notifications::Table)
                .col(Notifications::UserId)
                .col(desc(Notifications::CreatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("ix_notifications_user_read", Notifications::Table)
                .col(Notifications::UserId)
                .col(Notifications::ReadAt)
                .to_owned(),
        )
        .await
}

async fn create_audit_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(pk_uuid(AuditEvents::Id))
                .col(uuid(AuditEvents::TenantId))
                .col(uuid_null(AuditEvents::ActorId))
                .col(text(AuditEvents::Action))
                .col(uuid_null(AuditEvents::RunId))
                .col(json_binary(AuditEvents::Details))
                .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_audit_events_tenant",
                    AuditEvents::Table,
                    AuditEvents::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_audit_events_actor",
                    AuditEvents::Table,
                    AuditEvents::ActorId,
                    Users::Table,
                    Users::Id,
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut fk(
                    "fk_audit_events_run",
                    AuditEvents::Table,
                    AuditEvents::RunId,
                    Runs::Table,
                    Runs::Id,
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("ix_audit_events_tenant_created", AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(desc(AuditEvents::CreatedAt))
                .to_owned(),
        )
        .await
}

async fn create_object_mappings(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ObjectMappings::Table)
                .col(pk_uuid(ObjectMappings::Id))
                .col(uuid(ObjectMappings::SourceTenantId))
                .col(text(ObjectMappings::PolicyType))
                .col(text(ObjectMappings::SourceGraphId))
                .col(uuid(ObjectMappings::TargetTenantId))
                .col(text(ObjectMappings::TargetGraphId))
                .col(timestamp_with_time_zone(ObjectMappings::CreatedAt))
                .col(timestamp_with_time_zone(ObjectMappings::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_object_mappings_source_tenant",
                    ObjectMappings::Table,
                    ObjectMappings::SourceTenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_object_mappings_target_tenant",
                    ObjectMappings::Table,
                    ObjectMappings::TargetTenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            unique_index("ux_object_mappings_source_target", ObjectMappings::Table)
                .col(ObjectMappings::SourceTenantId)
                .col(ObjectMappings::PolicyType)
                .col(ObjectMappings::SourceGraphId)
                .col(ObjectMappings::TargetTenantId)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("ix_object_mappings_target_type", ObjectMappings::Table)
                .col(ObjectMappings::TargetTenantId)
                .col(ObjectMappings::PolicyType)
                .to_owned(),
        )
        .await
}

//! The estate runs itself, part two:
//!
//! * `fanouts` and `fanout_runs`: one parent over many tenants' ordinary runs ("capture all
//!   my tenants", "preview/restore this backup set into these tenants"); a child row per
//!   tenant names the run the fan-out started there or joined (an identical run already
//!   active). `notifications.fanout_id` links the parent's one notification.
//! * `tenant_retention`: a tenant's overrides of the global retention settings.
//! * `prune`: the operation that applies retention, a run like any other (and a schedule's
//!   operation).
//! * `connection_test`: sign in to a tenant and read one collection, as a run.
//! * `webhooks.tenant_id` may be NULL: a global webhook, taking every tenant's events.

use sea_orm_migration::{prelude::*, schema::*};

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::helpers::{
    check_in, desc, fk, index, rewrite_sqlite_table, set_check_in, set_operations,
};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Fanouts {
    Table,
    Id,
    InitiatorId,
    Operation,
    Params,
    Status,
    TenantCount,
    Summary,
    StartedAt,
    CancelRequestedAt,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum FanoutRuns {
    Table,
    FanoutId,
    TenantId,
    RunId,
    Joined,
}

#[derive(DeriveIden)]
enum TenantRetention {
    Table,
    TenantId,
    SnapshotDays,
    SnapshotKeep,
    BackupVersionsKeep,
    RunDays,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    FanoutId,
    EmailState,
    EmailAttempts,
    EmailNextAt,
    EmailError,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
}

const BEFORE: &[&str] = &[
    "capture_snapshot",
    "backup_set_capture",
    "restore",
    "restore_rerun",
    "restore_preview",
    "restore_undo",
    "compare",
    "import",
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
    "prune",
    "connection_test",
];

const SCHEDULED_BEFORE: &[&str] = &["capture_snapshot", "backup_set_capture"];
const SCHEDULED_AFTER: &[&str] = &["capture_snapshot", "backup_set_capture", "prune"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Fanouts::Table)
                    .col(pk_uuid(Fanouts::Id))
                    .col(uuid(Fanouts::InitiatorId))
                    .col(text(Fanouts::Operation))
                    .col(json_binary(Fanouts::Params))
                    .col(text(Fanouts::Status))
                    .col(integer(Fanouts::TenantCount))
                    .col(text_null(Fanouts::Summary))
                    .col(timestamp_with_time_zone_null(Fanouts::StartedAt))
                    .col(timestamp_with_time_zone_null(Fanouts::CancelRequestedAt))
                    .col(timestamp_with_time_zone(Fanouts::CreatedAt))
                    .col(timestamp_with_time_zone_null(Fanouts::FinishedAt))
                    .check(check_in(
                        "ck_fanouts_operation",
                        Fanouts::Operation,
                        &["capture_snapshot", "restore_preview", "restore"],
                    ))
                    .check(check_in(
                        "ck_fanouts_status",
                        Fanouts::Status,
                        &["running", "succeeded", "failed", "partial", "canceled"],
                    ))
                    .foreign_key(&mut fk(
                        "fk_fanouts_initiator",
                        Fanouts::Table,
                        Fanouts::InitiatorId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_fanouts_initiator_created", Fanouts::Table)
                    .col(Fanouts::InitiatorId)
                    .col(desc(Fanouts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_fanouts_status", Fanouts::Table)
                    .col(Fanouts::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FanoutRuns::Table)
                    .col(uuid(FanoutRuns::FanoutId))
                    .col(uuid(FanoutRuns::TenantId))
                    .col(uuid(FanoutRuns::RunId))
                    .col(boolean(FanoutRuns::Joined).default(false))
                    .primary_key(
                        Index::create()
                            .col(FanoutRuns::FanoutId)
                            .col(FanoutRuns::TenantId),
                    )
                    .foreign_key(&mut fk(
                        "fk_fanout_runs_fanout",
                        FanoutRuns::Table,
                        FanoutRuns::FanoutId,
                        Fanouts::Table,
                        Fanouts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_fanout_runs_tenant",
                        FanoutRuns::Table,
                        FanoutRuns::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_fanout_runs_run",
                        FanoutRuns::Table,
                        FanoutRuns::RunId,
                        Runs::Table,
                        Runs::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_fanout_runs_run", FanoutRuns::Table)
                    .col(FanoutRuns::RunId)
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per statement.
        for column in [
            uuid_null(Notifications::FanoutId),
            text_null(Notifications::EmailState),
            integer(Notifications::EmailAttempts).default(0).to_owned(),
            timestamp_with_time_zone_null(Notifications::EmailNextAt),
            text_null(Notifications::EmailError),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Notifications::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                index("ix_notifications_email", Notifications::Table)
                    .col(Notifications::EmailState)
                    .col(Notifications::EmailNextAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TenantRetention::Table)
                    .col(pk_uuid(TenantRetention::TenantId))
                    .col(integer_null(TenantRetention::SnapshotDays))
                    .col(integer_null(TenantRetention::SnapshotKeep))
                    .col(integer_null(TenantRetention::BackupVersionsKeep))
                    .col(integer_null(TenantRetention::RunDays))
                    .col(uuid_null(TenantRetention::UpdatedBy))
                    .col(timestamp_with_time_zone(TenantRetention::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_tenant_retention_tenant",
                        TenantRetention::Table,
                        TenantRetention::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tenant_retention_updated_by",
                        TenantRetention::Table,
                        TenantRetention::UpdatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        set_operations(manager, BEFORE, AFTER).await?;
        set_check_in(
            manager,
            "schedules",
            "ck_schedules_operation",
            "operation",
            SCHEDULED_BEFORE,
            SCHEDULED_AFTER,
        )
        .await?;
        webhook_tenant_required(manager, false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM webhooks WHERE tenant_id IS NULL")
            .await?;
        webhook_tenant_required(manager, true).await?;
        db.execute_unprepared("DELETE FROM schedules WHERE operation = 'prune'")
            .await?;
        set_check_in(
            manager,
            "schedules",
            "ck_schedules_operation",
            "operation",
            SCHEDULED_AFTER,
            SCHEDULED_BEFORE,
        )
        .await?;
        db.execute_unprepared("DELETE FROM runs WHERE operation IN ('prune', 'connection_test')")
            .await?;
        set_operations(manager, AFTER, BEFORE).await?;
        manager
            .drop_table(Table::drop().table(TenantRetention::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_notifications_email")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Notifications::EmailError,
            Notifications::EmailNextAt,
            Notifications::EmailAttempts,
            Notifications::EmailState,
            Notifications::FanoutId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Notifications::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(FanoutRuns::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Fanouts::Table).to_owned())
            .await
    }
}

/// `webhooks.tenant_id` NOT NULL (`required`) or NULL-able (global webhooks).
async fn webhook_tenant_required(manager: &SchemaManager<'_>, required: bool) -> Result<(), DbErr> {
    const REQUIRED: &str = "\"tenant_id\" uuid_text NOT NULL";
    const OPTIONAL: &str = "\"tenant_id\" uuid_text NULL";
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Sqlite if required => {
            rewrite_sqlite_table(manager, "webhooks", OPTIONAL, REQUIRED).await
        }
        DbBackend::Sqlite => rewrite_sqlite_table(manager, "webhooks", REQUIRED, OPTIONAL).await,
        _ => {
            let change = if required { "SET" } else { "DROP" };
            db.execute_unprepared(&format!(
                "ALTER TABLE webhooks ALTER COLUMN tenant_id {change} NOT NULL"
            ))
            .await
            .map(|_| ())
        }
    }
}

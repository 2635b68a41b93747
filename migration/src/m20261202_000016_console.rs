//! An MSP console:
//!
//! * `users.platform_admin`: who may add and purge tenants (granted by the CLI).
//! * `tenants.disabled_at`, `disabled_reason`, `purged_at`: a disabled tenant takes no
//!   starts and its schedules pause; a purged one also has no data left.
//! * `api_tokens.expires_at`, `read_only`: tokens that end, and tokens that only read.
//! * `tenant_purge`: removing a tenant's data is a run like any other.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{add_column as add, drop_column as drop, set_operations};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    PlatformAdmin,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    DisabledAt,
    DisabledReason,
    PurgedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    ExpiresAt,
    ReadOnly,
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
    "prune",
    "connection_test",
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
    "tenant_purge",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(
            manager,
            Users::Table,
            boolean(Users::PlatformAdmin).default(false).to_owned(),
        )
        .await?;
        add(
            manager,
            Tenants::Table,
            timestamp_with_time_zone_null(Tenants::DisabledAt),
        )
        .await?;
        add(manager, Tenants::Table, text_null(Tenants::DisabledReason)).await?;
        add(
            manager,
            Tenants::Table,
            timestamp_with_time_zone_null(Tenants::PurgedAt),
        )
        .await?;
        add(
            manager,
            ApiTokens::Table,
            timestamp_with_time_zone_null(ApiTokens::ExpiresAt),
        )
        .await?;
        add(
            manager,
            ApiTokens::Table,
            boolean(ApiTokens::ReadOnly).default(false).to_owned(),
        )
        .await?;
        set_operations(manager, BEFORE, AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM runs WHERE operation = 'tenant_purge'")
            .await?;
        set_operations(manager, AFTER, BEFORE).await?;
        drop(manager, ApiTokens::Table, ApiTokens::ReadOnly).await?;
        drop(manager, ApiTokens::Table, ApiTokens::ExpiresAt).await?;
        drop(manager, Tenants::Table, Tenants::PurgedAt).await?;
        drop(manager, Tenants::Table, Tenants::DisabledReason).await?;
        drop(manager, Tenants::Table, Tenants::DisabledAt).await?;
        drop(manager, Users::Table, Users::PlatformAdmin).await
    }
}

//! Per-user notification preferences: which kinds of events notify the user, and for which
//! tenants (all of theirs when unset).

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::fk;
use crate::m20261127_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    UserId,
    Kinds,
    TenantIds,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationPreferences::Table)
                    .col(pk_uuid(NotificationPreferences::UserId))
                    .col(json_binary(NotificationPreferences::Kinds))
                    .col(json_binary_null(NotificationPreferences::TenantIds))
                    .col(timestamp_with_time_zone(NotificationPreferences::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_notification_preferences_user",
                        NotificationPreferences::Table,
                        NotificationPreferences::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(NotificationPreferences::Table)
                    .to_owned(),
            )
            .await
    }
}

//! Accounts: `tenants`, `users`, `memberships`, `api_tokens`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{check_in, fk, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Tenants {
    Table,
    Id,
    Name,
    EntraTenantId,
    GraphBaseUrl,
    LoginBaseUrl,
    ClientId,
    ClientSecretEnc,
    ReadQuota,
    WriteQuota,
    QuotaWindowSecs,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    TenantId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    TokenPrefix,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(text(Tenants::Name))
                    .col(text(Tenants::EntraTenantId))
                    .col(text(Tenants::GraphBaseUrl))
                    .col(text(Tenants::LoginBaseUrl))
                    .col(text(Tenants::ClientId))
                    .col(text(Tenants::ClientSecretEnc))
                    .col(integer_null(Tenants::ReadQuota))
                    .col(integer_null(Tenants::WriteQuota))
                    .col(integer_null(Tenants::QuotaWindowSecs))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index("ux_tenants_name", Tenants::Table)
                    .col(Tenants::Name)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(text(Users::Email))
                    .col(text(Users::PasswordHash))
                    .col(boolean(Users::Disabled).default(false))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index("ux_users_email", Users::Table)
                    .col(Users::Email)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::TenantId))
                    .col(uuid(Memberships::UserId))
                    .col(text(Memberships::Role))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_tenant",
                        Memberships::Table,
                        Memberships::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_user",
                        Memberships::Table,
                        Memberships::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .check(check_in(
                        "ck_memberships_role",
                        Memberships::Role,
                        &["viewer", "operator", "admin"],
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index("ux_memberships_tenant_user", Memberships::Table)
                    .col(Memberships::TenantId)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_memberships_user", Memberships::Table)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_uuid(ApiTokens::Id))
                    .col(uuid(ApiTokens::UserId))
                    .col(text(ApiTokens::Name))
                    .col(text(ApiTokens::TokenHash))
                    .col(text(ApiTokens::TokenPrefix))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_user",
                        ApiTokens::Table,
                        ApiTokens::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                unique_index("ux_api_tokens_token_hash", ApiTokens::Table)
                    .col(ApiTokens::TokenHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_api_tokens_user", ApiTokens::Table)
                    .col(ApiTokens::UserId)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping a table drops its indexes and constraints on both backends.
        for table in [
            ApiTokens::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

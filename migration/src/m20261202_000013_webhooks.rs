//! Outbound webhooks of a tenant (address and signing secret sealed at rest) and their
//! delivery log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{check_in, fk, index};
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    TenantId,
    UrlEnc,
    UrlHint,
    SecretEnc,
    Format,
    Kinds,
    Enabled,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    TenantId,
    RunId,
    Event,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatus,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(pk_uuid(Webhooks::Id))
                    .col(uuid(Webhooks::TenantId))
                    .col(text(Webhooks::UrlEnc))
                    .col(text(Webhooks::UrlHint))
                    .col(text(Webhooks::SecretEnc))
                    .col(text(Webhooks::Format))
                    .col(json_binary(Webhooks::Kinds))
                    .col(boolean(Webhooks::Enabled).default(true))
                    .col(uuid_null(Webhooks::CreatedBy))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .check(check_in(
                        "ck_webhooks_format",
                        Webhooks::Format,
                        &["json", "teams", "slack"],
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhooks_tenant",
                        Webhooks::Table,
                        Webhooks::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhooks_created_by",
                        Webhooks::Table,
                        Webhooks::CreatedBy,
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
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::WebhookId))
                    .col(uuid(WebhookDeliveries::TenantId))
                    .col(uuid_null(WebhookDeliveries::RunId))
                    .col(text(WebhookDeliveries::Event))
                    .col(json_binary(WebhookDeliveries::Payload))
                    .col(text(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(integer_null(WebhookDeliveries::LastStatus))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .check(check_in(
                        "ck_webhook_deliveries_status",
                        WebhookDeliveries::Status,
                        &["pending", "delivered", "failed"],
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_webhook",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::WebhookId,
                        Webhooks::Table,
                        Webhooks::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_webhook_deliveries_due", WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ix_webhook_deliveries_webhook", WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}

//! Tenant credentials beyond a client secret:
//!
//! * `tenants.credential`: what the tenant signs in with: `secret` (its own app's client
//!   secret), `certificate` (its own app's certificate) or `shared_app` (the MSP's one
//!   multi-tenant app registration from the configuration, consented in the tenant).
//! * `certificate_pem`, `certificate_thumbprint`, `certificate_expires_at`: the public
//!   certificate and what the pages show of it.
//! * `private_key_enc`: the certificate's private key, sealed like client secrets.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{add_column, drop_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Credential,
    CertificatePem,
    CertificateThumbprint,
    CertificateExpiresAt,
    PrivateKeyEnc,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            Tenants::Table,
            string(Tenants::Credential).default("secret").to_owned(),
        )
        .await?;
        add_column(manager, Tenants::Table, text_null(Tenants::CertificatePem)).await?;
        add_column(
            manager,
            Tenants::Table,
            string_null(Tenants::CertificateThumbprint),
        )
        .await?;
        add_column(
            manager,
            Tenants::Table,
            timestamp_with_time_zone_null(Tenants::CertificateExpiresAt),
        )
        .await?;
        add_column(manager, Tenants::Table, text_null(Tenants::PrivateKeyEnc)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Tenants::PrivateKeyEnc,
            Tenants::CertificateExpiresAt,
            Tenants::CertificateThumbprint,
            Tenants::CertificatePem,
            Tenants::Credential,
        ] {
            drop_column(manager, Tenants::Table, column).await?;
        }
        Ok(())
    }
}

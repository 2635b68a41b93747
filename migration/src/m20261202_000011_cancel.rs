//! Cancel: `run_cancellations` records who asked to cancel a run and when. A queued run is
//! canceled at once; a running one stops after the item in flight (its worker watches for
//! the row), the rest of its items skipped.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::fk;
use crate::m20261127_000001_accounts::{Tenants, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RunCancellations {
    Table,
    RunId,
    TenantId,
    RequestedBy,
    RequestedAt,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RunCancellations::Table)
                    .col(pk_uuid(RunCancellations::RunId))
                    .col(uuid(RunCancellations::TenantId))
                    .col(uuid_null(RunCancellations::RequestedBy))
                    .col(timestamp_with_time_zone(RunCancellations::RequestedAt))
                    .foreign_key(&mut fk(
                        "fk_run_cancellations_run",
                        RunCancellations::Table,
                        RunCancellations::RunId,
                        Runs::Table,
                        Runs::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_run_cancellations_tenant",
                        RunCancellations::Table,
                        RunCancellations::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_run_cancellations_requested_by",
                        RunCancellations::Table,
                        RunCancellations::RequestedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RunCancellations::Table).to_owned())
            .await
    }
}

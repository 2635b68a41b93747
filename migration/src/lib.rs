//! SeaORM migrations of the PolicyVault schema, for PostgreSQL and SQLite.
//!
//! There is no migration CLI: `policyvault migrate` calls `Migrator::up(&db, None)`.
//! Indexes and foreign keys are named (`ix_*`, `ux_*`, `fk_*`) so tests and error mapping
//! can refer to them. Every `down` drops what its `up` created, in reverse order.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

/// Naming and building blocks shared by the migrations.
mod helpers;
/// `tenants`, `users`, `memberships`, `api_tokens`.
mod m20261127_000001_accounts;
/// `snapshots`, `snapshot_items`, `backup_sets`, `backup_items`.
mod m20261127_000002_content;
/// `runs`, `run_items`, `notifications`, `audit_events`, `object_mappings`.
mod m20261127_000003_runs;
/// `sessions` (browser sign-ins).
mod m20261127_000004_sessions;
/// Selection digests, progress attempts, pre-restore copies, outcome counts, item match and
/// error context, snapshot purpose, the `restore_undo` operation.
mod m20261201_000005_restore_trust;
mod m20261201_000006_run_spec;
/// `snapshots.previous_snapshot_id` and `snapshots.changes`: what changed since the last capture.
mod m20261201_000007_snapshot_changes;
/// The `compare` operation.
mod m20261201_000008_compare;
/// Backup-set capture changes, baselines, drift reports and accepted drift exceptions.
mod m20261202_000009_drift;
/// `uploads` and the `import` operation.
mod m20261202_000010_imports;
/// `run_cancellations`: who asked to cancel a run.
mod m20261202_000011_cancel;
/// `schedules` and `schedule_ticks`.
mod m20261202_000012_schedules;
/// `webhooks` and `webhook_deliveries`.
mod m20261202_000013_webhooks;
/// `notification_preferences`.
mod m20261202_000014_notification_preferences;
/// `fanouts`, `fanout_runs`, `tenant_retention`; operation `prune`.
mod m20261202_000015_estate;
/// `users.platform_admin`, tenant disable/purge, token expiry and scope; `tenant_purge`.
mod m20261202_000016_console;
mod m20261202_000017_credentials;
/// `claim_run(...)`: a run's claim in one statement (PostgreSQL).
mod m20261206_000018_claim_function;

/// All PolicyVault migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_accounts::Migration),
            Box::new(m20261127_000002_content::Migration),
            Box::new(m20261127_000003_runs::Migration),
            Box::new(m20261127_000004_sessions::Migration),
            Box::new(m20261201_000005_restore_trust::Migration),
            Box::new(m20261201_000006_run_spec::Migration),
            Box::new(m20261201_000007_snapshot_changes::Migration),
            Box::new(m20261201_000008_compare::Migration),
            Box::new(m20261202_000009_drift::Migration),
            Box::new(m20261202_000010_imports::Migration),
            Box::new(m20261202_000011_cancel::Migration),
            Box::new(m20261202_000012_schedules::Migration),
            Box::new(m20261202_000013_webhooks::Migration),
            Box::new(m20261202_000014_notification_preferences::Migration),
            Box::new(m20261202_000015_estate::Migration),
            Box::new(m20261202_000016_console::Migration),
            Box::new(m20261202_000017_credentials::Migration),
            Box::new(m20261206_000018_claim_function::Migration),
        ]
    }
}

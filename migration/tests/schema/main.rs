//! Schema tests: the migrations on SQLite and PostgreSQL, and the database invariants the
//! application relies on (one active run per target, foreign-key actions, entity mapping).
//!
//! SQLite tests use an in-memory database. PostgreSQL tests need `PV_TEST_DATABASE_URL`
//! pointing at an admin database (scripts/test.sh sets it): each creates a database of its
//! own and drops it afterwards. Without the variable they fail, so a run without PostgreSQL
//! cannot pass as if the PostgreSQL schema had been checked.

/// Declares `sqlite` and `postgres` tests in a module named after each given
/// `async fn(&DatabaseConnection)`, running it on a freshly migrated database.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn sqlite() {
                super::$check(&crate::migrated_sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                crate::with_migrated_postgres(module_path!(), |db| async move {
                    super::$check(&db).await;
                })
                .await;
            }
        }
    )*};
}

mod active_runs;
mod constraints;
mod entities;
mod fixtures;
mod up_down;

use std::collections::BTreeSet;
use std::future::Future;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use uuid::Uuid;

/// Every table the migrations create.
pub const TABLES: [&str; 27] = [
    "api_tokens",
    "audit_events",
    "backup_items",
    "backup_sets",
    "baselines",
    "drift_exceptions",
    "drift_reports",
    "fanout_runs",
    "fanouts",
    "memberships",
    "notification_preferences",
    "notifications",
    "object_mappings",
    "run_cancellations",
    "run_items",
    "runs",
    "schedule_ticks",
    "schedules",
    "sessions",
    "snapshot_items",
    "snapshots",
    "tenant_retention",
    "tenants",
    "uploads",
    "users",
    "webhook_deliveries",
    "webhooks",
];

/// Every named index the migrations create (primary keys aside).
pub const INDEXES: [&str; 41] = [
    "ix_api_tokens_user",
    "ix_audit_events_tenant_created",
    "ix_backup_items_tenant_set_type",
    "ix_backup_sets_tenant_created",
    "ix_drift_reports_tenant_computed",
    "ix_fanout_runs_run",
    "ix_fanouts_initiator_created",
    "ix_fanouts_status",
    "ix_memberships_user",
    "ix_notifications_email",
    "ix_notifications_user_created",
    "ix_notifications_user_read",
    "ix_object_mappings_target_type",
    "ix_run_items_tenant_run_status",
    "ix_runs_initiator",
    "ix_runs_parent_run",
    "ix_runs_status_queued",
    "ix_runs_tenant_operation_queued",
    "ix_runs_tenant_queued",
    "ix_runs_tenant_status_queued",
    "ix_schedule_ticks_run",
    "ix_schedules_due",
    "ix_schedules_tenant_created",
    "ix_sessions_expires_at",
    "ix_sessions_user",
    "ix_snapshot_items_tenant_snapshot",
    "ix_snapshots_tenant_created",
    "ix_webhook_deliveries_due",
    "ix_webhook_deliveries_webhook",
    "ux_api_tokens_token_hash",
    "ux_backup_items_set_type_source_version",
    "ux_backup_sets_tenant_name",
    "ux_drift_exceptions_setting",
    "ux_memberships_tenant_user",
    "ux_object_mappings_source_target",
    "ux_run_items_run_item_key",
    "ux_runs_active",
    "ux_sessions_token_hash",
    "ux_snapshot_items_snapshot_type_source",
    "ux_tenants_name",
    "ux_users_email",
];

/// A fresh in-memory SQLite database.
pub async fn sqlite() -> DatabaseConnection {
    let mut options = ConnectOptions::new("sqlite::memory:");
    // Every connection to `sqlite::memory:` opens a database of its own: keep exactly one
    // connection for the life of the pool so the schema stays visible.
    options
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .expect("open in-memory SQLite")
}

/// A fresh in-memory SQLite database with all migrations applied.
pub async fn migrated_sqlite() -> DatabaseConnection {
    let db = sqlite().await;
    Migrator::up(&db, None).await.expect("migrate SQLite up");
    db
}

/// Runs `test` against a fresh PostgreSQL database, then drops that database even when
/// the test panics. Fails, saying what to set, when `PV_TEST_DATABASE_URL` is unset.
pub async fn with_postgres<F, Fut>(test_name: &str, test: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var("PV_TEST_DATABASE_URL") else {
        panic!(
            "{test_name} needs PostgreSQL but PV_TEST_DATABASE_URL is not set: set it to an \
             admin database URL such as postgres://postgres@127.0.0.1:5441/postgres, or run \
             scripts/test.sh (it starts PostgreSQL and sets it)"
        );
    };
    let admin = connect(&admin_url).await;
    let name = format!("pv_mig_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!(r#"CREATE DATABASE "{name}""#))
        .await
        .expect("create the test database");

    let db = connect(&database_url(&admin_url, &name)).await;
    // A spawned task turns a panic into a `JoinError`, so the database is dropped either way.
    let outcome = tokio::spawn(test(db.clone())).await;
    db.close().await.expect("close the test database pool");
    admin
        .execute_unprepared(&format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
        .await
        .expect("drop the test database");
    admin.close().await.expect("close the admin pool");

    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Like [`with_postgres`], with all migrations applied first.
pub async fn with_migrated_postgres<F, Fut>(test_name: &str, test: F)
where
    F: FnOnce(DatabaseConnection) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres(test_name, |db| async move {
        Migrator::up(&db, None)
            .await
            .expect("migrate PostgreSQL up");
        test(db).await;
    })
    .await;
}

async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url);
    options.max_connections(2).sqlx_logging(false);
    Database::connect(options)
        .await
        .expect("connect to PostgreSQL")
}

/// `admin_url` with its database name replaced by `name` (query string kept).
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Names of the tables in the connection's schema.
pub async fn table_names(db: &DatabaseConnection) -> BTreeSet<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()",
    };
    names(db, sql).await
}

/// Names of the indexes in the connection's schema, primary keys left out.
pub async fn index_names(db: &DatabaseConnection) -> BTreeSet<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' \
             AND name NOT LIKE 'sqlite_autoindex_%'"
        }
        _ => {
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname NOT LIKE '%_pkey'"
        }
    };
    names(db, sql).await
}

async fn names(db: &DatabaseConnection, sql: &str) -> BTreeSet<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("list schema objects")
        .iter()
        .map(|row| row.try_get::<String>("", "name").expect("name column"))
        .collect()
}

#[test]
fn database_url_replaces_only_the_database_name() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:5434/postgres", "pv_x"),
        "postgres://postgres@127.0.0.1:5434/pv_x"
    );
    assert_eq!(
        database_url("postgres://u:p@db/admin?sslmode=disable", "pv_x"),
        "postgres://u:p@db/pv_x?sslmode=disable"
    );
    assert_eq!(
        database_url("postgres://db:5432", "pv_x"),
        "postgres://db:5432/pv_x"
    );
}

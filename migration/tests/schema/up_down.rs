//! The migrations go up, step down one at a time, and go up again, leaving exactly the
//! expected tables and named indexes at every step.

use std::collections::BTreeSet;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::{INDEXES, TABLES, index_names, sqlite, table_names, with_postgres};

/// Tables of each migration, oldest migration first.
const TABLES_BY_MIGRATION: [&[&str]; 18] = [
    &["tenants", "users", "memberships", "api_tokens"],
    &["snapshots", "snapshot_items", "backup_sets", "backup_items"],
    &[
        "runs",
        "run_items",
        "notifications",
        "audit_events",
        "object_mappings",
    ],
    &["sessions"],
    // Columns, an index and a CHECK of existing tables only.
    &[],
    // Re-runs' stored specs name the run they re-run (data only).
    &[],
    // Snapshots' changes since the previous capture (columns only).
    &[],
    // The `compare` operation (a CHECK only).
    &[],
    // Backup-set changes (columns), baselines, drift reports and exceptions.
    &["baselines", "drift_exceptions", "drift_reports"],
    // Uploads and the `import` operation.
    &["uploads"],
    // Cancel requests.
    &["run_cancellations"],
    // Schedules and their ticks.
    &["schedule_ticks", "schedules"],
    // Webhooks and their deliveries.
    &["webhook_deliveries", "webhooks"],
    // Notification preferences.
    &["notification_preferences"],
    // Fan-outs, tenant retention overrides and the `prune` operation.
    &["fanout_runs", "fanouts", "tenant_retention"],
    // Platform admins, disabled and purged tenants, token limits (columns only).
    &[],
    // Certificate and shared-app credentials of tenants (columns only).
    &[],
    // The `claim_run` function (PostgreSQL only).
    &[],
];

#[tokio::test]
async fn sqlite_migrates_up_down_and_up_again() {
    up_down_up(&sqlite().await).await;
}

#[tokio::test]
async fn postgres_migrates_up_down_and_up_again() {
    with_postgres("postgres_migrates_up_down_and_up_again", |db| async move {
        up_down_up(&db).await;
    })
    .await;
}

async fn up_down_up(db: &DatabaseConnection) {
    assert_eq!(
        TABLES_BY_MIGRATION.concat().len(),
        TABLES.len(),
        "every table belongs to one migration"
    );
    assert_eq!(Migrator::migrations().len(), TABLES_BY_MIGRATION.len());

    Migrator::up(db, None).await.expect("migrate up");
    assert_full_schema(db).await;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        assert_eq!(claim_functions(db).await, 1, "claim_run after up");
    }
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("pending migrations")
            .is_empty()
    );

    // Step down one migration at a time: each `down` drops exactly its own tables.
    for applied in (0..TABLES_BY_MIGRATION.len()).rev() {
        Migrator::down(db, Some(1)).await.expect("migrate down");
        let mut expected = names(["seaql_migrations"]);
        expected.extend(names(TABLES_BY_MIGRATION[..applied].concat()));
        assert_eq!(
            table_names(db).await,
            expected,
            "after rolling back to {applied} migrations"
        );
        if postgres && applied == TABLES_BY_MIGRATION.len() - 1 {
            assert_eq!(claim_functions(db).await, 0, "claim_run after its down");
        }
    }
    assert!(index_names(db).await.is_empty(), "no index survives down");
    assert!(
        Migrator::get_applied_migrations(db)
            .await
            .expect("applied migrations")
            .is_empty()
    );

    Migrator::up(db, None).await.expect("migrate up again");
    assert_full_schema(db).await;
}

async fn assert_full_schema(db: &DatabaseConnection) {
    let mut tables = names(TABLES);
    tables.insert("seaql_migrations".to_owned());
    assert_eq!(table_names(db).await, tables);
    assert_eq!(index_names(db).await, names(INDEXES));
}

/// Functions named `claim_run` in the database (PostgreSQL).
async fn claim_functions(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*)::bigint AS n FROM pg_proc WHERE proname = 'claim_run'",
        ))
        .await
        .expect("pg_proc")
        .expect("a count");
    row.try_get("", "n").expect("n")
}

fn names<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

/// A re-run queued before run specs named their original run gets `original_run_id` from
/// its `target_id` on upgrade; other stored params are left as they were.
async fn rerun_specs_name_their_original_run(db: &DatabaseConnection) {
    use entity::runs;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use serde_json::json;

    // The five migrations before `m20261201_000006_run_spec`.
    Migrator::up(db, Some(5))
        .await
        .expect("migrate up to the release before run specs");
    let graph = crate::fixtures::populate_early(db).await;
    let legacy = json!({
        "source_kind": "snapshot",
        "source_id": graph.snapshot.id,
        "source_tenant_id": graph.tenant.id,
        "item_ids": null,
        "only_failed": false,
    });
    let mut rerun: runs::ActiveModel = graph.child_run.clone().into();
    rerun.params = Set(legacy.clone());
    rerun.update(db).await.expect("store a legacy re-run spec");

    Migrator::up(db, None).await.expect("migrate up");
    let upgraded = runs::Entity::find_by_id(graph.child_run.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut expected = legacy;
    expected["original_run_id"] = json!(graph.child_run.target_id);
    assert_eq!(upgraded.params, expected);
    let other = runs::Entity::find_by_id(graph.run.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.params, graph.run.params, "only re-runs change");

    let steps = Migrator::migrations().len() as u32 - 5;
    Migrator::down(db, Some(steps)).await.expect("migrate down");
    let downgraded = runs::Entity::find_by_id(graph.child_run.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(downgraded.params.get("original_run_id").is_none());
}

#[tokio::test]
async fn sqlite_rerun_specs_name_their_original_run() {
    rerun_specs_name_their_original_run(&sqlite().await).await;
}

#[tokio::test]
async fn postgres_rerun_specs_name_their_original_run() {
    with_postgres(
        "postgres_rerun_specs_name_their_original_run",
        |db| async move {
            rerun_specs_name_their_original_run(&db).await;
        },
    )
    .await;
}

//! Foreign-key actions and CHECK constraints, as the application relies on them.

use entity::prelude::*;
use entity::{audit_events, backup_sets, notifications, runs, snapshots};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, SqlErr,
};

use crate::fixtures::populate;

on_both_backends!(
    deleting_a_tenant_deletes_everything_it_owns,
    deleting_a_run_deletes_its_items_and_detaches_references,
    a_user_who_started_runs_cannot_be_deleted,
    deleting_a_user_deletes_their_access_and_keeps_their_content,
    checks_reject_unknown_enum_text,
);

async fn deleting_a_tenant_deletes_everything_it_owns(db: &DatabaseConnection) {
    let g = populate(db).await;

    Tenants::delete_by_id(g.tenant.id)
        .exec(db)
        .await
        .expect("delete tenant");

    assert_eq!(count(db, Memberships).await, 0, "memberships");
    assert_eq!(count(db, Snapshots).await, 0, "snapshots");
    assert_eq!(count(db, SnapshotItems).await, 0, "snapshot_items");
    assert_eq!(count(db, BackupSets).await, 0, "backup_sets");
    assert_eq!(count(db, BackupItems).await, 0, "backup_items");
    assert_eq!(count(db, Runs).await, 0, "runs");
    assert_eq!(count(db, RunItems).await, 0, "run_items");
    assert_eq!(count(db, Notifications).await, 0, "notifications");
    assert_eq!(count(db, AuditEvents).await, 0, "audit_events");
    assert_eq!(count(db, ObjectMappings).await, 0, "object_mappings");
    // Users are global, and the other tenant only lost its mapping.
    assert_eq!(count(db, Users).await, 1, "users");
    assert_eq!(count(db, ApiTokens).await, 1, "api_tokens");
    assert_eq!(count(db, Sessions).await, 1, "sessions");
    assert_eq!(count(db, Tenants).await, 1, "tenants");
}

async fn deleting_a_run_deletes_its_items_and_detaches_references(db: &DatabaseConnection) {
    let g = populate(db).await;

    Runs::delete_by_id(g.run.id)
        .exec(db)
        .await
        .expect("delete run");

    assert_eq!(count(db, RunItems).await, 0, "run_items");
    let child = find(db, Runs, g.child_run.id).await;
    assert_eq!(child.parent_run_id, None);
    let notification: notifications::Model = find(db, Notifications, g.notification.id).await;
    assert_eq!(notification.run_id, None);
    let event: audit_events::Model = find(db, AuditEvents, g.audit_event.id).await;
    assert_eq!(event.run_id, None);
}

async fn a_user_who_started_runs_cannot_be_deleted(db: &DatabaseConnection) {
    let g = populate(db).await;

    let err = Users::delete_by_id(g.operator.id)
        .exec(db)
        .await
        .expect_err("the initiator of existing runs must not be deletable");
    match db.get_database_backend() {
        // SQLite reports a RESTRICT as SQLITE_CONSTRAINT_TRIGGER (1811), which sea-orm's
        // `sql_err` does not classify; only the message says what failed.
        DbBackend::Sqlite => assert!(
            err.to_string().contains("FOREIGN KEY constraint failed"),
            "expected a foreign key violation, got {err:?}"
        ),
        _ => assert!(
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "expected a foreign key violation, got {err:?}"
        ),
    }
    assert_eq!(count(db, Users).await, 1);
    assert_eq!(count(db, Runs).await, 2);
}

async fn deleting_a_user_deletes_their_access_and_keeps_their_content(db: &DatabaseConnection) {
    let g = populate(db).await;
    Runs::delete_many()
        .exec(db)
        .await
        .expect("delete the user's runs");

    Users::delete_by_id(g.operator.id)
        .exec(db)
        .await
        .expect("delete a user without runs");

    assert_eq!(count(db, Memberships).await, 0, "memberships");
    assert_eq!(count(db, ApiTokens).await, 0, "api_tokens");
    assert_eq!(count(db, Sessions).await, 0, "sessions");
    assert_eq!(count(db, Notifications).await, 0, "notifications");
    let snapshot: snapshots::Model = find(db, Snapshots, g.snapshot.id).await;
    assert_eq!(snapshot.created_by, None);
    let set: backup_sets::Model = find(db, BackupSets, g.backup_set.id).await;
    assert_eq!(set.created_by, None);
    let event: audit_events::Model = find(db, AuditEvents, g.audit_event.id).await;
    assert_eq!(event.actor_id, None);
}

async fn checks_reject_unknown_enum_text(db: &DatabaseConnection) {
    populate(db).await;

    for (constraint, sql) in [
        (
            "ck_memberships_role",
            "UPDATE memberships SET role = 'owner'",
        ),
        ("ck_runs_operation", "UPDATE runs SET operation = 'sync'"),
        ("ck_runs_status", "UPDATE runs SET status = 'done'"),
        (
            "ck_run_items_status",
            "UPDATE run_items SET status = 'done'",
        ),
    ] {
        let err = db.execute_unprepared(sql).await.expect_err(constraint);
        assert!(
            err.to_string().contains(constraint),
            "expected {constraint} to reject `{sql}`, got {err}"
        );
    }
    // The values the enums write are accepted.
    db.execute_unprepared("UPDATE runs SET status = 'canceled', operation = 'restore_preview'")
        .await
        .expect("valid enum text");
    let run: runs::Model = Runs::find()
        .one(db)
        .await
        .expect("read run")
        .expect("a run");
    assert_eq!(run.status, entity::enums::RunStatus::Canceled);
}

/// Rows in `E`'s table (the entity is passed by value only to name it).
async fn count<E: EntityTrait>(db: &DatabaseConnection, _entity: E) -> u64
where
    E::Model: Sync,
{
    E::find().count(db).await.expect("count rows")
}

/// The row of `E` with primary key `id`, which must exist.
async fn find<E>(db: &DatabaseConnection, _entity: E, id: uuid::Uuid) -> E::Model
where
    E: EntityTrait,
    E::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = uuid::Uuid>,
{
    E::find_by_id(id)
        .one(db)
        .await
        .expect("read row")
        .expect("row still exists")
}

//! `ux_runs_active`: at most one queued or running run per (tenant, operation, target,
//! selection digest).
//!
//! This index is the authority behind "already queued/running" when Redis has lost its
//! de-duplication key, so a concurrent start must fail with a unique violation.

use entity::enums::{RunOperation, RunStatus};
use entity::runs;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbBackend, DbErr, Set, SqlErr};
use uuid::Uuid;

use crate::fixtures::{insert_tenant, insert_user, queued_run};

on_both_backends!(
    second_active_run_for_a_target_is_rejected_until_the_first_finishes,
    other_operations_targets_and_tenants_are_independent,
    selections_of_one_target_are_independent_and_undo_is_an_operation,
);

async fn selections_of_one_target_are_independent_and_undo_is_an_operation(
    db: &DatabaseConnection,
) {
    let tenant = insert_tenant(db, "contoso").await;
    let user = insert_user(db, "operator@example.com").await;
    let target = Uuid::new_v4();
    let with = |digest: &str| runs::ActiveModel {
        selection_digest: Set(digest.to_owned()),
        ..queued_run(tenant.id, user.id, RunOperation::RestorePreview, target)
    };
    with("aa")
        .insert(db)
        .await
        .expect("a preview of one selection");
    with("bb")
        .insert(db)
        .await
        .expect("a preview of another selection of the same source");
    with("").insert(db).await.expect("a preview of everything");
    assert_active_conflict(db, with("aa").insert(db).await);
    let undo = queued_run(tenant.id, user.id, RunOperation::RestoreUndo, target)
        .insert(db)
        .await
        .expect("restore_undo passes ck_runs_operation");
    assert_eq!(undo.operation, RunOperation::RestoreUndo);
}

async fn second_active_run_for_a_target_is_rejected_until_the_first_finishes(
    db: &DatabaseConnection,
) {
    let tenant = insert_tenant(db, "contoso").await;
    let user = insert_user(db, "operator@example.com").await;
    let target = Uuid::new_v4();
    let run = || queued_run(tenant.id, user.id, RunOperation::BackupSetCapture, target);

    let first = run().insert(db).await.expect("first queued run");
    assert_eq!(first.status, RunStatus::Queued);
    assert_active_conflict(db, run().insert(db).await);

    let first = set_status(db, first, RunStatus::Running).await;
    assert_active_conflict(db, run().insert(db).await);

    set_status(db, first, RunStatus::Succeeded).await;
    let second = run()
        .insert(db)
        .await
        .expect("a new run once the first has succeeded");
    assert_active_conflict(db, run().insert(db).await);

    // Every terminal status frees the slot, and terminal runs may pile up.
    set_status(db, second, RunStatus::Failed).await;
    let third = run().insert(db).await.expect("a run after a failed one");
    set_status(db, third, RunStatus::Partial).await;
    let fourth = run().insert(db).await.expect("a run after a partial one");
    set_status(db, fourth, RunStatus::Canceled).await;
    run().insert(db).await.expect("a run after a canceled one");
}

async fn other_operations_targets_and_tenants_are_independent(db: &DatabaseConnection) {
    let contoso = insert_tenant(db, "contoso").await;
    let fabrikam = insert_tenant(db, "fabrikam").await;
    let user = insert_user(db, "operator@example.com").await;
    let target = Uuid::new_v4();

    queued_run(contoso.id, user.id, RunOperation::Restore, target)
        .insert(db)
        .await
        .expect("queued restore");
    queued_run(contoso.id, user.id, RunOperation::RestorePreview, target)
        .insert(db)
        .await
        .expect("a preview of the same target alongside the restore");
    queued_run(contoso.id, user.id, RunOperation::Restore, Uuid::new_v4())
        .insert(db)
        .await
        .expect("a restore of another target");
    queued_run(fabrikam.id, user.id, RunOperation::Restore, target)
        .insert(db)
        .await
        .expect("the same operation and target in another tenant");
}

async fn set_status(db: &DatabaseConnection, run: runs::Model, status: RunStatus) -> runs::Model {
    let mut run: runs::ActiveModel = run.into();
    run.status = Set(status);
    run.update(db).await.expect("update run status")
}

fn assert_active_conflict(db: &DatabaseConnection, result: Result<runs::Model, DbErr>) {
    let err = result.expect_err("a second active run for the same target must be rejected");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "expected a unique violation, got {err:?}"
    );
    // PostgreSQL names the index; SQLite names the indexed columns.
    let expected = match db.get_database_backend() {
        DbBackend::Sqlite => "runs.tenant_id, runs.operation, runs.target_id",
        _ => "ux_runs_active",
    };
    assert!(
        err.to_string().contains(expected),
        "expected the violation to be of ux_runs_active, got {err}"
    );
}

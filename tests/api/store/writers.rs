//! Writing runs of one tenant take turns; items a run left are recorded on finish.

use super::*;

/// Runs that write to a tenant take turns; captures run beside them. A run that ends with
/// items never attempted records them as failed `not_attempted` and is not `succeeded`.
async fn writers_take_turns_and_leftover_items_are_recorded(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Writers"))
        .await
        .unwrap();
    let user = new_user(db, "writer@example.com").await;
    let run_of = |operation, digest: &str| NewRun {
        operation,
        selection_digest: digest.into(),
        target_type: entity::enums::TargetType::Snapshot,
        ..new_run(tenant.id, user.id, Uuid::nil())
    };
    let first = run_store::insert(db, run_of(RunOperation::Restore, "a"))
        .await
        .unwrap();
    let second = run_store::insert(db, run_of(RunOperation::Restore, "b"))
        .await
        .expect("another selection of the same source is another run");
    let undo = run_store::insert(db, run_of(RunOperation::RestoreUndo, ""))
        .await
        .unwrap();
    let capture = run_store::insert(db, run_of(RunOperation::CaptureSnapshot, ""))
        .await
        .unwrap();
    let claim = |id| run_store::claim(db, id, "w", Uuid::new_v4(), chrono::Duration::hours(1), 10);
    let lease = Uuid::new_v4();
    let run_store::Claim {
        run: running,
        scope,
        ..
    } = run_store::claim(db, first.id, "w", lease, chrono::Duration::hours(1), 10)
        .await
        .unwrap()
        .expect("the first writer runs");
    for waiting in [second.id, undo.id] {
        assert_eq!(
            claim(waiting).await.unwrap().unwrap_err(),
            run_store::ClaimRefusal::TenantBusy,
            "a second writer of the tenant waits"
        );
    }
    claim(capture.id)
        .await
        .unwrap()
        .expect("a capture runs beside a writer");

    run_store::plan_items(
        db,
        &running,
        &[0, 1, 2].map(|i| PlannedItem {
            item_key: format!("k{i}"),
            policy_type: "deviceConfigurations".into(),
            display_name: format!("Item {i}"),
            source_ref: None,
        }),
    )
    .await
    .unwrap();
    run_store::record_item(
        db,
        &running,
        ItemResult {
            item_key: "k0".into(),
            policy_type: "deviceConfigurations".into(),
            display_name: "Item 0".into(),
            source_ref: None,
            status: RunItemStatus::Succeeded,
            action: Some(ItemAction::Created),
            error_code: None,
            error_message: None,
            error_context: None,
            match_kind: Some("none".into()),
            diff: None,
            result_graph_id: Some("g0".into()),
        },
    )
    .await
    .unwrap();
    let progressed = run_store::get(db, first.id).await.unwrap().unwrap();
    assert_eq!(progressed.progress_attempt, progressed.attempt);
    assert_eq!(progressed.created_items, 1);
    let terminal = Terminal {
        status: RunStatus::Succeeded,
        error_code: None,
        error_context: None,
        summary: "Restore succeeded.".into(),
    };
    let finished = run_store::finish(db, first.id, Some(lease), &terminal)
        .await
        .unwrap()
        .expect("the lease holder finishes the run");
    let done = run_store::get(db, first.id).await.unwrap().unwrap();
    assert_eq!(finished, done, "finish returns the run as stored");
    assert_eq!(
        done.status,
        RunStatus::Partial,
        "leftover items are not a success"
    );
    assert_eq!(done.error_code.as_deref(), Some("items_not_attempted"));
    assert_eq!((done.failed_items, done.created_items), (2, 1));
    assert!(done.summary.unwrap().ends_with("2 item(s) not attempted."));
    let items = run_store::all_items(db, &scope, first.id).await.unwrap();
    assert!(
        items
            .iter()
            .filter(|i| i.item_key != "k0")
            .all(|i| i.status == RunItemStatus::Failed
                && i.error_code.as_deref() == Some("not_attempted"))
    );
    claim(second.id)
        .await
        .unwrap()
        .expect("the next writer runs once the first has finished");
}

on_both_databases!(
    writers_take_turns_on_sqlite,
    writers_take_turns_on_postgres,
    writers_take_turns_and_leftover_items_are_recorded
);

/// Claims of two tenants whose ids share their first 8 bytes — as time-ordered ids made in
/// the same millisecond do — take different locks: one tenant's claim in progress does not
/// hold up the other's, while a second claim of the same tenant waits for it.
#[tokio::test]
async fn claims_of_tenants_made_in_one_millisecond_do_not_wait_for_each_other() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

    let db = TestDb::create().await;
    assert!(
        db.is_postgres(),
        "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
    );
    let conn = connect(&db).await;
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let a = tenants::create(&conn, &secrets, new_tenant("Lock A"))
        .await
        .unwrap();
    let b = tenants::create(&conn, &secrets, new_tenant("Lock B"))
        .await
        .unwrap();
    let mut bytes = *b.id.as_bytes();
    bytes[..8].copy_from_slice(&a.id.as_bytes()[..8]);
    let b_id = Uuid::from_bytes(bytes);
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET id = $1 WHERE id = $2",
        [b_id.into(), b.id.into()],
    ))
    .await
    .unwrap();
    let user = accounts::create_user(
        &conn,
        &Email::parse("locks@example.com").unwrap(),
        &Password::parse(SecretString::from("correct horse battery".to_string())).unwrap(),
    )
    .await
    .unwrap();
    let run_a = run_store::insert(&conn, new_run(a.id, user.id, a.id))
        .await
        .unwrap();
    let run_b = run_store::insert(&conn, new_run(b_id, user.id, b_id))
        .await
        .unwrap();
    let claim = |id| {
        run_store::claim(
            &conn,
            id,
            "w",
            Uuid::new_v4(),
            chrono::Duration::hours(1),
            10,
        )
    };

    // A claim of tenant A caught while it holds A's lock.
    let held = conn.begin().await.unwrap();
    held.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT pg_advisory_xact_lock({}) FROM runs WHERE id = $1",
            run_store::TENANT_LOCK_KEY
        ),
        [run_a.id.into()],
    ))
    .await
    .unwrap();
    let claimed = tokio::time::timeout(std::time::Duration::from_secs(10), claim(run_b.id))
        .await
        .expect("tenant B's claim does not wait for tenant A's lock")
        .unwrap()
        .expect("tenant B's run is claimed");
    assert_eq!(claimed.run.tenant_id, b_id);
    let waiting = tokio::spawn({
        let conn = conn.clone();
        async move {
            run_store::claim(
                &conn,
                run_a.id,
                "w",
                Uuid::new_v4(),
                chrono::Duration::hours(1),
                10,
            )
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a second claim of tenant A waits for A's lock"
    );
    held.rollback().await.unwrap();
    waiting
        .await
        .unwrap()
        .unwrap()
        .expect("tenant A's run is claimed once the lock is free");
    drop(conn);
    db.drop_db().await;
}

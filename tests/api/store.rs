//! Store tests on both databases: every aggregate written and read back through the store
//! layer, and constraint violations surfacing as typed errors.

use entity::enums::{Role, RunItemStatus, RunOperation, RunStatus};
use policyvault::crypto::SecretBox;
use policyvault::domain::{Email, Password, TenantName};
use policyvault::store::activity::{self, NewAuditEvent, NewNotification};
use policyvault::store::content::{self, CapturedObject, NewBackupSet, SyncOutcome};
use policyvault::store::runs::{self as run_store, ItemResult, NewRun, PlannedItem, Terminal};
use policyvault::store::{self, StoreError, accounts, tenants};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestDb;

const KEY: &str = "dGVzdC1rZXktZm9yLXBvbGljeXZhdWx0LXRlc3RzISE=";

async fn connect(db: &TestDb) -> DatabaseConnection {
    let settings = crate::helpers::settings_for(&db.url, "unused", &[]);
    let conn = store::connect(&settings.database).await.expect("connect");
    store::migrate_up(&conn).await.expect("migrate");
    conn
}

fn new_tenant(name: &str) -> tenants::NewTenant {
    tenants::NewTenant {
        name: TenantName::parse(name).unwrap(),
        entra_tenant_id: Uuid::new_v4().to_string(),
        client_id: Uuid::new_v4().to_string(),
        client_secret: SecretString::from("client-secret-value".to_string()),
        graph_base_url: "http://127.0.0.1:1".into(),
        login_base_url: "http://127.0.0.1:1".into(),
    }
}

fn new_run(tenant: Uuid, user: Uuid, target: Uuid) -> NewRun {
    NewRun {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        operation: RunOperation::CaptureSnapshot,
        target_type: entity::enums::TargetType::Tenant,
        target_id: target,
        selection_digest: String::new(),
        initiator_id: user,
        parent_run_id: None,
        params: json!({}),
        max_attempts: 3,
    }
}

async fn exercise(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    // tenants: sealed secret round trip, duplicate name is a typed conflict
    let tenant = tenants::create(db, &secrets, new_tenant("Contoso"))
        .await
        .unwrap();
    assert_ne!(tenant.client_secret_enc, "client-secret-value");
    assert_eq!(
        tenants::client_secret(&secrets, &tenant)
            .unwrap()
            .expose_secret(),
        "client-secret-value"
    );
    let wrong = SecretBox::from_base64_key("YW5vdGhlci1rZXktZm9yLXBvbGljeXZhdWx0LXRlc3Q=").unwrap();
    assert!(matches!(
        tenants::client_secret(&wrong, &tenant),
        Err(StoreError::Crypto(_))
    ));
    let dup = tenants::create(db, &secrets, new_tenant("Contoso")).await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    assert_eq!(
        tenants::find_by_id_or_name(db, "Contoso").await.unwrap().id,
        tenant.id
    );
    assert_eq!(
        tenants::find_by_id_or_name(db, &tenant.id.to_string())
            .await
            .unwrap()
            .id,
        tenant.id
    );

    // users, memberships, tokens
    let email = Email::parse("ops@example.com").unwrap();
    let pw = Password::parse(SecretString::from("long enough password".to_string())).unwrap();
    let user = accounts::create_user(db, &email, &pw).await.unwrap();
    assert!(matches!(
        accounts::create_user(db, &email, &pw).await,
        Err(StoreError::Conflict { .. })
    ));
    accounts::grant_membership(db, &tenant, &user, Role::Viewer)
        .await
        .unwrap();
    let m = accounts::grant_membership(db, &tenant, &user, Role::Admin)
        .await
        .unwrap();
    assert_eq!(m.role, Role::Admin, "a second grant changes the role");
    let (token_row, token) = accounts::create_token(db, &user, "ci").await.unwrap();
    assert_eq!(
        accounts::user_for_token(db, &token)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );
    accounts::revoke_token(db, token_row.id).await.unwrap();
    assert!(
        accounts::user_for_token(db, &token)
            .await
            .unwrap()
            .is_none()
    );

    // runs: the partial unique index, typed
    let first = run_store::insert(db, new_run(tenant.id, user.id, tenant.id))
        .await
        .unwrap();
    let second = run_store::insert(db, new_run(tenant.id, user.id, tenant.id)).await;
    assert!(
        matches!(second, Err(StoreError::Conflict { .. })),
        "{second:?}"
    );
    let missing_user =
        run_store::insert(db, new_run(tenant.id, Uuid::new_v4(), Uuid::new_v4())).await;
    assert!(
        matches!(missing_user, Err(StoreError::ForeignKey(_))),
        "{missing_user:?}"
    );
    assert_eq!(
        run_store::find_active(db, tenant.id, RunOperation::CaptureSnapshot, tenant.id, "")
            .await
            .unwrap()
            .map(|r| r.id),
        Some(first.id)
    );

    // claim → items → finish; then a new run of the same key is accepted
    let lease = Uuid::new_v4();
    let claimed = run_store::claim(db, first.id, "w1", lease, chrono::Duration::hours(1), 2)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.status, RunStatus::Running);
    assert_eq!(claimed.attempt, 1);
    assert!(
        run_store::claim(
            db,
            first.id,
            "w2",
            Uuid::new_v4(),
            chrono::Duration::hours(1),
            2
        )
        .await
        .unwrap()
        .is_err()
    );
    let planned: Vec<PlannedItem> = (0..3)
        .map(|i| PlannedItem {
            item_key: format!("k{i}"),
            policy_type: "deviceConfigurations".into(),
            display_name: format!("Item {i}"),
            source_ref: None,
        })
        .collect();
    run_store::plan_items(db, &claimed, &planned).await.unwrap();
    run_store::plan_items(db, &claimed, &planned).await.unwrap();
    for (i, status) in [
        RunItemStatus::Succeeded,
        RunItemStatus::Failed,
        RunItemStatus::Skipped,
    ]
    .into_iter()
    .enumerate()
    {
        run_store::record_item(
            db,
            &claimed,
            ItemResult {
                item_key: format!("k{i}"),
                policy_type: "deviceConfigurations".into(),
                display_name: format!("Item {i}"),
                source_ref: None,
                status,
                action: Some("captured".into()),
                error_code: None,
                error_message: None,
                error_context: None,
                match_kind: None,
                diff: None,
                result_graph_id: None,
            },
        )
        .await
        .unwrap();
    }
    let counts = run_store::count_items(db, first.id).await.unwrap();
    assert_eq!(
        (
            counts.total,
            counts.succeeded,
            counts.failed,
            counts.skipped
        ),
        (3, 1, 1, 1)
    );
    let terminal = Terminal {
        status: RunStatus::Partial,
        error_code: Some("items_failed".into()),
        error_context: None,
        summary: "done".into(),
    };
    assert!(
        !run_store::finish(db, first.id, Some(Uuid::new_v4()), &terminal)
            .await
            .unwrap()
    );
    assert!(
        run_store::finish(db, first.id, Some(lease), &terminal)
            .await
            .unwrap()
    );
    let done = run_store::get(db, first.id).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Partial);
    assert_eq!(done.total_items, 3);
    run_store::insert(db, new_run(tenant.id, user.id, tenant.id))
        .await
        .expect("a new run once the previous one is terminal");

    // snapshots and backup sets
    let snapshot = content::snapshot_for_run(db, tenant.id, first.id, &[], user.id)
        .await
        .unwrap();
    let again = content::snapshot_for_run(db, tenant.id, first.id, &[], user.id)
        .await
        .unwrap();
    assert_eq!(
        snapshot.id, again.id,
        "a resumed capture finds its snapshot"
    );
    let object = CapturedObject {
        policy_type: "deviceConfigurations".into(),
        source_id: "abc".into(),
        display_name: "Baseline".into(),
        payload: json!({"displayName": "Baseline"}),
        assignments: json!([]),
        content_hash: "h1".into(),
    };
    content::add_snapshot_item(db, &snapshot, &object)
        .await
        .unwrap();
    content::add_snapshot_item(db, &snapshot, &object)
        .await
        .unwrap();
    content::seal_snapshot(db, snapshot.id).await.unwrap();
    assert_eq!(
        content::snapshot(db, tenant.id, snapshot.id)
            .await
            .unwrap()
            .item_count,
        1
    );

    let set = content::create_backup_set(
        db,
        NewBackupSet {
            tenant_id: tenant.id,
            name: "Weekly".into(),
            description: None,
            policy_types: vec![],
            created_by: user.id,
        },
    )
    .await
    .unwrap();
    let dup_set = content::create_backup_set(
        db,
        NewBackupSet {
            tenant_id: tenant.id,
            name: "Weekly".into(),
            description: None,
            policy_types: vec![],
            created_by: user.id,
        },
    )
    .await;
    assert!(matches!(dup_set, Err(StoreError::Conflict { .. })));
    let (o1, _) = content::sync_backup_item(db, &set, &object, first.id)
        .await
        .unwrap();
    let (o2, _) = content::sync_backup_item(db, &set, &object, first.id)
        .await
        .unwrap();
    let changed = CapturedObject {
        content_hash: "h2".into(),
        ..object.clone()
    };
    let (o3, v2) = content::sync_backup_item(db, &set, &changed, first.id)
        .await
        .unwrap();
    assert_eq!(
        (o1, o2, o3),
        (
            SyncOutcome::Added,
            SyncOutcome::Unchanged,
            SyncOutcome::NewVersion
        )
    );
    assert_eq!(v2.version, 2);
    let latest = content::latest_backup_items(db, set.id).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].content_hash, "h2");

    // mappings, notifications, audit
    content::upsert_mapping(
        db,
        tenant.id,
        "deviceConfigurations",
        "abc",
        tenant.id,
        "x1",
    )
    .await
    .unwrap();
    content::upsert_mapping(
        db,
        tenant.id,
        "deviceConfigurations",
        "abc",
        tenant.id,
        "x2",
    )
    .await
    .unwrap();
    let mapping = content::mapping(db, tenant.id, "deviceConfigurations", "abc", tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mapping.target_graph_id, "x2");
    let note = activity::notify(
        db,
        NewNotification {
            user_id: user.id,
            tenant_id: tenant.id,
            run_id: Some(first.id),
            kind: "queued".into(),
            title: "t".into(),
            body: "b".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(activity::unread_count(db, user.id).await.unwrap(), 1);
    activity::mark_read(db, user.id, note.id).await.unwrap();
    assert_eq!(activity::unread_count(db, user.id).await.unwrap(), 0);
    assert!(matches!(
        activity::mark_read(db, Uuid::new_v4(), note.id).await,
        Err(StoreError::NotFound)
    ));
    activity::audit(
        db,
        NewAuditEvent {
            tenant_id: tenant.id,
            actor_id: Some(user.id),
            action: "restore.live.queued".into(),
            run_id: Some(first.id),
            details: json!({"k": "v"}),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        activity::audit_events(db, tenant.id, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn store_round_trip_and_typed_errors_on_sqlite() {
    let db = TestDb::sqlite();
    exercise(&connect(&db).await).await;
    db.drop_db().await;
}

#[tokio::test]
async fn store_round_trip_and_typed_errors_on_postgres() {
    let db = TestDb::create().await;
    if !db.is_postgres() {
        println!("skipped: PV_TEST_DATABASE_URL is not set");
        return;
    }
    exercise(&connect(&db).await).await;
    db.drop_db().await;
}

/// Runs that write to a tenant take turns; captures run beside them. A run that ends with
/// items never attempted records them as failed `not_attempted` and is not `succeeded`.
async fn writers_take_turns_and_leftover_items_are_recorded(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Writers"))
        .await
        .unwrap();
    let user = accounts::create_user(
        db,
        &Email::parse("writer@example.com").unwrap(),
        &Password::parse(SecretString::from("correct horse battery".to_string())).unwrap(),
    )
    .await
    .unwrap();
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
    let running = run_store::claim(db, first.id, "w", lease, chrono::Duration::hours(1), 10)
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
            action: Some("created".into()),
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
    assert!(
        run_store::finish(db, first.id, Some(lease), &terminal)
            .await
            .unwrap()
    );
    let done = run_store::get(db, first.id).await.unwrap().unwrap();
    assert_eq!(
        done.status,
        RunStatus::Partial,
        "leftover items are not a success"
    );
    assert_eq!(done.error_code.as_deref(), Some("items_not_attempted"));
    assert_eq!((done.failed_items, done.created_items), (2, 1));
    assert!(done.summary.unwrap().ends_with("2 item(s) not attempted."));
    let items = run_store::all_items(db, first.id).await.unwrap();
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

#[tokio::test]
async fn writers_take_turns_on_sqlite() {
    let db = TestDb::sqlite();
    writers_take_turns_and_leftover_items_are_recorded(&connect(&db).await).await;
    db.drop_db().await;
}

#[tokio::test]
async fn writers_take_turns_on_postgres() {
    let db = TestDb::create().await;
    if !db.is_postgres() {
        println!("skipped: PV_TEST_DATABASE_URL is not set");
        return;
    }
    writers_take_turns_and_leftover_items_are_recorded(&connect(&db).await).await;
    db.drop_db().await;
}

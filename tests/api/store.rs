//! Store tests on both databases: every aggregate written and read back through the store
//! layer, and constraint violations surfacing as typed errors.

use entity::enums::{ItemAction, Role, RunItemStatus, RunOperation, RunStatus, TargetType};
use policyvault::crypto::SecretBox;
use policyvault::domain::{Email, Password, TenantName};
use policyvault::store::activity::{self, NewAuditEvent, NewNotification};
use policyvault::store::content::{self, CapturedObject, NewBackupSet, SyncOutcome};
use policyvault::store::runs::{self as run_store, ItemResult, NewRun, PlannedItem, Terminal};
use policyvault::store::{self, StoreError, TenantScope, accounts, tenants};
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
    let (scope, role) = accounts::member_scope(db, tenant.id, user.id)
        .await
        .unwrap()
        .expect("a member has a scope");
    assert_eq!((scope.tenant_id(), role), (tenant.id, Role::Admin));
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
        run_store::find_active(db, &scope, RunOperation::CaptureSnapshot, tenant.id, "")
            .await
            .unwrap()
            .map(|r| r.id),
        Some(first.id)
    );

    // claim → items → finish; then a new run of the same key is accepted
    let lease = Uuid::new_v4();
    let (claimed, claimed_scope) =
        run_store::claim(db, first.id, "w1", lease, chrono::Duration::hours(1), 2)
            .await
            .unwrap()
            .expect("claimed");
    assert_eq!(claimed_scope, scope, "a claim grants the run's tenant");
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
                action: Some(ItemAction::Captured),
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
    let snapshot = content::snapshot_for_run(db, &scope, first.id, &[], user.id)
        .await
        .unwrap();
    let again = content::snapshot_for_run(db, &scope, first.id, &[], user.id)
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
    content::seal_snapshot(db, &snapshot).await.unwrap();
    assert_eq!(
        content::snapshot(db, &scope, snapshot.id)
            .await
            .unwrap()
            .item_count,
        1
    );

    let set = content::create_backup_set(
        db,
        &scope,
        NewBackupSet {
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
        &scope,
        NewBackupSet {
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
    let latest = content::latest_backup_items(db, &scope, set.id)
        .await
        .unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].content_hash, "h2");

    // mappings, notifications, audit
    content::upsert_mapping(db, &scope, "deviceConfigurations", "abc", &scope, "x1")
        .await
        .unwrap();
    content::upsert_mapping(db, &scope, "deviceConfigurations", "abc", &scope, "x2")
        .await
        .unwrap();
    let mapping = content::mapping(db, &scope, "deviceConfigurations", "abc", &scope)
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
        activity::audit_events(db, &scope, None, 10)
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
    assert!(
        db.is_postgres(),
        "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
    );
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
    let (running, scope) =
        run_store::claim(db, first.id, "w", lease, chrono::Duration::hours(1), 10)
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

#[tokio::test]
async fn writers_take_turns_on_sqlite() {
    let db = TestDb::sqlite();
    writers_take_turns_and_leftover_items_are_recorded(&connect(&db).await).await;
    db.drop_db().await;
}

#[tokio::test]
async fn writers_take_turns_on_postgres() {
    let db = TestDb::create().await;
    assert!(
        db.is_postgres(),
        "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
    );
    writers_take_turns_and_leftover_items_are_recorded(&connect(&db).await).await;
    db.drop_db().await;
}

/// One tenant's content: a snapshot with an item, a backup set with an item, a run with an
/// item and an audit event, and the scope its member was granted.
struct Estate {
    scope: TenantScope,
    snapshot: Uuid,
    set: Uuid,
    run: Uuid,
}

async fn estate(db: &DatabaseConnection, secrets: &SecretBox, name: &str) -> Estate {
    let tenant = tenants::create(db, secrets, new_tenant(name))
        .await
        .unwrap();
    let user = accounts::create_user(
        db,
        &Email::parse(&format!("{}@example.com", name.to_lowercase())).unwrap(),
        &Password::parse(SecretString::from("long enough password".to_string())).unwrap(),
    )
    .await
    .unwrap();
    accounts::grant_membership(db, &tenant, &user, Role::Admin)
        .await
        .unwrap();
    let (scope, _) = accounts::member_scope(db, tenant.id, user.id)
        .await
        .unwrap()
        .unwrap();
    let run = run_store::insert(db, new_run(tenant.id, user.id, tenant.id))
        .await
        .unwrap();
    let (claimed, _) = run_store::claim(
        db,
        run.id,
        "w",
        Uuid::new_v4(),
        chrono::Duration::hours(1),
        5,
    )
    .await
    .unwrap()
    .unwrap();
    run_store::record_item(
        db,
        &claimed,
        ItemResult {
            item_key: "k".into(),
            policy_type: "deviceConfigurations".into(),
            display_name: "Item".into(),
            source_ref: None,
            status: RunItemStatus::Succeeded,
            action: Some(ItemAction::Captured),
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
    let object = CapturedObject {
        policy_type: "deviceConfigurations".into(),
        source_id: format!("{name}-object"),
        display_name: "Baseline".into(),
        payload: json!({"displayName": "Baseline"}),
        assignments: json!([]),
        content_hash: "h".into(),
    };
    let snapshot = content::snapshot_for_run(db, &scope, run.id, &[], user.id)
        .await
        .unwrap();
    content::add_snapshot_item(db, &snapshot, &object)
        .await
        .unwrap();
    let set = content::create_backup_set(
        db,
        &scope,
        NewBackupSet {
            name: "Weekly".into(),
            description: None,
            policy_types: vec![],
            created_by: user.id,
        },
    )
    .await
    .unwrap();
    content::sync_backup_item(db, &set, &object, run.id)
        .await
        .unwrap();
    content::upsert_mapping(
        db,
        &scope,
        "deviceConfigurations",
        &object.source_id,
        &scope,
        "t1",
    )
    .await
    .unwrap();
    activity::audit(
        db,
        NewAuditEvent {
            tenant_id: tenant.id,
            actor_id: Some(user.id),
            action: "restore.live.queued".into(),
            run_id: Some(run.id),
            details: json!({}),
        },
    )
    .await
    .unwrap();
    Estate {
        scope,
        snapshot: snapshot.id,
        set: set.id,
        run: run.id,
    }
}

/// Every store read of tenant-owned rows, asked with tenant A's scope for tenant B's ids,
/// finds nothing — and with B's own scope finds B's row, so the check can fail.
async fn scopes_isolate_tenants(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let a = estate(db, &secrets, "Alpha").await;
    let b = estate(db, &secrets, "Beta").await;
    // (what, rows found with `scope` for B's ids)
    async fn reads(
        db: &DatabaseConnection,
        scope: &TenantScope,
        b: &Estate,
    ) -> Vec<(&'static str, usize)> {
        fn one<T>(r: Result<T, StoreError>) -> usize {
            match r {
                Ok(_) => 1,
                Err(StoreError::NotFound) => 0,
                Err(e) => panic!("{e}"),
            }
        }
        fn opt<T>(r: Result<Option<T>, StoreError>) -> usize {
            r.unwrap().map_or(0, |_| 1)
        }
        vec![
            (
                "snapshots",
                content::snapshots(db, scope, None, 100)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|s| s.id == b.snapshot)
                    .count(),
            ),
            (
                "snapshot",
                one(content::snapshot(db, scope, b.snapshot).await),
            ),
            (
                "snapshot_items",
                content::snapshot_items(db, scope, b.snapshot, None, 10)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "all_snapshot_items",
                content::all_snapshot_items(db, scope, b.snapshot)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "snapshot_item_by_source",
                opt(content::snapshot_item_by_source(
                    db,
                    scope,
                    b.snapshot,
                    "deviceConfigurations",
                    "Beta-object",
                )
                .await),
            ),
            (
                "backup_sets",
                content::backup_sets(db, scope, None, 100)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|s| s.id == b.set)
                    .count(),
            ),
            (
                "backup_set",
                one(content::backup_set(db, scope, b.set).await),
            ),
            (
                "backup_items",
                content::backup_items(db, scope, b.set, false, None, 10)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "latest_backup_items",
                content::latest_backup_items(db, scope, b.set)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "source_item_ids(snapshot)",
                content::source_item_ids(db, scope, TargetType::Snapshot, b.snapshot)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "source_item_ids(backup set)",
                content::source_item_ids(db, scope, TargetType::BackupSet, b.set)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "mapping",
                opt(
                    content::mapping(db, scope, "deviceConfigurations", "Beta-object", scope).await,
                ),
            ),
            (
                "mapping_claimants",
                content::mapping_claimants(db, scope, "deviceConfigurations", "t1")
                    .await
                    .unwrap()
                    .iter()
                    .filter(|(_, id)| id == "Beta-object")
                    .count(),
            ),
            (
                "get_in_tenant",
                one(run_store::get_in_tenant(db, scope, b.run).await),
            ),
            (
                "runs list",
                run_store::list(db, scope, &Default::default(), 100)
                    .await
                    .unwrap()
                    .0
                    .iter()
                    .filter(|r| r.id == b.run)
                    .count(),
            ),
            (
                "list_active",
                run_store::list_active(db, std::slice::from_ref(scope))
                    .await
                    .unwrap()
                    .iter()
                    .filter(|r| r.id == b.run)
                    .count(),
            ),
            (
                // Counted beyond the scope's own active runs: B's run would show here.
                "count_active",
                run_store::count_active(db, std::slice::from_ref(scope))
                    .await
                    .unwrap() as usize
                    - run_store::list_active(db, std::slice::from_ref(scope))
                        .await
                        .unwrap()
                        .iter()
                        .filter(|r| r.id != b.run)
                        .count(),
            ),
            (
                "find_active",
                opt(run_store::find_active(
                    db,
                    scope,
                    RunOperation::CaptureSnapshot,
                    b.scope.tenant_id(),
                    "",
                )
                .await),
            ),
            (
                "reruns_of",
                run_store::reruns_of(db, scope, b.run)
                    .await
                    .unwrap()
                    .len()
                    .min(1),
            ),
            (
                "items",
                run_store::items(db, scope, b.run, None, 10)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "items_with",
                run_store::items_with(db, scope, b.run, None, None, 10)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "item_outcomes",
                run_store::item_outcomes(db, scope, b.run)
                    .await
                    .unwrap()
                    .len(),
            ),
            (
                "all_items",
                run_store::all_items(db, scope, b.run).await.unwrap().len(),
            ),
            (
                "audit_events",
                activity::audit_events(db, scope, None, 100)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|e| e.run_id == Some(b.run))
                    .count(),
            ),
        ]
    }
    let foreign = reads(db, &a.scope, &b).await;
    let own = reads(db, &b.scope, &b).await;
    for ((what, seen), (_, own_seen)) in foreign.iter().zip(&own) {
        assert_eq!(
            *seen, 0,
            "{what}: tenant A's scope returned tenant B's rows"
        );
        // reruns_of and count_active have nothing of B's to find even in B's scope
        // beyond the run itself; every other read must see B's row with B's scope.
        if !matches!(*what, "reruns_of") {
            assert!(
                *own_seen > 0,
                "{what}: B's own scope found nothing, so the check proves nothing"
            );
        }
    }
    assert_eq!(foreign.len(), 24);
    let _ = a.run;
}

#[tokio::test]
async fn a_tenant_scope_never_reads_another_tenants_rows_on_sqlite() {
    let db = TestDb::sqlite();
    scopes_isolate_tenants(&connect(&db).await).await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_tenant_scope_never_reads_another_tenants_rows_on_postgres() {
    let db = TestDb::create().await;
    assert!(
        db.is_postgres(),
        "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
    );
    scopes_isolate_tenants(&connect(&db).await).await;
    db.drop_db().await;
}

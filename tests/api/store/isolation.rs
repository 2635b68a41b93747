//! Tenant scopes never read another tenant's rows.

use super::*;

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
    let claimed = claimed_capture(db, tenant.id, user.id).await;
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
    let snapshot = content::snapshot_for_run(db, &scope, claimed.id, &[], user.id, false)
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
    content::sync_backup_item(db, &set, &object, claimed.id)
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
            run_id: Some(claimed.id),
            details: json!({}),
        },
    )
    .await
    .unwrap();
    Estate {
        scope,
        snapshot: snapshot.id,
        set: set.id,
        run: claimed.id,
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

on_both_databases!(
    a_tenant_scope_never_reads_another_tenants_rows_on_sqlite,
    a_tenant_scope_never_reads_another_tenants_rows_on_postgres,
    scopes_isolate_tenants
);

//! Every aggregate written and read back, with typed errors for constraint violations.

use super::*;

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
    // The token, its user and their membership of a tenant, read together.
    let (read_token, read_user, member) =
        accounts::token_user_and_member(db, &token, Some(tenant.id))
            .await
            .unwrap()
            .expect("a live token of an enabled user");
    assert_eq!((read_token.id, read_user.id), (token_row.id, user.id));
    let (member_scope, member_role, member_tenant) = member.expect("a member of the tenant");
    assert_eq!(
        (member_scope.tenant_id(), member_role, member_tenant.id),
        (tenant.id, Role::Admin, tenant.id)
    );
    assert_eq!(member_tenant.name, tenant.name);
    let elsewhere = tenants::create(db, &secrets, new_tenant("Elsewhere"))
        .await
        .unwrap();
    let (_, _, member) = accounts::token_user_and_member(db, &token, Some(elsewhere.id))
        .await
        .unwrap()
        .expect("the token is live whatever tenant it asks for");
    assert!(member.is_none(), "not a member of another tenant");
    let expired = accounts::TokenLimits {
        expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        read_only: false,
    };
    let (_, expired) = accounts::issue_token(db, &user, "old", expired)
        .await
        .unwrap();
    assert!(
        accounts::token_user_and_member(db, &expired, Some(tenant.id))
            .await
            .unwrap()
            .is_none(),
        "an expired token is not read"
    );
    accounts::revoke_token(db, token_row.id).await.unwrap();
    assert!(
        accounts::user_for_token(db, &token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::token_user_and_member(db, &token, Some(tenant.id))
            .await
            .unwrap()
            .is_none(),
        "a revoked token is not read"
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
    let run_store::Claim {
        run: claimed,
        scope: claimed_scope,
        ..
    } = run_store::claim(db, first.id, "w1", lease, chrono::Duration::hours(1), 2)
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
    // k3 stays pending: finishing records it as not attempted.
    let planned: Vec<PlannedItem> = (0..4)
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
        (4, 1, 1, 1)
    );
    let terminal = Terminal {
        status: RunStatus::Partial,
        error_code: Some("items_failed".into()),
        error_context: None,
        summary: "done".into(),
    };
    assert!(
        run_store::finish(db, first.id, Some(Uuid::new_v4()), &terminal)
            .await
            .unwrap()
            .is_none(),
        "another lease finishes nothing"
    );
    let untouched = run_store::count_items(db, first.id).await.unwrap();
    assert_eq!(
        (untouched.total, untouched.finished()),
        (4, 3),
        "a refused finish leaves the pending item pending"
    );
    let finished = run_store::finish(db, first.id, Some(lease), &terminal)
        .await
        .unwrap()
        .expect("the lease holder finishes the run");
    let done = run_store::get(db, first.id).await.unwrap().unwrap();
    assert_eq!(finished, done, "finish returns the run as stored");
    assert_eq!(done.status, RunStatus::Partial);
    assert_eq!((done.total_items, done.failed_items), (4, 2));
    assert_eq!(
        done.summary.as_deref(),
        Some("done 1 item(s) not attempted.")
    );
    assert!(done.lease_owner.is_none() && done.finished_at.is_some());
    run_store::insert(db, new_run(tenant.id, user.id, tenant.id))
        .await
        .expect("a new run once the previous one is terminal");

    // snapshots and backup sets
    let snapshot = content::snapshot_for_run(db, &scope, first.id, &[], user.id, true)
        .await
        .unwrap();
    let again = content::snapshot_for_run(db, &scope, first.id, &[], user.id, false)
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
            fanout_id: None,
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

/// Items of every action and status, recorded in batches: the counts each write returns are
/// the counts of the rows, and the Run Record holds them; planning does not count as progress.
async fn counts_of_every_action(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Fabrikam"))
        .await
        .unwrap();
    let email = Email::parse("counts@example.com").unwrap();
    let pw = Password::parse(SecretString::from("long enough password".to_string())).unwrap();
    let user = accounts::create_user(db, &email, &pw).await.unwrap();
    let claimed = claimed_capture(db, tenant.id, user.id).await;
    let stored = |counts: run_store::Counts, row: &entity::runs::Model| {
        let n = |v: i32| i64::from(v);
        assert_eq!(
            [
                counts.total,
                counts.succeeded,
                counts.failed,
                counts.skipped,
                counts.created,
                counts.updated,
                counts.unchanged,
                counts.conflict,
                counts.deleted
            ],
            [
                n(row.total_items),
                n(row.succeeded_items),
                n(row.failed_items),
                n(row.skipped_items),
                n(row.created_items),
                n(row.updated_items),
                n(row.unchanged_items),
                n(row.conflict_items),
                n(row.deleted_items)
            ],
            "the Run Record holds the counts the write returned"
        );
    };
    let planned: Vec<PlannedItem> = (0..ItemAction::ALL.len() + 2)
        .map(|i| PlannedItem {
            item_key: format!("a{i}"),
            policy_type: "deviceConfigurations".into(),
            display_name: format!("Item {i}"),
            source_ref: None,
        })
        .collect();
    let counts = run_store::plan_items(db, &claimed, &planned).await.unwrap();
    assert_eq!((counts.total, counts.finished()), (planned.len() as i64, 0));
    let row = run_store::get(db, claimed.id).await.unwrap().unwrap();
    stored(counts, &row);
    assert_eq!(row.progress_attempt, 0, "planning is not progress");

    let statuses = [
        RunItemStatus::Succeeded,
        RunItemStatus::Failed,
        RunItemStatus::Skipped,
    ];
    let results: Vec<ItemResult> = ItemAction::ALL
        .iter()
        .enumerate()
        .map(|(i, action)| ItemResult {
            status: statuses[i % statuses.len()],
            action: Some(*action),
            ..ItemResult::succeeded(&format!("a{i}"), "deviceConfigurations", "Item")
        })
        .collect();
    for batch in results.chunks(4) {
        let returned = run_store::record_items(db, &claimed, batch.to_vec())
            .await
            .unwrap();
        assert_eq!(
            returned,
            run_store::count_items(db, claimed.id).await.unwrap()
        );
        let row = run_store::get(db, claimed.id).await.unwrap().unwrap();
        stored(returned, &row);
        assert_eq!(
            row.progress_attempt, claimed.attempt,
            "a result is progress"
        );
    }
    let counts = run_store::count_items(db, claimed.id).await.unwrap();
    let by = |wanted: entity::enums::ActionCount| {
        ItemAction::ALL
            .iter()
            .filter(|a| a.counts_as() == wanted)
            .count() as i64
    };
    use entity::enums::ActionCount;
    assert_eq!(
        (
            counts.total,
            counts.finished(),
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.conflict,
            counts.deleted
        ),
        (
            planned.len() as i64,
            ItemAction::ALL.len() as i64,
            by(ActionCount::Created),
            by(ActionCount::Updated),
            by(ActionCount::Unchanged),
            by(ActionCount::Conflict),
            by(ActionCount::Deleted)
        )
    );
    assert!(counts.created > 0 && counts.updated > 1 && counts.deleted > 1);
    let per_status = |status: RunItemStatus| {
        (0..ItemAction::ALL.len())
            .filter(|i| statuses[i % statuses.len()] == status)
            .count() as i64
    };
    assert_eq!(
        (counts.succeeded, counts.failed, counts.skipped),
        (
            per_status(RunItemStatus::Succeeded),
            per_status(RunItemStatus::Failed),
            per_status(RunItemStatus::Skipped)
        )
    );

    // A write of more rows than one statement takes (the last chunk is counted with its
    // upsert on PostgreSQL), over rows already there, with a key given twice.
    let mut many: Vec<ItemResult> = (0..450)
        .map(|i| ItemResult::succeeded(&format!("b{i}"), "deviceConfigurations", "Many"))
        .collect();
    many.push(ItemResult {
        status: RunItemStatus::Failed,
        ..ItemResult::succeeded("a0", "deviceConfigurations", "Again")
    });
    many.push(ItemResult {
        status: RunItemStatus::Skipped,
        ..ItemResult::succeeded("b449", "deviceConfigurations", "Last wins")
    });
    let returned = run_store::record_items(db, &claimed, many).await.unwrap();
    let after = run_store::count_items(db, claimed.id).await.unwrap();
    assert_eq!(returned, after);
    stored(
        returned,
        &run_store::get(db, claimed.id).await.unwrap().unwrap(),
    );
    assert_eq!(after.total, counts.total + 450);
    assert_eq!(
        after.skipped,
        counts.skipped + 1,
        "b449's last result counts"
    );
    let a0_failed = statuses[0] != RunItemStatus::Failed;
    assert_eq!(after.failed, counts.failed + i64::from(a0_failed));

    // The reaper finishes it (the two planned items left become not attempted); a late
    // write of a worker that has not noticed yet leaves the finished Run Record's counts.
    let terminal = Terminal {
        status: RunStatus::Failed,
        error_code: Some("worker_lost".into()),
        error_context: None,
        summary: "lost".into(),
    };
    let finished = run_store::finish(db, claimed.id, None, &terminal)
        .await
        .unwrap()
        .expect("the reaper finishes an active run");
    let late = run_store::record_items(
        db,
        &claimed,
        vec![ItemResult::succeeded(
            "late",
            "deviceConfigurations",
            "Late",
        )],
    )
    .await
    .unwrap();
    assert_eq!(late, run_store::count_items(db, claimed.id).await.unwrap());
    assert_eq!(late.total, finished.total_items as i64 + 1);
    let row = run_store::get(db, claimed.id).await.unwrap().unwrap();
    assert_eq!(
        (row.total_items, row.failed_items, row.status),
        (
            finished.total_items,
            finished.failed_items,
            RunStatus::Failed
        ),
        "a finished run keeps the counts its finish stored"
    );
}

on_both_databases!(
    counts_of_every_action_on_sqlite,
    counts_of_every_action_on_postgres,
    counts_of_every_action
);

on_both_databases!(
    store_round_trip_and_typed_errors_on_sqlite,
    store_round_trip_and_typed_errors_on_postgres,
    exercise
);

/// A claim reads only the row it updates: it refuses a run that is not queued (or does not
/// exist), one whose tenant is at its cap (other tenants' runs do not count) and a writer
/// while another writer of its tenant runs; it fixes the start and deadline once. A settled
/// finish counts the rows itself and applies only for the lease holder with no unfinished
/// item.
async fn claims_and_settled_finish(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Northwind"))
        .await
        .unwrap();
    let neighbour = tenants::create(db, &secrets, new_tenant("Tailspin"))
        .await
        .unwrap();
    let email = Email::parse("claims@example.com").unwrap();
    let pw = Password::parse(SecretString::from("long enough password".to_string())).unwrap();
    let user = accounts::create_user(db, &email, &pw).await.unwrap();
    let hour = chrono::Duration::hours(1);
    let claim = |id: Uuid, lease: Uuid, cap: u32| run_store::claim(db, id, "w", lease, hour, cap);
    let writer = |tenant: Uuid| NewRun {
        operation: RunOperation::Restore,
        ..new_run(tenant, user.id, Uuid::now_v7())
    };

    // The neighbour's running runs do not count against this tenant's cap of 1.
    claimed_capture(db, neighbour.id, user.id).await;
    let first = run_store::insert(db, new_run(tenant.id, user.id, tenant.id))
        .await
        .unwrap();
    let second = run_store::insert(db, new_run(tenant.id, user.id, Uuid::now_v7()))
        .await
        .unwrap();
    let lease = Uuid::new_v4();
    let run_store::Claim {
        run: claimed,
        scope,
        ..
    } = claim(first.id, lease, 1).await.unwrap().unwrap();
    assert_eq!(scope.tenant_id(), tenant.id);
    assert_eq!(
        (claimed.status, claimed.attempt, claimed.lease_token),
        (RunStatus::Running, 1, Some(lease))
    );
    let started = claimed.started_at.expect("a claim sets the start");
    assert_eq!(claimed.deadline_at, Some(started + hour));
    for (id, what) in [
        (first.id, "a running run"),
        (Uuid::now_v7(), "an unknown run"),
    ] {
        assert_eq!(
            claim(id, Uuid::new_v4(), 5).await.unwrap().unwrap_err(),
            run_store::ClaimRefusal::NotQueued,
            "{what} is not claimed"
        );
    }
    assert_eq!(
        claim(second.id, Uuid::new_v4(), 1)
            .await
            .unwrap()
            .unwrap_err(),
        run_store::ClaimRefusal::TenantBusy,
        "the tenant runs its cap"
    );
    let waiting = run_store::get(db, second.id).await.unwrap().unwrap();
    assert_eq!((waiting.status, waiting.attempt), (RunStatus::Queued, 0));

    // Writers: one at a time per tenant, next to captures, and per tenant only.
    let restore = run_store::insert(db, writer(tenant.id)).await.unwrap();
    let other_restore = run_store::insert(db, writer(tenant.id)).await.unwrap();
    let neighbours_restore = run_store::insert(db, writer(neighbour.id)).await.unwrap();
    claim(restore.id, Uuid::new_v4(), 5).await.unwrap().unwrap();
    assert_eq!(
        claim(other_restore.id, Uuid::new_v4(), 5)
            .await
            .unwrap()
            .unwrap_err(),
        run_store::ClaimRefusal::TenantBusy,
        "a second writer waits for the first"
    );
    claim(neighbours_restore.id, Uuid::new_v4(), 5)
        .await
        .unwrap()
        .expect("another tenant's writer is not held back");

    let planned = |key: &str| PlannedItem {
        item_key: key.into(),
        policy_type: "deviceConfigurations".into(),
        display_name: key.to_uppercase(),
        source_ref: None,
    };
    run_store::plan_items(db, &claimed, &[planned("a"), planned("b")])
        .await
        .unwrap();
    let terminal = Terminal {
        status: RunStatus::Succeeded,
        error_code: None,
        error_context: Some(json!({"note": "kept"})),
        summary: "captured".into(),
    };
    let settled = |lease: Uuid| run_store::finish_settled(db, first.id, lease, &terminal);
    run_store::record_items(
        db,
        &claimed,
        vec![ItemResult::succeeded("a", "deviceConfigurations", "A")],
    )
    .await
    .unwrap();
    assert!(
        settled(lease).await.unwrap().is_none(),
        "an unfinished item leaves the finish to the full form"
    );
    let counts = run_store::record_items(
        db,
        &claimed,
        vec![ItemResult::succeeded("b", "deviceConfigurations", "B")],
    )
    .await
    .unwrap();
    assert_eq!((counts.total, counts.finished()), (2, 2));
    assert!(
        settled(Uuid::new_v4()).await.unwrap().is_none(),
        "another lease does not finish the run"
    );
    let row = run_store::get(db, first.id).await.unwrap().unwrap();
    assert_eq!((row.status, row.finished_at), (RunStatus::Running, None));
    let (finished, _) = settled(lease)
        .await
        .unwrap()
        .expect("the lease holder finishes its run");
    assert_eq!(
        (
            finished.status,
            finished.total_items,
            finished.succeeded_items,
            finished.summary.as_deref(),
            finished.lease_owner.as_deref(),
            finished.error_context.clone(),
        ),
        (
            RunStatus::Succeeded,
            2,
            2,
            Some("captured"),
            None,
            Some(json!({"note": "kept"}))
        )
    );
    assert!(finished.finished_at.is_some());
    assert_eq!(
        run_store::get(db, first.id).await.unwrap().unwrap(),
        finished,
        "the returned row is the stored one"
    );
    assert!(
        settled(lease).await.unwrap().is_none(),
        "a finished run is finished once"
    );

    // Below the cap again: the waiting run is claimed; handed back and claimed again, it
    // keeps its first start and deadline.
    let lease = Uuid::new_v4();
    let claimed = claim(second.id, lease, 2).await.unwrap().unwrap().run;
    let started = claimed.started_at.unwrap();
    assert!(run_store::requeue(db, second.id, lease).await.unwrap());
    let again = claim(second.id, Uuid::new_v4(), 2)
        .await
        .unwrap()
        .unwrap()
        .run;
    assert_eq!(
        (again.attempt, again.started_at, again.deadline_at),
        (2, Some(started), Some(started + hour))
    );
}

on_both_databases!(
    claims_and_settled_finish_on_sqlite,
    claims_and_settled_finish_on_postgres,
    claims_and_settled_finish
);

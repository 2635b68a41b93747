//! Retention with a fake clock: pruning a tenant at a chosen instant deletes exactly the
//! rows its rules no longer keep, and keeps the protected ones (the newest snapshot, one a
//! run reads, a pre-restore copy still undoable, the latest version of every object, runs
//! an undo or re-run may still need) — and nothing of another tenant.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{backup_items, runs, snapshot_items, snapshots};
use policyvault::store::retention::{self, Overrides, Policy, Protection};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use super::*;

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 6, 1, 3, 30, 0).unwrap()
}

async fn snapshot(
    db: &DatabaseConnection,
    tenant: Uuid,
    purpose: &str,
    age_days: i64,
) -> snapshots::Model {
    let row = snapshots::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        run_id: Set(None),
        policy_types: Set(json!([])),
        item_count: Set(1),
        purpose: Set(purpose.into()),
        created_by: Set(None),
        created_at: Set(clock() - Duration::days(age_days)),
        previous_snapshot_id: Set(None),
        changes: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    snapshot_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        snapshot_id: Set(row.id),
        policy_type: Set("deviceConfigurations".into()),
        source_id: Set(Uuid::new_v4().to_string()),
        display_name: Set("Baseline".into()),
        payload: Set(json!({"displayName": "Baseline", "passwordRequired": true})),
        assignments: Set(json!([])),
        content_hash: Set("sha256:aa".into()),
        created_at: Set(row.created_at),
    }
    .insert(db)
    .await
    .unwrap();
    row
}

async fn version(
    db: &DatabaseConnection,
    tenant: Uuid,
    set: Uuid,
    source_id: &str,
    version: i32,
    latest: bool,
) -> backup_items::Model {
    backup_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        backup_set_id: Set(set),
        policy_type: Set("deviceConfigurations".into()),
        source_id: Set(source_id.into()),
        display_name: Set(format!("{source_id} v{version}")),
        version: Set(version),
        payload: Set(json!({"displayName": source_id, "v": version})),
        assignments: Set(json!([])),
        content_hash: Set(format!("sha256:{version}")),
        is_latest: Set(latest),
        missing_since: Set(None),
        run_id: Set(None),
        captured_at: Set(clock() - Duration::days(10 - i64::from(version))),
    }
    .insert(db)
    .await
    .unwrap()
}

/// A run of the tenant that finished `age_days` before the clock.
async fn finished_run(
    db: &DatabaseConnection,
    tenant: Uuid,
    user: Uuid,
    operation: RunOperation,
    age_days: i64,
) -> runs::Model {
    let run = run_store::insert(
        db,
        NewRun {
            operation,
            target_type: TargetType::Snapshot,
            selection_digest: Uuid::new_v4().to_string(),
            ..new_run(tenant, user, Uuid::new_v4())
        },
    )
    .await
    .unwrap();
    let mut row: runs::ActiveModel = run.into();
    row.status = Set(RunStatus::Succeeded);
    row.finished_at = Set(Some(clock() - Duration::days(age_days)));
    row.update(db).await.unwrap()
}

async fn prune_at_a_chosen_instant(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Retained"))
        .await
        .unwrap();
    let other = tenants::create(db, &secrets, new_tenant("Untouched"))
        .await
        .unwrap();
    let user = new_user(db, "keeper@example.com").await;
    for t in [&tenant, &other] {
        accounts::grant_membership(db, t, &user, Role::Admin)
            .await
            .unwrap();
    }
    let (scope, _) = accounts::member_scope(db, tenant.id, user.id)
        .await
        .unwrap()
        .unwrap();

    // Capture snapshots aged 1, 5, 40, 100, 200 and 300 days; pre-restore copies aged 10
    // and 120 days. The rules: younger than 30 days or among the newest 3; undo window 30.
    let ages = [1, 5, 40, 100, 200, 300];
    let mut captures = Vec::new();
    for age in ages {
        captures.push(snapshot(db, tenant.id, "capture", age).await);
    }
    let young_copy = snapshot(db, tenant.id, "pre_restore", 10).await;
    let old_copy = snapshot(db, tenant.id, "pre_restore", 120).await;
    let foreign_old = snapshot(db, other.id, "capture", 400).await;
    // A queued restore elsewhere reads the 200-day snapshot.
    let in_use: HashSet<Uuid> = [captures[4].id].into();

    // Backup-set versions: object A has 4 (v4 latest), B has 1.
    let set = content::create_backup_set(
        db,
        &scope,
        NewBackupSet {
            name: "Nightly".into(),
            description: None,
            policy_types: Vec::new(),
            created_by: user.id,
        },
    )
    .await
    .unwrap();
    let mut a = Vec::new();
    for v in 1..=4 {
        a.push(version(db, tenant.id, set.id, "A", v, v == 4).await);
    }
    let b = version(db, tenant.id, set.id, "B", 1, true).await;

    // Runs (kept 15 days): a capture finished 400 days ago (old), one 10 days ago (young), a
    // live restore 200 days ago (its undo window long gone), a live restore 20 days ago
    // (older than the rule, but still undoable).
    let old_capture =
        finished_run(db, tenant.id, user.id, RunOperation::CaptureSnapshot, 400).await;
    run_store::record_item(
        db,
        &old_capture,
        ItemResult {
            item_key: "deviceConfigurations/x".into(),
            policy_type: "deviceConfigurations".into(),
            display_name: "Old item".into(),
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
    let young_capture =
        finished_run(db, tenant.id, user.id, RunOperation::CaptureSnapshot, 10).await;
    let old_restore = finished_run(db, tenant.id, user.id, RunOperation::Restore, 200).await;
    let undoable = finished_run(db, tenant.id, user.id, RunOperation::Restore, 20).await;
    let foreign_run = finished_run(db, other.id, user.id, RunOperation::CaptureSnapshot, 400).await;

    let policy = Overrides {
        snapshot_days: Some(30),
        snapshot_keep: Some(3),
        backup_versions_keep: Some(2),
        run_days: Some(15),
    }
    .apply(Policy {
        snapshot_days: 0,
        snapshot_keep: 0,
        backup_versions_keep: 0,
        run_days: 0,
        undo_window_days: 30,
    });
    let plan = retention::plan(db, &scope, policy, clock(), &in_use)
        .await
        .unwrap();

    let ids = |v: &[Uuid]| v.iter().copied().collect::<HashSet<_>>();
    let planned: HashSet<Uuid> = plan.snapshots.iter().map(|s| s.id).collect();
    // 1, 5 (young) and 40 (third newest) stay; 100 and 300 go; 200 is read by a run; the
    // old pre-restore copy goes, the young one stays without being mentioned.
    assert_eq!(planned, ids(&[captures[3].id, captures[5].id, old_copy.id]));
    let protected: Vec<(Uuid, Protection)> =
        plan.protected.iter().map(|(s, p)| (s.id, *p)).collect();
    assert_eq!(protected, vec![(captures[4].id, Protection::InUse)]);
    assert_eq!(plan.versions.len(), 1);
    assert_eq!(ids(&plan.versions[0].ids), ids(&[a[0].id, a[1].id]));
    assert_eq!(ids(&plan.runs), ids(&[old_capture.id, old_restore.id]));

    // Applying it deletes exactly those rows.
    let mut reclaimed = 0;
    for s in &plan.snapshots {
        reclaimed += retention::delete_snapshot(db, &scope, s.id, &in_use)
            .await
            .unwrap()
            .expect("deleted");
    }
    let (versions, bytes) = retention::delete_versions(db, &scope, &plan.versions[0].ids)
        .await
        .unwrap();
    assert_eq!(versions, 2);
    reclaimed += bytes;
    let (runs_deleted, items_deleted, bytes) = retention::delete_runs(db, &scope, &plan.runs)
        .await
        .unwrap();
    assert_eq!((runs_deleted, items_deleted), (2, 1));
    reclaimed += bytes;
    assert!(reclaimed > 100, "{reclaimed} bytes reclaimed");

    let left: HashSet<Uuid> = snapshots::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        left,
        ids(&[
            captures[0].id,
            captures[1].id,
            captures[2].id,
            captures[4].id,
            young_copy.id,
            foreign_old.id,
        ])
    );
    let items_left = snapshot_items::Entity::find().all(db).await.unwrap().len();
    assert_eq!(items_left, 6, "a deleted snapshot's items go with it");
    let versions_left: HashSet<Uuid> = backup_items::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(versions_left, ids(&[a[2].id, a[3].id, b.id]));
    let runs_left: HashSet<Uuid> = runs::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        runs_left,
        ids(&[young_capture.id, undoable.id, foreign_run.id])
    );

    // A snapshot a run started reading after the plan is not deleted.
    assert_eq!(
        retention::delete_snapshot(db, &scope, captures[2].id, &[captures[2].id].into())
            .await
            .unwrap(),
        None
    );
    // The same clock again finds nothing more to do.
    let again = retention::plan(db, &scope, policy, clock(), &in_use)
        .await
        .unwrap();
    assert!(again.snapshots.is_empty() && again.versions.is_empty() && again.runs.is_empty());

    // With every rule off nothing is deleted, and the newest snapshot is never deleted even
    // by an age rule that covers it.
    let none = retention::plan(
        db,
        &scope,
        Policy {
            snapshot_days: 0,
            snapshot_keep: 0,
            backup_versions_keep: 0,
            run_days: 0,
            undo_window_days: 30,
        },
        clock(),
        &HashSet::new(),
    )
    .await
    .unwrap();
    assert!(none.snapshots.is_empty() && none.runs.is_empty() && none.versions.is_empty());
    let far_future = retention::plan(
        db,
        &scope,
        Policy {
            snapshot_days: 1,
            snapshot_keep: 0,
            backup_versions_keep: 0,
            run_days: 0,
            undo_window_days: 30,
        },
        clock() + Duration::days(3650),
        &HashSet::new(),
    )
    .await
    .unwrap();
    assert!(
        far_future
            .protected
            .iter()
            .any(|(s, p)| s.id == captures[0].id && *p == Protection::Newest),
        "{:?}",
        far_future.protected
    );
    assert!(!far_future.snapshots.iter().any(|s| s.id == captures[0].id));
}

on_both_databases!(
    retention_prunes_exactly_what_its_rules_release_on_sqlite,
    retention_prunes_exactly_what_its_rules_release_on_postgres,
    prune_at_a_chosen_instant
);

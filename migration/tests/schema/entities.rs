//! The entities and the migrated schema agree: every column of every table is written and
//! read back unchanged (UUIDs, JSON, UTC timestamps, enums and NULLs included), and the
//! column defaults the application relies on are in place.

use entity::enums::{RunItemStatus, RunOperation};
use entity::prelude::*;
use entity::{run_items, snapshots, users};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, ModelTrait, Set};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{insert_tenant, insert_user, now, populate, queued_run};

on_both_backends!(every_entity_round_trips, column_defaults_apply);

async fn every_entity_round_trips(db: &DatabaseConnection) {
    let g = populate(db).await;

    macro_rules! assert_round_trip {
        ($($entity:ident => $model:expr),* $(,)?) => {$(
            let stored = $entity::find_by_id($model.id)
                .one(db)
                .await
                .expect(concat!("read ", stringify!($entity)));
            assert_eq!(stored.as_ref(), Some(&$model), stringify!($entity));
        )*};
    }
    assert_round_trip!(
        Tenants => g.tenant,
        Tenants => g.other_tenant,
        Users => g.operator,
        Memberships => g.membership,
        ApiTokens => g.api_token,
        Sessions => g.session,
        Snapshots => g.snapshot,
        SnapshotItems => g.snapshot_item,
        BackupSets => g.backup_set,
        BackupItems => g.backup_item,
        Runs => g.run,
        Runs => g.child_run,
        RunItems => g.run_item,
        Notifications => g.notification,
        AuditEvents => g.audit_event,
        ObjectMappings => g.object_mapping,
    );
    let later = g.later.as_ref().expect("populated at the latest schema");
    assert_round_trip!(
        DriftReports => later.drift_report,
        DriftExceptions => later.drift_exception,
        Uploads => later.upload,
        Schedules => later.schedule,
        Fanouts => later.fanout,
        Notifications => later.fanout_notification,
    );
    let fanout_run =
        FanoutRuns::find_by_id((later.fanout_run.fanout_id, later.fanout_run.tenant_id))
            .one(db)
            .await
            .expect("read FanoutRuns");
    assert_eq!(fanout_run.as_ref(), Some(&later.fanout_run), "FanoutRuns");
    let retention = TenantRetention::find_by_id(later.retention.tenant_id)
        .one(db)
        .await
        .expect("read TenantRetention");
    assert_eq!(
        retention.as_ref(),
        Some(&later.retention),
        "TenantRetention"
    );
    let tick = ScheduleTicks::find_by_id((later.tick.schedule_id, later.tick.tick_at))
        .one(db)
        .await
        .expect("read ScheduleTicks");
    assert_eq!(tick.as_ref(), Some(&later.tick), "ScheduleTicks");
    let baseline = Baselines::find_by_id(later.baseline.tenant_id)
        .one(db)
        .await
        .expect("read Baselines");
    assert_eq!(baseline.as_ref(), Some(&later.baseline), "Baselines");
    let cancellation = RunCancellations::find_by_id(later.cancellation.run_id)
        .one(db)
        .await
        .expect("read RunCancellations");
    assert_eq!(
        cancellation.as_ref(),
        Some(&later.cancellation),
        "RunCancellations"
    );

    // The relations join on the right columns.
    let members = g
        .tenant
        .find_related(Users)
        .all(db)
        .await
        .expect("tenant members");
    assert_eq!(members, vec![g.operator.clone()]);
    let items = g
        .run
        .find_related(RunItems)
        .all(db)
        .await
        .expect("run items");
    assert_eq!(items, vec![g.run_item.clone()]);
}

async fn column_defaults_apply(db: &DatabaseConnection) {
    let tenant = insert_tenant(db, "contoso").await;
    let user = insert_user(db, "operator@example.com").await;

    let run = queued_run(
        tenant.id,
        user.id,
        RunOperation::CaptureSnapshot,
        Uuid::new_v4(),
    )
    .insert(db)
    .await
    .expect("insert a run with only the required columns");
    assert_eq!(
        (
            run.attempt,
            run.total_items,
            run.succeeded_items,
            run.failed_items,
            run.skipped_items
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(
        (
            run.progress_attempt,
            run.created_items,
            run.updated_items,
            run.unchanged_items,
            run.conflict_items,
            run.deleted_items
        ),
        (0, 0, 0, 0, 0, 0)
    );
    assert_eq!(run.selection_digest, "");
    assert_eq!(run.pre_restore_snapshot_id, None);
    assert_eq!(run.parent_run_id, None);
    assert_eq!(run.lease_token, None);
    assert_eq!(run.error_context, None);

    let user = users::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set("viewer@example.com".to_owned()),
        password_hash: Set("x".to_owned()),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a user without `disabled`");
    assert!(!user.disabled);
    assert!(!user.platform_admin);
    // Inserted without the console's columns: their defaults apply.
    let stored = entity::tenants::Entity::find_by_id(tenant.id)
        .one(db)
        .await
        .expect("read the tenant")
        .expect("the tenant");
    assert_eq!(
        (stored.disabled_at, stored.disabled_reason, stored.purged_at),
        (None, None, None)
    );
    // ...and those of the credentials migration: a tenant signs in with its secret.
    assert_eq!(stored.credential, "secret");
    assert_eq!(
        (stored.certificate_pem, stored.private_key_enc),
        (None, None)
    );

    let snapshot = snapshots::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        policy_types: Set(json!([])),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a snapshot without `item_count`");
    assert_eq!(snapshot.item_count, 0);
    assert_eq!(snapshot.purpose, "capture");
    assert_eq!(snapshot.previous_snapshot_id, None);
    assert_eq!(snapshot.changes, None);
    let changes = json!([{"policy_type": "deviceConfigurations", "graph_id": "1",
        "display_name": "A", "change": "changed", "settings": [{"path": "x", "before": 1, "after": 2}]}]);
    let mut compared: snapshots::ActiveModel = snapshot.clone().into();
    compared.previous_snapshot_id = Set(Some(snapshot.id));
    compared.changes = Set(Some(changes.clone()));
    let compared = compared.update(db).await.expect("store changes");
    assert_eq!(compared.changes, Some(changes));
    assert_eq!(compared.previous_snapshot_id, Some(snapshot.id));

    let item = run_items::ActiveModel {
        id: Set(Uuid::new_v4()),
        run_id: Set(run.id),
        tenant_id: Set(tenant.id),
        item_key: Set("k".to_owned()),
        policy_type: Set("deviceConfigurations".to_owned()),
        display_name: Set("d".to_owned()),
        status: Set(RunItemStatus::Pending),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a run item without `attempts`");
    assert_eq!(item.attempts, 0);
}

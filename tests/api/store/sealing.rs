//! Sealing a capture reads, in the same statement, the capture it is compared with and
//! whether its tenant has a baseline, on both databases.

use entity::runs;
use policyvault::graph::registry::PolicyType;
use policyvault::store::content::SealedCapture;
use policyvault::store::drift as drift_store;
use sea_orm::prelude::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::*;

/// A capture of `types` in `tenant` whose run ended `status` (`None`: still running), with
/// one object.
async fn capture(
    db: &DatabaseConnection,
    tenant: &entity::tenants::Model,
    user: Uuid,
    types: &[&str],
    status: Option<RunStatus>,
) -> entity::snapshots::Model {
    let run = claimed_capture(db, tenant.id, user).await;
    let types: Vec<PolicyType> = types
        .iter()
        .map(|t| PolicyType::parse(t).unwrap())
        .collect();
    let scope = tenants::command_line_scope(tenant);
    let snapshot = content::snapshot_for_run(db, &scope, run.id, &types, user, true)
        .await
        .unwrap();
    let object = CapturedObject {
        policy_type: types[0].key().into(),
        source_id: Uuid::new_v4().to_string(),
        display_name: "Object".into(),
        payload: json!({"displayName": "Object"}),
        assignments: json!([]),
        content_hash: "h".into(),
    };
    content::add_snapshot_item(db, &snapshot, &object)
        .await
        .unwrap();
    let status = status.unwrap_or(RunStatus::Running);
    runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(status.as_str()))
        .filter(runs::Column::Id.eq(run.id))
        .exec(db)
        .await
        .unwrap();
    snapshot
}

async fn sealing_reads_what_follows(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Sealed"))
        .await
        .unwrap();
    let other = tenants::create(db, &secrets, new_tenant("Neighbour"))
        .await
        .unwrap();
    let user = new_user(db, "sealer@example.com").await;
    let scope = tenants::command_line_scope(&tenant);
    let configurations = ["deviceConfigurations"];
    let seal = |snapshot: entity::snapshots::Model| async move {
        content::seal_capture(db, &scope, &snapshot).await.unwrap()
    };

    let first = capture(db, &tenant, user.id, &configurations, None).await;
    assert_eq!(
        seal(first.clone()).await,
        SealedCapture {
            previous: None,
            has_baseline: false
        },
        "the first capture has nothing before it"
    );
    runs::Entity::update_many()
        .col_expr(
            runs::Column::Status,
            Expr::value(RunStatus::Succeeded.as_str()),
        )
        .filter(runs::Column::Id.eq(first.run_id.unwrap()))
        .exec(db)
        .await
        .unwrap();
    // Later captures that do not count: other types, a failed run, another tenant.
    capture(
        db,
        &tenant,
        user.id,
        &["deviceConfigurations", "assignmentFilters"],
        Some(RunStatus::Succeeded),
    )
    .await;
    capture(
        db,
        &tenant,
        user.id,
        &configurations,
        Some(RunStatus::Failed),
    )
    .await;
    capture(
        db,
        &other,
        user.id,
        &configurations,
        Some(RunStatus::Succeeded),
    )
    .await;

    let current = capture(db, &tenant, user.id, &configurations, None).await;
    let sealed = seal(current.clone()).await;
    let first_at = content::snapshot(db, &scope, first.id)
        .await
        .unwrap()
        .created_at;
    assert_eq!(sealed.previous, Some((first.id, first_at)));
    assert!(!sealed.has_baseline);
    assert_eq!(
        content::snapshot(db, &scope, current.id)
            .await
            .unwrap()
            .item_count,
        1,
        "the seal stores the item count"
    );

    let set = content::create_backup_set(
        db,
        &scope,
        NewBackupSet {
            name: "Golden".into(),
            description: None,
            policy_types: vec![],
            created_by: user.id,
        },
    )
    .await
    .unwrap();
    drift_store::set_baseline(db, &scope, set.id, user.id)
        .await
        .unwrap();
    assert!(seal(current).await.has_baseline);

    // Another tenant's scope seals nothing.
    let stranger = tenants::command_line_scope(&other);
    assert!(matches!(
        content::seal_capture(db, &stranger, &first).await,
        Err(StoreError::NotFound)
    ));
}

on_both_databases!(
    sealing_a_capture_reads_its_predecessor_and_baseline_on_sqlite,
    sealing_a_capture_reads_its_predecessor_and_baseline_on_postgres,
    sealing_reads_what_follows
);

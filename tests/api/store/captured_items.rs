//! A capture's objects and the run's results for them, stored together: on PostgreSQL in one
//! statement while they fit in one, as two writes otherwise; the same rows either way.

use entity::enums::ItemAction;
use policyvault::graph::registry::PolicyType;

use super::*;

fn object(source_id: &str, name: &str) -> CapturedObject {
    CapturedObject {
        policy_type: "deviceConfigurations".into(),
        source_id: source_id.into(),
        display_name: name.into(),
        payload: json!({"displayName": name}),
        assignments: json!([]),
        content_hash: format!("hash-{name}"),
    }
}

fn captured(object: CapturedObject) -> (ItemResult, CapturedObject) {
    let result = ItemResult {
        action: Some(ItemAction::Captured),
        ..ItemResult::succeeded(
            &format!("{}:{}", object.policy_type, object.source_id),
            &object.policy_type,
            &object.display_name,
        )
    };
    (result, object)
}

async fn stores_objects_with_their_results(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Captured"))
        .await
        .unwrap();
    let user = new_user(db, "capturer@example.com").await;
    let run = claimed_capture(db, tenant.id, user.id).await;
    let scope = tenants::command_line_scope(&tenant);
    let types = [PolicyType::parse("deviceConfigurations").unwrap()];
    let snapshot = content::snapshot_for_run(db, &scope, run.id, &types, user.id, true)
        .await
        .unwrap();
    let failed = ItemResult {
        status: RunItemStatus::Failed,
        error_code: Some("graph_error".into()),
        ..ItemResult::succeeded(
            "deviceConfigurations:broken",
            "deviceConfigurations",
            "Broken",
        )
    };
    // "a" is listed twice: its last copy is stored, once.
    let first = vec![
        captured(object("a", "A first")),
        captured(object("b", "B")),
        captured(object("a", "A again")),
    ];
    let counts = content::add_snapshot_items_recorded(db, &snapshot, &run, first, vec![failed])
        .await
        .unwrap();
    assert_eq!(counts, run_store::count_items(db, run.id).await.unwrap());
    assert_eq!((counts.total, counts.succeeded, counts.failed), (3, 2, 1));
    let stored_row = |source_id: &'static str| async move {
        content::all_snapshot_items(db, &scope, snapshot.id)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.source_id == source_id)
            .unwrap_or_else(|| panic!("{source_id} is stored"))
    };
    let item_row = |key: &'static str| async move {
        run_store::all_items(db, &scope, run.id)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.item_key == key)
            .unwrap_or_else(|| panic!("{key} is recorded"))
    };
    let a = stored_row("a").await;
    assert_eq!(a.display_name, "A again");
    assert_eq!(
        content::all_snapshot_items(db, &scope, snapshot.id)
            .await
            .unwrap()
            .len(),
        2
    );
    let a_item = item_row("deviceConfigurations:a").await;
    assert_eq!(
        a_item.source_ref,
        Some(a.id),
        "the result names the stored row"
    );
    assert_eq!(a_item.action, Some(ItemAction::Captured));
    assert_eq!(
        item_row("deviceConfigurations:b").await.source_ref,
        Some(stored_row("b").await.id)
    );
    let broken = item_row("deviceConfigurations:broken").await;
    assert_eq!(
        (broken.status, broken.source_ref),
        (RunItemStatus::Failed, None)
    );

    // A resumed attempt stores "a" again: the row keeps its id, takes the new content.
    let again = vec![captured(object("a", "A resumed"))];
    let counts = content::add_snapshot_items_recorded(db, &snapshot, &run, again, vec![])
        .await
        .unwrap();
    assert_eq!((counts.total, counts.succeeded), (3, 2));
    let resumed = stored_row("a").await;
    assert_eq!(
        (resumed.id, resumed.display_name.as_str()),
        (a.id, "A resumed")
    );
    let a_item = item_row("deviceConfigurations:a").await;
    assert_eq!((a_item.source_ref, a_item.attempts), (Some(a.id), 2));

    // More than one statement's worth: stored in chunks, each result naming its row.
    let many: Vec<_> = (0..run_store::RECORD_AFTER_MAX + 5)
        .map(|i| captured(object(&format!("m{i}"), &format!("M{i}"))))
        .collect();
    let counts = content::add_snapshot_items_recorded(db, &snapshot, &run, many, vec![])
        .await
        .unwrap();
    assert_eq!(counts.total, 3 + run_store::RECORD_AFTER_MAX as i64 + 5);
    assert_eq!(counts, run_store::count_items(db, run.id).await.unwrap());
    let stored: std::collections::HashMap<String, Uuid> =
        content::all_snapshot_items(db, &scope, snapshot.id)
            .await
            .unwrap()
            .into_iter()
            .map(|i| (format!("deviceConfigurations:{}", i.source_id), i.id))
            .collect();
    for item in run_store::all_items(db, &scope, run.id).await.unwrap() {
        if item.status == RunItemStatus::Succeeded {
            assert_eq!(
                item.source_ref,
                stored.get(&item.item_key).copied(),
                "{}",
                item.item_key
            );
        }
    }
}

on_both_databases!(
    captured_objects_are_stored_with_their_results_on_sqlite,
    captured_objects_are_stored_with_their_results_on_postgres,
    stores_objects_with_their_results
);

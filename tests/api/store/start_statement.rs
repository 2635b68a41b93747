//! A start in one statement (PostgreSQL): the run, guarded by its tenant's state, and the
//! initiator's `queued` notification exactly when their preferences want it.

use entity::notifications;
use policyvault::store::runs::{QueuedNotice, TenantState};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::*;

/// Kinds and tenants a user chose, or `None`: no choice.
type Choice = Option<(Vec<String>, Option<Vec<Uuid>>)>;

fn notice() -> QueuedNotice {
    QueuedNotice {
        title: "Capture queued".into(),
        body: "Capture is queued and will start shortly.".into(),
    }
}

async fn queued_notices(db: &DatabaseConnection, run_id: Uuid) -> u64 {
    notifications::Entity::find()
        .filter(notifications::Column::RunId.eq(run_id))
        .filter(notifications::Column::Kind.eq("queued"))
        .count(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_start_in_one_statement_notifies_as_the_preferences_want_on_postgres() {
    let test_db = TestDb::create().await;
    assert!(
        test_db.is_postgres(),
        "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
    );
    let db = &connect(&test_db).await;
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Started"))
        .await
        .unwrap();
    let other = tenants::create(db, &secrets, new_tenant("Not this one"))
        .await
        .unwrap();
    let user = new_user(db, "starter@example.com").await;

    // (kinds, tenants) chosen, or none; and whether a `queued` notice follows.
    let queued = vec!["queued".to_string()];
    let cases: Vec<(Choice, bool)> = vec![
        (None, false),
        (Some((queued.clone(), None)), true),
        (Some((queued.clone(), Some(vec![tenant.id]))), true),
        (Some((queued.clone(), Some(vec![other.id]))), false),
        (Some((vec!["running".into(), "failed".into()], None)), false),
        (Some((vec![], None)), false),
    ];
    for (choice, expected) in cases {
        if let Some((kinds, tenant_ids)) = &choice {
            activity::set_preferences(db, user.id, kinds, tenant_ids.as_deref())
                .await
                .unwrap();
        }
        let preferences = activity::preferences(db, user.id).await.unwrap();
        assert_eq!(
            preferences.wants(tenant.id, &["queued"]),
            expected,
            "{choice:?}"
        );
        // A target of its own each time: the runs stay active side by side.
        let run = run_store::insert_with_notice(
            db,
            new_run(tenant.id, user.id, Uuid::now_v7()),
            TenantState::Enabled,
            notice(),
        )
        .await
        .unwrap()
        .expect("an enabled tenant starts its run");
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(run.total_items, 0);
        assert_eq!(run.attempt, 0);
        assert_eq!(
            queued_notices(db, run.id).await,
            u64::from(expected),
            "{choice:?}"
        );
    }
    let noticed = notifications::Entity::find()
        .filter(notifications::Column::Kind.eq("queued"))
        .one(db)
        .await
        .unwrap()
        .expect("a wanted notice was written");
    assert_eq!(
        (noticed.user_id, noticed.tenant_id, noticed.title.as_str()),
        (user.id, tenant.id, "Capture queued")
    );
    assert!(noticed.read_at.is_none() && noticed.email_state.is_none());

    // A second active run of the same key is refused by the index, and writes nothing.
    let target = Uuid::now_v7();
    run_store::insert_with_notice(
        db,
        new_run(tenant.id, user.id, target),
        TenantState::Enabled,
        notice(),
    )
    .await
    .unwrap()
    .unwrap();
    let twin = new_run(tenant.id, user.id, target);
    let twin_id = twin.id;
    let refused = run_store::insert_with_notice(db, twin, TenantState::Enabled, notice()).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict { constraint }) if constraint == "ux_runs_active"),
        "{refused:?}"
    );
    assert_eq!(queued_notices(db, twin_id).await, 0);

    // The tenant's state guards the insert: nothing is written in the wrong one.
    let start = |tenant_id, state| {
        let run = new_run(tenant_id, user.id, Uuid::now_v7());
        let run_id = run.id;
        async move {
            let started = run_store::insert_with_notice(db, run, state, notice())
                .await
                .unwrap();
            let stored = run_store::get(db, run_id).await.unwrap();
            assert_eq!(started.is_some(), stored.is_some());
            started.is_some()
        }
    };
    assert!(!start(tenant.id, TenantState::Disabled).await);
    tenants::disable(db, tenant.clone(), "offboarded".into())
        .await
        .unwrap();
    assert!(!start(tenant.id, TenantState::Enabled).await);
    assert!(start(tenant.id, TenantState::Disabled).await, "a purge");
    assert!(
        !start(Uuid::now_v7(), TenantState::Enabled).await,
        "no tenant"
    );
    test_db.drop_db().await;
}

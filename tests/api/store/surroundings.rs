//! What surrounds a run, as the claim and the settled finish read it in their own
//! statements (and `run_store::surroundings` in one of its own), on both databases.

use policyvault::store::activity::Preferences;
use policyvault::store::fanouts::{self, NewFanout};
use policyvault::store::runs::Surroundings;
use policyvault::store::webhooks::{self, NewWebhook};

use sea_orm::prelude::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::*;

async fn surroundings_follow_the_rows(db: &DatabaseConnection) {
    let secrets = SecretBox::from_base64_key(KEY).unwrap();
    let tenant = tenants::create(db, &secrets, new_tenant("Around"))
        .await
        .unwrap();
    let other = tenants::create(db, &secrets, new_tenant("Elsewhere"))
        .await
        .unwrap();
    let user = new_user(db, "around@example.com").await;
    let claim = |id| run_store::claim(db, id, "w", Uuid::new_v4(), chrono::Duration::hours(1), 5);

    // Nothing around it: the default preferences, no role, nothing else.
    let bare = run_store::insert(db, new_run(tenant.id, user.id, tenant.id))
        .await
        .unwrap();
    let bare_claim = claim(bare.id).await.unwrap().unwrap();
    let around = bare_claim.around.clone();
    let claimed_tenant = bare_claim.tenant.map(|t| t.id);
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        assert_eq!(
            claimed_tenant,
            Some(tenant.id),
            "the claim reads the tenant's row"
        );
    } else {
        assert_eq!(claimed_tenant, None);
    }
    let nothing = Surroundings {
        preferences: Preferences::stored(None, None),
        initiator_role: None,
        cancel_requested: false,
        webhooks: false,
        open_fanouts: false,
        started_by_fanout: false,
    };
    assert_eq!(around, nothing);
    assert!(around.preferences.default);

    // Everything around it.
    accounts::grant_membership(db, &tenant, &user, Role::Operator)
        .await
        .unwrap();
    activity::set_preferences(db, user.id, &["running".to_string()], Some(&[tenant.id]))
        .await
        .unwrap();
    let run = run_store::insert(db, new_run(tenant.id, user.id, other.id))
        .await
        .unwrap();
    let scope = tenants::command_line_scope(&tenant);
    run_store::request_cancel(db, &scope, run.id, user.id)
        .await
        .unwrap();
    webhooks::create(
        db,
        &secrets,
        &scope,
        NewWebhook {
            url: SecretString::from("https://hooks.example.com/x".to_string()),
            url_hint: "hooks.example.com".into(),
            secret: SecretString::from("webhook-secret-value".to_string()),
            format: "json".into(),
            kinds: vec!["run.succeeded".into()],
            created_by: Some(user.id),
        },
    )
    .await
    .unwrap();
    let fanout = fanouts::insert(
        db,
        NewFanout {
            id: Uuid::now_v7(),
            initiator_id: user.id,
            operation: RunOperation::CaptureSnapshot,
            params: json!({}),
            tenant_count: 1,
        },
    )
    .await
    .unwrap();
    fanouts::add_child(db, fanout.id, &scope, run.id, false)
        .await
        .unwrap();
    let everything = Surroundings {
        preferences: Preferences {
            kinds: vec!["running".into()],
            tenant_ids: Some(vec![tenant.id]),
            default: false,
        },
        initiator_role: Some(Role::Operator),
        cancel_requested: true,
        webhooks: true,
        open_fanouts: true,
        started_by_fanout: true,
    };
    let lease = Uuid::new_v4();
    let run_store::Claim {
        run: claimed,
        around,
        ..
    } = run_store::claim(db, run.id, "w", lease, chrono::Duration::hours(1), 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, run.id);
    assert_eq!(around, everything);
    assert_eq!(
        run_store::surroundings(db, run.id).await.unwrap(),
        Some(everything.clone())
    );

    // The settled finish reads them as they are then: the fan-out settled, the account
    // disabled (its role no longer counts).
    fanouts::settle(db, fanout.id, RunStatus::Succeeded, "done")
        .await
        .unwrap();
    entity::users::Entity::update_many()
        .col_expr(entity::users::Column::Disabled, Expr::value(true))
        .filter(entity::users::Column::Id.eq(user.id))
        .exec(db)
        .await
        .unwrap();
    let terminal = Terminal {
        status: RunStatus::Succeeded,
        error_code: None,
        error_context: None,
        summary: "done".into(),
    };
    let (finished, around) = run_store::finish_settled(db, run.id, lease, &terminal)
        .await
        .unwrap()
        .expect("a run without items is settled");
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(
        around,
        Surroundings {
            initiator_role: None,
            open_fanouts: false,
            ..everything
        }
    );
    assert_eq!(
        run_store::surroundings(db, Uuid::now_v7()).await.unwrap(),
        None
    );
}

on_both_databases!(
    what_surrounds_a_run_is_read_with_its_claim_and_finish_on_sqlite,
    what_surrounds_a_run_is_read_with_its_claim_and_finish_on_postgres,
    surroundings_follow_the_rows
);

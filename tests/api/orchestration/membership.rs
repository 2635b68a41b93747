//! Authorization re-checked at execution time: revoked and departed memberships.

use super::*;

/// An operator's capture of a tenant with two policies, queued while no worker runs.
async fn capture_queued_without_a_worker() -> (
    crate::helpers::TestApp,
    crate::helpers::TestTenant,
    crate::helpers::TestUser,
    String,
) {
    let app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Northwind").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 2).await;
    let started = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(started.status(), 202);
    let started: Value = started.json().await.unwrap();
    let run_id = started["run"]["id"].as_str().unwrap().to_string();
    (app, tenant, user, run_id)
}

#[tokio::test]
async fn revoked_membership_fails_the_run_without_touching_graph() {
    let (mut app, tenant, user, run_id) = capture_queued_without_a_worker().await;
    policyvault::store::accounts::revoke_membership(&app.services.db, tenant.id, user.id)
        .await
        .unwrap();
    refused_at_execution(&mut app, &tenant, &run_id).await;
    app.shutdown().await;
}

/// Starts a worker and checks the queued run fails as no longer authorized, without a
/// single Graph request.
async fn refused_at_execution(
    app: &mut crate::helpers::TestApp,
    tenant: &crate::helpers::TestTenant,
    run_id: &str,
) {
    let requests_before = app.sim_stats(tenant).await["requests"].as_u64().unwrap();
    app.start_worker();

    // The user can no longer read the run through the API; read it from the database.
    let run = wait_terminal_in_db(app, run_id).await;
    assert_eq!(run.status, entity::enums::RunStatus::Failed);
    assert_eq!(run.error_code.as_deref(), Some("authorization_revoked"));
    assert!(
        run.summary
            .as_deref()
            .unwrap_or_default()
            .contains("no longer")
    );
    let requests_after = app.sim_stats(tenant).await["requests"].as_u64().unwrap();
    assert_eq!(
        requests_before, requests_after,
        "graph-sim saw a request from a run that is no longer authorized"
    );
}

#[tokio::test]
async fn a_disabled_initiator_fails_the_run_though_the_membership_stays() {
    use sea_orm::{ActiveModelTrait, Set};
    let (mut app, tenant, user, run_id) = capture_queued_without_a_worker().await;
    entity::users::ActiveModel {
        id: Set(user.id),
        disabled: Set(true),
        ..Default::default()
    }
    .update(&app.services.db)
    .await
    .unwrap();
    refused_at_execution(&mut app, &tenant, &run_id).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_cross_tenant_restore_fails_when_the_initiator_left_the_source_tenant() {
    let mut app = spawn_app_with(no_worker()).await;
    let source = app.add_tenant("Contoso").await;
    let target = app.add_tenant("Fabrikam").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    load_some_policies(&app, &source, 2).await;

    app.start_worker();
    let capture: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", source.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let capture_id = capture["run"]["id"].as_str().unwrap().to_string();
    let captured = app
        .wait_for_terminal(&admin, source.id, &capture_id, TERMINAL_WAIT)
        .await;
    assert_eq!(captured["status"], "succeeded", "{captured}");
    app.stop_workers().await;
    let snapshots = app
        .get_json(&admin, &format!("/tenants/{}/snapshots", source.id))
        .await;
    let snapshot_id = snapshots["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Queued while the admin belongs to both tenants ...
    let response = app
        .post(
            &admin,
            &format!("/tenants/{}/restores", target.id),
            json!({
                "source": {"snapshot_id": snapshot_id},
                "mode": "live",
                "confirm": "Fabrikam",
            }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.unwrap();
    let run_id = started["run"]["id"].as_str().unwrap().to_string();
    // ... then removed from the source tenant only; the target role is intact.
    policyvault::store::accounts::revoke_membership(&app.services.db, source.id, admin.id)
        .await
        .unwrap();
    let source_requests = app.sim_stats(&source).await["requests"].as_u64().unwrap();
    let target_requests = app.sim_stats(&target).await["requests"].as_u64().unwrap();
    app.start_worker();

    let run = wait_terminal_in_db(&app, &run_id).await;
    assert_eq!(run.status, entity::enums::RunStatus::Failed);
    assert_eq!(run.error_code.as_deref(), Some("authorization_revoked"));
    assert_eq!(
        app.sim_stats(&source).await["requests"].as_u64().unwrap(),
        source_requests,
        "the source tenant's Graph saw a request from a revoked run"
    );
    assert_eq!(
        app.sim_stats(&target).await["requests"].as_u64().unwrap(),
        target_requests,
        "the target tenant's Graph saw a request from a revoked run"
    );
    let items = policyvault::store::runs::count_items(
        &app.services.db,
        uuid::Uuid::parse_str(&run_id).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(items.total, 0, "no item was planned");
    app.shutdown().await;
}

//! De-duplicated starts, and queued runs surviving a flushed Redis.

use super::*;

#[tokio::test]
async fn concurrent_identical_starts_make_exactly_one_run() {
    let mut app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Contoso").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 3).await;
    let path = format!("/tenants/{}/snapshots", tenant.id);

    let answers = join_all((0..200).map(|_| app.post(&user, &path, json!({})))).await;
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for response in answers {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(status == 202 || status == 200, "{status} {body}");
        if status == 202 {
            created += 1;
            assert_eq!(body["deduplicated"], false);
        } else {
            assert_eq!(body["deduplicated"], true);
        }
        ids.insert(body["run"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every answer names the same run");
    assert_eq!(created, 1, "exactly one start created a run");
    let runs = app
        .get_json(&user, &format!("/tenants/{}/runs", tenant.id))
        .await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);

    app.start_worker();
    let run_id = ids.into_iter().next().unwrap();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");

    let again = app.post(&user, &path, json!({})).await;
    assert_eq!(
        again.status().as_u16(),
        202,
        "a start after the terminal state is new"
    );
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["run"]["id"].as_str().unwrap(), run_id);
    app.shutdown().await;
}

#[tokio::test]
async fn flushed_redis_neither_duplicates_nor_loses_a_queued_run() {
    let mut app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Fabrikam").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 2).await;
    let path = format!("/tenants/{}/snapshots", tenant.id);

    let first: Value = app
        .post(&user, &path, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let run_id = first["run"]["id"].as_str().unwrap().to_string();
    // Redis loses everything of ours: the dedupe key and the queued job.
    app.services.redis.delete_namespace().await.unwrap();

    let duplicate = app.post(&user, &path, json!({})).await;
    assert_eq!(duplicate.status().as_u16(), 200);
    let duplicate: Value = duplicate.json().await.unwrap();
    assert_eq!(duplicate["deduplicated"], true);
    assert_eq!(duplicate["run"]["id"].as_str().unwrap(), run_id);

    // The job is gone; the sweeper must notice and push it again.
    app.services.redis.delete_namespace().await.unwrap();
    app.start_worker();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["counts"]["total"],
        2 + crate::helpers::BASELINE_CAPTURED
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_start_is_answered_from_redis_until_its_run_finishes() {
    use sea_orm::{ConnectionTrait, Statement};

    let mut app = spawn_app_with(no_worker()).await;
    let tenant = app.add_tenant("Northwind").await;
    let user = app.add_user("op@example.com").await;
    app.grant(&user, &tenant, Role::Operator).await;
    load_some_policies(&app, &tenant, 1).await;
    let path = format!("/tenants/{}/snapshots", tenant.id);

    let first = app.post(&user, &path, json!({})).await;
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.unwrap();
    let run_id = first["run"]["id"].as_str().unwrap().to_string();

    // The Run Record changes behind Redis's back: an answer read from the database would
    // show it, one from the run Redis remembers does not.
    let backend = app.services.db.get_database_backend();
    app.services
        .db
        .execute_raw(Statement::from_string(
            backend,
            format!("UPDATE runs SET total_items = 777 WHERE id = '{run_id}'"),
        ))
        .await
        .unwrap();
    let duplicate = app.post(&user, &path, json!({})).await;
    assert_eq!(duplicate.status().as_u16(), 200);
    let duplicate: Value = duplicate.json().await.unwrap();
    assert_eq!(duplicate["deduplicated"], true, "{duplicate}");
    assert_eq!(duplicate["run"]["id"].as_str().unwrap(), run_id);
    assert_eq!(duplicate["run"]["status"], "queued");
    assert_eq!(
        duplicate["run"]["counts"]["total"], 0,
        "answered from Redis, not from the database: {duplicate}"
    );

    // Running, the remembered run follows its state; finished, it is forgotten.
    app.services
        .db
        .execute_raw(Statement::from_string(
            backend,
            format!("UPDATE runs SET total_items = 0 WHERE id = '{run_id}'"),
        ))
        .await
        .unwrap();
    app.start_worker();
    let run = app
        .wait_for_terminal(&user, tenant.id, &run_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let remembered: Vec<String> = {
        use redis::AsyncCommands;
        let mut conn = app.services.redis.connection();
        conn.keys(app.services.redis.key("dedupe:*")).await.unwrap()
    };
    assert!(remembered.is_empty(), "{remembered:?}");
    let again = app.post(&user, &path, json!({})).await;
    assert_eq!(again.status().as_u16(), 202, "a start after the run is new");
    app.shutdown().await;
}

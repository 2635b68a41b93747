//! A tenant registered with a wrong secret: a connection test says so, its admin fixes it
//! (`PATCH /tenants/{t}`, audited without the secret), the test and captures then succeed;
//! and every run of every tenant of a user in one list.

use super::*;

#[tokio::test]
async fn an_admin_fixes_a_wrong_secret_and_runs_of_all_tenants_are_listed() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = register_demo_tenant(&app, "contoso").await;
    let other = register_demo_tenant(&app, "fabrikam").await;
    let admin = app.add_user("admin@example.com").await;
    let operator = app.add_user("operator@example.com").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    app.grant(&admin, &other, Role::Operator).await;
    app.grant(&operator, &tenant, Role::Operator).await;
    let path = format!("/tenants/{}", tenant.id);

    // A mistyped secret: captures fail.
    let r = app
        .patch(&admin, &path, json!({"client_secret": "mistyped-secret"}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let (failed, run) = capture(&app, &admin, &tenant).await;
    assert_eq!(run["status"], "failed", "{run}");
    // A connection test says why, as a run of its own (operators may run it).
    let test = start(
        &app,
        &operator,
        &format!("{path}/connection-test"),
        json!({}),
    )
    .await;
    let tested = app
        .wait_for_terminal(&operator, tenant.id, &test, WAIT)
        .await;
    assert_eq!(tested["operation"], "connection_test");
    assert_eq!(tested["status"], "failed", "{tested}");
    let items = all_items(&app, &operator, &tenant, &test).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["status"], "failed");
    assert_eq!(items[0]["error_code"], tested["error_code"], "{items:?}");
    assert!(
        !items[0]["error_code"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    // The right one (from graph-sim), by the tenant's admin only.
    let creds = app
        .sim_get(&format!("/_sim/tenants/{}", tenant.sim_id))
        .await;
    let secret = creds["client_secret"].as_str().unwrap().to_string();
    let r = app
        .patch(&operator, &path, json!({"client_secret": secret}))
        .await;
    assert_eq!(r.status().as_u16(), 403);
    for (bad, field) in [
        (json!({}), "name"),
        (json!({"graph_base_url": "ftp://x"}), "graph_base_url"),
        (json!({"client_secret": "  "}), "client_secret"),
        (json!({"name": ""}), "name"),
    ] {
        let r = app.patch(&admin, &path, bad.clone()).await;
        assert_eq!(r.status().as_u16(), 422, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{bad}: {body}"
        );
    }
    let r = app.patch(&admin, &path, json!({"name": "fabrikam"})).await;
    assert_eq!(r.status().as_u16(), 409, "a name another tenant has");
    let r = app
        .patch(
            &admin,
            &path,
            json!({"client_secret": secret, "name": "Contoso Ltd"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["tenant"]["name"], "Contoso Ltd");
    assert!(
        !body.to_string().contains(&secret),
        "the secret is never shown"
    );
    let test_again = start(
        &app,
        &operator,
        &format!("{path}/connection-test"),
        json!({}),
    )
    .await;
    let tested = app
        .wait_for_terminal(&operator, tenant.id, &test_again, WAIT)
        .await;
    assert_eq!(tested["status"], "succeeded", "{tested}");
    let items = all_items(&app, &operator, &tenant, &test_again).await;
    assert!(
        items[0]["diff"]["objects"].as_u64().unwrap() > 0,
        "{items:?}"
    );
    let (fixed, run) = capture(&app, &admin, &tenant).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let audit = app.get_json(&admin, &format!("{path}/audit-events")).await;
    let updates: Vec<&Value> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "tenant.updated")
        .collect();
    assert_eq!(updates.len(), 2, "{audit}");
    assert!(!audit.to_string().contains(&secret) && !audit.to_string().contains("mistyped"));

    // Runs of every tenant of the caller, newest first, filtered and paged.
    let (elsewhere, _) = capture(&app, &admin, &other).await;
    let all = app.get_json(&admin, "/runs").await;
    let ids: Vec<&str> = all["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            elsewhere.as_str(),
            fixed.as_str(),
            test_again.as_str(),
            test.as_str(),
            failed.as_str()
        ]
    );
    assert_eq!(all["runs"][0]["tenant_name"], "fabrikam");
    let failed_only = app
        .get_json(&admin, "/runs?status=failed&operation=capture_snapshot")
        .await;
    assert_eq!(failed_only["runs"].as_array().unwrap().len(), 1);
    assert_eq!(failed_only["runs"][0]["id"], failed.as_str());
    let one_tenant = app
        .get_json(&admin, &format!("/runs?tenant={}", other.id))
        .await;
    assert_eq!(one_tenant["runs"].as_array().unwrap().len(), 1);
    let page = app.get_json(&admin, "/runs?limit=3").await;
    assert_eq!(page["runs"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(&admin, &format!("/runs?limit=3&cursor={cursor}"))
        .await;
    assert_eq!(rest["runs"][0]["id"], test.as_str());
    assert_eq!(rest["runs"][1]["id"], failed.as_str());
    assert!(rest["next_cursor"].is_null());
    // The operator sees only Contoso's runs; a foreign tenant filter is refused.
    let theirs = app.get_json(&operator, "/runs").await;
    assert_eq!(theirs["runs"].as_array().unwrap().len(), 4);
    let r = app
        .get(&operator, &format!("/runs?tenant={}", other.id))
        .await;
    assert_eq!(r.status().as_u16(), 422);
    for bad in ["/runs?status=exploded", "/runs?cursor=nonsense"] {
        assert_eq!(app.get(&admin, bad).await.status().as_u16(), 422, "{bad}");
    }
    app.shutdown().await;
}

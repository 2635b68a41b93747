//! What changed, in the browser: a snapshot's changes, an object's history, a comparison
//! with the tenant now, and a customer's drift from a baseline with an accepted exception.

use super::*;
use crate::operations::sim_graph;

#[tokio::test]
async fn changes_history_comparison_and_drift_in_the_browser() {
    let app = spawn_app_with(demo_app()).await;
    let contoso = register_demo_tenant(&app, "contoso").await;
    let customer = app.add_tenant("Customer B").await;
    let admin = app.add_user("admin@msp.example").await;
    app.grant(&admin, &contoso, Role::Admin).await;
    app.grant(&admin, &customer, Role::Admin).await;

    // Two captures with one edited profile between them.
    let (first_run, _) = capture(&app, &admin, &contoso).await;
    let first = snapshot_of_run(&app, &admin, &contoso, &first_run).await;
    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", contoso.sim_id))
        .await;
    let profile = &export["deviceManagement/deviceConfigurations"][0];
    let id = profile["id"].as_str().unwrap();
    let r = sim_graph(
        &app,
        &contoso,
        reqwest::Method::PATCH,
        &format!("deviceManagement/deviceConfigurations/{id}"),
        Some(json!({"description": "Tightened by the service desk"})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);
    let (second_run, _) = capture(&app, &admin, &contoso).await;
    let second = snapshot_of_run(&app, &admin, &contoso, &second_run).await;

    let browser = Browser::start("changes").await.unwrap();
    sign_in(&browser, &app, &admin.email).await;

    // The snapshot page leads with what changed.
    browser
        .goto(&page(
            &app,
            &format!(
                "/tenants/{}/snapshots/{}",
                contoso.id,
                second["id"].as_str().unwrap()
            ),
        ))
        .await
        .unwrap();
    let lead = browser
        .wait_for_text("#changes", "1 changed, 0 added, 0 removed", WAIT)
        .await
        .expect("the changes lead");
    let text = lead.text().await.unwrap();
    assert!(text.contains("Tightened by the service desk"), "{text}");
    browser
        .screenshot(screenshot("snapshot-changes.png"))
        .await
        .unwrap();

    // The object's history, linked from the change.
    click(
        &browser,
        &format!("#changes a[href*='/policies/deviceConfigurations/{id}/history']"),
    )
    .await;
    browser
        .wait_for_text("h1", "History of", WAIT)
        .await
        .unwrap();
    let body = browser.find("main").await.unwrap().text().await.unwrap();
    assert!(body.contains("2 versions"), "{body}");
    assert!(body.contains("Tightened by the service desk"), "{body}");
    browser.screenshot(screenshot("history.png")).await.unwrap();

    // A comparison of the first capture with the tenant now, started from its page.
    browser
        .goto(&page(
            &app,
            &format!(
                "/tenants/{}/snapshots/{}",
                contoso.id,
                first["id"].as_str().unwrap()
            ),
        ))
        .await
        .unwrap();
    click(&browser, "#compare-now").await;
    let queued = browser
        .wait_for_text("#start-status", "queued", WAIT)
        .await
        .unwrap();
    queued
        .find("a.run-link")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(wait_until_finished(&browser).await, "succeeded");
    browser.refresh().await.unwrap();
    click(&browser, "details.diff summary").await;
    browser
        .wait_for_text("details.diff", "Tightened by the service desk", WAIT)
        .await
        .expect("the comparison shows the changed setting");
    browser
        .screenshot(screenshot("comparison.png"))
        .await
        .unwrap();

    // Drift: the customer against a baseline backup set of the reference tenant.
    let created = app
        .post(
            &admin,
            &format!("/tenants/{}/backup-sets", contoso.id),
            json!({"name": "MSP standard", "policy_types": ["deviceConfigurations", "deviceCompliancePolicies", "assignmentFilters"], "capture": true}),
        )
        .await;
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(
        &admin,
        contoso.id,
        created["run"]["id"].as_str().unwrap(),
        WAIT,
    )
    .await;
    browser
        .goto(&page(&app, &format!("/tenants/{}/drift", customer.id)))
        .await
        .unwrap();
    browser
        .wait_for_text("#baseline", "has no baseline", WAIT)
        .await
        .unwrap();
    browser
        .execute(
            "document.querySelector('#backup_set_id').value = arguments[0]; return true;",
            vec![json!(set_id)],
        )
        .await
        .unwrap();
    click(&browser, "#set-baseline").await;
    browser
        .wait_for_text(".notice", "Baseline set", WAIT)
        .await
        .unwrap();
    // Half the standard restored into the customer, then a capture measures the drift.
    let restore = app
        .post(
            &admin,
            &format!("/tenants/{}/restores", customer.id),
            json!({"source": {"backup_set_id": set_id}, "mode": "live", "confirm": customer.name}),
        )
        .await;
    let restore: Value = restore.json().await.unwrap();
    let restore = app
        .wait_for_terminal(
            &admin,
            customer.id,
            restore["run"]["id"].as_str().unwrap(),
            WAIT,
        )
        .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let customer_export = app
        .sim_get(&format!("/_sim/tenants/{}/export", customer.sim_id))
        .await;
    let doomed = &customer_export["deviceManagement/deviceCompliancePolicies"][0];
    let r = sim_graph(
        &app,
        &customer,
        reqwest::Method::DELETE,
        &format!(
            "deviceManagement/deviceCompliancePolicies/{}",
            doomed["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);
    capture(&app, &admin, &customer).await;
    browser.refresh().await.unwrap();
    let alignment = browser
        .wait_for_text("#alignment", "aligned", WAIT)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!alignment.starts_with("100.0"), "{alignment}");
    let row = browser
        .wait_for_text(
            "tr.drift-missing",
            doomed["displayName"].as_str().unwrap(),
            WAIT,
        )
        .await
        .expect("the deleted policy is missing");
    browser.screenshot(screenshot("drift.png")).await.unwrap();

    // Accept it for this tenant: it leaves the next drift, listed with its reason.
    row.find("input[name=reason]")
        .await
        .unwrap()
        .send_keys("Customer uses its own compliance")
        .await
        .unwrap();
    row.find("button").await.unwrap().click().await.unwrap();
    browser
        .wait_for_text(".notice", "Difference accepted", WAIT)
        .await
        .unwrap();
    browser
        .wait_for_text("table.exceptions", "Customer uses its own compliance", WAIT)
        .await
        .unwrap();
    capture(&app, &admin, &customer).await;
    browser.refresh().await.unwrap();
    browser
        .wait_for_text("#drift-report", "1 accepted", WAIT)
        .await
        .expect("the next drift leaves the accepted difference out");
    assert!(
        browser
            .find_all("tr.drift-missing")
            .await
            .unwrap()
            .is_empty()
    );
    let unlabelled = browser.execute(UNLABELLED_CONTROLS, vec![]).await.unwrap();
    assert_eq!(unlabelled, json!([]), "every control has a label");

    // The estate's drift, from the tenant list.
    browser.goto(&page(&app, "/tenants")).await.unwrap();
    click(&browser, "main a[href='/drift']").await;
    browser
        .wait_for_text("table.estate-drift", "Customer B", WAIT)
        .await
        .unwrap();
    browser.close().await.unwrap();
    app.shutdown().await;
}

//! The restore flow: a preview, then a live restore behind its typed confirmation.

use super::*;

#[tokio::test]
async fn a_preview_then_a_confirmed_live_restore() {
    let app = spawn_app_with(demo_app()).await;
    let source = register_demo_tenant(&app, "contoso").await;
    let target = app.add_tenant("Tailspin Toys").await;
    let admin = app.add_user("admin@msp.example").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    let (capture_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    let snapshot_id = snapshot["id"].as_str().unwrap();

    // The target already has one policy of the same name with other settings (a would-be
    // update) and two policies sharing another name (a conflict).
    let configurations = "deviceManagement/deviceConfigurations";
    app.sim_load(
        &target,
        configurations,
        json!({
            "@odata.type": "#microsoft.graph.androidWorkProfileGeneralDeviceConfiguration",
            "displayName": "Android - Work profile",
            "passwordRequired": false,
            "workProfileBlockScreenCapture": true,
        }),
    )
    .await;
    for _ in 0..2 {
        app.sim_load(
            &target,
            configurations,
            json!({
                "@odata.type": "#microsoft.graph.androidDeviceOwnerGeneralDeviceConfiguration",
                "displayName": "Android - Fully managed",
            }),
        )
        .await;
    }

    let browser = Browser::start("restore").await.unwrap();
    sign_in(&browser, &app, &admin.email).await;
    browser
        .goto(&page(&app, &format!("/tenants/{}/restore", target.id)))
        .await
        .unwrap();
    // Step 1: the source (from the other tenant) and the target.
    click(&browser, &format!("#from option[value='{}']", source.id)).await;
    click(&browser, "#show-sources").await;
    browser
        .wait_for_text("legend", "contoso", WAIT)
        .await
        .unwrap();
    click(&browser, &format!("input[value='snapshot:{snapshot_id}']")).await;
    click(&browser, "#choose-source").await;
    // Step 2: the items, all ticked; leave three out.
    browser.wait_for("#start-preview", WAIT).await.unwrap();
    let boxes = browser.find_all("input[name=item_id]").await.unwrap();
    let items = boxes.len();
    assert_eq!(items as i64, snapshot["item_count"].as_i64().unwrap());
    // The picker: show one type, untick what is shown, then tick everything again.
    let one_type = browser
        .execute(
            "const s = document.querySelector('#item-type'); s.selectedIndex = 1; \
             s.dispatchEvent(new Event('change')); \
             return document.querySelectorAll('#items-list li:not([hidden])').length;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap() as usize;
    assert!(one_type > 0 && one_type < items, "{one_type} of {items}");
    click(&browser, "#pick-none").await;
    let count = browser
        .find("[data-picker-count]")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        count,
        format!("{} of {items} ticked, {one_type} shown", items - one_type)
    );
    browser
        .execute(
            "const s = document.querySelector('#item-type'); s.selectedIndex = 0; \
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .unwrap();
    click(&browser, "#pick-all").await;
    let count = browser
        .find("[data-picker-count]")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, format!("{items} of {items} ticked, {items} shown"));
    for checkbox in &boxes[..3] {
        checkbox.click().await.unwrap();
    }
    let journal_before = app.sim_journal(&target).await.len();
    click(&browser, "#start-preview").await;
    browser
        .wait_for_text("#started", "Restore preview queued", WAIT)
        .await
        .expect("the preview's run page confirms it was queued");
    let status = wait_until_finished(&browser).await;
    assert!(
        matches!(status.as_str(), "succeeded" | "partial"),
        "{status}"
    );
    browser
        .wait_for_text("#items", "would create", WAIT)
        .await
        .unwrap();
    let progress = browser
        .find("#progress-text")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(progress, format!("{0} of {0} items", items - 3));
    let outcomes = browser.find(".counts").await.unwrap().text().await.unwrap();
    for outcome in ["would create", "would update", "conflict"] {
        assert!(outcomes.contains(outcome), "{outcomes}");
    }
    // The would-be updates: the policy, with its field-level diff, and the target's service
    // default enrollment configurations (the source tuned its own), which a new tenant has.
    click(&browser, "#outcome-action-would_update").await;
    browser.wait_for("#outcome-filter", WAIT).await.unwrap();
    let rows = browser.find_all("#items > tbody > tr").await.unwrap();
    let mut policy_row = None;
    for row in rows {
        let text = row.text().await.unwrap();
        if text.contains("Android - Work profile") {
            assert!(policy_row.is_none(), "one would-be update of the policy");
            policy_row = Some(row);
        } else {
            assert!(text.contains("All users and all devices"), "{text}");
        }
    }
    let policy_row = policy_row.expect("the policy is a would-be update");
    policy_row
        .find("details.diff summary")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let diff = browser
        .find("table.diff")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(diff.contains("/passwordRequired"), "{diff}");
    browser
        .execute(
            "document.querySelector('.counts').scrollIntoView(); return true;",
            vec![],
        )
        .await
        .unwrap();
    browser
        .screenshot(screenshot("preview-results.png"))
        .await
        .unwrap();
    assert_eq!(
        app.sim_journal(&target).await.len(),
        journal_before,
        "a preview wrote to the tenant"
    );

    // Live restore: the wrong name is refused in place; the tenant's name starts it.
    let confirm = browser.find("#confirm-live").await.unwrap();
    confirm.send_keys("tailspin").await.unwrap();
    click(&browser, "#start-live").await;
    browser
        .wait_for_text("#live-status", "type the tenant's name exactly", WAIT)
        .await
        .unwrap();
    assert!(runs_of(&app, &admin, &target, "restore").await.is_empty());
    confirm_and_follow(
        &browser,
        "#confirm-live",
        &target.name,
        "#start-live",
        "#live-status",
        "Restore queued",
    )
    .await;
    let status = wait_until_finished(&browser).await;
    assert!(
        matches!(status.as_str(), "succeeded" | "partial"),
        "{status}"
    );
    let created = browser.find_all("#items .badge.ok").await.unwrap().len();
    assert!(created > 0, "no item was created");
    assert!(app.sim_journal(&target).await.len() > journal_before);
    assert_eq!(status, "partial", "the conflicting policy fails");
    let restore_url = browser.current_url().await.unwrap();

    // Re-run only the failed item; the re-run and the original link to each other.
    let failed_only = browser.find("#rerun-failed").await.unwrap();
    assert_eq!(failed_only.property("checked").await.unwrap(), json!(true));
    confirm_and_follow(
        &browser,
        "#confirm-rerun",
        &target.name,
        "#start-rerun",
        "#rerun-status",
        "Restore re-run queued",
    )
    .await;
    wait_until_finished(&browser).await;
    let progress = browser
        .find("#progress-text")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(progress, "1 of 1 items");
    let parent = browser.find("#parent-run").await.unwrap();
    let parent_href = parent.attr("href").await.unwrap().unwrap();
    assert!(
        restore_url.ends_with(&parent_href),
        "{restore_url} {parent_href}"
    );
    parent.click().await.unwrap();
    browser.wait_for(".rerun-link", WAIT).await.unwrap();

    // The live restore is in the tenant's audit log, with who started it.
    browser
        .goto(&page(&app, &format!("/tenants/{}/audit", target.id)))
        .await
        .unwrap();
    let log = browser
        .wait_for_text("table", "restore.live.queued", WAIT)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains(&admin.email), "{log}");

    browser.close().await.unwrap();
    app.shutdown().await;
}

//! Signing in, starting a capture and following it live, and the pages around it.

use super::*;

#[tokio::test]
async fn an_admin_starts_a_capture_and_follows_it_live() {
    let app = spawn_app_with(demo_app()).await;
    let contoso = register_demo_tenant(&app, "contoso").await;
    let fabrikam = register_demo_tenant(&app, "fabrikam").await;
    let foreign = app.add_tenant("Northwind Traders").await;
    let admin = app.add_user("admin@msp.example").await;
    app.grant(&admin, &contoso, Role::Admin).await;
    app.grant(&admin, &fabrikam, Role::Admin).await;
    let stranger = app.add_user("someone@northwind.example").await;
    app.grant(&stranger, &foreign, Role::Admin).await;
    slow_down(&app, &contoso, 40).await;
    // This admin is told about every step (the default is failures and live restores only).
    let r = app
        .put(
            &admin,
            "/notification-preferences",
            json!({"kinds": ["queued", "running", "succeeded", "failed", "partial", "live_restore"]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);

    let browser = Browser::start("capture").await.unwrap();
    sign_in(&browser, &app, &admin.email).await;
    // Two tenants: the list to choose from, each with its latest run.
    assert_eq!(heading(&browser).await, "Your tenants");
    click(&browser, &format!("main a[href='/tenants/{}']", contoso.id)).await;
    browser.wait_for_text("h1", "contoso", WAIT).await.unwrap();

    // Start a capture: "queued" at once, with a link to its run.
    click(&browser, "#capture-now").await;
    let confirmation = browser
        .wait_for_text("#start-status", "queued", WAIT)
        .await
        .expect("queued confirmation");
    let link = confirmation.find("a.run-link").await.unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    assert!(
        href.starts_with(&format!("/tenants/{}/runs/", contoso.id)),
        "{href}"
    );
    link.click().await.unwrap();
    browser.wait_for("#run-live", WAIT).await.unwrap();
    let unread_before: u64 = browser
        .find("#unread-count")
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();

    // The page follows the run without reloading: a marker set now survives to the end.
    browser
        .execute("window.pvMarker = 'same page'; return true;", vec![])
        .await
        .unwrap();
    browser
        .wait_for("#run-live[data-status=running]", WAIT)
        .await
        .unwrap();
    wait_for_items(&browser, "#progress-text").await;
    browser
        .screenshot(screenshot("run-running.png"))
        .await
        .unwrap();
    assert_eq!(wait_until_finished(&browser).await, "succeeded");
    let marker = browser
        .execute("return window.pvMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("same page"), "the page was reloaded");
    // The header refreshed itself meanwhile; the tab still names this page.
    let title = browser.title().await.unwrap();
    assert!(title.starts_with("Snapshot capture "), "{title}");
    assert_eq!(
        browser
            .execute("return document.body.dataset.runId || null;", vec![])
            .await
            .unwrap(),
        json!(null),
        "a finished run's page stops following it"
    );
    let progress = browser
        .find("#progress-text")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (done, total) = progress
        .trim_end_matches(" items")
        .split_once(" of ")
        .expect("n of m items");
    assert_eq!(done, total, "{progress}");
    // The header follows it too.
    browser
        .wait_for_text("#active-runs", "No active runs", WAIT)
        .await
        .expect("the header's widget drops the finished run");
    browser
        .screenshot(screenshot("run-finished.png"))
        .await
        .unwrap();

    // A notification appears: the bell counts it without a reload, the list shows it.
    let unread = policyvault::store::activity::unread_count(&app.services.db, admin.id)
        .await
        .unwrap();
    assert!(
        unread > unread_before,
        "the finished run notified its initiator"
    );
    browser
        .wait_for_text("#unread-count", &unread.to_string(), WAIT)
        .await
        .expect("the bell counts the new notification");
    click(&browser, "#bell").await;
    browser
        .wait_for_text(".notification.unread", "Snapshot capture succeeded", WAIT)
        .await
        .unwrap();
    click(&browser, "#read-all").await;
    browser
        .wait_for_text("#unread-count", "0", WAIT)
        .await
        .unwrap();
    assert!(
        browser
            .find_all(".notification.unread")
            .await
            .unwrap()
            .is_empty()
    );

    // A double-click on a start creates one run.
    clear_faults(&app, &contoso).await;
    let before = runs_of(&app, &admin, &contoso, "capture_snapshot")
        .await
        .len();
    browser
        .goto(&page(&app, &format!("/tenants/{}/snapshots", contoso.id)))
        .await
        .unwrap();
    browser
        .find("#capture-now")
        .await
        .unwrap()
        .double_click()
        .await
        .unwrap();
    browser
        .wait_for_text("#start-status", "View its run", WAIT)
        .await
        .unwrap();
    // That no second run appears has no event of its own: a second start would have been
    // sent with the first, so by the time the first run has ended it would have been
    // answered, and counted here.
    let runs = runs_of(&app, &admin, &contoso, "capture_snapshot").await;
    let newest = runs[0]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(&admin, contoso.id, &newest, WAIT)
        .await;
    let runs = runs_of(&app, &admin, &contoso, "capture_snapshot").await;
    assert_eq!(runs.len(), before + 1, "one run per double-click: {runs:?}");
    // The button disables itself the moment it is clicked, before any answer.
    let disabled = browser
        .execute(
            "const b = document.querySelector('#capture-now'); b.click(); return b.disabled;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(disabled, json!(true), "the start button stays clickable");
    let runs = wait_for(
        Duration::from_secs(5),
        "the single click to start a run",
        || async {
            let runs = runs_of(&app, &admin, &contoso, "capture_snapshot").await;
            if runs.len() == before + 2 {
                Ok(runs)
            } else {
                Err(format!("{} runs: {runs:?}", runs.len()))
            }
        },
    )
    .await;
    let newest = runs[0]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(&admin, contoso.id, &newest, WAIT)
        .await;

    // The header's widget shows a run of another tenant while it runs, without a reload.
    browser
        .goto(&page(&app, &format!("/tenants/{}", contoso.id)))
        .await
        .unwrap();
    browser
        .wait_for_text("#active-runs", "No active runs", WAIT)
        .await
        .unwrap();
    slow_down(&app, &fabrikam, 60).await;
    let response = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", fabrikam.id),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let item = browser
        .wait_for_text("#active-runs li", "fabrikam", WAIT)
        .await
        .expect("the widget lists the other tenant's run");
    let text = item.text().await.unwrap();
    assert!(text.contains("Snapshot capture"), "{text}");
    wait_for_items(&browser, "#active-runs li").await;
    browser
        .screenshot(screenshot("dashboard.png"))
        .await
        .unwrap();
    browser
        .wait_for_text("#active-runs", "No active runs", Duration::from_secs(90))
        .await
        .expect("the widget empties when the run ends");
    // The dashboard's own tables follow the events too: a capture started elsewhere shows
    // up in its recent runs without a reload.
    browser
        .execute("window.pvMarker = 'dashboard'; return true;", vec![])
        .await
        .unwrap();
    let started: Value = app
        .post(
            &admin,
            &format!("/tenants/{}/snapshots", contoso.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = started["run"]["id"].as_str().unwrap().replace('-', "");
    browser
        .wait_for_text("#dashboard-live", &id[id.len() - 8..], WAIT)
        .await
        .expect("the dashboard lists the new run");
    assert_eq!(
        browser
            .execute("return window.pvMarker;", vec![])
            .await
            .unwrap(),
        json!("dashboard"),
        "the dashboard updated in place"
    );

    // A foreign tenant's URL (and a made-up run) shows "not found".
    for path in [
        format!("/tenants/{}", foreign.id),
        format!("/tenants/{}/runs", foreign.id),
        format!("/tenants/{}/runs/{}", contoso.id, uuid::Uuid::now_v7()),
    ] {
        browser.goto(&page(&app, &path)).await.unwrap();
        assert_eq!(heading(&browser).await, "Not found", "{path}");
        let body = browser.find("body").await.unwrap().text().await.unwrap();
        assert!(!body.contains("Northwind"), "{path}: {body}");
    }

    // Graph is down: every page still renders (pages never call Graph), here on a tablet.
    browser.set_window_size(820, 1180).await.unwrap();
    for tenant in [&contoso, &fabrikam] {
        app.sim_post(
            &format!("/_sim/tenants/{}/faults", tenant.sim_id),
            json!({"kind": "outage"}),
        )
        .await;
    }
    let snapshot = app
        .get_json(&admin, &format!("/tenants/{}/snapshots", contoso.id))
        .await["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (path, title) in [
        (format!("/tenants/{}", contoso.id), "contoso"),
        (format!("/tenants/{}/runs", contoso.id), "Runs"),
        (href.clone(), "Snapshot capture"),
        (format!("/tenants/{}/snapshots", contoso.id), "Snapshots"),
        (
            format!("/tenants/{}/snapshots/{snapshot}", contoso.id),
            "Snapshot of",
        ),
        (
            format!("/tenants/{}/backup-sets", contoso.id),
            "Backup sets",
        ),
        (format!("/tenants/{}/restore", contoso.id), "Restore into"),
        (format!("/tenants/{}/audit", contoso.id), "Audit log"),
        ("/notifications".to_string(), "Notifications"),
        ("/runs/active".to_string(), "Active runs"),
    ] {
        browser
            .goto(&page(&app, &path))
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let h1 = heading(&browser).await;
        assert!(h1.contains(title), "{path} during the outage: {h1}");
        // Every control has a label, and a tablet-wide window needs no sideways scrolling.
        let unlabelled = browser.execute(UNLABELLED_CONTROLS, vec![]).await.unwrap();
        assert_eq!(unlabelled, json!([]), "{path}: controls without a label");
        let overflow = browser.execute(SIDEWAYS_OVERFLOW, vec![]).await.unwrap();
        assert_eq!(overflow, json!([]), "{path}: wider than a tablet's screen");
    }
    let requests_before = app.sim_stats(&contoso).await["requests"].clone();
    browser
        .goto(&page(&app, &format!("/tenants/{}", contoso.id)))
        .await
        .unwrap();
    assert_eq!(
        app.sim_stats(&contoso).await["requests"],
        requests_before,
        "a page called Graph"
    );

    browser.close().await.unwrap();
    app.shutdown().await;
}

//! The web UI in headless Chromium, driven over WebDriver ([`crate::webdriver`]): signing
//! in, starting runs and following them live, double-click de-duplication, the restore flow
//! with its typed confirmation, the header's active-runs widget, notifications, a foreign
//! tenant's URL, and pages while Graph is down. The screenshots in the README are written
//! here (to `docs/screenshots`, or `PV_SCREENSHOTS`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Role, TestApp, TestTenant, TestUser, spawn_app_with, wait_for};
use crate::operations::{capture, demo_app, register_demo_tenant, snapshot_of_run};
use crate::webdriver::Browser;

const WAIT: Duration = Duration::from_secs(45);
const PASSWORD: &str = "correct horse battery";

fn screenshot(name: &str) -> PathBuf {
    std::env::var_os("PV_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"))
        .join(name)
}

/// Ids (or tags) of visible form controls that no label, `aria-label` or
/// `aria-labelledby` names.
const UNLABELLED_CONTROLS: &str = "return [...document.querySelectorAll(\
    'input:not([type=hidden]), select, textarea')]\
    .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label') \
        && !e.getAttribute('aria-labelledby'))\
    .map(e => e.id || e.outerHTML);";

/// The innermost elements that reach past the window's right edge (empty when the page
/// fits its width).
const SIDEWAYS_OVERFLOW: &str = "const w = document.documentElement.clientWidth;\
    if (document.documentElement.scrollWidth <= w) return [];\
    return [...document.querySelectorAll('body *')]\
    .filter(e => e.getBoundingClientRect().right > w + 1 && e.children.length === 0)\
    .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40));";

fn page(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.address)
}

/// Signs in through the form, as a person would.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&page(app, "/")).await.unwrap();
    let field = browser.wait_for("#email", WAIT).await.unwrap();
    field.send_keys(email).await.unwrap();
    browser
        .find("#password")
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(browser, "form button[type=submit]").await;
    browser
        .wait_for_text("header .who", email, WAIT)
        .await
        .expect("signed in");
}

/// Slows every Graph request of a graph-sim tenant, so runs stay visibly running.
async fn slow_down(app: &TestApp, tenant: &TestTenant, ms: u64) {
    let response = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", tenant.sim_id),
            json!({"kind": "latency", "fixed_ms": ms}),
        )
        .await;
    assert!(response.status().is_success(), "latency fault");
}

async fn clear_faults(app: &TestApp, tenant: &TestTenant) {
    app.http
        .delete(format!(
            "{}/_sim/tenants/{}/faults",
            app.sim_url(),
            tenant.sim_id
        ))
        .send()
        .await
        .unwrap();
}

async fn runs_of(
    app: &TestApp,
    user: &TestUser,
    tenant: &TestTenant,
    operation: &str,
) -> Vec<Value> {
    app.get_json(
        user,
        &format!("/tenants/{}/runs?operation={operation}", tenant.id),
    )
    .await["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The run page's status once it is terminal (it updates itself; the test never reloads).
async fn wait_until_finished(browser: &Browser) -> String {
    let finished = browser
        .wait_for(
            "#run-live[data-status=succeeded], #run-live[data-status=partial], \
             #run-live[data-status=failed], #run-live[data-status=canceled]",
            WAIT,
        )
        .await
        .expect("the run page reaches a terminal state");
    finished
        .attr("data-status")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn click(browser: &Browser, selector: &str) {
    browser
        .find(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Types the tenant's name into a confirmation field, submits, waits for the confirmation
/// in `status` and follows its link to the new run.
async fn confirm_and_follow(
    browser: &Browser,
    field: &str,
    name: &str,
    button: &str,
    status: &str,
    needle: &str,
) {
    let input = browser.find(field).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(name).await.unwrap();
    click(browser, button).await;
    let queued = browser.wait_for_text(status, needle, WAIT).await.unwrap();
    queued
        .find("a.run-link")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until a progress text counts items (`20 items so far`, `12 of 40 items`).
async fn wait_for_items(browser: &Browser, selector: &str) {
    let what = format!("{selector} to count items");
    wait_for(WAIT, &what, || async {
        let text = match browser.find(selector).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(" items so far") || text.contains(" of ") {
            Ok(())
        } else {
            Err(format!("{text:?}"))
        }
    })
    .await;
}

async fn heading(browser: &Browser) -> String {
    browser.find("h1").await.unwrap().text().await.unwrap()
}

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
    // The would-be update, alone, with its field-level diff.
    click(&browser, "#outcome-action-would_update").await;
    browser.wait_for("#outcome-filter", WAIT).await.unwrap();
    let rows = browser.find_all("#items > tbody > tr").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .text()
            .await
            .unwrap()
            .contains("Android - Work profile")
    );
    rows[0]
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

//! The web UI in headless Chromium, driven over WebDriver ([`crate::webdriver`]): signing
//! in, starting runs and following them live, double-click de-duplication, the restore flow
//! with its typed confirmation, the header's active-runs widget, notifications, a foreign
//! tenant's URL, and pages while Graph is down. The screenshots in the README are written
//! here (to `docs/screenshots`, or `PV_SCREENSHOTS`).

mod capture;
mod changes;
mod console;
mod restore;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Role, TestApp, TestTenant, TestUser, spawn_app_with, wait_for};
use crate::operations::{capture, demo_app, register_demo_tenant, snapshot_of_run};
use crate::webdriver::Browser;

// Generous: CI runs these beside the rest of the suite on two cores.
const WAIT: Duration = Duration::from_secs(90);
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

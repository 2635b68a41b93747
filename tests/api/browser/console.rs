//! The MSP console in the browser: a tenant added with a failing then a passing connection
//! test, its secret rotated, disabled and enabled, a member granted and revoked, a
//! read-only token, a purge; the tenants overview of 500 tenants filtered to the failing
//! ones; the operations page watching a killed worker go and its run come back to the
//! queue; and a 3,000-character policy name that leaves pages no wider than the window.

use std::sync::Arc;

use entity::enums::RunStatus;
use sea_orm::{ActiveModelTrait, Set};
use secrecy::SecretString;

use super::*;
use crate::helpers::AppOptions;

async fn make_platform_admin(app: &TestApp, user: &TestUser) {
    let row = policyvault::store::accounts::user_by_email(
        &app.services.db,
        &policyvault::domain::Email::parse(&user.email).unwrap(),
    )
    .await
    .unwrap();
    policyvault::store::accounts::set_platform_admin(&app.services.db, row, true)
        .await
        .unwrap();
}

async fn fill(browser: &Browser, selector: &str, text: &str) {
    let field = browser
        .find(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn value_of(browser: &Browser, selector: &str) -> String {
    browser
        .find(selector)
        .await
        .unwrap()
        .property("value")
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn no_overflow(browser: &Browser, what: &str) {
    let overflow = browser.execute(SIDEWAYS_OVERFLOW, vec![]).await.unwrap();
    assert_eq!(overflow, json!([]), "{what}: wider than the window");
}

#[tokio::test]
async fn a_tenant_is_added_fixed_disabled_and_removed_in_the_browser() {
    let app = spawn_app_with(demo_app()).await;
    let platform = app.add_user("platform@msp.example").await;
    make_platform_admin(&app, &platform).await;
    let colleague = app.add_user("colleague@msp.example").await;
    let sims = app.sim_get("/_sim/tenants").await;
    let sim = sims
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "contoso")
        .unwrap()
        .clone();

    let browser = Browser::start("console").await.unwrap();
    sign_in(&browser, &app, &platform.email).await;
    browser.goto(&page(&app, "/tenants")).await.unwrap();
    click(&browser, "#add-tenant").await;
    browser.wait_for("#new-tenant", WAIT).await.unwrap();

    // A mistake: the form comes back with what was typed and the error beside the field.
    fill(&browser, "#name", "Contoso Pharma").await;
    fill(&browser, "#entra_tenant_id", sim["id"].as_str().unwrap()).await;
    fill(&browser, "#client_id", sim["client_id"].as_str().unwrap()).await;
    fill(&browser, "#client_secret", "typo-secret").await;
    click(&browser, "#new-tenant details summary").await;
    fill(&browser, "#graph_base_url", "graph-sim.local").await;
    fill(&browser, "#login_base_url", &app.sim_url()).await;
    click(&browser, "#add-tenant-button").await;
    let error = browser
        .wait_for("#graph_base_url-error", WAIT)
        .await
        .expect("the error beside the field");
    assert!(
        error.text().await.unwrap().contains("http"),
        "{}",
        error.text().await.unwrap()
    );
    assert_eq!(value_of(&browser, "#name").await, "Contoso Pharma");
    assert_eq!(
        value_of(&browser, "#client_id").await,
        sim["client_id"].as_str().unwrap()
    );
    assert_eq!(
        value_of(&browser, "#graph_base_url").await,
        "graph-sim.local"
    );
    assert_eq!(
        value_of(&browser, "#client_secret").await,
        "",
        "a secret is never sent back"
    );

    // Added with a mistyped secret: its connection test fails, on the run page it opens.
    fill(&browser, "#graph_base_url", &app.sim_url()).await;
    fill(&browser, "#client_secret", "typo-secret").await;
    click(&browser, "#add-tenant-button").await;
    assert_eq!(wait_until_finished(&browser).await, "failed");
    let url = browser.current_url().await.unwrap();
    let tenant_id: uuid::Uuid = url
        .split("/tenants/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let tenant = TestTenant {
        id: tenant_id,
        name: "Contoso Pharma".into(),
        sim_id: sim["id"].as_str().unwrap().into(),
    };

    // The secret rotated on the settings page: the next connection test passes.
    browser
        .goto(&page(&app, &format!("/tenants/{tenant_id}/settings")))
        .await
        .unwrap();
    fill(
        &browser,
        "#client_secret",
        sim["client_secret"].as_str().unwrap(),
    )
    .await;
    click(&browser, "#save-settings").await;
    browser
        .wait_for_text(".notice.ok", "Saved", WAIT)
        .await
        .unwrap();
    click(&browser, "#connection-test").await;
    let queued = browser
        .wait_for_text("#start-status", "queued", WAIT)
        .await
        .unwrap();
    queued.find("a").await.unwrap().click().await.unwrap();
    assert_eq!(wait_until_finished(&browser).await, "succeeded");

    // A certificate pasted on the settings page replaces the secret; once it is uploaded to
    // the app registration, the connection test passes with it.
    let pem = crate::helpers::certificate_pem("policyvault-browser");
    browser
        .goto(&page(&app, &format!("/tenants/{tenant_id}/settings")))
        .await
        .unwrap();
    fill(&browser, "#certificate", &pem).await;
    click(&browser, "#save-settings").await;
    let shown = browser
        .wait_for_text("#credential", "a certificate, thumbprint", WAIT)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let uploaded: Value = app
        .sim_post(
            &format!("/_sim/tenants/{}/certificates", tenant.sim_id),
            json!({"certificate": crate::helpers::certificate_only(&pem)}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        shown.contains(uploaded["thumbprint"].as_str().unwrap()),
        "{shown} / {uploaded}"
    );
    let html = browser
        .execute("return document.documentElement.outerHTML", vec![])
        .await
        .unwrap();
    assert!(
        !html.to_string().contains("PRIVATE KEY"),
        "the key is shown"
    );
    click(&browser, "#connection-test").await;
    let queued = browser
        .wait_for_text("#start-status", "queued", WAIT)
        .await
        .unwrap();
    queued.find("a").await.unwrap().click().await.unwrap();
    assert_eq!(wait_until_finished(&browser).await, "succeeded");

    // A policy with a 3,000-character unbroken name: the run page stays inside the window.
    app.sim_load(
        &tenant,
        "deviceManagement/deviceConfigurations",
        json!({
            "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
            "displayName": "W".repeat(3000),
        }),
    )
    .await;
    let (run_id, run) = capture(&app, &platform, &tenant).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    for (width, height) in [(1440, 900), (820, 1180)] {
        browser.set_window_size(width, height).await.unwrap();
        for path in [
            format!("/tenants/{tenant_id}/runs/{run_id}"),
            format!("/tenants/{tenant_id}/runs/{run_id}?outcome=succeeded"),
            format!("/tenants/{tenant_id}/settings"),
            "/tenants".to_string(),
            "/runs".to_string(),
        ] {
            browser.goto(&page(&app, &path)).await.unwrap();
            browser.wait_for("h1", WAIT).await.unwrap();
            no_overflow(&browser, &format!("{path} at {width} px")).await;
        }
    }
    browser.set_window_size(1440, 900).await.unwrap();

    // A member granted and revoked.
    browser
        .goto(&page(&app, &format!("/tenants/{tenant_id}/members")))
        .await
        .unwrap();
    fill(&browser, "#email", "nobody@msp.example").await;
    click(&browser, "#grant-button").await;
    let error = browser.wait_for("#email-error", WAIT).await.unwrap();
    assert!(error.text().await.unwrap().contains("invite"));
    assert_eq!(value_of(&browser, "#email").await, "nobody@msp.example");
    fill(&browser, "#email", &colleague.email).await;
    click(&browser, "#grant-button").await;
    browser
        .wait_for_text(".notice.ok", "Role granted", WAIT)
        .await
        .unwrap();
    let row = format!("#member-{}", colleague.id);
    assert!(
        browser
            .find(&row)
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("viewer")
    );
    let r = app
        .get(&colleague, &format!("/tenants/{tenant_id}/runs"))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    click(&browser, &format!("#revoke-{}", colleague.id)).await;
    browser
        .wait_for_text(".notice.ok", "Access revoked", WAIT)
        .await
        .unwrap();
    assert!(browser.find(&row).await.is_err());
    let r = app
        .get(&colleague, &format!("/tenants/{tenant_id}/runs"))
        .await;
    assert_eq!(r.status().as_u16(), 404);

    // A read-only token: shown once, it reads and is refused on a start.
    browser.goto(&page(&app, "/tokens")).await.unwrap();
    fill(&browser, "#name", "Wallboard").await;
    fill(&browser, "#expires_in_days", "400").await;
    click(&browser, "#read_only").await;
    click(&browser, "#create-token-button").await;
    browser
        .wait_for("#expires_in_days-error", WAIT)
        .await
        .unwrap();
    assert_eq!(value_of(&browser, "#name").await, "Wallboard");
    fill(&browser, "#expires_in_days", "30").await;
    click(&browser, "#create-token-button").await;
    let secret = browser
        .wait_for("#token-secret", WAIT)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wallboard = TestUser {
        token: Arc::new(SecretString::from(secret.trim().to_string())),
        ..platform.clone()
    };
    let r = app
        .get(&wallboard, &format!("/tenants/{tenant_id}/runs"))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let r = app
        .post(
            &wallboard,
            &format!("/tenants/{tenant_id}/snapshots"),
            json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    browser.goto(&page(&app, "/tokens")).await.unwrap();
    browser.wait_for("#create-token", WAIT).await.unwrap();
    assert!(browser.find("#token-secret").await.is_err(), "shown once");
    let listed = browser
        .find("table.tokens")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("Wallboard") && listed.contains("read-only"),
        "{listed}"
    );

    // Disabled with a reason (shown), enabled again, then removed with its data.
    browser
        .goto(&page(&app, &format!("/tenants/{tenant_id}/settings")))
        .await
        .unwrap();
    click(&browser, "#disable-button").await;
    browser.wait_for("#reason-error", WAIT).await.unwrap();
    fill(&browser, "#reason", "Customer paused the contract").await;
    click(&browser, "#disable-button").await;
    let banner = browser
        .wait_for("#disabled-banner", WAIT)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(banner.contains("Customer paused the contract"), "{banner}");
    let r = app
        .post(
            &platform,
            &format!("/tenants/{tenant_id}/snapshots"),
            json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 409, "no starts while disabled");
    browser
        .screenshot(screenshot("tenant-settings.png"))
        .await
        .unwrap();
    click(&browser, "#enable-tenant").await;
    browser
        .wait_for_text(".notice.ok", "Enabled again", WAIT)
        .await
        .unwrap();
    fill(&browser, "#confirm", "contoso pharma").await;
    click(&browser, "#purge-button").await;
    browser.wait_for("#confirm-error", WAIT).await.unwrap();
    fill(&browser, "#confirm", "Contoso Pharma").await;
    click(&browser, "#purge-button").await;
    assert_eq!(wait_until_finished(&browser).await, "succeeded");
    assert!(heading(&browser).await.contains("Tenant purge"));
    let snapshots = app
        .get_json(&platform, &format!("/tenants/{tenant_id}/snapshots"))
        .await;
    assert_eq!(snapshots["snapshots"], json!([]));
    // The audit log reads as sentences.
    browser
        .goto(&page(&app, &format!("/tenants/{tenant_id}/audit")))
        .await
        .unwrap();
    let audit = browser
        .find("main table")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for sentence in [
        "platform@msp.example registered Contoso Pharma",
        "platform@msp.example disabled Contoso Pharma: Customer paused the contract.",
        "platform@msp.example gave colleague@msp.example the viewer role in Contoso Pharma.",
        "platform@msp.example revoked colleague@msp.example's access to Contoso Pharma.",
        "platform@msp.example changed Contoso Pharma's client secret.",
    ] {
        assert!(audit.contains(sentence), "{sentence}: {audit}");
    }

    browser.close().await.unwrap();
    app.shutdown().await;
}

#[tokio::test]
async fn the_overview_finds_the_failing_tenants_among_500() {
    let app = spawn_app_with(AppOptions::default()).await;
    let admin = app.add_user("admin@msp.example").await;
    let db = &app.services.db;
    let user = policyvault::store::accounts::user_by_email(
        db,
        &policyvault::domain::Email::parse(&admin.email).unwrap(),
    )
    .await
    .unwrap();
    let mut failing = Vec::new();
    for i in 0..500 {
        let tenant = policyvault::store::tenants::create(
            db,
            &app.services.secrets,
            policyvault::store::tenants::NewTenant::parse(
                &format!("Customer {i:03}"),
                &uuid::Uuid::new_v4().to_string(),
                "client",
                SecretString::from("secret".to_string()),
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            )
            .unwrap(),
        )
        .await
        .unwrap();
        policyvault::store::accounts::grant_membership(db, &tenant, &user, Role::Operator)
            .await
            .unwrap();
        // Every tenant has a successful capture; every 150th has a newer failed one.
        for status in [RunStatus::Succeeded, RunStatus::Failed] {
            if status == RunStatus::Failed && i % 150 != 7 {
                continue;
            }
            let run = policyvault::store::runs::insert(
                db,
                policyvault::store::runs::NewRun {
                    id: uuid::Uuid::now_v7(),
                    tenant_id: tenant.id,
                    operation: entity::enums::RunOperation::CaptureSnapshot,
                    target_type: entity::enums::TargetType::Tenant,
                    target_id: tenant.id,
                    selection_digest: String::new(),
                    initiator_id: user.id,
                    parent_run_id: None,
                    params: json!({}),
                    max_attempts: 3,
                },
            )
            .await
            .unwrap();
            let mut active: entity::runs::ActiveModel = run.into();
            active.status = Set(status);
            active.finished_at = Set(Some(chrono::Utc::now()));
            active.update(db).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if i % 150 == 7 {
            failing.push(format!("Customer {i:03}"));
        }
    }
    assert_eq!(failing.len(), 4);

    let browser = Browser::start("overview").await.unwrap();
    sign_in(&browser, &app, &admin.email).await;
    browser.goto(&page(&app, "/tenants")).await.unwrap();
    let count = browser
        .wait_for_text("#overview-count", "of 500 tenants", WAIT)
        .await
        .unwrap();
    assert!(count.text().await.unwrap().contains("page 1 of 10"));
    // Needs attention first: the failing ones lead the unfiltered list.
    let first: Vec<String> = {
        let mut names = Vec::new();
        for cell in browser.find_all("table.overview td.name").await.unwrap() {
            names.push(cell.text().await.unwrap());
        }
        names
    };
    assert_eq!(first.len(), 50);
    assert_eq!(&first[..4], failing.as_slice());
    // Filtered to the failing ones.
    let select = browser.find("#f-state").await.unwrap();
    select.send_keys("Failing").await.unwrap();
    click(&browser, "#overview-filters button[type=submit]").await;
    browser
        .wait_for_text("#overview-count", "4 of 500", WAIT)
        .await
        .unwrap();
    let mut shown = Vec::new();
    for cell in browser.find_all("table.overview td.name").await.unwrap() {
        shown.push(cell.text().await.unwrap());
    }
    assert_eq!(shown, failing);
    browser
        .screenshot(screenshot("overview.png"))
        .await
        .unwrap();
    // A search narrows further; the header's switcher filters as one types.
    browser
        .goto(&page(&app, "/tenants?q=customer%20157&state=failing"))
        .await
        .unwrap();
    browser
        .wait_for_text("#overview-count", "1 of 500", WAIT)
        .await
        .unwrap();
    click(&browser, ".switcher summary").await;
    fill(&browser, "#switcher-q", "customer 45").await;
    let visible = browser
        .execute(
            "return [...document.querySelectorAll('#switcher-list li')].filter(li => !li.hidden).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(visible, json!(10), "Customer 450 to 459");
    browser.close().await.unwrap();
    app.shutdown().await;
}

#[tokio::test]
async fn the_operations_page_shows_a_killed_worker_go_and_its_run_requeued() {
    use secrecy::ExposeSecret;
    let app = spawn_app_with(AppOptions {
        settings: vec![
            ("runs.heartbeat_secs".into(), "1".into()),
            ("runs.stale_after_secs".into(), "3".into()),
        ],
        ..AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Slowpoke").await;
    for i in 0..30 {
        app.sim_load(
            &tenant,
            "deviceManagement/deviceConfigurations",
            json!({
                "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                "displayName": format!("Policy {i}"),
            }),
        )
        .await;
    }
    slow_down(&app, &tenant, 1500).await;
    let operator = app.add_user("operator@msp.example").await;
    app.grant(&operator, &tenant, Role::Operator).await;

    let settings = &app.services.settings;
    let dir = std::env::temp_dir().join(format!("pv-ops-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_policyvault"))
        .arg("worker")
        .current_dir(&dir)
        .env_remove("PV_ENV")
        .env("PV_CONFIG_DIR", &dir)
        .env("PV__DATABASE__URL", settings.database.url.expose_secret())
        .env("PV__REDIS__URL", settings.redis.url.expose_secret())
        .env("PV__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
        .env("PV__RUNS__HEARTBEAT_SECS", "1")
        .env("PV__RUNS__STALE_AFTER_SECS", "3")
        .env("PV__SECURITY__CREATE_KEY_FILE", "false")
        .env(
            "PV__SECURITY__ENCRYPTION_KEY",
            settings
                .security
                .encryption_key
                .as_ref()
                .expect("tests configure a key")
                .expose_secret(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("worker process");

    let response = app
        .post(
            &operator,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 202);
    let run_id = response.json::<Value>().await.unwrap()["run"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let browser = Browser::start("ops").await.unwrap();
    sign_in(&browser, &app, &operator.email).await;
    // The worker is listed with the run it holds.
    let what = "the worker holding the run on /ops";
    wait_for(WAIT, what, || async {
        browser
            .goto(&page(&app, "/ops"))
            .await
            .map_err(|e| e.to_string())?;
        match browser
            .find(&format!("section.worker li[data-run=\"{run_id}\"]"))
            .await
        {
            Ok(_) => Ok(()),
            Err(_) => Err("not yet".to_string()),
        }
    })
    .await;
    browser
        .screenshot(screenshot("operations.png"))
        .await
        .unwrap();

    // Killed without a chance to say goodbye: its heartbeat expires, the page drops it.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &worker.id().to_string()])
        .status();
    let _ = worker.wait();
    wait_for(WAIT, "the killed worker gone from /ops", || async {
        browser
            .goto(&page(&app, "/ops"))
            .await
            .map_err(|e| e.to_string())?;
        match browser.find("#no-workers").await {
            Ok(_) => Ok(()),
            Err(_) => Err("still listed".to_string()),
        }
    })
    .await;
    browser
        .find("#orphans")
        .await
        .expect("its run, without a worker");
    // The reaper (of any other process) re-queues the run; the page says so.
    let orchestrator = policyvault::runs::Orchestrator::new(app.services.clone());
    wait_for(WAIT, "the reaper re-queuing the run", || async {
        let report = orchestrator.reap_once().await.map_err(|e| e.to_string())?;
        if report.requeued > 0 {
            Ok(())
        } else {
            Err(format!("{report:?}"))
        }
    })
    .await;
    browser.goto(&page(&app, "/ops")).await.unwrap();
    let reaper = browser.find("#reaper").await.unwrap().text().await.unwrap();
    assert!(reaper.contains("re-queued"), "{reaper}");
    let depth = browser
        .find("#queue-capture")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(depth.contains("capture 1"), "{depth}");
    let run = app
        .get_json(&operator, &format!("/tenants/{}/runs/{run_id}", tenant.id))
        .await;
    assert_eq!(run["run"]["status"], "queued", "{run}");
    clear_faults(&app, &tenant).await;
    let _ = std::fs::remove_dir_all(&dir);
    browser.close().await.unwrap();
    app.shutdown().await;
}

//! Forms that start work without JavaScript, and mistakes answered with pages.

use super::*;

#[tokio::test]
async fn starts_work_without_javascript_and_mistakes_answer_with_pages() {
    let (app, tenant, admin, viewer) = world(true).await;
    let t = tenant.id;
    // Told about every finished run (the default is failures and live restores only).
    let r = app
        .put(
            &admin,
            "/notification-preferences",
            json!({"kinds": ["succeeded", "failed", "partial", "live_restore"]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let browser = Visitor::sign_in(&app, &admin.email).await;
    // Keep the capture running long enough to be started twice.
    app.sim_post(
        &format!("/_sim/tenants/{}/faults", tenant.sim_id),
        json!({"kind": "latency", "fixed_ms": 300}),
    )
    .await;

    // A start: 303 to the run's page, which says it was queued.
    let first = browser
        .post(&format!("/tenants/{t}/snapshots"), &[], false)
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let run_page = location(&first);
    assert!(
        run_page.starts_with(&format!("/tenants/{t}/runs/")),
        "{run_page}"
    );
    assert!(run_page.ends_with("?started=new"), "{run_page}");
    let (status, html) = browser.page(&run_page).await;
    assert_eq!(status, 200);
    assert!(html.contains("Snapshot capture queued."), "{html}");
    // An active run's page reloads itself when scripts are off.
    assert!(
        html.contains("<noscript><meta http-equiv=\"refresh\""),
        "{html}"
    );

    // The same start again: the existing run, said so.
    let again = browser
        .post(&format!("/tenants/{t}/snapshots"), &[], false)
        .await;
    let existing = location(&again);
    assert_eq!(
        existing.split('?').next(),
        run_page.split('?').next(),
        "one run"
    );
    assert!(existing.ends_with("?started=existing"), "{existing}");
    let (_, html) = browser.page(&existing).await;
    assert!(html.contains("was already queued or running"), "{html}");
    // htmx gets the confirmation as a fragment with the run's link.
    let fragment = browser
        .post(&format!("/tenants/{t}/snapshots"), &[], true)
        .await;
    assert_eq!(fragment.status(), StatusCode::OK);
    let fragment = fragment.text().await.unwrap();
    assert!(fragment.contains("is already"), "{fragment}");
    assert!(
        fragment.contains(&format!("href=\"{}\"", run_page.split('?').next().unwrap())),
        "{fragment}"
    );
    assert!(!fragment.contains("<html"), "{fragment}");

    let run_id = run_page
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    app.wait_for_terminal(&admin, t, run_id, WAIT).await;
    let (_, html) = browser.page(run_page.split('?').next().unwrap()).await;
    assert!(html.contains("data-status=\"succeeded\""), "{html}");
    assert!(
        !html.contains("http-equiv=\"refresh\""),
        "finished runs stay put"
    );
    let n = 2 + crate::helpers::BASELINE_CAPTURED;
    assert!(html.contains(&format!("{n} of {n} items")), "{html}");

    // A backup set created with "capture now": its page links the capture run.
    let created = browser
        .post(
            &format!("/tenants/{t}/backup-sets"),
            &[
                ("name", "Weekly baseline"),
                ("description", "Every Monday.\r\nKeep twelve weeks."),
                ("capture", "true"),
            ],
            false,
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let set_page = location(&created);
    assert!(set_page.contains("?run="), "{set_page}");
    let (_, html) = browser.page(&set_page).await;
    assert!(html.contains("View its run"), "{html}");
    assert!(html.contains("Weekly baseline"), "{html}");

    // Mistakes: pages that say what is wrong, with the right status.
    for (name, status, says) in [
        ("Weekly baseline", StatusCode::CONFLICT, "already exists"),
        (
            "Weekly\u{0}baseline",
            StatusCode::UNPROCESSABLE_ENTITY,
            "control characters",
        ),
        (" ", StatusCode::UNPROCESSABLE_ENTITY, "1 to 200 characters"),
    ] {
        let refused = browser
            .post(
                &format!("/tenants/{t}/backup-sets"),
                &[("name", name)],
                false,
            )
            .await;
        assert_eq!(refused.status(), status, "{name:?}");
        let html = refused.text().await.unwrap();
        assert!(html.contains(says), "{name:?}: {html}");
    }
    let (status, html) = browser
        .page(&format!("/tenants/{t}/runs?status=bogus"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Please check your input"), "{html}");
    let (status, _) = browser
        .page(&format!("/tenants/{t}/runs?cursor=nonsense"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for query in [
        "outcome=bogus",
        "outcome=action:created",
        "outcome=status:nope",
        "after=%00",
    ] {
        let (status, _) = browser
            .page(&format!("/tenants/{t}/runs/{run_id}?{query}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    let (_, html) = browser
        .page(&format!(
            "/tenants/{t}/runs/{run_id}?outcome=status:succeeded"
        ))
        .await;
    assert!(html.contains("id=\"outcome-filter\""), "{html}");
    assert_eq!(
        html.matches("<td>Device configuration profiles</td>")
            .count(),
        2
    );
    let far_past = format!("-8000000000000000000_{}", Uuid::nil().simple());
    let (status, _) = browser
        .page(&format!("/tenants/{t}/runs?cursor={far_past}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Malformed ids and queries answer with pages too.
    let (status, _) = browser.page(&format!("/tenants/{t}/runs/not-a-run")).await;
    assert!(status.is_client_error(), "{status}");
    let (status, _) = browser
        .page(&format!("/tenants/{t}/snapshots?cursor=x"))
        .await;
    assert!(status.is_client_error(), "{status}");
    let (status, _) = browser
        .page(&format!("/tenants/{t}/restore?source=x"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = browser
        .page(&format!(
            "/tenants/{t}/restore?source=snapshot:{}",
            Uuid::new_v4()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let snapshot = app
        .get_json(&admin, &format!("/tenants/{t}/snapshots"))
        .await["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A page that is exactly full is the last one when nothing follows it.
    let items = format!("/tenants/{t}/snapshots/{snapshot}/items");
    let n = 2 + crate::helpers::BASELINE_CAPTURED;
    let whole = app.get_json(&admin, &format!("{items}?limit={n}")).await;
    assert_eq!(whole["items"].as_array().unwrap().len() as u64, n);
    assert_eq!(whole["next_cursor"], Value::Null, "{whole}");
    let first = app
        .get_json(&admin, &format!("{items}?limit={}", n - 1))
        .await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = app
        .get_json(&admin, &format!("{items}?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(
        first["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != second["items"][0]["id"])
    );
    assert_eq!(second["next_cursor"], Value::Null, "{second}");
    let none_ticked = browser
        .post(
            &format!("/tenants/{t}/restore/preview"),
            &[("source", &format!("snapshot:{snapshot}"))],
            false,
        )
        .await;
    assert_eq!(none_ticked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none_ticked
            .text()
            .await
            .unwrap()
            .contains("tick at least one item")
    );
    let no_csrf = browser
        .http
        .post(format!("{}/tenants/{t}/snapshots", app.address))
        .header(header::COOKIE, &browser.cookie)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let (status, html) = browser.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Not found"), "{html}");

    // The choose-source form: its target moves into the path.
    let chosen = browser
        .get(&format!("/restore?target={t}&source=snapshot:{snapshot}"))
        .await;
    assert_eq!(
        location(&chosen),
        format!("/tenants/{t}/restore?source=snapshot%3A{snapshot}")
    );
    let (_, html) = browser.page(&location(&chosen)).await;
    assert_eq!(html.matches("name=\"item_id\"").count() as u64, n, "{html}");
    let item_ids: Vec<String> = html
        .match_indices("name=\"item_id\" value=\"")
        .map(|(i, m)| html[i + m.len()..i + m.len() + 36].to_string())
        .collect();

    // Preview, then the live restore, without JavaScript: each form leads to its run's page.
    let source = format!("snapshot:{snapshot}");
    let preview = browser
        .post(
            &format!("/tenants/{t}/restore/preview"),
            &[
                ("source", source.as_str()),
                ("item_id", item_ids[0].as_str()),
            ],
            false,
        )
        .await;
    let preview_page = location(&preview);
    assert!(preview_page.ends_with("?started=new"), "{preview_page}");
    let preview_id = preview_page
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let finished = app.wait_for_terminal(&admin, t, preview_id, WAIT).await;
    assert_eq!(
        finished["counts"]["total"], 1,
        "one item ticked: {finished}"
    );
    let (_, html) = browser.page(preview_page.split('?').next().unwrap()).await;
    assert!(html.contains("id=\"confirm-live\""), "{html}");
    let wrong = browser
        .post(
            &format!("/tenants/{t}/restore/live"),
            &[("preview_run", preview_id), ("confirm", "contoso")],
            false,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().await.unwrap().contains("type the tenant"));
    let live = browser
        .post(
            &format!("/tenants/{t}/restore/live"),
            &[("preview_run", preview_id), ("confirm", &tenant.name)],
            false,
        )
        .await;
    assert_eq!(live.status(), StatusCode::SEE_OTHER);
    let live_page = location(&live);
    let live_id = live_page
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    assert_ne!(live_id, preview_id);
    let (_, html) = browser.page(&live_page).await;
    assert!(html.contains("Restore queued."), "{html}");
    let restored = app.wait_for_terminal(&admin, t, live_id, WAIT).await;
    assert_eq!(restored["operation"], "restore");
    assert_eq!(restored["counts"]["total"], 1, "{restored}");

    // A viewer reads, but the pages offer no starts and the forms are refused.
    let reader = Visitor::sign_in(&app, &viewer.email).await;
    let (status, html) = reader.page(&format!("/tenants/{t}")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("id=\"capture-now\""), "{html}");
    let (_, html) = reader.page(&format!("/tenants/{t}/restore")).await;
    assert!(html.contains("needs the operator role"), "{html}");
    let refused = reader
        .post(&format!("/tenants/{t}/snapshots"), &[], false)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("Not allowed"));
    // htmx gets the refusal as a fragment for the status area.
    let refused = reader
        .post(&format!("/tenants/{t}/snapshots"), &[], true)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let fragment = refused.text().await.unwrap();
    assert!(
        fragment.starts_with("<p class=\"notice bad\" role=\"alert\">"),
        "{fragment}"
    );

    // Notifications: the bell counts them; "mark all read" empties it.
    let (_, html) = browser.page("/notifications").await;
    assert!(html.contains("Snapshot capture succeeded"), "{html}");
    assert!(!html.contains("id=\"unread-count\">0<"), "{html}");
    let read = browser.post("/notifications/read-all", &[], false).await;
    assert_eq!(location(&read), "/notifications");
    let (_, html) = browser.page("/notifications").await;
    assert!(html.contains("id=\"unread-count\">0<"), "{html}");

    // A page's background refresh after its session ended sends the page to sign-in.
    let expired = browser
        .http
        .get(format!("{}/runs/active", app.address))
        .header("HX-Request", "true")
        .header(
            "HX-Current-URL",
            format!("{}/tenants/{t}/runs", app.address),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        expired.headers()["hx-redirect"],
        format!("/login?next=/tenants/{t}/runs").as_str()
    );

    // Pages are not cached or framed, and run no inline script.
    let response = browser.get(&format!("/tenants/{t}")).await;
    let headers = response.headers();
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // Assets are public and cacheable.
    for (asset, kind) in [
        ("/static/htmx.min.js", "text/javascript"),
        ("/static/app.js", "text/javascript"),
        ("/static/app.css", "text/css"),
    ] {
        let response = browser
            .http
            .get(format!("{}{asset}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
        assert!(
            response.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .starts_with("public")
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn schedules_are_added_disabled_and_deleted_on_their_page() {
    let (app, tenant, admin, viewer) = world(false).await;
    let t = tenant.id;
    let browser = Visitor::sign_in(&app, &admin.email).await;
    let added = browser
        .post(
            &format!("/tenants/{t}/schedules"),
            &[
                ("what", "snapshot"),
                ("cron", "30 1 * * 1-5"),
                ("timezone", "Europe/Berlin"),
                ("spread_secs", "600"),
            ],
            false,
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let location = added.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/tenants/{t}/schedules?done=created"));
    let (status, html) = browser.page(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Schedule created."), "{html}");
    assert!(
        html.contains("30 1 * * 1-5") && html.contains("within 600 s"),
        "{html}"
    );
    let schedules = app
        .get_json(&admin, &format!("/tenants/{t}/schedules"))
        .await;
    let id = schedules["schedules"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = browser
        .post(&format!("/tenants/{t}/schedules/{id}/disable"), &[], false)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser
        .page(&format!("/tenants/{t}/schedules?done=disabled"))
        .await;
    assert!(
        html.contains("Schedule disabled.") && html.contains(">Enable<"),
        "{html}"
    );
    // A mistake answers with a page naming the field; a viewer sees the list, not the form.
    let bad = browser
        .post(
            &format!("/tenants/{t}/schedules"),
            &[("cron", "every day")],
            false,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("cron"));
    let (_, html) = Visitor::sign_in(&app, &viewer.email)
        .await
        .page(&format!("/tenants/{t}/schedules"))
        .await;
    assert!(
        html.contains("30 1 * * 1-5") && !html.contains("add-schedule"),
        "{html}"
    );
    let r = browser
        .post(&format!("/tenants/{t}/schedules/{id}/delete"), &[], false)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let schedules = app
        .get_json(&admin, &format!("/tenants/{t}/schedules"))
        .await;
    assert_eq!(schedules["schedules"], json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn notification_preferences_and_fanouts_have_pages() {
    let (app, tenant, admin, viewer) = world(false).await;
    let browser = Visitor::sign_in(&app, &admin.email).await;
    // The defaults are shown ticked.
    let (status, html) = browser.page("/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"value="fanout" checked"#), "{html}");
    assert!(!html.contains(r#"value="succeeded" checked"#), "{html}");
    // Choose: failures only, of this tenant.
    let saved = browser
        .post(
            "/notifications/preferences",
            &[
                ("kind", "failed"),
                ("tenants", "some"),
                ("tenant_id", &tenant.id.to_string()),
            ],
            false,
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let prefs = app.get_json(&admin, "/notification-preferences").await;
    assert_eq!(prefs["preferences"]["kinds"], json!(["failed"]));
    assert_eq!(prefs["preferences"]["tenant_ids"], json!([tenant.id]));
    let bad = browser
        .post(
            "/notifications/preferences",
            &[("kind", "everything")],
            false,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // "Capture all my tenants now" starts a fan-out and shows its page.
    let (_, tenants) = browser.page("/tenants").await;
    assert!(tenants.contains("Capture all my tenants now"), "{tenants}");
    let started = browser
        .post(
            "/fanouts",
            &[("operation", "capture_snapshot"), ("all_tenants", "1")],
            false,
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let page = location(&started);
    assert!(page.starts_with("/fanouts/"), "{page}");
    let (status, html) = browser.page(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Contoso") && html.contains("Cancel the open runs"),
        "{html}"
    );
    let (_, list) = browser.page("/fanouts").await;
    assert!(list.contains(&page), "{list}");
    // A viewer is offered no capture of all tenants, and cannot start one.
    let viewer_browser = Visitor::sign_in(&app, &viewer.email).await;
    let (_, tenants) = viewer_browser.page("/tenants").await;
    assert!(!tenants.contains("Capture all my tenants now"));
    let refused = viewer_browser
        .post(
            "/fanouts",
            &[("operation", "capture_snapshot"), ("all_tenants", "1")],
            false,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Cancel from the page.
    let canceled = browser.post(&format!("{page}/cancel"), &[], false).await;
    assert_eq!(canceled.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.page(&page).await;
    assert!(html.contains("canceled"), "{html}");
    app.shutdown().await;
}

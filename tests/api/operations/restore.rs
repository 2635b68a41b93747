//! Capture/restore round trips, previews and restores under faults, and re-runs of failed items.

use std::collections::BTreeMap;

use super::*;

/// Restore a demo tenant's capture into a new tenant (`PUT /_sim/tenants`, which has what every
/// new Intune tenant has), capture the target and compare: every captured payload equal, the
/// service defaults updated in place (never skipped), and every restored object carrying the
/// properties Graph fills in, as the source's objects do. Returns the restore body and ids.
async fn round_trip(app: &TestApp, demo: &str, target_name: &str) -> (RestoreSetup, Value) {
    let setup = restore_setup(app, demo, target_name).await;
    let RestoreSetup {
        source,
        target,
        admin,
        snapshot,
    } = &setup;
    let total = snapshot["item_count"].as_u64().unwrap();
    assert!(total >= 150, "{demo} has {total} objects");
    let capture_id = snapshot["run_id"].as_str().unwrap();
    let types: std::collections::BTreeSet<String> = all_items(app, admin, source, capture_id)
        .await
        .iter()
        .map(|i| i["policy_type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types.len(),
        policyvault::graph::registry::all().len(),
        "every type captured: {types:?}"
    );

    let restore_body = json!({
        "source": {"snapshot_id": snapshot["id"]},
        "mode": "live",
        "confirm": target.name,
    });
    let restore_id = start(
        app,
        admin,
        &format!("/tenants/{}/restores", target.id),
        restore_body.clone(),
    )
    .await;
    let restore = app
        .wait_for_terminal(admin, target.id, &restore_id, WAIT)
        .await;
    let items = all_items(app, admin, target, &restore_id).await;
    let failures: Vec<&Value> = items.iter().filter(|i| i["status"] == "failed").collect();
    assert!(failures.is_empty(), "{demo}: failed items: {failures:#?}");
    assert_eq!(restore["status"], "succeeded", "{restore}");

    // Only built-in objects are skipped: a new tenant has the service defaults, which are
    // updated in place.
    // Apps whose package Graph never returns are captured and reported, never written.
    let mut skipped = std::collections::BTreeSet::new();
    let mut not_restorable = 0;
    let mut same_tenant_only = 0;
    for item in items.iter().filter(|i| i["status"] == "skipped") {
        let key = format!(
            "{}/{}/",
            item["policy_type"].as_str().unwrap(),
            item["display_name"].as_str().unwrap()
        );
        let contract =
            policyvault::graph::registry::get(item["policy_type"].as_str().unwrap()).unwrap();
        if item["error_code"] == "content_not_restorable" {
            assert_eq!(item["policy_type"], "mobileApps", "{item}");
            not_restorable += 1;
        } else if item["error_code"] == "not_restorable" {
            // Configuration Graph shows but cannot write (VPP tokens, partners).
            assert!(contract.read_only.is_some(), "{item}");
            not_restorable += 1;
        } else if item["error_code"] == "same_tenant_only" {
            // Role assignments and Apple enrollment profiles name the source tenant's groups
            // and token: covered by the same-tenant round trip.
            assert!(contract.same_tenant_only.is_some(), "{item}");
            same_tenant_only += 1;
        } else {
            assert_eq!(
                item["error_code"], "builtin",
                "{demo}: unexpected skip: {item}"
            );
        }
        skipped.insert(key);
    }
    let record_only = policyvault::graph::registry::all()
        .iter()
        .filter(|c| c.read_only.is_some())
        .count();
    assert_eq!(
        not_restorable,
        1 + record_only,
        "{demo}: the Win32 app and one of each record-only type"
    );
    // One role assignment and the token's two enrollment profiles.
    assert_eq!(same_tenant_only, 3, "{demo}");
    let skipped_builtin = skipped.len() - not_restorable - same_tenant_only;
    // Every tenant has each built-in object (scope tag `0`, the built-in roles).
    let builtins: usize = policyvault::graph::registry::all()
        .iter()
        .map(|c| c.builtin_ids.len())
        .sum();
    assert_eq!(skipped_builtin, builtins, "{demo}: skipped {skipped:?}");
    let defaults_updated = items
        .iter()
        .filter(|i| {
            i["policy_type"] == "deviceEnrollmentConfigurations"
                && i["display_name"] == "All users and all devices"
        })
        .count();
    assert_eq!(
        defaults_updated, 4,
        "{demo}: service defaults restored in place"
    );

    let (recapture_id, recapture) = capture(app, admin, target).await;
    assert_eq!(recapture["status"], "succeeded");
    let recaptured = snapshot_of_run(app, admin, target, &recapture_id).await;
    let src = app
        .sim_get(&format!("/_sim/tenants/{}/export", source.sim_id))
        .await;
    let dst = app
        .sim_get(&format!("/_sim/tenants/{}/export", target.sim_id))
        .await;
    // References (a CA policy's named locations) point at each tenant's own objects: compare
    // them by the referenced object's name.
    let by_name = |export: &Value| {
        let mut names = BTreeMap::new();
        for c in policyvault::graph::registry::all() {
            for r in c.references {
                let rc = policyvault::graph::registry::get(r).unwrap();
                for o in &crate::helpers::held_by_sim(export, rc).unwrap() {
                    names.insert(
                        o["id"].as_str().unwrap().to_string(),
                        format!("ref:{r}:{}", o[rc.match_key].as_str().unwrap_or_default()),
                    );
                }
            }
        }
        names
    };
    let (src_refs, dst_refs) = (by_name(&src), by_name(&dst));
    let before: BTreeMap<String, Value> =
        payloads(app, admin, source, snapshot["id"].as_str().unwrap())
            .await
            .into_iter()
            .map(|(k, v)| (k, by_reference(v, &src_refs)))
            .collect();
    let after: BTreeMap<String, Value> =
        payloads(app, admin, target, recaptured["id"].as_str().unwrap())
            .await
            .into_iter()
            .map(|(k, v)| (k, by_reference(v, &dst_refs)))
            .collect();
    for (key, payload) in &before {
        if skipped.iter().any(|s| key.starts_with(s.as_str())) {
            continue;
        }
        let restored = after
            .get(key)
            .unwrap_or_else(|| panic!("{demo}: {key} missing after restore"));
        // Conditional access policies arrive report-only: nobody asked to keep their state.
        let policy_type = key.split('/').next().unwrap();
        let expected = match policyvault::graph::registry::get(policy_type).and_then(|c| c.guarded)
        {
            Some(g) => g.apply(payload.clone(), None),
            None => payload.clone(),
        };
        assert_eq!(
            &expected, restored,
            "{demo}: {key} differs after the round trip"
        );
    }

    // graph-sim's stored objects: what Graph filled in on the source's objects, it filled in
    // on the restored ones.
    let mut compared = 0;
    for contract in policyvault::graph::registry::all() {
        let (Some(sources), Some(targets)) = (
            crate::helpers::held_by_sim(&src, contract),
            crate::helpers::held_by_sim(&dst, contract),
        ) else {
            continue;
        };
        let Some(spec) = graph_sim::collections::by_path(contract.collection) else {
            continue;
        };
        for obj in &sources {
            let same =
                |o: &&Value| o[spec.key] == obj[spec.key] && o["@odata.type"] == obj["@odata.type"];
            let Some(restored) = targets.iter().find(same) else {
                continue;
            };
            compared += 1;
            for (prop, fill) in spec.server_set {
                assert!(
                    restored.get(*prop).is_some(),
                    "{demo}: {} '{}' lacks the server-set '{prop}'",
                    contract.collection,
                    obj[spec.key]
                );
                // Derived values follow the restored content; initial ones (a driver
                // profile's sync state) belong to the object's own life in its tenant.
                if !matches!(fill, graph_sim::collections::Fill::Json(_)) {
                    assert_eq!(
                        restored[*prop], obj[*prop],
                        "{demo}: {} '{}': '{prop}'",
                        contract.collection, obj[spec.key]
                    );
                }
            }
            let missing: Vec<&String> = obj
                .as_object()
                .unwrap()
                .keys()
                // Assignments to another tenant's groups are not carried across.
                .filter(|k| *k != "assignments" && restored.get(k.as_str()).is_none())
                .collect();
            assert!(
                missing.is_empty(),
                "{demo}: {} '{}' lacks {missing:?} after restore",
                contract.collection,
                obj[spec.key]
            );
        }
    }
    assert!(
        compared as u64 + not_restorable as u64 + same_tenant_only as u64 >= total,
        "{demo}: compared {compared} of {total}"
    );
    (setup, restore_body)
}

/// `v` with every string that is a key of `names` replaced by its value.
fn by_reference(v: Value, names: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(names.get(&s).cloned().unwrap_or(s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| by_reference(x, names)).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, by_reference(x, names)))
                .collect(),
        ),
        other => other,
    }
}

/// The types a restore writes only into the tenant they came from (role assignments, Apple
/// enrollment profiles) round-trip there: deleted after the capture, restored, captured
/// again equal, the role assignment bound to its role again.
#[tokio::test]
async fn same_tenant_only_types_round_trip_into_their_own_tenant() {
    let app = spawn_app_with(demo_app()).await;
    let RestoreSetup {
        source,
        admin,
        snapshot,
        ..
    } = restore_setup(&app, "contoso", "Unused").await;
    let same: Vec<&policyvault::graph::Contract> = policyvault::graph::registry::all()
        .iter()
        .filter(|c| c.same_tenant_only.is_some())
        .collect();
    assert!(same.len() >= 2);
    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", source.sim_id))
        .await;
    let mut deleted = 0;
    for c in &same {
        for o in crate::helpers::held_by_sim(&export, c).unwrap() {
            let (collection, own) = c.locate(o["id"].as_str().unwrap()).unwrap();
            let path = format!("{collection}/{own}");
            let r = sim_graph(&app, &source, reqwest::Method::DELETE, &path, None).await;
            assert_eq!(r.status().as_u16(), 204, "DELETE {path}");
            deleted += 1;
        }
    }
    assert_eq!(deleted, 3, "one role assignment, two enrollment profiles");
    // Another token holds a profile of the same name: it is another profile, not a match.
    let token = &export["deviceManagement/depOnboardingSettings"][0];
    let profile = &token["enrollmentProfiles"][0];
    let other = sim_graph(
        &app,
        &source,
        reqwest::Method::POST,
        "deviceManagement/depOnboardingSettings",
        Some(json!({"tokenName": "Second ABM", "appleIdentifier": "second@example.test",
            "enrollmentProfiles": [{"@odata.type": profile["@odata.type"], "displayName": profile["displayName"]}]})),
    )
    .await;
    assert_eq!(other.status().as_u16(), 201);
    let other: Value = other.json().await.unwrap();

    let restore_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", source.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": source.name}),
    )
    .await;
    let restore = app
        .wait_for_terminal(&admin, source.id, &restore_id, WAIT)
        .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let items = all_items(&app, &admin, &source, &restore_id).await;
    let created: Vec<&Value> = items
        .iter()
        .filter(|i| same.iter().any(|c| i["policy_type"] == c.key))
        .collect();
    assert_eq!(created.len(), 3, "{created:#?}");
    assert!(
        created.iter().all(|i| i["action"] == "created"),
        "{created:#?}"
    );
    let r = sim_graph(
        &app,
        &source,
        reqwest::Method::DELETE,
        &format!(
            "deviceManagement/depOnboardingSettings/{}",
            other["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(r.status().as_u16(), 204);

    let (recapture_id, _) = capture(&app, &admin, &source).await;
    let recaptured = snapshot_of_run(&app, &admin, &source, &recapture_id).await;
    let before = payloads(&app, &admin, &source, snapshot["id"].as_str().unwrap()).await;
    let after = payloads(&app, &admin, &source, recaptured["id"].as_str().unwrap()).await;
    for c in &same {
        let prefix = format!("{}/", c.key);
        let pick = |m: &BTreeMap<String, Value>| -> Vec<(String, Value)> {
            m.iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert!(!pick(&before).is_empty(), "{}", c.key);
        assert_eq!(pick(&before), pick(&after), "{}", c.key);
    }
    let assignment = after
        .iter()
        .find(|(k, _)| k.starts_with("roleAssignments/"))
        .unwrap()
        .1;
    assert!(
        assignment["roleDefinition"]["id"].is_string(),
        "{assignment}"
    );
    assert_eq!(
        assignment["roleDefinition"]["id"],
        before
            .iter()
            .find(|(k, _)| k.starts_with("roleAssignments/"))
            .unwrap()
            .1["roleDefinition"]["id"]
    );
}

#[tokio::test]
async fn capture_restore_into_an_empty_tenant_and_capture_again_round_trips() {
    let app = spawn_app_with(demo_app()).await;
    let (setup, restore_body) = round_trip(&app, "contoso", "Empty Target").await;
    let RestoreSetup { target, admin, .. } = setup;

    // Restoring the same source again changes nothing and writes nothing.
    let journal_before = app.sim_journal(&target).await.len();
    let again_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        restore_body,
    )
    .await;
    let again = app
        .wait_for_terminal(&admin, target.id, &again_id, WAIT)
        .await;
    assert_eq!(again["status"], "succeeded", "{again}");
    let again_items = all_items(&app, &admin, &target, &again_id).await;
    let changed: Vec<&Value> = again_items
        .iter()
        .filter(|i| i["status"] != "skipped" && i["action"] != "unchanged")
        .collect();
    assert!(changed.is_empty(), "not unchanged: {changed:#?}");
    assert_eq!(
        app.sim_journal(&target).await.len(),
        journal_before,
        "the second restore wrote"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn every_demo_tenant_round_trips_into_a_new_tenant() {
    for demo in ["fabrikam", "northwind"] {
        let app = spawn_app_with(demo_app()).await;
        round_trip(&app, demo, &format!("New {demo}")).await;
        app.shutdown().await;
    }
}

#[tokio::test]
async fn a_preview_under_faults_never_writes_and_stays_readable() {
    let app = spawn_app_with(demo_app()).await;
    let source = register_demo_tenant(&app, "fabrikam").await;
    let target = register_demo_tenant(&app, "northwind").await;
    let op = app.add_user("operator@example.com").await;
    app.grant(&op, &source, Role::Operator).await;
    app.grant(&op, &target, Role::Operator).await;
    let (capture_id, _) = capture(&app, &op, &source).await;
    let snapshot = snapshot_of_run(&app, &op, &source, &capture_id).await;

    for fault in [
        json!({"kind": "error_rate", "rate": 0.2, "status": 503}),
        json!({"kind": "latency", "fixed_ms": 5, "jitter_ms": 10}),
    ] {
        let r = app
            .sim_post(&format!("/_sim/tenants/{}/faults", target.sim_id), fault)
            .await;
        assert!(r.status().is_success());
    }
    let run_id = start(
        &app,
        &op,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "preview"}),
    )
    .await;
    let run = app.wait_for_terminal(&op, target.id, &run_id, WAIT).await;
    assert!(run["counts"]["total"].as_u64().unwrap() >= 100, "{run}");
    assert!(
        app.sim_journal(&target).await.is_empty(),
        "a preview wrote to Graph"
    );

    let items = all_items(&app, &op, &target, &run_id).await;
    assert!(items.len() >= 100);
    let actions: std::collections::BTreeSet<&str> =
        items.iter().filter_map(|i| i["action"].as_str()).collect();
    assert!(
        actions.contains("would_create") || actions.contains("would_update"),
        "{actions:?}"
    );
    // The results are stored: reading them again needs no Graph at all.
    let r = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", target.sim_id),
            json!({"kind": "outage", "retry_after_secs": 60}),
        )
        .await;
    assert!(r.status().is_success());
    assert_eq!(
        all_items(&app, &op, &target, &run_id).await.len(),
        items.len()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn lost_create_answers_do_not_duplicate_objects() {
    let app = spawn_app_with(demo_app()).await;
    let RestoreSetup {
        target,
        admin,
        snapshot,
        ..
    } = restore_setup(&app, "contoso", "Drop Target").await;

    let r = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", target.sim_id),
            json!({"kind": "drop_after_commit", "rate": 0.3, "methods": ["POST"]}),
        )
        .await;
    assert!(r.status().is_success());
    let run_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let run = app
        .wait_for_terminal(&admin, target.id, &run_id, WAIT)
        .await;
    assert!(
        matches!(run["status"].as_str(), Some("succeeded" | "partial")),
        "{run}"
    );

    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", target.sim_id))
        .await;
    // Every object once (by name and type: the service defaults share a name); the audit
    // log records each write and is not an object collection.
    for (collection, objects) in export.as_object().unwrap() {
        if collection.ends_with("auditEvents") {
            continue;
        }
        let mut names = std::collections::HashMap::new();
        for o in objects.as_array().unwrap() {
            let name = o
                .get("displayName")
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let ty = o["@odata.type"].as_str().unwrap_or_default().to_string();
            *names.entry((name, ty)).or_insert(0) += 1;
        }
        let dups: Vec<_> = names.iter().filter(|(_, n)| **n > 1).collect();
        assert!(dups.is_empty(), "duplicates in {collection}: {dups:?}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn an_outage_mid_restore_ends_with_safe_item_errors_in_bounded_time() {
    let app = spawn_app_with(demo_app()).await;
    let RestoreSetup {
        target,
        admin,
        snapshot,
        ..
    } = restore_setup(&app, "contoso", "Outage Target").await;

    let started = std::time::Instant::now();
    let run_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
    )
    .await;
    // Let some items through, then take the tenant down.
    let path = format!("/tenants/{}/runs/{run_id}", target.id);
    wait_until(WAIT, "some items restored before the outage", || async {
        let run = app.get_json(&admin, &path).await;
        let done = run["run"]["counts"]["succeeded"].as_u64().unwrap_or(0);
        done >= 5 || run["run"]["status"] != "running" && run["run"]["status"] != "queued"
    })
    .await;
    let r = app
        .sim_post(
            &format!("/_sim/tenants/{}/faults", target.sim_id),
            json!({"kind": "outage", "retry_after_secs": 1}),
        )
        .await;
    assert!(r.status().is_success());
    let run = app
        .wait_for_terminal(&admin, target.id, &run_id, WAIT)
        .await;
    assert!(
        matches!(run["status"].as_str(), Some("partial" | "failed")),
        "{run}"
    );
    assert!(started.elapsed() < WAIT);
    let items = all_items(&app, &admin, &target, &run_id).await;
    let failed: Vec<&Value> = items.iter().filter(|i| i["status"] == "failed").collect();
    assert!(!failed.is_empty());
    let not_attempted = failed
        .iter()
        .filter(|i| i["error_code"] == "tenant_unavailable")
        .count();
    if not_attempted > 0 {
        // The run says in one line that it gave up on an outage past the budget.
        assert_eq!(run["error_code"], "tenant_unavailable", "{run}");
        let summary = run["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains(&format!(
                "past the retry budget of 5 s: {not_attempted} items were not attempted"
            )),
            "{summary}"
        );
    }
    for item in failed {
        let code = item["error_code"].as_str().unwrap_or_default();
        assert!(
            code.starts_with("graph_") || matches!(code, "timeout" | "tenant_unavailable"),
            "{item}"
        );
        let message = item["error_message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("Bearer") && !message.contains('{'),
            "unsafe message: {message}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn rerun_of_failed_items_links_to_the_original() {
    let app = spawn_app_with(demo_app()).await;
    let source = register_demo_tenant(&app, "contoso").await;
    let target = app.add_tenant("Rerun Target").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;

    // A backup set of two types, captured right away.
    let created = app
        .post(
            &admin,
            &format!("/tenants/{}/backup-sets", source.id),
            json!({"name": "Scripts", "policy_types": ["deviceManagementScripts", "assignmentFilters"], "capture": true}),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap().to_string();
    let capture_id = created["run"]["id"].as_str().unwrap().to_string();
    let capture = app
        .wait_for_terminal(&admin, source.id, &capture_id, WAIT)
        .await;
    assert_eq!(capture["status"], "succeeded");

    // Every write fails while the restore runs.
    app.sim_post(
        &format!("/_sim/tenants/{}/faults", target.sim_id),
        json!({"kind": "error_rate", "rate": 1.0, "status": 500, "methods": ["POST", "PATCH", "PUT"]}),
    )
    .await;
    let restore_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"backup_set_id": set_id}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let restore = app
        .wait_for_terminal(&admin, target.id, &restore_id, WAIT)
        .await;
    assert_eq!(restore["status"], "failed", "{restore}");
    let failed = restore["counts"]["failed"].as_u64().unwrap();
    assert!(failed > 0);

    let refused = app
        .post(
            &admin,
            &format!("/tenants/{}/runs/{restore_id}/rerun", target.id),
            json!({"confirm": "wrong name", "only_failed": true}),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    // An admin of the target who cannot read the source tenant cannot re-run it either.
    let target_admin = app.add_user("target-admin@example.com").await;
    app.grant(&target_admin, &target, Role::Admin).await;
    let outsider = app
        .post(
            &target_admin,
            &format!("/tenants/{}/runs/{restore_id}/rerun", target.id),
            json!({"confirm": target.name, "only_failed": true}),
        )
        .await;
    assert_eq!(outsider.status().as_u16(), 404);

    let cleared = app
        .http
        .delete(format!(
            "{}/_sim/tenants/{}/faults",
            app.sim_url(),
            target.sim_id
        ))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());
    let rerun_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/runs/{restore_id}/rerun", target.id),
        json!({"confirm": target.name, "only_failed": true}),
    )
    .await;
    let rerun = app
        .wait_for_terminal(&admin, target.id, &rerun_id, WAIT)
        .await;
    assert_eq!(rerun["status"], "succeeded", "{rerun}");
    assert_eq!(rerun["parent_run_id"], restore_id.as_str());
    assert_eq!(rerun["counts"]["total"].as_u64().unwrap(), failed);

    // The terminal state is written first; its audit event follows in the same finish.
    crate::helpers::wait_for(
        Duration::from_secs(10),
        "the re-run's audit trail",
        || async {
            let audit = app
                .get_json(&admin, &format!("/tenants/{}/audit-events", target.id))
                .await;
            let actions: Vec<String> = audit["audit_events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["run_id"] == rerun_id.as_str())
                .map(|e| e["action"].as_str().unwrap().to_string())
                .collect();
            let all = [
                "restore.live.queued",
                "restore.live.started",
                "restore.live.finished",
            ]
            .iter()
            .all(|a| actions.iter().any(|x| x == a));
            if all {
                Ok(())
            } else {
                Err(format!("{actions:?}"))
            }
        },
    )
    .await;
    app.shutdown().await;
}

/// A conditional access policy is restored report-only unless the restore asks to keep its
/// captured state: enforcing one by accident can lock a customer's admins out. A policy the
/// target already enforces stays enforced.
#[tokio::test]
async fn conditional_access_policies_are_restored_report_only_unless_asked() {
    use crate::helpers::{AppOptions, Role};
    let app = spawn_app_with(AppOptions {
        worker: true,
        ..AppOptions::default()
    })
    .await;
    let source = app.add_tenant("CA Source").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    let ca = "identity/conditionalAccess/policies";
    app.sim_load(
        &source,
        ca,
        json!({"displayName": "Block legacy auth", "state": "enabled",
            "conditions": {"clientAppTypes": ["exchangeActiveSync", "other"], "users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
    )
    .await;
    app.sim_load(
        &source,
        ca,
        json!({"displayName": "Off", "state": "disabled", "conditions": {}, "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}),
    )
    .await;
    let (capture_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    let state_of = |export: &Value, name: &str| {
        export[ca]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["displayName"] == name)
            .map(|p| p["state"].clone())
    };
    let mut enforcing = None;
    for (keep, enforced) in [
        (false, "enabledForReportingButNotEnforced"),
        (true, "enabled"),
    ] {
        let target = app.add_tenant(&format!("CA Target {keep}")).await;
        app.grant(&admin, &target, Role::Admin).await;
        let body = json!({
            "source": {"snapshot_id": snapshot["id"]},
            "mode": "live",
            "confirm": target.name,
            "keep_conditional_access_state": keep,
        });
        let run_id = start(
            &app,
            &admin,
            &format!("/tenants/{}/restores", target.id),
            body.clone(),
        )
        .await;
        let run = app
            .wait_for_terminal(&admin, target.id, &run_id, WAIT)
            .await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let export = app
            .sim_get(&format!("/_sim/tenants/{}/export", target.sim_id))
            .await;
        assert_eq!(
            state_of(&export, "Block legacy auth"),
            Some(json!(enforced))
        );
        assert_eq!(state_of(&export, "Off"), Some(json!("disabled")));
        // Again: nothing to change (the guarded state is what the target now has).
        let again_id = start(
            &app,
            &admin,
            &format!("/tenants/{}/restores", target.id),
            body,
        )
        .await;
        app.wait_for_terminal(&admin, target.id, &again_id, WAIT)
            .await;
        let items = all_items(&app, &admin, &target, &again_id).await;
        assert!(
            items
                .iter()
                .filter(|i| i["policy_type"] == "policies")
                .all(|i| i["action"] == "unchanged"),
            "{items:?}"
        );
        enforcing = Some(target);
    }
    // Into the enforcing target without the flag: what the target enforces stays enforced.
    let target = enforcing.unwrap();
    let run_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"snapshot_id": snapshot["id"]}, "mode": "live", "confirm": target.name}),
    )
    .await;
    app.wait_for_terminal(&admin, target.id, &run_id, WAIT)
        .await;
    let export = app
        .sim_get(&format!("/_sim/tenants/{}/export", target.sim_id))
        .await;
    assert_eq!(
        state_of(&export, "Block legacy auth"),
        Some(json!("enabled"))
    );
    app.shutdown().await;
}

/// Coverage: per type, what a capture holds and what a restore will not write and why; the
/// same for a backup set, and on the snapshot page.
#[tokio::test]
async fn snapshots_and_backup_sets_report_their_coverage() {
    let app = spawn_app_with(demo_app()).await;
    let tenant = register_demo_tenant(&app, "contoso").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, crate::helpers::Role::Admin)
        .await;
    // A profile of a type Graph added after this version.
    app.sim_load(
        &tenant,
        "deviceManagement/deviceConfigurations",
        json!({"@odata.type": "#microsoft.graph.windows12FutureConfiguration", "displayName": "From the future"}),
    )
    .await;
    let (run_id, _) = capture(&app, &admin, &tenant).await;
    let snapshot = snapshot_of_run(&app, &admin, &tenant, &run_id).await;
    let sid = snapshot["id"].as_str().unwrap();
    let body = app
        .get_json(
            &admin,
            &format!("/tenants/{}/snapshots/{sid}/coverage", tenant.id),
        )
        .await;
    let coverage = body["coverage"].as_array().unwrap();
    assert_eq!(
        coverage.len(),
        policyvault::graph::registry::all().len(),
        "every type of the demo tenant: {body}"
    );
    let total: u64 = coverage
        .iter()
        .map(|t| t["captured"].as_u64().unwrap())
        .sum();
    assert_eq!(total, snapshot["item_count"].as_u64().unwrap());
    let by = |k: &str| coverage.iter().find(|t| t["policy_type"] == k).unwrap();
    let apps = by("mobileApps");
    assert_eq!(apps["captured"], 6, "{apps}");
    assert_eq!(apps["restorable"], 5, "{apps}");
    assert_eq!(apps["not_restorable"][0]["code"], "content_not_restorable");
    assert!(
        apps["not_restorable"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("win32LobApp")
    );
    let roles = by("roleDefinitions");
    assert_eq!(roles["restorable"], 1);
    assert_eq!(roles["not_restorable"][0]["code"], "builtin");
    assert_eq!(roles["not_restorable"][0]["count"], 7);
    assert_eq!(
        by("vppTokens")["not_restorable"][0]["code"],
        "not_restorable"
    );
    let profiles = by("deviceConfigurations");
    assert_eq!(profiles["not_restorable"], json!([]));
    assert_eq!(
        profiles["unknown_odata_types"],
        json!([{"odata_type": "windows12FutureConfiguration", "count": 1}]),
        "captured as it is and flagged"
    );
    assert_eq!(profiles["restorable"], profiles["captured"]);
    assert!(by("roleAssignments")["same_tenant_only"].is_string());
    assert!(by("enrollmentProfiles")["same_tenant_only"].is_string());
    // The tenant's singletons, for the record.
    for k in [
        "applePushNotificationCertificate",
        "androidManagedStoreAccountEnterpriseSettings",
        "settings",
    ] {
        assert_eq!(by(k)["captured"], 1, "{k}");
        assert_eq!(by(k)["restorable"], 0, "{k}");
        assert_eq!(by(k)["not_restorable"][0]["code"], "not_restorable", "{k}");
    }

    let created = app
        .post(
            &admin,
            &format!("/tenants/{}/backup-sets", tenant.id),
            json!({"name": "Nightly", "capture": true}),
        )
        .await;
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap();
    let set_run = created["run"]["id"].as_str().unwrap();
    app.wait_for_terminal(&admin, tenant.id, set_run, WAIT)
        .await;
    let set = app
        .get_json(
            &admin,
            &format!("/tenants/{}/backup-sets/{set_id}/coverage", tenant.id),
        )
        .await;
    assert_eq!(set["coverage"], body["coverage"]);

    let html = crate::pages::page_of(
        &app,
        &admin.email,
        &format!("/tenants/{}/snapshots/{sid}", tenant.id),
    )
    .await;
    assert!(html.contains("id=\"coverage\""), "{html}");
    assert!(html.contains("Graph never returns the package of a win32LobApp"));
    assert!(html.contains("windows12FutureConfiguration"), "{html}");
    app.shutdown().await;
}

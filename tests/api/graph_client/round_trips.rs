//! Reads equal to what graph-sim holds (tokens, pages, batches, the demo tenant, lookups by
//! name) and writes of every type that read back equal.

use super::*;

#[tokio::test]
async fn token_is_fetched_once_and_shared_by_concurrent_callers() {
    let h = Harness::start(no_throttle()).await;
    let graph = h.tenant("tokens").await;
    let c = contract("deviceConfigurations");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let g = graph.read_only();
        tasks.push(tokio::spawn(
            async move { g.list(c).await.map(|v| v.len()) },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 0);
    }
    // A second client of the same tenant app shares the cache.
    let again = GraphClient::new(
        &h.connection("tokens", &graph_sim_client_id(&h, "tokens").await, SECRET),
        &h.shared,
    );
    again.list(c).await.unwrap();
    assert_eq!(h.shared.tokens().fetch_count(), 1);
    assert_eq!(h.stats("tokens").await["requests"], 9);
}

async fn graph_sim_client_id(h: &Harness, tenant: &str) -> String {
    h.admin_get(&format!("tenants/{tenant}")).await["client_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_settings_catalog_policy_with_60_settings_and_a_list_of_30_come_back_whole() {
    let h = Harness::start(no_throttle()).await;
    let graph = h.tenant("paging").await;
    for i in 0..29 {
        h.seed(
            "paging",
            "deviceManagement/configurationPolicies",
            catalog_policy(&format!("P{i:02}"), 2),
        )
        .await;
    }
    let big = h
        .seed(
            "paging",
            "deviceManagement/configurationPolicies",
            catalog_policy("Big", 60),
        )
        .await;
    let c = contract("configurationPolicies");
    let listed = graph.list(c).await.unwrap();
    assert_eq!(listed.len(), 30);
    let found = listed.iter().find(|o| o["name"] == "Big").unwrap();
    assert_eq!(found["settings"].as_array().unwrap().len(), 60);
    assert_eq!(found["assignments"].as_array().unwrap().len(), 1);
    let one = graph.get(c, big["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(one["settings"].as_array().unwrap().len(), 60);
    // Whole = equal to what graph-sim holds, after normalization.
    let export = h.admin_get("tenants/paging/export").await;
    let held = by_name(
        c,
        export["deviceManagement/configurationPolicies"]
            .as_array()
            .unwrap(),
    );
    assert_eq!(by_name(c, &listed), held);
}

#[tokio::test]
async fn long_lists_and_per_item_scripts_come_back_whole_with_batches() {
    let config = SimConfig {
        default_page_size: 10,
        ..no_throttle()
    };
    let h = Harness::start(config).await;
    let graph = h.tenant("lists").await;
    for i in 0..35 {
        h.seed("lists", "deviceManagement/deviceHealthScripts", json!({
            "displayName": format!("Remediation {i:02}"), "publisher": "IT",
            "detectionScriptContent": format!("ZGV0ZWN0{i}"), "remediationScriptContent": "cmVtZWRpYXRl",
            "assignments": [group("33333333-3333-3333-3333-333333333333")]})).await;
    }
    let c = contract("deviceHealthScripts");
    let before = h.stats("lists").await["requests"].as_u64().unwrap();
    let listed = graph.list(c).await.unwrap();
    assert_eq!(listed.len(), 35);
    for o in &listed {
        assert!(
            o["detectionScriptContent"]
                .as_str()
                .unwrap()
                .starts_with("ZGV0ZWN0")
        );
        assert_eq!(o["assignments"].as_array().unwrap().len(), 1);
    }
    // 4 pages + 35 per-item GETs (counted one by one, sent in 2 batches).
    let after = h.stats("lists").await["requests"].as_u64().unwrap();
    assert_eq!(after - before, 4 + 35);
    assert!(h.shared.metrics().requests <= 4 + 2 + 1);
    let export = h.admin_get("tenants/lists/export").await;
    assert_eq!(
        by_name(c, &listed),
        by_name(
            c,
            export["deviceManagement/deviceHealthScripts"]
                .as_array()
                .unwrap()
        )
    );
}

/// Capture every type from one tenant, create and assign it in an empty one, and read it
/// back equal; then update every type (each update method) and read it back equal again.
#[tokio::test]
async fn every_type_round_trips_through_create_assign_and_update() {
    let h = Harness::start(no_throttle()).await;
    let source = h.tenant("source").await;
    let target = h.tenant("target").await;
    for (key, object) in one_of_each() {
        h.seed("source", contract(key).collection, object).await;
    }
    // A contained type is created below a parent of the target's own.
    for (key, object) in one_of_each() {
        if registry::all().iter().any(|c| {
            c.contained()
                .is_some_and(|(p, _)| p == contract(key).collection)
        }) {
            h.seed("target", contract(key).collection, object).await;
        }
    }
    for c in registry::all() {
        // A new tenant's own objects (the built-in scope tag, the service defaults) aside.
        let captured: Vec<Value> = source
            .list(c)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| {
                let id = o["id"].as_str().unwrap_or_default();
                !c.comes_with_every_tenant(id) || c.shape == Shape::Singleton
            })
            .collect();
        assert_eq!(captured.len(), 1, "{}", c.key);
        let item = normalize(c, &captured[0]);
        if c.read_only.is_some() {
            // Captured for the record; restores never write it.
            continue;
        }
        assert!(item.masked_secrets.is_empty());
        let parent = match c.contained() {
            Some((parent, _)) => {
                let pc = registry::all()
                    .iter()
                    .find(|p| p.collection == parent)
                    .unwrap();
                let parents = target.list(pc).await.unwrap();
                Some(parents[0]["id"].as_str().unwrap().to_string())
            }
            None => None,
        };
        let created = target
            .create(c, parent.as_deref(), &item.payload)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
        let id = created["id"].as_str().unwrap().to_string();
        target
            .assign(c, &id, &item.assignments)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
        let back = normalize(c, &target.get(c, &id).await.unwrap());
        assert_eq!(back.payload, item.payload, "{}", c.key);
        assert_eq!(back.assignments, item.assignments, "{}", c.key);
        assert_eq!(back.content_hash, item.content_hash, "{}", c.key);
        // A relationship by reference (a role assignment's role) is read back and written.
        for sub in c.sub_resources.iter().filter(|s| s.bind.is_some()) {
            assert!(
                back.payload[sub.name]["id"].is_string(),
                "{}: {}",
                c.key,
                sub.name
            );
        }

        // Update: every type changes its description; types with sub-resources change those.
        let mut desired = item.payload.clone();
        desired["description"] = json!("changed by restore");
        match c.key {
            "configurationPolicies" => {
                desired["settings"][3]["settingInstance"]["choiceSettingValue"]["value"] =
                    json!("changed_0");
                desired["name"] = json!("Catalog baseline v2");
            }
            "deviceCompliancePolicies" => {
                desired["scheduledActionsForRule"][0]["scheduledActionConfigurations"][0]["gracePeriodHours"] =
                    json!(48);
            }
            "groupPolicyConfigurations" => {
                let dvs = desired["definitionValues"].as_array_mut().unwrap();
                dvs.retain(|dv| dv["definition"]["id"] != "aaaaaaaa-0000-4000-8000-000000000001");
                dvs[0]["presentationValues"][0]["value"] = json!("ext-2");
                dvs.push(json!({"enabled": false, "configurationType": "policy",
                    "definition": {"id": "aaaaaaaa-0000-4000-8000-000000000003"}, "presentationValues": []}));
            }
            "intents" => {
                desired["settings"][1]["valueJson"] = json!("9");
            }
            _ => {}
        }
        let desired = normalize::strip(c, &desired);
        target
            .update(c, &id, &desired)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
        let back = normalize(c, &target.get(c, &id).await.unwrap());
        assert_eq!(back.payload, desired, "{} ({})", c.key, c.update.name());
        // Re-assigning the same assignments is harmless.
        target.assign(c, &id, &item.assignments).await.unwrap();
        let back = normalize(c, &target.get(c, &id).await.unwrap());
        assert_eq!(back.assignments, item.assignments, "{}", c.key);
    }
    let journal = h.journal("target").await;
    assert!(
        journal.iter().all(|e| e["status"].as_u64().unwrap() < 300),
        "{journal:?}"
    );
    let methods: Vec<String> = journal
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "PUT /beta/deviceManagement/configurationPolicies/",
        "/updateDefinitionValues",
        "/createInstance",
        "/updateSettings",
        "/scheduleActionsForRules",
        "POST /beta/deviceManagement/windowsAutopilotDeploymentProfiles/",
        "PATCH /beta/deviceManagement/deviceConfigurations/",
    ] {
        assert!(
            methods.iter().any(|m| m.contains(expected)),
            "no {expected} in {methods:?}"
        );
    }
    // Nothing was ever written to the source.
    assert!(h.journal("source").await.is_empty());
}

/// The demo tenant (every type, ~150 objects) reads back equal to what graph-sim holds.
#[tokio::test]
async fn the_demo_tenant_is_captured_whole() {
    let h = Harness::start(SimConfig {
        demo: true,
        throttle: false,
        ..SimConfig::default()
    })
    .await;
    let graph = h.demo("contoso").read_only();
    let creds = graph_sim::demo::credentials("contoso");
    let export = h.admin_get(&format!("tenants/{}/export", creds.id)).await;
    let requests_before = h.stats(&creds.id).await["requests"].as_u64().unwrap();
    let mut total = 0;
    for c in registry::all() {
        let listed = graph
            .list(c)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
        let Some(held) = crate::helpers::held_by_sim(&export, c) else {
            // A singleton: the demo tenant has set it up.
            assert_eq!(listed.len(), 1, "{}", c.key);
            assert!(listed[0]["id"].as_str().is_some(), "{}", c.key);
            total += 1;
            continue;
        };
        assert_eq!(listed.len(), held.len(), "{}", c.key);
        let ids = |v: &[Value]| {
            let mut ids: Vec<String> = v.iter().map(|o| o["id"].to_string()).collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&listed), ids(&held), "{}", c.key);
        let mut ours: Vec<String> = listed
            .iter()
            .map(|o| normalize(c, o).content_hash)
            .collect();
        let mut theirs: Vec<String> = held.iter().map(|o| normalize(c, o).content_hash).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{}", c.key);
        assert!(!listed.is_empty(), "the demo has no {}", c.key);
        total += listed.len();
    }
    assert!(total >= 100, "{total}");
    let requests = h.stats(&creds.id).await["requests"].as_u64().unwrap() - requests_before;
    // Graph requests per captured object (every `$batch` sub-request counted, as Graph's
    // quota does): 0.793 before the last nine types came, 0.782 with them.
    assert!(
        requests * 1000 <= total as u64 * 793,
        "{requests} requests for {total} objects"
    );
    assert!(h.journal(&creds.id).await.is_empty());
}

/// Objects of another derived type that share a name are not matches.
#[tokio::test]
async fn matches_can_be_narrowed_to_the_derived_type() {
    let h = Harness::start(no_throttle()).await;
    let graph = h.tenant("types").await;
    let c = contract("deviceConfigurations");
    for ty in [
        "windows10GeneralConfiguration",
        "iosGeneralDeviceConfiguration",
    ] {
        h.seed(
            "types",
            c.collection,
            json!({"@odata.type": format!("#microsoft.graph.{ty}"), "displayName": "Shared"}),
        )
        .await;
    }
    assert_eq!(graph.find_by_match_key(c, "Shared").await.unwrap().len(), 2);
    let one = graph
        .find_matches(
            c,
            "Shared",
            Some("#microsoft.graph.iosGeneralDeviceConfiguration"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert!(
        graph
            .find_by_match_key(c, "Missing")
            .await
            .unwrap()
            .is_empty()
    );
}

/// The content hashes of every type's objects, sorted, by type.
fn hashes_of(
    lists: Vec<(&'static str, Vec<normalize::Normalized>)>,
) -> BTreeMap<&'static str, Vec<String>> {
    lists
        .into_iter()
        .map(|(key, objects)| {
            let mut hashes: Vec<String> = objects.into_iter().map(|n| n.content_hash).collect();
            hashes.sort();
            (key, hashes)
        })
        .collect()
}

/// A capture's first pages travel together: every collection's first page and every
/// singleton in a few `$batch`es, the same Graph requests (each sub-request is charged) in
/// fewer round trips, and the same objects as one list call per type.
#[tokio::test]
async fn every_types_first_page_travels_in_a_few_batches() {
    let h = Harness::start(SimConfig {
        demo: true,
        throttle: false,
        ..SimConfig::default()
    })
    .await;
    let graph = h.demo("contoso").read_only();
    let id = graph_sim::demo::credentials("contoso").id;
    let contracts: Vec<&'static Contract> = registry::all().iter().collect();
    let prefetched = contracts
        .iter()
        .filter(|c| !matches!(c.shape, Shape::Contained { .. }))
        .count() as u64;
    let counts = |v: Value| {
        (
            v["requests"].as_u64().unwrap(),
            v["round_trips"].as_u64().unwrap(),
        )
    };

    let start = counts(h.stats(&id).await);
    let mut one_by_one = Vec::new();
    for c in &contracts {
        one_by_one.push((c.key, graph.list_normalized(c).await.unwrap()));
    }
    let plain = counts(h.stats(&id).await);
    let mut firsts = graph.first_pages(&contracts).await;
    assert_eq!(firsts.len() as u64, prefetched);
    let batched = counts(h.stats(&id).await);
    let mut together = Vec::new();
    for c in &contracts {
        together.push((c.key, graph.list_prefetched(c, &mut firsts).await.unwrap()));
    }
    assert!(firsts.is_empty());
    let end = counts(h.stats(&id).await);

    assert_eq!(hashes_of(together), hashes_of(one_by_one));
    // The first pages: one Graph request per type, in one `$batch` per 20 and API version.
    assert_eq!(batched.0 - plain.0, prefetched);
    assert!(
        batched.1 - plain.1 <= prefetched.div_ceil(20) + 1,
        "{} round trips for {prefetched} first pages",
        batched.1 - plain.1
    );
    // The same Graph requests in all; the first pages' round trips saved.
    assert_eq!(end.0 - plain.0, plain.0 - start.0);
    assert!(
        (end.1 - plain.1) + prefetched - (prefetched.div_ceil(20) + 1) <= plain.1 - start.1,
        "{} round trips batched, {} one by one",
        end.1 - plain.1,
        plain.1 - start.1
    );
}

/// Graph throttles sub-requests one by one: a 429 inside a `$batch` is retried after its
/// `Retry-After`, and every type still comes back whole.
#[tokio::test]
async fn throttled_sub_requests_of_a_batch_are_retried() {
    let h = Harness::start(SimConfig {
        demo: true,
        quotas: graph_sim::Quotas {
            requests_per_window: 30,
            writes_per_window: 5,
            tenant_requests_per_window: 30,
            tenant_writes_per_window: 5,
            window: Duration::from_secs(1),
        },
        ..SimConfig::default()
    })
    .await;
    let graph = h.demo("contoso").read_only();
    let id = graph_sim::demo::credentials("contoso").id;
    let export = h.admin_get(&format!("tenants/{id}/export")).await;
    let contracts: Vec<&'static Contract> = registry::all().iter().collect();
    let mut firsts = graph.first_pages(&contracts).await;
    for c in &contracts {
        let listed = graph
            .list_prefetched(c, &mut firsts)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
        if let Some(held) = crate::helpers::held_by_sim(&export, c) {
            assert_eq!(listed.len(), held.len(), "{}", c.key);
        }
    }
    let stats = h.stats(&id).await;
    assert!(stats["throttled"].as_u64().unwrap() >= 1, "{stats}");
}

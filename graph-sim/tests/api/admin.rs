use graph_sim::SimConfig;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn demo_tenants_are_listed_with_stable_simulator_credentials() {
    let a = spawn_demo().await;
    let b = spawn_demo().await;
    let ta = a.tenants().await;
    let tb = b.tenants().await;
    assert_eq!(ta.len(), 3);
    assert_eq!(ta, tb, "deterministic across starts");
    let names: Vec<&str> = ta.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["contoso", "fabrikam", "northwind"]);
    for t in &ta {
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4);
        assert!(
            t["client_secret"]
                .as_str()
                .unwrap()
                .starts_with(&format!("sim-{}-", t["name"].as_str().unwrap()))
        );
    }
    // Same object ids too.
    let (_, tok_a) = a.demo_token("contoso").await;
    let (_, tok_b) = b.demo_token("contoso").await;
    let la = a
        .get(&tok_a, "/beta/deviceManagement/deviceConfigurations")
        .await;
    let lb = b
        .get(&tok_b, "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_eq!(la.body["value"][0]["id"], lb.body["value"][0]["id"]);
}

#[tokio::test]
async fn estate_tenants_are_generated_each_from_its_own_seed() {
    let sim = spawn_with(SimConfig {
        estate: 3,
        ..SimConfig::default()
    })
    .await;
    let tenants = sim.tenants().await;
    let names: Vec<&str> = tenants
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["estate-0001", "estate-0002", "estate-0003"]);
    let mut first_ids = Vec::new();
    for name in names {
        let (_, token) = sim.demo_token(name).await;
        let list = sim
            .get(&token, "/beta/deviceManagement/deviceConfigurations")
            .await;
        let objects = list.body["value"].as_array().unwrap();
        assert!(objects.len() > 5, "{name}: {}", list.body);
        first_ids.push(objects[0]["id"].clone());
    }
    first_ids.dedup();
    assert_eq!(first_ids.len(), 3, "distinct ids per tenant");
}

#[tokio::test]
async fn demo_export_covers_every_collection_with_sub_resources_inline() {
    let s = spawn_demo().await;
    let t = s.tenant("contoso").await;
    let r = s
        .admin(
            Method::GET,
            &format!("/_sim/tenants/{}/export", t["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let export = r.body.as_object().unwrap();
    let mut total = 0;
    for c in POLICY_COLLECTIONS {
        let items = export[*c].as_array().unwrap_or_else(|| panic!("{c}"));
        assert!(!items.is_empty(), "{c}");
        total += items.len();
    }
    assert!((140..=170).contains(&total), "{total}");
    let policies = export["deviceManagement/configurationPolicies"]
        .as_array()
        .unwrap();
    assert!(
        policies
            .iter()
            .any(|p| p["settings"].as_array().unwrap().len() == 60)
    );
    assert!(
        policies
            .iter()
            .filter(|p| p["settings"].as_array().unwrap().len() > 25)
            .count()
            >= 3
    );
    let gp = &export["deviceManagement/groupPolicyConfigurations"][0];
    assert!(gp["definitionValues"][0]["definition"]["id"].is_string());
    let comp = &export["deviceManagement/deviceCompliancePolicies"][0];
    assert!(comp["scheduledActionsForRule"][0]["scheduledActionConfigurations"].is_array());
    let scripts = export["deviceManagement/deviceManagementScripts"]
        .as_array()
        .unwrap();
    assert!(scripts.iter().all(|s| s["scriptContent"].is_string()));
    let tags = export["deviceManagement/roleScopeTags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t["id"] == "0"));
    assert!(
        export
            .values()
            .flat_map(|v| v.as_array().unwrap())
            .any(|o| !o["assignments"]
                .as_array()
                .map(Vec::is_empty)
                .unwrap_or(true))
    );
}

#[tokio::test]
async fn put_tenant_gives_a_new_tenant_with_its_baseline_and_objects_can_be_seeded() {
    let s = spawn_demo().await;
    let r = s
        .admin(
            Method::PUT,
            "/_sim/tenants/target-1",
            Some(json!({"name": "target", "client_id": "cid", "client_secret": "sec"})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.body,
        json!({"id": "target-1", "name": "target", "client_id": "cid", "client_secret": "sec"})
    );
    let export = s
        .admin(Method::GET, "/_sim/tenants/target-1/export", None)
        .await;
    // What every new Intune tenant has, and nothing else: the built-in scope tag, the four
    // service-default enrollment configurations (priority 0) and the built-in roles.
    let count = |c: &str| export.body[c].as_array().map_or(0, Vec::len);
    assert_eq!(count("deviceManagement/roleScopeTags"), 1);
    assert_eq!(export.body["deviceManagement/roleScopeTags"][0]["id"], "0");
    assert_eq!(count("deviceManagement/deviceEnrollmentConfigurations"), 4);
    assert!(
        export.body["deviceManagement/deviceEnrollmentConfigurations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["priority"] == 0 && e["id"].as_str().unwrap().contains("_Default"))
    );
    assert_eq!(count("deviceManagement/roleDefinitions"), 7);
    let others: usize = export
        .body
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "deviceManagement/roleScopeTags"
                    | "deviceManagement/deviceEnrollmentConfigurations"
                    | "deviceManagement/roleDefinitions"
            )
        })
        .map(|(_, v)| v.as_array().unwrap().len())
        .sum();
    assert_eq!(others, 0);
    assert!(s.tenants().await.iter().any(|t| t["id"] == "target-1"));

    let seeded = s
        .admin(Method::POST, "/_sim/tenants/target-1/objects", Some(json!({
            "collection": "deviceManagement/configurationPolicies",
            "object": {"@odata.context": "https://graph.microsoft.com/beta/$metadata#x", "name": "Seeded", "platforms": "windows10", "technologies": "mdm",
                "settings@odata.context": "x",
                "settings": [{"settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance", "settingDefinitionId": "a"}}],
                "assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g"}}]}
        })))
        .await;
    assert_eq!(seeded.status, 201, "{}", seeded.body);
    let id = seeded.body["id"].as_str().unwrap();
    assert!(seeded.body["settings"].is_array() && seeded.body["assignments"].is_array());
    assert!(seeded.body.get("@odata.context").is_none());
    let tok = s.token(&r.body).await;
    let got = s
        .get(
            &tok,
            &format!(
                "/beta/deviceManagement/configurationPolicies/{id}?$expand=settings,assignments"
            ),
        )
        .await;
    assert_eq!(got.body["settings"][0]["id"], "0");
    assert_eq!(got.body["assignments"][0]["id"], format!("{id}_g"));

    let bad = s
        .admin(
            Method::POST,
            "/_sim/tenants/target-1/objects",
            Some(json!({"collection": "deviceManagement/nope", "object": {}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let bad = s
        .admin(
            Method::POST,
            "/_sim/tenants/target-1/objects",
            Some(json!({"collection": "deviceManagement/roleScopeTags", "object": 5})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let missing = s
        .admin(
            Method::POST,
            "/_sim/tenants/ghost/objects",
            Some(json!({"collection": "deviceManagement/roleScopeTags", "object": {}})),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["error"]["message"].is_string());
    for path in [
        "/_sim/tenants/ghost/export",
        "/_sim/tenants/ghost/journal",
        "/_sim/tenants/ghost/stats",
    ] {
        assert_eq!(s.admin(Method::GET, path, None).await.status, 404, "{path}");
    }
    // Replacing a tenant empties it.
    let again = s
        .admin(
            Method::PUT,
            "/_sim/tenants/target-1",
            Some(json!({"name": "target", "client_id": "cid", "client_secret": "sec"})),
        )
        .await;
    assert_eq!(again.status, 200);
    let export = s
        .admin(Method::GET, "/_sim/tenants/target-1/export", None)
        .await;
    assert!(
        export.body["deviceManagement/configurationPolicies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn journal_records_writes_only_and_stats_count() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("journal").await;
    let t = s.tenant("journal").await;
    let id = t["id"].as_str().unwrap();
    s.get(&tok, "/beta/deviceManagement/roleScopeTags").await;
    let c = s
        .post(
            &tok,
            "/beta/deviceManagement/roleScopeTags",
            minimal_body("deviceManagement/roleScopeTags", "x"),
        )
        .await;
    let tag = c.body["id"].as_str().unwrap();
    s.patch(
        &tok,
        &format!("/beta/deviceManagement/roleScopeTags/{tag}"),
        json!({"description": "y"}),
    )
    .await;
    s.post(
        &tok,
        &format!("/beta/deviceManagement/roleScopeTags/{tag}/assign"),
        json!({"assignments": []}),
    )
    .await;
    s.send(
        Method::DELETE,
        Some(&tok),
        &format!("/beta/deviceManagement/roleScopeTags/{tag}"),
        None,
    )
    .await;
    let j = s.journal(id).await;
    let got: Vec<(String, String, u64)> = j
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().into(),
                e["path"].as_str().unwrap().into(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "POST".into(),
                "/beta/deviceManagement/roleScopeTags".into(),
                201
            ),
            (
                "PATCH".into(),
                format!("/beta/deviceManagement/roleScopeTags/{tag}"),
                204
            ),
            (
                "POST".into(),
                format!("/beta/deviceManagement/roleScopeTags/{tag}/assign"),
                200
            ),
            (
                "DELETE".into(),
                format!("/beta/deviceManagement/roleScopeTags/{tag}"),
                204
            ),
        ]
    );
    assert!(chrono_like(j[0]["at"].as_str().unwrap()));
    let stats = s.stats(id).await;
    assert_eq!(
        stats,
        json!({"requests": 5, "round_trips": 5, "writes": 4, "throttled": 0})
    );
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.contains('T') && s.ends_with('Z')
}

#[tokio::test]
async fn reset_restores_start_up_state() {
    let s = spawn_with(SimConfig {
        demo: true,
        ..SimConfig::default()
    })
    .await;
    let (t, tok) = s.demo_token("contoso").await;
    let id = t["id"].as_str().unwrap();
    let before = s
        .get(&tok, "/beta/deviceManagement/roleScopeTags")
        .await
        .body["value"]
        .as_array()
        .unwrap()
        .len();
    s.post(
        &tok,
        "/beta/deviceManagement/roleScopeTags",
        minimal_body("deviceManagement/roleScopeTags", "extra"),
    )
    .await;
    s.admin(
        Method::PUT,
        "/_sim/tenants/temp",
        Some(json!({"name": "temp"})),
    )
    .await;
    s.fault(id, json!({"kind": "latency", "fixed_ms": 1})).await;
    let r = s.admin(Method::POST, "/_sim/reset", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(s.tenants().await.len(), 3);
    assert!(s.journal(id).await.is_empty());
    assert_eq!(
        s.stats(id).await,
        json!({"requests": 0, "round_trips": 0, "writes": 0, "throttled": 0})
    );
    let faults = s
        .admin(Method::GET, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    assert_eq!(faults.body, json!([]));
    // The old token still works: same tenant, same app.
    let after = s
        .get(&tok, "/beta/deviceManagement/roleScopeTags")
        .await
        .body["value"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    assert_eq!(
        s.admin(Method::GET, "/_sim/nothing-here", None)
            .await
            .status,
        404
    );
}

//! The Graph layer against graph-sim (embedded on port 0): tokens, paging, every create /
//! update / assign method, retries, fleet-wide pauses, read-only previews and ambiguous
//! writes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use graph_sim::{RunningSim, SimConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::client::{GraphClient, GraphOptions, GraphShared};
use super::limiter::{Limiter, LimiterOptions, Quota};
use super::normalize::{self, normalize};
use super::registry::{self, Contract};
use super::retry::RetryPolicy;
use super::token::TokenCache;

const SECRET: &str = "sim-secret-do-not-leak-7d1e";

struct Harness {
    /// Kept alive for the test's duration: dropping it stops the simulator.
    _sim: RunningSim,
    base: String,
    admin: reqwest::Client,
    shared: GraphShared,
}

fn fast_options() -> GraphOptions {
    GraphOptions {
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(3),
            max_elapsed: Duration::from_secs(20),
        },
        batch_size: 20,
        default_quota: Quota::DOCUMENTED,
    }
}

impl Harness {
    async fn start(config: SimConfig) -> Self {
        Self::start_with(
            config,
            fast_options(),
            Limiter::local(LimiterOptions::default()),
        )
        .await
    }

    async fn start_with(config: SimConfig, options: GraphOptions, limiter: Limiter) -> Self {
        let sim = graph_sim::spawn(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("graph-sim starts");
        let base = sim.base_url();
        let http = crate::http::client(options.request_timeout).unwrap();
        let shared = GraphShared::new(http.clone(), TokenCache::new(), limiter, options);
        Self {
            _sim: sim,
            base,
            admin: http,
            shared,
        }
    }

    fn model(&self, sim_tenant: &str, client_id: &str) -> entity::tenants::Model {
        let now = chrono::Utc::now();
        entity::tenants::Model {
            id: uuid::Uuid::new_v4(),
            name: sim_tenant.to_string(),
            entra_tenant_id: sim_tenant.to_string(),
            graph_base_url: self.base.clone(),
            login_base_url: self.base.clone(),
            client_id: client_id.to_string(),
            client_secret_enc: "unused".into(),
            read_quota: None,
            write_quota: None,
            quota_window_secs: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A new empty tenant in graph-sim and its client.
    async fn tenant(&self, name: &str) -> GraphClient {
        let client_id = uuid::Uuid::new_v4().to_string();
        let r = self
            .admin
            .put(format!("{}/_sim/tenants/{name}", self.base))
            .json(&json!({"name": name, "client_id": client_id, "client_secret": SECRET}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        GraphClient::new(
            &self.model(name, &client_id),
            SecretString::from(SECRET),
            &self.shared,
        )
    }

    /// The client of a demo tenant.
    fn demo(&self, name: &str) -> GraphClient {
        let creds = graph_sim::demo::credentials(name);
        GraphClient::new(
            &self.model(&creds.id, &creds.client_id),
            SecretString::from(creds.client_secret),
            &self.shared,
        )
    }

    async fn seed(&self, tenant: &str, collection: &str, object: Value) -> Value {
        let r = self
            .admin
            .post(format!("{}/_sim/tenants/{tenant}/objects", self.base))
            .json(&json!({"collection": collection, "object": object}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");
        body
    }

    async fn admin_get(&self, path: &str) -> Value {
        self.admin
            .get(format!("{}/_sim/{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn journal(&self, tenant: &str) -> Vec<Value> {
        self.admin_get(&format!("tenants/{tenant}/journal"))
            .await
            .as_array()
            .cloned()
            .unwrap()
    }

    async fn stats(&self, tenant: &str) -> Value {
        self.admin_get(&format!("tenants/{tenant}/stats")).await
    }

    async fn fault(&self, tenant: &str, spec: Value) {
        let r = self
            .admin
            .post(format!("{}/_sim/tenants/{tenant}/faults", self.base))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    async fn clear_faults(&self, tenant: &str) {
        self.admin
            .delete(format!("{}/_sim/tenants/{tenant}/faults", self.base))
            .send()
            .await
            .unwrap();
    }
}

fn no_throttle() -> SimConfig {
    SimConfig {
        throttle: false,
        ..SimConfig::default()
    }
}

fn catalog_policy(name: &str, settings: usize) -> Value {
    let settings: Vec<Value> = (0..settings)
        .map(|i| {
            json!({"settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                "settingDefinitionId": format!("device_vendor_msft_policy_config_setting_{i:03}"),
                "choiceSettingValue": {"value": format!("device_vendor_msft_policy_config_setting_{i:03}_1"), "children": []}
            }})
        })
        .collect();
    json!({
        "name": name,
        "description": "test policy",
        "platforms": "windows10",
        "technologies": "mdm",
        "roleScopeTagIds": ["0"],
        "settings": settings,
        "assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "11111111-1111-1111-1111-111111111111"}}]
    })
}

fn group(id: &str) -> Value {
    json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": id}})
}

/// One object of every supported type, as fixtures hold them.
fn one_of_each() -> Vec<(&'static str, Value)> {
    let template = graph_sim::demo::templates()[0]["id"].clone();
    let g = group("22222222-2222-2222-2222-222222222222");
    vec![
        (
            "roleScopeTags",
            json!({"displayName": "Helpdesk EU", "description": "tag", "assignments": [g]}),
        ),
        (
            "assignmentFilters",
            json!({"displayName": "Corporate Windows", "description": "f", "platform": "windows10AndLater",
            "rule": "(device.deviceOwnership -eq \"Corporate\")", "assignmentFilterManagementType": "devices"}),
        ),
        (
            "configurationPolicies",
            catalog_policy("Catalog baseline", 30),
        ),
        (
            "deviceConfigurations",
            json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Win10 general",
            "description": "d", "passwordRequired": true, "passwordMinimumLength": 12, "assignments": [g]}),
        ),
        (
            "deviceCompliancePolicies",
            json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Win compliance",
            "description": "d", "passwordRequired": true,
            "scheduledActionsForRule": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
                {"actionType": "block", "gracePeriodHours": 12, "notificationTemplateId": "", "notificationMessageCCList": []}]}],
            "assignments": [g]}),
        ),
        (
            "groupPolicyConfigurations",
            json!({"displayName": "Edge ADMX", "description": "d", "definitionValues": [
            {"enabled": true, "definition": {"id": "aaaaaaaa-0000-4000-8000-000000000001", "displayName": "Run in background", "classType": "machine"},
             "presentationValues": []},
            {"enabled": true, "definition": {"id": "aaaaaaaa-0000-4000-8000-000000000002", "displayName": "Force-installed extensions", "classType": "machine"},
             "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "ext-1",
                "presentation": {"id": "bbbbbbbb-0000-4000-8000-000000000002", "label": "Extension IDs"}}]}],
            "assignments": [g]}),
        ),
        (
            "deviceManagementScripts",
            json!({"displayName": "Set wallpaper", "description": "d", "scriptContent": "V3JpdGUtSG9zdCAnaGkn",
            "runAsAccount": "system", "enforceSignatureCheck": false, "fileName": "wallpaper.ps1", "runAs32Bit": false, "assignments": [g]}),
        ),
        (
            "deviceShellScripts",
            json!({"displayName": "Mac setup", "description": "d", "scriptContent": "ZWNobyBoaQ==",
            "runAsAccount": "user", "fileName": "setup.sh", "assignments": [g]}),
        ),
        (
            "deviceHealthScripts",
            json!({"displayName": "Fix spooler", "description": "d", "publisher": "IT",
            "detectionScriptContent": "ZGV0ZWN0", "remediationScriptContent": "cmVtZWRpYXRl", "runAsAccount": "system", "assignments": [g]}),
        ),
        (
            "windowsAutopilotDeploymentProfiles",
            json!({"@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
            "displayName": "Autopilot standard", "description": "d", "language": "os-default", "deviceNameTemplate": "PV-%RAND:5%", "assignments": [g]}),
        ),
        (
            "windowsFeatureUpdateProfiles",
            json!({"displayName": "Win11 23H2", "description": "d", "featureUpdateVersion": "Windows 11, version 23H2", "assignments": [g]}),
        ),
        (
            "windowsQualityUpdateProfiles",
            json!({"displayName": "Expedite Jan", "description": "d",
            "expeditedUpdateSettings": {"qualityUpdateRelease": "2024-01-09T00:00:00Z", "daysUntilForcedReboot": 1}, "assignments": [g]}),
        ),
        (
            "windowsDriverUpdateProfiles",
            json!({"displayName": "Drivers manual", "description": "d", "approvalType": "manual", "assignments": [g]}),
        ),
        (
            "deviceEnrollmentConfigurations",
            json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
            "displayName": "Limit 5", "description": "d", "limit": 5, "assignments": [g]}),
        ),
        (
            "intents",
            json!({"displayName": "Baseline intent", "description": "d", "templateId": template, "settings": [
            {"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance", "definitionId": "deviceConfiguration--a", "valueJson": "true"},
            {"@odata.type": "#microsoft.graph.deviceManagementIntegerSettingInstance", "definitionId": "deviceConfiguration--b", "valueJson": "7"}],
            "assignments": [g]}),
        ),
        (
            "mobileAppConfigurations",
            json!({"@odata.type": "#microsoft.graph.iosMobileAppConfiguration", "displayName": "Outlook iOS config",
            "description": "d", "targetedMobileApps": [], "settings": [{"appConfigKey": "k", "appConfigKeyType": "stringType", "appConfigKeyValue": "v"}],
            "assignments": [g]}),
        ),
        (
            "managedAppPolicies",
            json!({"@odata.type": "#microsoft.graph.iosManagedAppProtection", "displayName": "iOS protection",
            "description": "d", "pinRequired": true,
            "apps": [{"mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.microsoft.office.outlook"}}],
            "assignments": [g]}),
        ),
    ]
}

fn contract(key: &str) -> &'static Contract {
    registry::get(key).unwrap()
}

/// Content hashes (payload and assignments) by display name.
fn by_name(contract: &Contract, objects: &[Value]) -> BTreeMap<String, (String, String)> {
    objects
        .iter()
        .map(|o| {
            let n = normalize(contract, o);
            let assignments = normalize::content_hash(&n.assignments);
            (n.display_name.clone(), (n.content_hash, assignments))
        })
        .collect()
}

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
        &h.model("tokens", &graph_sim_client_id(&h, "tokens").await),
        SecretString::from(SECRET),
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
    for c in registry::all() {
        let captured = source.list(c).await.unwrap();
        assert_eq!(captured.len(), 1, "{}", c.key);
        let item = normalize(c, &captured[0]);
        assert!(item.masked_secrets.is_empty());
        let created = target
            .create(c, &item.payload)
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
    let mut total = 0;
    for c in registry::all() {
        let listed = graph
            .list(c)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
        let held = export[c.collection].as_array().cloned().unwrap_or_default();
        assert_eq!(listed.len(), held.len(), "{}", c.key);
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
    assert!(h.journal(&creds.id).await.is_empty());
}

#[tokio::test]
async fn outages_and_error_rates_are_retried_and_the_read_only_view_never_writes() {
    let h = Harness::start(no_throttle()).await;
    let graph = h.tenant("flaky").await;
    for i in 0..30 {
        h.seed(
            "flaky",
            "deviceManagement/configurationPolicies",
            catalog_policy(&format!("F{i:02}"), 3),
        )
        .await;
    }
    let preview = graph.read_only();
    let c = contract("configurationPolicies");
    // Two 503s with Retry-After: 1 s, then service.
    h.fault(
        "flaky",
        json!({"kind": "outage", "count": 2, "retry_after_secs": 1}),
    )
    .await;
    let start = Instant::now();
    assert_eq!(preview.list(c).await.unwrap().len(), 30);
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    // 20 % of everything fails with 500/502/503/504, without Retry-After.
    for status in [500, 502, 503, 504] {
        h.fault(
            "flaky",
            json!({"kind": "error_rate", "rate": 0.05, "status": status, "omit_retry_after": true}),
        )
        .await;
    }
    for c in registry::all() {
        preview
            .list(c)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.key));
    }
    let found = preview.find_by_match_key(c, "F07").await.unwrap();
    assert_eq!(found.len(), 1);
    preview
        .get(c, found[0]["id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(h.shared.metrics().retries >= 2);
    assert!(h.journal("flaky").await.is_empty());
}

#[tokio::test]
async fn an_outage_past_the_retry_budget_fails_with_a_safe_error_in_bounded_time() {
    let mut options = fast_options();
    options.retry.max_elapsed = Duration::from_secs(1);
    let h = Harness::start_with(
        no_throttle(),
        options,
        Limiter::local(LimiterOptions::default()),
    )
    .await;
    let graph = h.tenant("down").await;
    h.fault("down", json!({"kind": "outage", "omit_retry_after": true}))
        .await;
    let start = Instant::now();
    let err = graph
        .list(contract("deviceConfigurations"))
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(err.code(), "graph_unavailable");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.graph_code(), Some("ServiceUnavailable"));
    let text = format!("{err} {err:?}");
    assert!(text.contains("deviceConfigurations"), "{text}");
    assert!(
        !text.contains(SECRET) && !text.contains("Bearer") && !text.contains("eyJ"),
        "{text}"
    );

    // Token endpoint failures: permanent ones fail at once, with no secret in the message.
    h.clear_faults("down").await;
    let other = h.tenant("notoken").await;
    h.fault("notoken", json!({"kind": "token_failure", "status": 401}))
        .await;
    let err = other
        .list(contract("deviceConfigurations"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_failed");
    assert_eq!(err.graph_code(), Some("invalid_client"));
    assert!(!format!("{err} {err:?}").contains(SECRET));
    // Transient ones are retried.
    h.clear_faults("notoken").await;
    h.fault(
        "notoken",
        json!({"kind": "token_failure", "status": 503, "count": 1}),
    )
    .await;
    other.list(contract("deviceConfigurations")).await.unwrap();
}

/// Graph's own throttle (429 + Retry-After) is honoured and pauses the tenant.
#[tokio::test]
async fn throttled_requests_are_retried_after_the_pause_graph_asks_for() {
    let config = SimConfig {
        quotas: graph_sim::Quotas {
            requests_per_window: 8,
            writes_per_window: 4,
            tenant_requests_per_window: 8,
            tenant_writes_per_window: 4,
            window: Duration::from_secs(1),
        },
        ..SimConfig::default()
    };
    // Our limiter believes the documented quota, so only Graph holds us back.
    let h = Harness::start(config).await;
    let graph = h.tenant("busy").await;
    let c = contract("deviceConfigurations");
    for i in 0..3 {
        h.seed("busy", c.collection, json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": format!("D{i}")})).await;
    }
    for _ in 0..4 {
        assert_eq!(graph.list(c).await.unwrap().len(), 3);
    }
    for _ in 0..6 {
        graph.list(c).await.unwrap();
    }
    let stats = h.stats("busy").await;
    assert!(stats["throttled"].as_u64().unwrap() >= 1, "{stats}");
    assert!(h.shared.metrics().throttled >= 1);
}

/// With the limiter told the tenant's real quota, steady state sees no 429.
#[tokio::test]
async fn the_limiter_keeps_steady_state_clear_of_429() {
    let config = SimConfig {
        quotas: graph_sim::Quotas {
            requests_per_window: 20,
            writes_per_window: 5,
            tenant_requests_per_window: 20,
            tenant_writes_per_window: 5,
            window: Duration::from_secs(1),
        },
        ..SimConfig::default()
    };
    let mut options = fast_options();
    options.default_quota = Quota {
        reads: 20,
        writes: 5,
        window: Duration::from_secs(1),
    };
    let h = Harness::start_with(config, options, Limiter::local(LimiterOptions::default())).await;
    let graph = h.tenant("steady").await;
    let c = contract("deviceConfigurations");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let g = graph.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..4 {
                let body = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": format!("S{t}-{i}")});
                g.create(c, &body).await.unwrap();
                g.list(c).await.unwrap();
                g.list(c).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // 16 writes at 4 per second (90 % of 5) need over three seconds.
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(h.stats("steady").await["throttled"], 0);
    assert_eq!(h.shared.metrics().throttled, 0);
    assert!(h.shared.metrics().limiter_wait > Duration::ZERO);
}

#[tokio::test]
async fn a_lost_create_response_is_reported_as_ambiguous_and_the_object_is_found() {
    let h = Harness::start(no_throttle()).await;
    let graph = h.tenant("lossy").await;
    let c = contract("deviceConfigurations");
    h.fault(
        "lossy",
        json!({"kind": "drop_after_commit", "methods": ["POST"], "count": 1}),
    )
    .await;
    let body = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "O'Brien policy"});
    let err = graph.create(c, &body).await.unwrap_err();
    assert!(err.is_ambiguous_write(), "{err}");
    assert_eq!(err.code(), "ambiguous_write");
    // The create committed: looking it up (quote escaped) finds exactly one.
    let found = graph.find_by_match_key(c, "o'brien POLICY").await.unwrap();
    assert_eq!(found.len(), 1);
    let creates = h
        .journal("lossy")
        .await
        .iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(creates, 1);
    // An idempotent write whose answer is lost is simply sent again.
    h.fault(
        "lossy",
        json!({"kind": "drop_after_commit", "methods": ["PATCH"], "count": 1}),
    )
    .await;
    let id = found[0]["id"].as_str().unwrap();
    let mut changed = found[0].clone();
    changed["description"] = json!("patched");
    graph.update(c, id, &changed).await.unwrap();
    assert_eq!(graph.get(c, id).await.unwrap()["description"], "patched");
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

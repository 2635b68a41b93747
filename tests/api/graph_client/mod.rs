//! The Graph layer against graph-sim (embedded on port 0), through the crate's public API
//! and with no database or Redis: tokens, paging, every create / update / assign method,
//! retries, fleet-wide pauses, read-only previews and ambiguous writes.
//!
//! - [`round_trips`]: what is read equals what graph-sim holds, and writes read back equal.
//! - [`faults`]: outages, throttling, the limiter and lost answers.

mod faults;
mod round_trips;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use graph_sim::{RunningSim, SimConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

use policyvault::graph::normalize::{self, normalize};
use policyvault::graph::registry::{self, Contract, Shape};
use policyvault::graph::{
    GraphClient, GraphOptions, GraphShared, Limiter, LimiterOptions, Quota, QuotaOverrides,
    RetryPolicy, TenantConnection, TokenCache,
};

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
        let http = policyvault::http::client(options.request_timeout).unwrap();
        let shared = GraphShared::new(http.clone(), TokenCache::new(), limiter, options);
        Self {
            _sim: sim,
            base,
            admin: http,
            shared,
        }
    }

    fn connection(&self, sim_tenant: &str, client_id: &str, secret: &str) -> TenantConnection {
        TenantConnection {
            graph_base_url: self.base.clone(),
            login_base_url: self.base.clone(),
            entra_tenant_id: sim_tenant.to_string(),
            client_id: client_id.to_string(),
            credential: policyvault::graph::ClientCredential::Secret(SecretString::from(secret)),
            quota: QuotaOverrides::default(),
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
        GraphClient::new(&self.connection(name, &client_id, SECRET), &self.shared)
    }

    /// The client of a demo tenant.
    fn demo(&self, name: &str) -> GraphClient {
        let creds = graph_sim::demo::credentials(name);
        GraphClient::new(
            &self.connection(&creds.id, &creds.client_id, &creds.client_secret),
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

/// One object of every supported type, as fixtures hold them: hand-made ones for the types
/// the round-trip tests change in type-specific ways, graph-sim's shared sample for every
/// other registered type (so a new type needs no entry here).
fn one_of_each() -> Vec<(&'static str, Value)> {
    let mut out = hand_made();
    let g = group("22222222-2222-2222-2222-222222222222");
    for c in registry::all() {
        // Every tenant has its singletons; a contained type's sample is inside its parent's.
        if out.iter().any(|(k, _)| *k == c.key) || c.shape != Shape::Collection {
            continue;
        }
        let mut sample = graph_sim::samples::sample(c.collection, c.label)
            .unwrap_or_else(|| panic!("graph-sim has no sample for {}", c.collection));
        sample["description"] = json!("d");
        if c.assignments.is_some() {
            sample["assignments"] = json!([g.clone()]);
        }
        for child in registry::all() {
            if let Some((parent, segment)) = child.contained()
                && parent == c.collection
            {
                let path = format!("{parent}/{segment}");
                let item = graph_sim::samples::sample(&path, child.label)
                    .unwrap_or_else(|| panic!("graph-sim has no sample for {path}"));
                sample[segment] = json!([item]);
            }
        }
        out.push((c.key, sample));
    }
    out
}

fn hand_made() -> Vec<(&'static str, Value)> {
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

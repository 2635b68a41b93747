use std::net::SocketAddr;
use std::time::Duration;

use graph_sim::{RunningSim, SimConfig};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct TestSim {
    pub sim: RunningSim,
    pub base: String,
    pub http: reqwest::Client,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

pub fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn spawn_with(config: SimConfig) -> TestSim {
    let sim = graph_sim::spawn(config, local()).await.expect("sim starts");
    let base = sim.base_url();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    TestSim { sim, base, http }
}

pub async fn spawn_demo() -> TestSim {
    spawn_with(SimConfig {
        demo: true,
        ..SimConfig::default()
    })
    .await
}

impl TestSim {
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send(method, None, path, body).await
    }

    pub async fn tenants(&self) -> Vec<Value> {
        let r = self.admin(Method::GET, "/_sim/tenants", None).await;
        assert_eq!(r.status, 200);
        r.body.as_array().cloned().unwrap()
    }

    /// The demo tenant called `name`.
    pub async fn tenant(&self, name: &str) -> Value {
        self.tenants()
            .await
            .into_iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no tenant {name}"))
    }

    pub async fn token_response(&self, tenant_key: &str, client_id: &str, secret: &str) -> Resp {
        let resp = self
            .http
            .post(format!("{}/{tenant_key}/oauth2/v2.0/token", self.base))
            .form(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap();
        to_resp(resp).await
    }

    pub async fn token(&self, tenant: &Value) -> String {
        let r = self
            .token_response(
                tenant["id"].as_str().unwrap(),
                tenant["client_id"].as_str().unwrap(),
                tenant["client_secret"].as_str().unwrap(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// Token for the demo tenant `name`.
    pub async fn demo_token(&self, name: &str) -> (Value, String) {
        let t = self.tenant(name).await;
        let tok = self.token(&t).await;
        (t, tok)
    }

    /// A fresh empty tenant and a token for it.
    pub async fn empty_tenant(&self, id: &str) -> String {
        let r = self
            .admin(
                Method::PUT,
                &format!("/_sim/tenants/{id}"),
                Some(json!({"name": id, "client_id": format!("{id}-app"), "client_secret": format!("{id}-secret")})),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        self.token(&r.body).await
    }

    pub async fn send(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        to_resp(req.send().await.unwrap()).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Resp {
        self.send(Method::GET, Some(token), path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Resp {
        self.send(Method::POST, Some(token), path, Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, Some(token), path, Some(body))
            .await
    }

    /// Every item of a collection, following nextLinks.
    pub async fn get_all(&self, token: &str, path: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut next = Some(path.to_string());
        while let Some(url) = next {
            let r = self.get(token, &url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.body);
            pages += 1;
            items.extend(r.body["value"].as_array().cloned().unwrap());
            next = r.body["@odata.nextLink"].as_str().map(str::to_string);
            assert!(pages < 1000);
        }
        (items, pages)
    }

    pub async fn journal(&self, tenant_id: &str) -> Vec<Value> {
        let r = self
            .admin(
                Method::GET,
                &format!("/_sim/tenants/{tenant_id}/journal"),
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        r.body.as_array().cloned().unwrap()
    }

    pub async fn stats(&self, tenant_id: &str) -> Value {
        self.admin(
            Method::GET,
            &format!("/_sim/tenants/{tenant_id}/stats"),
            None,
        )
        .await
        .body
    }

    pub async fn fault(&self, tenant_id: &str, spec: Value) {
        let r = self
            .admin(
                Method::POST,
                &format!("/_sim/tenants/{tenant_id}/faults"),
                Some(spec),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
}

pub async fn to_resp(resp: reqwest::Response) -> Resp {
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.bytes().await.unwrap().to_vec();
    let body = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap_or(Value::Null)
    };
    Resp {
        status,
        headers,
        body,
        raw,
    }
}

/// The Graph error envelope, with its code.
pub fn assert_graph_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["error"]["message"].is_string());
    let inner = &r.body["error"]["innerError"];
    assert!(
        inner["request-id"].is_string()
            && inner["date"].is_string()
            && inner["client-request-id"].is_string(),
        "{}",
        r.body
    );
    assert!(r.headers.get("request-id").is_some());
    assert!(r.headers.get("client-request-id").is_some());
}

pub fn group_target(group: &str) -> Value {
    json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}})
}

/// A minimal body Graph accepts for a create in each collection (graph-sim's shared samples).
pub fn minimal_body(collection: &str, name: &str) -> Value {
    graph_sim::samples::sample(collection, name)
        .unwrap_or_else(|| panic!("no body for {collection}"))
}

/// The policy collections the demo fills with content (the export order of the original
/// seventeen).
pub const POLICY_COLLECTIONS: &[&str] = &[
    "deviceManagement/configurationPolicies",
    "deviceManagement/deviceConfigurations",
    "deviceManagement/deviceCompliancePolicies",
    "deviceManagement/groupPolicyConfigurations",
    "deviceManagement/deviceManagementScripts",
    "deviceManagement/deviceShellScripts",
    "deviceManagement/deviceHealthScripts",
    "deviceManagement/windowsAutopilotDeploymentProfiles",
    "deviceManagement/assignmentFilters",
    "deviceManagement/roleScopeTags",
    "deviceManagement/windowsFeatureUpdateProfiles",
    "deviceManagement/windowsQualityUpdateProfiles",
    "deviceManagement/windowsDriverUpdateProfiles",
    "deviceManagement/deviceEnrollmentConfigurations",
    "deviceManagement/intents",
    "deviceAppManagement/mobileAppConfigurations",
    "deviceAppManagement/managedAppPolicies",
];

/// Every collection a client may write, from graph-sim's registry.
pub fn writable_collections() -> Vec<&'static str> {
    graph_sim::collections::COLLECTIONS
        .iter()
        .filter(|c| !c.read_only)
        .map(|c| c.path)
        .collect()
}

pub fn spec_of(collection: &str) -> &'static graph_sim::collections::CollectionSpec {
    graph_sim::collections::by_path(collection).unwrap_or_else(|| panic!("{collection}"))
}

pub fn key_of(collection: &str) -> &'static str {
    spec_of(collection).key
}

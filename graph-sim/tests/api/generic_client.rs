//! A generic Graph client, knowing nothing of graph-sim's registry or of PolicyVault: plain
//! HTTP against the documented URLs of the Intune surface (each from its "List"/"Get" page on
//! learn.microsoft.com/graph/api, and the forms third-party backup tools send), checking that
//! every answer is well-formed OData.

use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::spawn_demo;

struct Generic {
    http: Client,
    base: String,
    token: String,
}

impl Generic {
    async fn connect(base: &str, tenant: &Value) -> Self {
        let http = Client::new();
        // Client credentials, as any daemon app gets a Graph token (Entra v2 token endpoint).
        let tok: Value = http
            .post(format!(
                "{base}/{}/oauth2/v2.0/token",
                tenant["id"].as_str().unwrap()
            ))
            .form(&[
                ("client_id", tenant["client_id"].as_str().unwrap()),
                ("client_secret", tenant["client_secret"].as_str().unwrap()),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            http,
            base: base.to_string(),
            token: tok["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}/{url}", self.base)
        };
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        if status != 204 {
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert!(
                ct.starts_with("application/json"),
                "{url}: content-type {ct}"
            );
        }
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{url}: not JSON: {e}"))
        };
        (status, body)
    }

    async fn get(&self, url: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, url, None).await;
        assert_eq!(status, 200, "{url}: {body}");
        well_formed(url, &body, &self.base);
        body
    }

    /// A collection, every page (following `@odata.nextLink`).
    async fn list(&self, url: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0;
        while let Some(u) = next {
            let page = self.get(&u).await;
            let value = page["value"]
                .as_array()
                .unwrap_or_else(|| panic!("{u}: no value array: {page}"));
            out.extend(value.iter().cloned());
            next = page["@odata.nextLink"].as_str().map(str::to_string);
            pages += 1;
            assert!(pages < 200, "{url}: endless paging");
        }
        out
    }
}

/// OData JSON as Graph writes it: a context URL on every answer, `value` arrays of entities
/// with ids on collections, no stray `null` bodies.
fn well_formed(url: &str, body: &Value, base: &str) {
    let ctx = body["@odata.context"]
        .as_str()
        .unwrap_or_else(|| panic!("{url}: no @odata.context: {body}"));
    assert!(
        ctx.starts_with(base) && ctx.contains("/$metadata#"),
        "{url}: context {ctx}"
    );
    if let Some(value) = body.get("value") {
        let items = value
            .as_array()
            .unwrap_or_else(|| panic!("{url}: value is not an array"));
        for item in items {
            assert!(
                item["id"].is_string(),
                "{url}: an entity without an id: {item}"
            );
        }
        if let Some(next) = body.get("@odata.nextLink") {
            assert!(
                next.as_str().is_some_and(|n| n.starts_with(base)),
                "{url}: nextLink {next}"
            );
        }
    }
}

const BETA_COLLECTIONS: &[&str] = &[
    // api/intune-deviceconfigv2-devicemanagementcompliancepolicy-list
    "deviceManagement/compliancePolicies?$expand=settings",
    "deviceManagement/compliancePolicies?$expand=scheduledActionsForRule($expand=scheduledActionConfigurations)",
    // api/intune-devices-devicecompliancescript-list
    "deviceManagement/deviceComplianceScripts",
    // api/intune-devices-devicecustomattributeshellscript-list
    "deviceManagement/deviceCustomAttributeShellScripts",
    // api/intune-shared-devicecategory-list
    "deviceManagement/deviceCategories",
    // api/intune-notification-notificationmessagetemplate-list (IntuneCD expands the messages)
    "deviceManagement/notificationMessageTemplates?$expand=localizedNotificationMessages",
    // api/intune-deviceconfigv2-devicemanagementreusablepolicysetting-list, as IntuneManagement
    // selects it (lower-case names)
    "deviceManagement/reusablePolicySettings?$select=id,settinginstance,displayname,description",
    // api/intune-rbac-roledefinition-list, api/intune-rbac-deviceandappmanagementroleassignment-list
    "deviceManagement/roleDefinitions",
    "deviceManagement/roleAssignments?$expand=microsoft.graph.deviceAndAppManagementRoleAssignment/roleScopeTags",
    // api/intune-deviceintent-devicemanagementtemplate-list
    "deviceManagement/templates",
    "deviceManagement/templates?$filter=(templateType eq 'securityBaseline') or (templateType eq 'advancedThreatProtectionSecurityBaseline')",
    // api/intune-enrollment-deponboardingsetting-list (IntuneCD's trailing slash)
    "deviceManagement/depOnboardingSettings/?$top=100",
    // api/intune-wip-intunebrandingprofile-list, api/intune-deviceconfig-hardwareconfiguration-list
    "deviceManagement/intuneBrandingProfiles?$expand=assignments",
    "deviceManagement/hardwareConfigurations",
    // api/virtualendpoint-list-provisioningpolicies, api/virtualendpoint-list-usersettings
    "deviceManagement/virtualEndpoint/provisioningPolicies?$expand=assignments",
    "deviceManagement/virtualEndpoint/userSettings",
    // api/intune-shared-termsandconditions-list
    "deviceManagement/termsAndConditions",
    // api/intune-onboarding-compliancemanagementpartner-list and siblings
    "deviceManagement/complianceManagementPartners",
    "deviceManagement/deviceManagementPartners",
    "deviceManagement/remoteAssistancePartners",
    // api/intune-auditing-auditevent-list
    "deviceManagement/auditEvents?$filter=activityDateTime gt 2020-01-01T00:00:00Z",
    // api/intune-apps-mobileapp-list: the Intune portal's and IntuneManagement's filter
    "deviceAppManagement/mobileApps?$filter=(microsoft.graph.managedApp/appAvailability%20eq%20null%20or%20microsoft.graph.managedApp/appAvailability%20eq%20%27lineOfBusiness%27%20or%20isAssigned%20eq%20true)&$orderby=displayName",
    // ... IntuneCD's spelling (parenthesised cast)
    "deviceAppManagement/mobileApps?$filter=(microsoft.graph.managedApp/appAvailability) eq null",
    "deviceAppManagement/mobileApps?$filter=isof('microsoft.graph.win32LobApp')",
    // ... IntuneBackupAndRestore's, without the `$`
    "deviceAppManagement/mobileApps?filter=isAssigned eq true",
    "deviceAppManagement/mobileApps?$expand=assignments",
    // api/intune-onboarding-vpptoken-list
    "deviceAppManagement/vppTokens",
    // api/intune-mam-targetedmanagedappconfiguration-list
    "deviceAppManagement/targetedManagedAppConfigurations?$expand=apps,assignments",
    // api/intune-mam-iosmanagedappprotection-list and siblings
    "deviceAppManagement/iosManagedAppProtections",
    "deviceAppManagement/androidManagedAppProtections",
    "deviceAppManagement/windowsManagedAppProtections",
    "deviceAppManagement/defaultManagedAppProtections",
    "deviceAppManagement/mdmWindowsInformationProtectionPolicies?$expand=assignments",
    "deviceAppManagement/windowsInformationProtectionPolicies",
    // api/conditionalaccessroot-list-policies, api/conditionalaccessroot-list-namedlocations
    "identity/conditionalAccess/policies",
    "identity/conditionalAccess/namedLocations",
];

/// Single objects: api/intune-devices-applepushnotificationcertificate-get,
/// api/intune-androidforwork-androidmanagedstoreaccountenterprisesettings-get and the
/// `settings` property of resources/intune-deviceconfig-devicemanagementsettings.
const BETA_SINGLES: &[&str] = &[
    "deviceManagement/settings",
    "deviceManagement/applePushNotificationCertificate",
    "deviceManagement/androidManagedStoreAccountEnterpriseSettings",
    "deviceManagement",
];

const V1_COLLECTIONS: &[&str] = &[
    // api/group-list, api/user-list
    "groups",
    "groups?$select=id,displayName",
    "users?$select=id,displayName,userPrincipalName",
    "identity/conditionalAccess/policies",
    "identity/conditionalAccess/namedLocations",
    "deviceManagement/deviceCategories",
    "deviceManagement/roleDefinitions",
    "deviceAppManagement/mobileApps",
];

#[tokio::test]
async fn a_generic_client_finds_every_documented_intune_endpoint_well_formed() {
    let s = spawn_demo().await;
    let tenant = s.tenant("contoso").await;
    let g = Generic::connect(&s.base, &tenant).await;

    for url in BETA_COLLECTIONS {
        g.list(&format!("beta/{url}")).await;
    }
    for url in V1_COLLECTIONS {
        g.list(&format!("v1.0/{url}")).await;
    }
    for url in BETA_SINGLES {
        let one = g.get(&format!("beta/{url}")).await;
        assert!(one.get("value").is_none(), "{url}: a single object: {one}");
    }
    // Content the demo tenant has, as clients walk it.
    let apps = g.list("beta/deviceAppManagement/mobileApps").await;
    assert!(apps.len() >= 5);
    let app = g
        .get(&format!(
            "beta/deviceAppManagement/mobileApps/{}?$expand=assignments",
            apps[0]["id"].as_str().unwrap()
        ))
        .await;
    assert!(app["assignments"].is_array());
    let ios = g
        .list("beta/deviceAppManagement/iosManagedAppProtections")
        .await;
    assert!(!ios.is_empty());
    for p in &ios {
        let id = p["id"].as_str().unwrap();
        g.list(&format!(
            "beta/deviceAppManagement/iosManagedAppProtections('{id}')/assignments"
        ))
        .await;
        g.list(&format!(
            "beta/deviceAppManagement/iosManagedAppProtections/{id}/apps"
        ))
        .await;
    }
    let templates = g.list("beta/deviceManagement/templates").await;
    assert!(templates.len() >= 20);
    let cats = g
        .list(&format!(
            "beta/deviceManagement/templates/{}/categories",
            templates[0]["id"].as_str().unwrap()
        ))
        .await;
    assert!(!cats.is_empty());
    // Intents as IntuneManagement exports them: categories, then each category's settings.
    for intent in g.list("beta/deviceManagement/intents").await {
        let id = intent["id"].as_str().unwrap();
        let mut seen = 0;
        for cat in g
            .list(&format!("beta/deviceManagement/intents/{id}/categories"))
            .await
        {
            seen += g
                .list(&format!(
                    "beta/deviceManagement/intents/{id}/categories/{}/settings",
                    cat["id"].as_str().unwrap()
                ))
                .await
                .len();
        }
        let all = g
            .list(&format!("beta/deviceManagement/intents/{id}/settings"))
            .await;
        assert_eq!(
            seen,
            all.len(),
            "intent {id}: categories cover every setting once"
        );
    }
    // A whole settings-catalog policy in one page, as backup tools ask for it.
    for p in g.list("beta/deviceManagement/configurationPolicies").await {
        let id = p["id"].as_str().unwrap();
        let page = g
            .get(&format!(
                "beta/deviceManagement/configurationPolicies('{id}')/settings?$top=1000"
            ))
            .await;
        assert!(page.get("@odata.nextLink").is_none());
        assert_eq!(
            page["value"].as_array().unwrap().len() as u64,
            p["settingCount"].as_u64().unwrap()
        );
    }
    // The directory the assignments point at.
    let groups = g.list("v1.0/groups").await;
    let first = &groups[0];
    let one = g
        .get(&format!("v1.0/groups/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(one["displayName"], first["displayName"]);
    let name = first["displayName"].as_str().unwrap().replace('\'', "''");
    let found = g
        .list(&format!("v1.0/groups?$filter=displayName eq '{name}'"))
        .await;
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn a_generic_client_batches_like_graph() {
    let s = spawn_demo().await;
    let tenant = s.tenant("fabrikam").await;
    let g = Generic::connect(&s.base, &tenant).await;
    let policy = g.list("beta/deviceManagement/configurationPolicies").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // JSON batching (graph/json-batching): ids as strings or numbers (IntuneCD counts), URLs
    // relative to the version with or without a leading slash, any collection.
    let (status, body) = g
        .call(
            reqwest::Method::POST,
            "beta/$batch",
            Some(json!({"requests": [
                {"id": 1, "method": "GET", "url": format!("deviceManagement/configurationPolicies('{policy}')/settings?$top=1000")},
                {"id": "2", "method": "GET", "url": "/groups?$select=id,displayName"},
                {"id": "3", "method": "GET", "url": "deviceManagement/assignmentFilters"},
                {"id": "4", "method": "GET", "url": format!("/deviceManagement/configurationPolicies/{policy}?$expand=assignments")},
                {"id": "5", "method": "GET", "url": "deviceManagement/settings"},
                {"id": "6", "method": "DELETE", "url": "deviceManagement/deviceCategories/00000000-0000-0000-0000-000000000000"},
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 6);
    for r in responses {
        assert!(r["id"].is_string(), "{r}");
        assert!(r["status"].is_u64(), "{r}");
        assert!(r["headers"].is_object(), "{r}");
        assert!(
            r.get("body").is_some(),
            "every sub-response has a body: {r}"
        );
    }
    let by = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap();
    for id in ["1", "2", "3", "4", "5"] {
        assert_eq!(by(id)["status"], 200, "{}", by(id));
        well_formed(id, &by(id)["body"], &s.base);
    }
    let ctx = by("1")["body"]["@odata.context"].as_str().unwrap();
    assert!(
        ctx.ends_with(&format!("configurationPolicies('{policy}')/settings")),
        "{ctx}"
    );
    assert!(
        by("2")["body"]["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#groups(id,displayName)")
    );
    let inlined = by("4")["body"]["assignments@odata.context"]
        .as_str()
        .unwrap();
    assert!(
        inlined.ends_with(&format!("configurationPolicies('{policy}')/assignments")),
        "{inlined}"
    );
    assert_eq!(by("6")["status"], 404);
    assert_eq!(by("6")["body"]["error"]["code"], "ResourceNotFound");
}

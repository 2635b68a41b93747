//! Contract tests written from Graph's documentation (each cites its page under
//! learn.microsoft.com/graph/api/): the collections every tenant serves, type tables, views,
//! singletons, server-set properties, the directory, audit events, intent catalogues and the
//! OData forms clients use.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// resources/intune-deviceconfig-deviceconfiguration lists `macOSCustomAppConfiguration` as
/// a device configuration; abstract intermediates (`vpnConfiguration`,
/// `windows10CertificateProfileBase`) and other sets' types are refused.
#[tokio::test]
async fn every_concrete_type_is_accepted_where_graph_accepts_it() {
    // 119 creates: more than one throttle window's writes.
    let s = spawn_with(graph_sim::SimConfig {
        throttle: false,
        ..graph_sim::SimConfig::default()
    })
    .await;
    let tok = s.empty_tenant("types").await;
    let dc = "/beta/deviceManagement/deviceConfigurations";
    for ty in graph_sim::collections::by_path("deviceManagement/deviceConfigurations")
        .unwrap()
        .derived
    {
        let r = s
            .post(
                &tok,
                dc,
                json!({"@odata.type": format!("#microsoft.graph.{ty}"), "displayName": ty}),
            )
            .await;
        assert_eq!(r.status, 201, "{ty}: {}", r.body);
    }
    for refused in [
        "vpnConfiguration",
        "windows10CertificateProfileBase",
        "windows10CompliancePolicy",
        "iosMobileAppConfiguration",
    ] {
        let r = s
            .post(
                &tok,
                dc,
                json!({"@odata.type": format!("#microsoft.graph.{refused}"), "displayName": "x"}),
            )
            .await;
        assert_graph_error(&r, 400, "BadRequest");
    }
    // resources/intune-onboarding-deviceenrollmentconfiguration: the base has no create.
    let r = s
        .post(
            &tok,
            "/beta/deviceManagement/deviceEnrollmentConfigurations",
            json!({"@odata.type": "#microsoft.graph.deviceEnrollmentConfiguration", "displayName": "x"}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    // resources/namedlocation: compliant-network locations are made by the service only.
    let r = s
        .post(
            &tok,
            "/v1.0/identity/conditionalAccess/namedLocations",
            json!({"@odata.type": "#microsoft.graph.compliantNetworkNamedLocation", "displayName": "x"}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
}

/// resources/intune-mam-iosmanagedappprotection and siblings: each per-type collection shows
/// the `managedAppPolicies` of its type, takes creates of that type, and serves
/// `/{id}/assignments` (defaultManagedAppProtection has none).
#[tokio::test]
async fn per_type_app_protection_collections_are_views_of_managed_app_policies() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    let ios = s
        .get_all(&tok, "/beta/deviceAppManagement/iosManagedAppProtections")
        .await
        .0;
    let all = s
        .get_all(&tok, "/beta/deviceAppManagement/managedAppPolicies")
        .await
        .0;
    let ios_in_all = all
        .iter()
        .filter(|p| p["@odata.type"] == "#microsoft.graph.iosManagedAppProtection")
        .count();
    assert_eq!(ios.len(), ios_in_all);
    assert!(ios.len() >= 4);
    let created = s
        .post(
            &tok,
            "/beta/deviceAppManagement/androidManagedAppProtections",
            json!({"displayName": "Android - via view", "pinRequired": true}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["@odata.type"],
        "#microsoft.graph.androidManagedAppProtection"
    );
    assert_eq!(created.body["deployedAppCount"], 0);
    let id = created.body["id"].as_str().unwrap();
    let got = s
        .get(
            &tok,
            &format!("/beta/deviceAppManagement/managedAppPolicies/{id}"),
        )
        .await;
    assert_eq!(got.status, 200);
    // The iOS view does not show an Android policy.
    let other = s
        .get(
            &tok,
            &format!("/beta/deviceAppManagement/iosManagedAppProtections/{id}"),
        )
        .await;
    assert_graph_error(&other, 404, "ResourceNotFound");
    let assign = s
        .post(
            &tok,
            &format!("/beta/deviceAppManagement/androidManagedAppProtections/{id}/assign"),
            json!({"assignments": [group_target("11111111-1111-1111-1111-111111111111")]}),
        )
        .await;
    assert_eq!(assign.status, 204, "{}", assign.body);
    let assignments = s
        .get(
            &tok,
            &format!("/beta/deviceAppManagement/androidManagedAppProtections/{id}/assignments"),
        )
        .await;
    assert_eq!(assignments.body["value"].as_array().unwrap().len(), 1);
    let none = s
        .get(
            &tok,
            &format!("/beta/deviceAppManagement/defaultManagedAppProtections/{id}/assignments"),
        )
        .await;
    assert_eq!(none.status, 404);
}

/// api/intune-devices-applepushnotificationcertificate-get,
/// api/intune-androidforwork-androidmanagedstoreaccountenterprisesettings-get,
/// resources/intune-deviceconfig-devicemanagementsettings: one object per tenant, no `value`.
#[tokio::test]
async fn tenant_singletons_answer_one_object_and_take_patch() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("single").await;
    let apns = s
        .get(
            &tok,
            "/beta/deviceManagement/applePushNotificationCertificate",
        )
        .await;
    assert_eq!(apns.status, 200);
    assert!(
        apns.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#deviceManagement/applePushNotificationCertificate/$entity")
    );
    assert!(apns.body.get("value").is_none());
    let settings = s.get(&tok, "/v1.0/deviceManagement/settings").await;
    assert_eq!(settings.status, 200);
    assert_eq!(settings.body["deviceComplianceCheckinThresholdDays"], 30);
    let r = s
        .patch(
            &tok,
            "/beta/deviceManagement/settings",
            json!({"deviceComplianceCheckinThresholdDays": 14}),
        )
        .await;
    assert_eq!(r.status, 204);
    let dm = s.get(&tok, "/beta/deviceManagement").await;
    assert_eq!(
        dm.body["settings"]["deviceComplianceCheckinThresholdDays"],
        14
    );
    // Beta only (the v1.0 metadata has no androidManagedStoreAccountEnterpriseSettings).
    let r = s
        .get(
            &tok,
            "/v1.0/deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        )
        .await;
    assert_graph_error(&r, 404, "ResourceNotFound");
    let r = s
        .get(
            &tok,
            "/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        )
        .await;
    assert_eq!(r.body["bindStatus"], "notBound");
}

/// Server-set properties (each collection's resource page marks them read-only): a created
/// object carries them with the value a new object has, whatever the client sent.
#[tokio::test]
async fn created_objects_carry_the_properties_graph_fills_in() {
    let s = spawn_demo().await;
    for (i, spec) in graph_sim::collections::COLLECTIONS
        .iter()
        .filter(|c| !c.read_only && !c.server_set.is_empty())
        .enumerate()
    {
        let tok = s.empty_tenant(&format!("server-set-{i}")).await;
        let mut body = minimal_body(spec.path, "Server set");
        for (k, _) in spec.server_set {
            body[*k] = json!("client value");
        }
        let r = s.post(&tok, &format!("/beta/{}", spec.path), body).await;
        assert_eq!(r.status, 201, "{}: {}", spec.path, r.body);
        let got = s
            .get(
                &tok,
                &format!("/beta/{}/{}", spec.path, r.body["id"].as_str().unwrap()),
            )
            .await;
        for (k, _) in spec.server_set {
            assert!(got.body.get(*k).is_some(), "{}: {k} missing", spec.path);
            assert_ne!(
                got.body[*k], "client value",
                "{}: {k} taken from the client",
                spec.path
            );
        }
    }
    // A few values, as their pages describe them.
    let tok = s.empty_tenant("server-values").await;
    let f = s
        .post(
            &tok,
            "/beta/deviceManagement/windowsFeatureUpdateProfiles",
            minimal_body("deviceManagement/windowsFeatureUpdateProfiles", "W11"),
        )
        .await;
    assert_eq!(
        f.body["deployableContentDisplayName"],
        "Windows 11, version 24H2"
    );
    assert_eq!(f.body["endOfSupportDate"], "2027-10-12T00:00:00Z");
    let tag = s
        .post(
            &tok,
            "/beta/deviceManagement/roleScopeTags",
            json!({"displayName": "T", "isBuiltIn": true}),
        )
        .await;
    assert_eq!(tag.body["isBuiltIn"], false);
    let sc = s
        .post(
            &tok,
            "/beta/deviceManagement/configurationPolicies",
            minimal_body("deviceManagement/configurationPolicies", "SC"),
        )
        .await;
    assert_eq!(sc.body["settingCount"], 1);
    assert_eq!(sc.body["isAssigned"], false);
    assert!(sc.body["creationSource"].is_null() && sc.body.get("creationSource").is_some());
}

/// api/group-get, api/group-list ($select, $filter), api/user-list: the directory assignments
/// point at.
#[tokio::test]
async fn the_directory_resolves_assignment_targets() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("northwind").await;
    let (policies, _) = s
        .get_all(
            &tok,
            "/beta/deviceManagement/deviceConfigurations?$expand=assignments",
        )
        .await;
    let mut resolved = 0;
    for p in &policies {
        for a in p["assignments"].as_array().unwrap() {
            if let Some(g) = a["target"]["groupId"].as_str() {
                let r = s.get(&tok, &format!("/v1.0/groups/{g}")).await;
                assert_eq!(r.status, 200, "group {g} of '{}'", p["displayName"]);
                assert!(r.body["displayName"].is_string());
                resolved += 1;
            }
        }
    }
    assert!(resolved > 0);
    let sel = s.get(&tok, "/v1.0/groups?$select=ID,DisplayName").await;
    assert!(
        sel.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#groups(ID,DisplayName)")
    );
    let first = &sel.body["value"][0];
    assert_eq!(first.as_object().unwrap().len(), 2, "{first}");
    let filtered = s
        .get(&tok, "/v1.0/groups?$filter=displayName eq 'Pilot users'")
        .await;
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1);
    let users = s.get(&tok, "/v1.0/users").await;
    assert!(users.body["value"][0]["userPrincipalName"].is_string());
}

/// paging (graph/paging: `$top` up to the maximum), query-parameters (`$select`/`$expand`
/// names case-insensitive, unknown options ignored), `$expand=assignments` on every
/// collection that has assignments.
#[tokio::test]
async fn odata_options_work_as_clients_send_them() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    for spec in graph_sim::collections::COLLECTIONS
        .iter()
        .filter(|c| c.nav("assignments").is_some())
    {
        let r = s
            .get(
                &tok,
                &format!(
                    "/beta/{}?$expand=Assignments&$top=999&unknownOption=1",
                    spec.path
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}: {}", spec.path, r.body);
        for item in r.body["value"].as_array().unwrap() {
            assert!(item["assignments"].is_array(), "{}", spec.path);
            assert!(
                item["assignments@odata.context"]
                    .as_str()
                    .is_some_and(|c| c.ends_with("/assignments")),
                "{}: {item}",
                spec.path
            );
        }
    }
    let r = s
        .get(
            &tok,
            "/beta/deviceManagement/deviceConfigurations?$SELECT=DISPLAYNAME&$top=5",
        )
        .await;
    assert_eq!(r.status, 200);
    let first = r.body["value"][0].as_object().unwrap();
    assert!(first.contains_key("displayName") && !first.contains_key("description"));
}

/// resources/intune-auditing-auditevent: the audit log records the changes the service
/// accepts, with the actor and the resource.
#[tokio::test]
async fn accepted_changes_are_in_the_audit_log() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("audited").await;
    let created = s
        .post(
            &tok,
            "/beta/deviceManagement/deviceCategories",
            json!({"displayName": "Audited"}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    s.patch(
        &tok,
        &format!("/beta/deviceManagement/deviceCategories/{id}"),
        json!({"description": "changed"}),
    )
    .await;
    let events = s.get(&tok, "/beta/deviceManagement/auditEvents").await.body["value"]
        .as_array()
        .cloned()
        .unwrap();
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["resources"][0]["resourceId"] == id)
        .collect();
    assert_eq!(mine.len(), 2, "{events:?}");
    assert_eq!(mine[0]["activityOperationType"], "Create");
    assert_eq!(mine[1]["activityOperationType"], "Patch");
    assert_eq!(mine[0]["actor"]["applicationId"], "audited-app");
    assert_eq!(mine[0]["resources"][0]["displayName"], "Audited");
    // Only the service writes the log.
    let r = s
        .post(
            &tok,
            "/beta/deviceManagement/auditEvents",
            json!({"displayName": "x"}),
        )
        .await;
    assert_eq!(r.status, 405);
}

/// api/intune-deviceintent-devicemanagementtemplate-createinstance with the template ids
/// Microsoft publishes (every tenant has the same catalogue), and
/// api/intune-deviceintent-devicemanagementintentsettingcategory-list.
#[tokio::test]
async fn real_template_ids_create_intents_whose_categories_hold_their_settings() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("intents").await;
    let (templates, _) = s.get_all(&tok, "/beta/deviceManagement/templates").await;
    assert!(templates.len() >= 20);
    assert!(
        templates
            .iter()
            .any(|t| t["id"] == "034ccd46-190c-4afc-adf1-ad7cc11262eb"
                && t["templateType"] == "securityBaseline")
    );
    for t in &templates {
        let id = t["id"].as_str().unwrap();
        let r = s
            .post(
                &tok,
                &format!("/beta/deviceManagement/templates/{id}/createInstance"),
                json!({"displayName": format!("From {id}"), "settingsDelta": [
                    {"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance",
                     "definitionId": "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallBlockStatefulFTP",
                     "valueJson": "true", "value": true},
                    {"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance",
                     "definitionId": "deviceConfiguration--windows10EndpointProtectionConfiguration_bitLockerEncryptDevice",
                     "valueJson": "true", "value": true}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{id}: {}", r.body);
        assert_eq!(r.body["templateId"], id);
        assert_eq!(r.body["isMigratingToConfigurationPolicy"], false);
    }
    let (intents, _) = s.get_all(&tok, "/beta/deviceManagement/intents").await;
    let intent = intents[0]["id"].as_str().unwrap();
    let (cats, _) = s
        .get_all(
            &tok,
            &format!("/beta/deviceManagement/intents/{intent}/categories"),
        )
        .await;
    let mut found = Vec::new();
    for c in &cats {
        let (settings, _) = s
            .get_all(
                &tok,
                &format!(
                    "/beta/deviceManagement/intents/{intent}/categories/{}/settings",
                    c["id"].as_str().unwrap()
                ),
            )
            .await;
        for setting in settings {
            found.push((c["displayName"].clone(), setting["definitionId"].clone()));
        }
    }
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .any(|(c, _)| c == "Microsoft Defender Firewall")
    );
    assert!(found.iter().any(|(c, _)| c == "BitLocker"));
    let unknown = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/intents/{intent}/categories/nope/settings"),
        )
        .await;
    assert_graph_error(&unknown, 404, "ResourceNotFound");
}

/// Built-in roles (resources/intune-rbac-roledefinition, `isBuiltIn`) cannot be changed or
/// deleted; custom ones can.
#[tokio::test]
async fn built_in_role_definitions_are_read_only() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("roles").await;
    let (roles, _) = s
        .get_all(&tok, "/beta/deviceManagement/roleDefinitions")
        .await;
    assert_eq!(roles.len(), 7);
    let builtin = roles
        .iter()
        .find(|r| r["displayName"] == "Help Desk Operator")
        .unwrap();
    assert_eq!(builtin["id"], "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e");
    let path = format!(
        "/beta/deviceManagement/roleDefinitions/{}",
        builtin["id"].as_str().unwrap()
    );
    let r = s.patch(&tok, &path, json!({"description": "mine"})).await;
    assert_graph_error(&r, 400, "BadRequest");
    let r = s.send(Method::DELETE, Some(&tok), &path, None).await;
    assert_graph_error(&r, 400, "BadRequest");
}

/// `Accept: application/json;odata.metadata=full` (OData JSON format, "Controlling the amount
/// of control information"): entities carry their type, id and navigation links, which
/// IntuneManagement reads to decide what to fetch.
#[tokio::test]
async fn full_metadata_adds_types_and_navigation_links() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    let resp = s
        .http
        .get(format!(
            "{}/beta/deviceManagement/configurationPolicies?$top=2",
            s.base
        ))
        .bearer_auth(&tok)
        .header("Accept", "application/json;odata.metadata=full")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("odata.metadata=full")
    );
    let body: Value = resp.json().await.unwrap();
    let p = &body["value"][0];
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        p["@odata.type"],
        "#microsoft.graph.deviceManagementConfigurationPolicy"
    );
    assert!(
        p["assignments@odata.navigationLink"]
            .as_str()
            .unwrap()
            .ends_with(&format!("configurationPolicies('{id}')/assignments"))
    );
    assert!(p["settings@odata.navigationLink"].is_string());
    assert!(p["@odata.id"].is_string());
}

/// api/intune-mam-iosmanagedappprotection-targetapps,
/// api/intune-onboarding-deviceenrollmentconfiguration-setpriority,
/// api/intune-notification-localizednotificationmessage-create and the mobile-app assign
/// rule ("Invalid operation: app's PublishingState is not 'Published'"): the writes restore
/// tools send after a create.
#[tokio::test]
async fn follow_up_writes_restore_tools_send_after_a_create() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("follow-up").await;
    let p = s
        .post(
            &tok,
            "/beta/deviceAppManagement/iosManagedAppProtections",
            json!({"displayName": "iOS"}),
        )
        .await;
    let pid = p.body["id"].as_str().unwrap();
    let r = s
        .post(
            &tok,
            &format!("/beta/deviceAppManagement/iosManagedAppProtections/{pid}/targetApps"),
            json!({"appGroupType": "selectedPublicApps", "apps": [
                {"mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.microsoft.Office.Outlook"}},
                {"mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.microsoft.skype.teams"}}]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = s
        .get(
            &tok,
            &format!("/beta/deviceAppManagement/managedAppPolicies/{pid}?$expand=apps"),
        )
        .await;
    assert_eq!(got.body["deployedAppCount"], 2);
    assert_eq!(got.body["apps"].as_array().unwrap().len(), 2);
    assert_eq!(got.body["appGroupType"], "selectedPublicApps");

    let e = s
        .post(
            &tok,
            "/beta/deviceManagement/deviceEnrollmentConfigurations",
            json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": "Limit", "limit": 3}),
        )
        .await;
    let eid = e.body["id"].as_str().unwrap();
    let r = s
        .post(
            &tok,
            &format!("/beta/deviceManagement/deviceEnrollmentConfigurations/{eid}/setPriority"),
            json!({"priority": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/deviceEnrollmentConfigurations/{eid}"),
        )
        .await;
    assert_eq!(got.body["priority"], 2);

    let t = s
        .post(
            &tok,
            "/beta/deviceManagement/notificationMessageTemplates",
            json!({"displayName": "Notice", "defaultLocale": "en-us"}),
        )
        .await;
    let tid = t.body["id"].as_str().unwrap();
    let m = s
        .post(
            &tok,
            &format!("/beta/deviceManagement/notificationMessageTemplates/{tid}/localizedNotificationMessages"),
            json!({"locale": "en-us", "subject": "S", "messageTemplate": "M", "isDefault": true}),
        )
        .await;
    assert_eq!(m.status, 201, "{}", m.body);
    let mid = m.body["id"].as_str().unwrap();
    let r = s
        .patch(
            &tok,
            &format!("/beta/deviceManagement/notificationMessageTemplates/{tid}/localizedNotificationMessages/{mid}"),
            json!({"subject": "Changed"}),
        )
        .await;
    assert_eq!(r.status, 204);
    let got = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/notificationMessageTemplates/{tid}?$expand=localizedNotificationMessages"),
        )
        .await;
    assert_eq!(
        got.body["localizedNotificationMessages"][0]["subject"],
        "Changed"
    );

    // A Win32 app without committed content is not published and cannot be assigned.
    let app = s
        .post(
            &tok,
            "/beta/deviceAppManagement/mobileApps",
            json!({"@odata.type": "#microsoft.graph.win32LobApp", "displayName": "Tool", "fileName": "t.intunewin"}),
        )
        .await;
    assert_eq!(app.body["publishingState"], "notPublished");
    assert_eq!(app.body["uploadState"], 0);
    let aid = app.body["id"].as_str().unwrap();
    let r = s
        .post(
            &tok,
            &format!("/beta/deviceAppManagement/mobileApps/{aid}/assign"),
            json!({"mobileAppAssignments": [group_target("11111111-1111-1111-1111-111111111111")]}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    let web = s
        .post(
            &tok,
            "/beta/deviceAppManagement/mobileApps",
            minimal_body("deviceAppManagement/mobileApps", "Web"),
        )
        .await;
    assert_eq!(web.body["publishingState"], "published");
}

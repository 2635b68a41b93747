use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const G1: &str = "11111111-1111-1111-1111-111111111111";
const G2: &str = "22222222-2222-2222-2222-222222222222";

/// (collection, payload key, answers with the assignments)
const ASSIGNABLE: &[(&str, &str, bool)] = &[
    (
        "deviceManagement/configurationPolicies",
        "assignments",
        true,
    ),
    ("deviceManagement/deviceConfigurations", "assignments", true),
    (
        "deviceManagement/deviceCompliancePolicies",
        "assignments",
        true,
    ),
    (
        "deviceManagement/groupPolicyConfigurations",
        "assignments",
        true,
    ),
    ("deviceManagement/roleScopeTags", "assignments", true),
    (
        "deviceManagement/deviceManagementScripts",
        "deviceManagementScriptAssignments",
        false,
    ),
    (
        "deviceManagement/deviceShellScripts",
        "deviceManagementScriptAssignments",
        false,
    ),
    (
        "deviceManagement/deviceHealthScripts",
        "deviceHealthScriptAssignments",
        false,
    ),
    (
        "deviceManagement/deviceEnrollmentConfigurations",
        "enrollmentConfigurationAssignments",
        false,
    ),
    (
        "deviceManagement/windowsFeatureUpdateProfiles",
        "assignments",
        false,
    ),
    (
        "deviceManagement/windowsQualityUpdateProfiles",
        "assignments",
        false,
    ),
    (
        "deviceManagement/windowsDriverUpdateProfiles",
        "assignments",
        false,
    ),
    ("deviceManagement/intents", "assignments", false),
    (
        "deviceAppManagement/mobileAppConfigurations",
        "assignments",
        false,
    ),
    (
        "deviceAppManagement/managedAppPolicies",
        "assignments",
        false,
    ),
];

#[tokio::test]
async fn assign_uses_each_types_payload_key_and_replaces_assignments() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("assign").await;
    for (c, key, returns) in ASSIGNABLE {
        let created = s
            .post(&tok, &format!("/beta/{c}"), minimal_body(c, "Assign me"))
            .await;
        assert_eq!(created.status, 201, "{c}: {}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let url = format!("/beta/{c}/{id}/assign");
        let r = s
            .post(
                &tok,
                &url,
                json!({ *key: [group_target(G1), group_target(G2)] }),
            )
            .await;
        if *returns {
            assert_eq!(r.status, 200, "{c}: {}", r.body);
            assert_eq!(r.body["value"].as_array().unwrap().len(), 2, "{c}");
        } else {
            assert_eq!(r.status, 204, "{c}: {}", r.body);
        }
        let list = s.get(&tok, &format!("/beta/{c}/{id}/assignments")).await;
        assert_eq!(list.status, 200, "{c}");
        let v = list.body["value"].as_array().unwrap();
        assert_eq!(v.len(), 2, "{c}");
        assert_eq!(v[0]["target"]["groupId"], G1);
        assert!(
            v[0]["id"].as_str().unwrap().starts_with(id),
            "{c}: Intune-style assignment id"
        );
        // Assign replaces the whole set.
        let r = s
            .post(&tok, &url, json!({ *key: [group_target(G2)] }))
            .await;
        assert!(r.status.is_success());
        let list = s.get(&tok, &format!("/beta/{c}/{id}/assignments")).await;
        assert_eq!(list.body["value"].as_array().unwrap().len(), 1, "{c}");
        // The expanded entity shows them too.
        let got = s
            .get(&tok, &format!("/beta/{c}/{id}?$expand=assignments"))
            .await;
        assert_eq!(got.body["assignments"][0]["target"]["groupId"], G2, "{c}");
        if *key != "assignments" {
            let wrong = s
                .post(&tok, &url, json!({"assignments": [group_target(G1)]}))
                .await;
            assert_graph_error(&wrong, 400, "BadRequest");
        }
    }
}

#[tokio::test]
async fn assign_validates_targets_and_tracks_is_assigned() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("assign2").await;
    let c = "deviceManagement/configurationPolicies";
    let created = s
        .post(&tok, &format!("/beta/{c}"), minimal_body(c, "P"))
        .await;
    assert_eq!(created.body["isAssigned"], false);
    let id = created.body["id"].as_str().unwrap();
    let url = format!("/beta/{c}/{id}/assign");
    let bad = s.post(&tok, &url, json!({"assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget"}}]})).await;
    assert_graph_error(&bad, 400, "BadRequest");
    let bad = s.post(&tok, &url, json!({"assignments": [{"target": {"@odata.type": "#microsoft.graph.nonsenseTarget"}}]})).await;
    assert_graph_error(&bad, 400, "BadRequest");
    let dup = s
        .post(
            &tok,
            &url,
            json!({"assignments": [group_target(G1), group_target(G1)]}),
        )
        .await;
    assert_graph_error(&dup, 400, "BadRequest");
    let ok = s
        .post(&tok, &url, json!({"assignments": [{"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}, {"target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": G1}}]}))
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body["value"][0]["id"],
        format!("{id}_adadadad-808e-44e2-905a-0b7873a8a531")
    );
    assert_eq!(
        ok.body["value"][0]["target"]["deviceAndAppManagementAssignmentFilterType"],
        "none"
    );
    let got = s.get(&tok, &format!("/beta/{c}/{id}")).await;
    assert_eq!(got.body["isAssigned"], true);
    let none = s.post(&tok, &url, json!({"assignments": []})).await;
    assert_eq!(none.status, 200);
    let got = s.get(&tok, &format!("/beta/{c}/{id}")).await;
    assert_eq!(got.body["isAssigned"], false);
    // Filters have no assign action.
    let f = s
        .post(
            &tok,
            "/beta/deviceManagement/assignmentFilters",
            minimal_body("deviceManagement/assignmentFilters", "f"),
        )
        .await;
    let r = s
        .post(
            &tok,
            &format!(
                "/beta/deviceManagement/assignmentFilters/{}/assign",
                f.body["id"].as_str().unwrap()
            ),
            json!({"assignments": []}),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn autopilot_profiles_take_assignments_one_at_a_time() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("autopilot").await;
    let c = "deviceManagement/windowsAutopilotDeploymentProfiles";
    let created = s
        .post(&tok, &format!("/beta/{c}"), minimal_body(c, "AP"))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let r = s
        .post(
            &tok,
            &format!("/beta/{c}/{id}/assignments"),
            group_target(G1),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let aid = r.body["id"].as_str().unwrap().to_string();
    let again = s
        .post(
            &tok,
            &format!("/beta/{c}/{id}/assignments"),
            group_target(G1),
        )
        .await;
    assert_eq!(again.status, 409);
    let r = s
        .post(
            &tok,
            &format!("/beta/{c}/{id}/assignments"),
            group_target(G2),
        )
        .await;
    assert_eq!(r.status, 201);
    let list = s.get(&tok, &format!("/beta/{c}/{id}/assignments")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 2);
    let one = s
        .get(&tok, &format!("/beta/{c}/{id}/assignments/{aid}"))
        .await;
    assert_eq!(one.body["target"]["groupId"], G1);
    let del = s
        .send(
            Method::DELETE,
            Some(&tok),
            &format!("/beta/{c}/{id}/assignments/{aid}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    let list = s.get(&tok, &format!("/beta/{c}/{id}/assignments")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
    // Its assign action takes device ids.
    let r = s
        .post(
            &tok,
            &format!("/beta/{c}/{id}/assign"),
            json!({"deviceIds": ["d1"]}),
        )
        .await;
    assert_eq!(r.status, 204);
    let _ = Value::Null;
}

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn navigation_properties_appear_only_when_expanded() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    // Settings catalog.
    let list = s
        .get(&tok, "/beta/deviceManagement/configurationPolicies")
        .await;
    let p = &list.body["value"][0];
    assert!(p.get("settings").is_none() && p.get("assignments").is_none());
    let id = p["id"].as_str().unwrap();
    let got = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/configurationPolicies/{id}"),
        )
        .await;
    assert!(got.body.get("settings").is_none());
    let got = s
        .get(
            &tok,
            &format!(
                "/beta/deviceManagement/configurationPolicies/{id}?$expand=settings,assignments"
            ),
        )
        .await;
    assert!(got.body["settings"].is_array() && got.body["assignments"].is_array());
    let listed = s
        .get(
            &tok,
            "/beta/deviceManagement/configurationPolicies?$expand=assignments",
        )
        .await;
    assert!(listed.body["value"][0]["assignments"].is_array());

    // Compliance: scheduled actions only via $expand, configurations only via nested $expand.
    let list = s
        .get(&tok, "/beta/deviceManagement/deviceCompliancePolicies")
        .await;
    let c = &list.body["value"][0];
    assert!(c.get("scheduledActionsForRule").is_none());
    let cid = c["id"].as_str().unwrap();
    let shallow = s.get(&tok, &format!("/beta/deviceManagement/deviceCompliancePolicies/{cid}?$expand=scheduledActionsForRule")).await;
    assert!(
        shallow.body["scheduledActionsForRule"][0]
            .get("scheduledActionConfigurations")
            .is_none()
    );
    let deep = s
        .get(&tok, &format!("/beta/deviceManagement/deviceCompliancePolicies/{cid}?$expand=scheduledActionsForRule($expand=scheduledActionConfigurations)"))
        .await;
    let cfgs = deep.body["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
        .as_array()
        .unwrap();
    assert!(cfgs.iter().any(|c| c["actionType"] == "block"));
    // Intune has no route for the navigation itself.
    let direct = s
        .get(
            &tok,
            &format!(
                "/beta/deviceManagement/deviceCompliancePolicies/{cid}/scheduledActionsForRule"
            ),
        )
        .await;
    assert_eq!(direct.status, 400);
    assert_eq!(
        direct.body["error"]["code"],
        "No method match route template"
    );

    // Unknown navigation.
    assert_graph_error(
        &s.get(
            &tok,
            &format!("/beta/deviceManagement/configurationPolicies/{id}?$expand=bogus"),
        )
        .await,
        400,
        "BadRequest",
    );
    // $select keeps expanded navigations.
    let sel = s
        .get(
            &tok,
            &format!(
                "/beta/deviceManagement/configurationPolicies/{id}?$select=name&$expand=assignments"
            ),
        )
        .await;
    assert!(
        sel.body.get("name").is_some()
            && sel.body.get("assignments").is_some()
            && sel.body.get("platforms").is_none()
    );
}

#[tokio::test]
async fn script_content_only_on_get_by_id() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    for (c, fields) in [
        ("deviceManagementScripts", vec!["scriptContent"]),
        ("deviceShellScripts", vec!["scriptContent"]),
        (
            "deviceHealthScripts",
            vec!["detectionScriptContent", "remediationScriptContent"],
        ),
    ] {
        let list = s.get(&tok, &format!("/beta/deviceManagement/{c}")).await;
        let item = &list.body["value"][0];
        for f in &fields {
            assert!(item.get(*f).is_none(), "{c} list has {f}");
        }
        let got = s
            .get(
                &tok,
                &format!(
                    "/beta/deviceManagement/{c}/{}",
                    item["id"].as_str().unwrap()
                ),
            )
            .await;
        for f in &fields {
            assert!(
                got.body[*f].as_str().is_some_and(|v| !v.is_empty()),
                "{c} get lacks {f}"
            );
        }
    }
}

#[tokio::test]
async fn admin_template_definition_and_presentation_expands() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    let list = s
        .get(&tok, "/beta/deviceManagement/groupPolicyConfigurations")
        .await;
    let gp = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "ADMX - OneDrive")
        .unwrap()
        .clone();
    let id = gp["id"].as_str().unwrap();
    assert!(gp.get("definitionValues").is_none());
    let dvs = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues"),
        )
        .await;
    let first = &dvs.body["value"][0];
    assert!(
        first.get("definition").is_none(),
        "definition only with $expand"
    );
    let dvs = s.get(&tok, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues?$expand=definition")).await;
    let values = dvs.body["value"].as_array().unwrap();
    assert!(values.len() >= 2);
    assert!(
        values
            .iter()
            .all(|v| v["definition"]["displayName"].is_string())
    );
    let with_pres = values
        .iter()
        .find(|v| v["definition"]["id"].is_string())
        .unwrap();
    let dv_id = with_pres["id"].as_str().unwrap();
    let def = s.get(&tok, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues/{dv_id}/definition")).await;
    assert_eq!(def.status, 200);
    let pvs = s.get(&tok, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues/{dv_id}/presentationValues?$expand=presentation")).await;
    assert_eq!(pvs.status, 200);
    for pv in pvs.body["value"].as_array().unwrap() {
        assert!(
            pv["presentation"]["@odata.type"]
                .as_str()
                .unwrap()
                .starts_with("#microsoft.graph.groupPolicyPresentation")
        );
    }
    let pvs = s.get(&tok, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues/{dv_id}/presentationValues")).await;
    for pv in pvs.body["value"].as_array().unwrap() {
        assert!(pv.get("presentation").is_none());
    }
    // The whole tree in one request.
    let all = s
        .get(&tok, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}?$expand=definitionValues($expand=definition,presentationValues($expand=presentation))"))
        .await;
    assert!(all.body["definitionValues"][0]["definition"].is_object());
    assert!(all.body["definitionValues"][0]["presentationValues"].is_array());
    let _ = json!(null);
}

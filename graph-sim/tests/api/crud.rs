use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn every_collection_supports_create_get_list_patch_delete() {
    let s = spawn_demo().await;
    for (i, c) in writable_collections().into_iter().enumerate() {
        // A tenant each: ~45 collections of five writes would meet the write quota.
        let tok = s.empty_tenant(&format!("crud-{i}")).await;
        let spec = spec_of(c);
        let key = key_of(c);
        let created = s
            .post(
                &tok,
                &format!("/beta/{c}"),
                minimal_body(c, "Sim test object"),
            )
            .await;
        assert_eq!(created.status, 201, "{c}: {}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        assert!(!id.is_empty());
        assert!(
            created.body["@odata.context"]
                .as_str()
                .unwrap()
                .contains(&format!("$metadata#{c}/$entity")),
            "{c}"
        );
        assert!(created.headers.get("location").is_some());
        assert_eq!(created.body[key], "Sim test object");
        if let Some(k) = spec.stamps.created_key() {
            assert!(created.body[k].is_string(), "{c}");
        }
        let modified = spec.stamps.modified_key();
        if let Some(k) = modified {
            assert!(created.body[k].is_string(), "{c}");
        }

        let got = s.get(&tok, &format!("/beta/{c}/{id}")).await;
        assert_eq!(got.status, 200, "{c}");
        assert_eq!(got.body["id"], id.as_str());

        let list = s.get(&tok, &format!("/beta/{c}")).await;
        assert_eq!(list.status, 200);
        assert!(
            list.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with(&format!("$metadata#{c}"))
        );
        assert!(
            list.body["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == id.as_str()),
            "{c}"
        );

        let before = got.body.clone();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let patched = s
            .patch(
                &tok,
                &format!("/beta/{c}/{id}"),
                json!({ key: "Renamed", "description": "changed" }),
            )
            .await;
        assert_eq!(patched.status, 204, "{c}: {}", patched.body);
        let got = s.get(&tok, &format!("/beta/{c}/{id}")).await;
        assert_eq!(got.body[key], "Renamed", "{c}");
        assert_eq!(got.body["description"], "changed");
        if let Some(k) = modified {
            assert_ne!(got.body[k], before[k], "{c}");
        }
        if let Some(v) = before["version"].as_i64() {
            assert_eq!(got.body["version"].as_i64(), Some(v + 1), "{c}");
        }

        let del = s
            .send(Method::DELETE, Some(&tok), &format!("/beta/{c}/{id}"), None)
            .await;
        assert_eq!(del.status, 204, "{c}");
        let gone = s.get(&tok, &format!("/beta/{c}/{id}")).await;
        assert_graph_error(&gone, 404, "ResourceNotFound");
    }
}

#[tokio::test]
async fn objects_carry_types_and_server_owned_fields_are_ignored() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("types").await;
    let mut body = minimal_body("deviceManagement/deviceConfigurations", "Typed");
    body["id"] = json!("my-own-id");
    body["createdDateTime"] = json!("2001-01-01T00:00:00Z");
    body["version"] = json!(42);
    let r = s
        .post(&tok, "/beta/deviceManagement/deviceConfigurations", body)
        .await;
    assert_eq!(r.status, 201);
    assert_ne!(r.body["id"], "my-own-id");
    assert_ne!(r.body["createdDateTime"], "2001-01-01T00:00:00Z");
    assert_eq!(r.body["version"], 1);
    assert_eq!(
        r.body["@odata.type"],
        "#microsoft.graph.windows10GeneralConfiguration"
    );
    assert_eq!(r.body["roleScopeTagIds"], json!(["0"]));
    // Settings catalog: the entity set is not polymorphic, so no @odata.type (as in real exports).
    let p = s
        .post(
            &tok,
            "/beta/deviceManagement/configurationPolicies",
            minimal_body("deviceManagement/configurationPolicies", "SC"),
        )
        .await;
    assert!(p.body.get("@odata.type").is_none());
    assert_eq!(p.body["settingCount"], 1);
}

#[tokio::test]
async fn bodies_graph_rejects_get_400() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("bad").await;
    let dc = "/beta/deviceManagement/deviceConfigurations";
    // Wrong type for the collection.
    let r = s.post(&tok, dc, json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "x"})).await;
    assert_graph_error(&r, 400, "BadRequest");
    // Abstract base type / no type on a polymorphic set.
    let r = s.post(&tok, dc, json!({"displayName": "x"})).await;
    assert_graph_error(&r, 400, "BadRequest");
    // Unknown namespace.
    let r = s
        .post(
            &tok,
            dc,
            json!({"@odata.type": "#contoso.thing", "displayName": "x"}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    // Wrong type on a concrete set.
    let r = s
        .post(
            &tok,
            "/beta/deviceManagement/roleScopeTags",
            json!({"@odata.type": "#microsoft.graph.deviceConfiguration", "displayName": "x"}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    // A response annotation sent back.
    let mut b = minimal_body("deviceManagement/deviceConfigurations", "x");
    b["@odata.context"] = json!(
        "https://graph.microsoft.com/beta/$metadata#deviceManagement/deviceConfigurations/$entity"
    );
    assert_graph_error(&s.post(&tok, dc, b).await, 400, "BadRequest");
    // Missing display name.
    let r = s
        .post(
            &tok,
            dc,
            json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration"}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    // Malformed JSON and a non-object.
    let raw = s
        .http
        .post(format!("{}{dc}", s.base))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body("{\"displayName\": ")
        .send()
        .await
        .unwrap();
    assert_graph_error(&to_resp(raw).await, 400, "BadRequest");
    assert_graph_error(&s.post(&tok, dc, json!([1, 2])).await, 400, "BadRequest");
    // Compliance needs exactly one block action.
    let r = s.post(&tok, "/beta/deviceManagement/deviceCompliancePolicies", json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "x"})).await;
    assert_graph_error(&r, 400, "BadRequest");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one and only one block scheduled action")
    );
    // PATCH cannot change the type.
    let created = s
        .post(
            &tok,
            dc,
            minimal_body("deviceManagement/deviceConfigurations", "y"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let r = s
        .patch(
            &tok,
            &format!("{dc}/{id}"),
            json!({"@odata.type": "#microsoft.graph.iosGeneralDeviceConfiguration"}),
        )
        .await;
    assert_graph_error(&r, 400, "BadRequest");
    // Bad query options.
    assert_graph_error(
        &s.get(&tok, &format!("{dc}?$filter=displayName%20eq")).await,
        400,
        "BadRequest",
    );
    assert_graph_error(
        &s.get(&tok, &format!("{dc}?$top=many")).await,
        400,
        "BadRequest",
    );
    assert_graph_error(
        &s.get(&tok, &format!("{dc}?$skiptoken=nope")).await,
        400,
        "BadRequest",
    );
}

#[tokio::test]
async fn unknown_paths_ids_and_methods() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    assert_graph_error(
        &s.get(&tok, "/beta/deviceManagement/noSuchThing").await,
        404,
        "ResourceNotFound",
    );
    assert_graph_error(
        &s.get(
            &tok,
            "/beta/deviceManagement/deviceConfigurations/00000000-0000-0000-0000-000000000000",
        )
        .await,
        404,
        "ResourceNotFound",
    );
    assert_graph_error(
        &s.get(&tok, "/v2.0/deviceManagement/deviceConfigurations")
            .await,
        404,
        "ResourceNotFound",
    );
    // Settings catalog is beta-only; device configurations exist in v1.0 too.
    assert_graph_error(
        &s.get(&tok, "/v1.0/deviceManagement/configurationPolicies")
            .await,
        404,
        "ResourceNotFound",
    );
    assert_eq!(
        s.get(&tok, "/v1.0/deviceManagement/deviceConfigurations")
            .await
            .status,
        200
    );
    // PUT exists only for the settings catalog.
    let list = s
        .get(&tok, "/beta/deviceManagement/deviceConfigurations")
        .await;
    let id = list.body["value"][0]["id"].as_str().unwrap();
    let put = s
        .send(
            Method::PUT,
            Some(&tok),
            &format!("/beta/deviceManagement/deviceConfigurations/{id}"),
            Some(json!({"displayName": "x"})),
        )
        .await;
    assert_eq!(put.status, 405);
    assert_eq!(put.body["error"]["code"], "No method match route template");
    // The built-in scope tag and default enrollment configurations cannot be deleted.
    let del = s
        .send(
            Method::DELETE,
            Some(&tok),
            "/beta/deviceManagement/roleScopeTags/0",
            None,
        )
        .await;
    assert_graph_error(&del, 400, "BadRequest");
    // client-request-id is echoed.
    let r = s
        .http
        .get(format!(
            "{}/beta/deviceManagement/deviceConfigurations",
            s.base
        ))
        .bearer_auth(&tok)
        .header("client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["client-request-id"], "abc-123");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    // OData key syntax addresses the same entity.
    let keyed = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/deviceConfigurations('{id}')"),
        )
        .await;
    assert_eq!(keyed.body["id"], id);
}

#[tokio::test]
async fn settings_catalog_put_replaces_properties_and_settings() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("put").await;
    let c = "/beta/deviceManagement/configurationPolicies";
    let created = s
        .post(
            &tok,
            c,
            minimal_body("deviceManagement/configurationPolicies", "Before"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let mut body = minimal_body("deviceManagement/configurationPolicies", "After");
    let setting = body["settings"][0].clone();
    body["settings"] = Value::Array(vec![setting.clone(), setting.clone(), setting]);
    let put = s
        .send(Method::PUT, Some(&tok), &format!("{c}/{id}"), Some(body))
        .await;
    assert_eq!(put.status, 204, "{}", put.body);
    let got = s.get(&tok, &format!("{c}/{id}?$expand=settings")).await;
    assert_eq!(got.body["name"], "After");
    assert_eq!(got.body["settings"].as_array().unwrap().len(), 3);
    assert_eq!(got.body["settingCount"], 3);
    assert_eq!(got.body["createdDateTime"], created.body["createdDateTime"]);
}

#[tokio::test]
async fn intents_are_created_from_templates_and_update_settings() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("intents").await;
    let templates = s.get(&tok, "/beta/deviceManagement/templates").await;
    let tid = templates.body["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let def =
        "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallBlockStatefulFTP";
    let r = s
        .post(&tok, &format!("/beta/deviceManagement/templates/{tid}/createInstance"), json!({
            "displayName": "Baseline", "description": "d",
            "settingsDelta": [{"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance", "definitionId": def, "valueJson": "true"}]
        }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["templateId"], tid.as_str());
    let id = r.body["id"].as_str().unwrap();
    let settings = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/intents/{id}/settings"),
        )
        .await;
    assert_eq!(settings.body["value"].as_array().unwrap().len(), 1);
    let up = s.post(&tok, &format!("/beta/deviceManagement/intents/{id}/updateSettings"), json!({"settings": [
        {"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance", "definitionId": def, "valueJson": "false"},
        {"@odata.type": "#microsoft.graph.deviceManagementIntegerSettingInstance", "definitionId": "other", "valueJson": "5"}
    ]})).await;
    assert_eq!(up.status, 204);
    let settings = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/intents/{id}/settings"),
        )
        .await;
    let v = settings.body["value"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["valueJson"], "false");
    assert_graph_error(
        &s.post(
            &tok,
            "/beta/deviceManagement/templates/nope/createInstance",
            json!({"displayName": "x"}),
        )
        .await,
        404,
        "ResourceNotFound",
    );
}

#[tokio::test]
async fn admin_template_definition_values_update_in_place() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    let defs = s
        .get(&tok, "/beta/deviceManagement/groupPolicyDefinitions")
        .await;
    let def = defs.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["displayName"] == "Turn off Autoplay")
        .unwrap()
        .clone();
    let def_id = def["id"].as_str().unwrap();
    let target = s.empty_tenant("admx").await;
    let gp = s
        .post(
            &target,
            "/beta/deviceManagement/groupPolicyConfigurations",
            json!({"displayName": "Restored ADMX"}),
        )
        .await;
    let id = gp.body["id"].as_str().unwrap().to_string();
    // Find the definition's presentation via a demo policy that uses it, or bind without one.
    let add = s.post(&target, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/updateDefinitionValues"), json!({
        "added": [{"enabled": true, "definition@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{def_id}')"),
                   "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "1",
                       "presentation@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{def_id}')/presentations('unknown-presentation')")}]}],
        "updated": [], "deletedIds": []
    })).await;
    assert_eq!(add.status, 204, "{}", add.body);
    let dvs = s.get(&target, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues?$expand=definition")).await;
    let dv = dvs.body["value"][0].clone();
    assert_eq!(dv["definition"]["displayName"], "Turn off Autoplay");
    assert!(dv.get("presentationValues").is_none());
    let dv_id = dv["id"].as_str().unwrap();
    let pvs = s.get(&target, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues/{dv_id}/presentationValues?$expand=presentation")).await;
    assert_eq!(
        pvs.body["value"][0]["presentation"]["id"],
        "unknown-presentation"
    );
    let pv_id = pvs.body["value"][0]["id"].as_str().unwrap();
    let upd = s.post(&target, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/updateDefinitionValues"), json!({
        "added": [], "updated": [{"id": dv_id, "enabled": false, "presentationValues": [{"id": pv_id, "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "2"}]}], "deletedIds": []
    })).await;
    assert_eq!(upd.status, 204, "{}", upd.body);
    let pv = s.get(&target, &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues/{dv_id}/presentationValues/{pv_id}")).await;
    assert_eq!(pv.body["value"], "2");
    let del = s
        .post(
            &target,
            &format!(
                "/beta/deviceManagement/groupPolicyConfigurations/{id}/updateDefinitionValues"
            ),
            json!({"added": [], "updated": [], "deletedIds": [dv_id]}),
        )
        .await;
    assert_eq!(del.status, 204);
    let dvs = s
        .get(
            &target,
            &format!("/beta/deviceManagement/groupPolicyConfigurations/{id}/definitionValues"),
        )
        .await;
    assert_eq!(dvs.body["value"], json!([]));
    let bad = s
        .post(
            &target,
            &format!(
                "/beta/deviceManagement/groupPolicyConfigurations/{id}/updateDefinitionValues"
            ),
            json!({"added": [{"enabled": true}]}),
        )
        .await;
    assert_graph_error(&bad, 400, "BadRequest");
}

#[tokio::test]
async fn garbage_input_gets_client_errors_never_a_crash() {
    let s = spawn_demo().await;
    let (t, tok) = s.demo_token("contoso").await;
    let id = t["id"].as_str().unwrap();
    let paths = [
        "/beta/deviceManagement/configurationPolicies?$filter=(((",
        "/beta/deviceManagement/configurationPolicies?$filter=name%20eq%20'%E2%82",
        "/beta/deviceManagement/configurationPolicies?$expand=settings(",
        "/beta/deviceManagement/configurationPolicies?$expand=)(",
        "/beta/deviceManagement/configurationPolicies?$top=99999999999999999999999",
        "/beta/deviceManagement/configurationPolicies?$skip=-1",
        "/beta/deviceManagement/configurationPolicies?$orderby=",
        "/beta/deviceManagement/configurationPolicies?%",
        "/beta/deviceManagement/configurationPolicies('",
        "/beta/deviceManagement/configurationPolicies()/settings/x/y/z",
        "/beta/deviceManagement/deviceCompliancePolicies/x/microsoft.graph.nothing/assign",
        "/beta/%FF%FE/deviceManagement",
        "/beta//deviceManagement//configurationPolicies",
        "/beta/$batch",
    ];
    for p in paths {
        let r = s.get(&tok, p).await;
        assert!(
            r.status.is_client_error() || r.status.is_success(),
            "{p}: {}",
            r.status
        );
    }
    let bodies = [
        (
            "/beta/$batch",
            json!({"requests": [{"id": {}, "method": 5, "url": []}]}),
        ),
        ("/beta/$batch", json!({"requests": "x"})),
        (
            "/beta/deviceManagement/configurationPolicies",
            json!({"name": 5}),
        ),
        (
            "/beta/deviceManagement/configurationPolicies",
            json!({"name": "x", "settings": 5}),
        ),
        (
            "/beta/deviceManagement/configurationPolicies",
            json!({"name": "x", "settings": [1, 2]}),
        ),
        (
            "/beta/deviceManagement/groupPolicyConfigurations",
            json!({"displayName": "x", "definitionValues": [{"definition@odata.bind": 5}]}),
        ),
        (
            "/beta/deviceManagement/deviceCompliancePolicies",
            json!({"@odata.type": 7, "displayName": "x"}),
        ),
    ];
    for (p, b) in bodies {
        let r = s.post(&tok, p, b.clone()).await;
        assert!(r.status.is_client_error(), "{p} {b}: {}", r.status);
    }
    for f in [
        json!({"kind": "latency", "fixed_ms": u64::MAX, "jitter_ms": u64::MAX, "count": 0}),
        json!({"kind": "outage", "duration_secs": 1e300}),
    ] {
        let r = s
            .admin(Method::POST, &format!("/_sim/tenants/{id}/faults"), Some(f))
            .await;
        assert!(r.status.is_success() || r.status.is_client_error());
    }
    s.admin(Method::DELETE, &format!("/_sim/tenants/{id}/faults"), None)
        .await;
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/configurationPolicies")
            .await
            .status,
        200
    );
}

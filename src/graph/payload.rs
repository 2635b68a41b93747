//! Write bodies built from (normalized) objects, per the contract's create, update and assign
//! methods. Pure functions: the client sends what these return.

use serde_json::{Map, Value, json};

use super::error::{ErrorKind, GraphError};
use super::registry::{Contract, CreateMethod, UpdateMethod};

/// The object's own properties: no sub-resources, no assignments; relationships by
/// reference as `<name>@odata.bind` URLs below `graph_root` (the API version's root).
fn properties(
    contract: &Contract,
    graph_root: &str,
    obj: &Map<String, Value>,
) -> Map<String, Value> {
    let mut body: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "assignments" && contract.sub_resource(k).is_none())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for sub in contract.sub_resources {
        if let Some(collection) = sub.bind
            && let Some(id) = obj
                .get(sub.name)
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
        {
            body.insert(
                format!("{}@odata.bind", sub.name),
                Value::String(format!(
                    "{graph_root}/{collection}('{}')",
                    encode_segment(&id.replace('\'', "''"))
                )),
            );
        }
    }
    body
}

/// Properties plus the sub-resources Graph takes inline.
fn with_inline(
    contract: &Contract,
    graph_root: &str,
    obj: &Map<String, Value>,
) -> Map<String, Value> {
    let mut body = properties(contract, graph_root, obj);
    for sub in contract.sub_resources.iter().filter(|s| s.write_inline) {
        if let Some(v) = obj.get(sub.name) {
            body.insert(sub.name.to_string(), v.clone());
        }
    }
    body
}

fn invalid(contract: &Contract) -> GraphError {
    GraphError::new(ErrorKind::InvalidObject).with_policy_type(contract.key)
}

/// Where a create is sent, relative to the API version, and its body. `parent` is the
/// parent object's id for a contained type (an enrollment profile's token).
pub(crate) fn create_request(
    contract: &Contract,
    graph_root: &str,
    parent: Option<&str>,
    obj: &Map<String, Value>,
) -> Result<(String, Value), GraphError> {
    let collection = match contract.contained() {
        None => contract.collection.to_string(),
        Some((parent_collection, segment)) => {
            let parent = parent
                .filter(|p| !p.is_empty())
                .ok_or_else(|| invalid(contract))?;
            format!("{parent_collection}/{}/{segment}", encode_segment(parent))
        }
    };
    match contract.create {
        CreateMethod::Post => Ok((
            collection,
            Value::Object(with_inline(contract, graph_root, obj)),
        )),
        CreateMethod::PostThenDefinitionValues | CreateMethod::PostThenChildren { .. } => Ok((
            collection,
            Value::Object(properties(contract, graph_root, obj)),
        )),
        CreateMethod::CreateInstance {
            template_property,
            settings_param,
        } => {
            let template = obj
                .get(template_property)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| invalid(contract))?;
            let mut body = Map::new();
            for k in [contract.match_key, "description", "roleScopeTagIds"] {
                if let Some(v) = obj.get(k) {
                    body.insert(k.to_string(), v.clone());
                }
            }
            let settings = contract
                .sub_resources
                .first()
                .and_then(|s| obj.get(s.name))
                .cloned()
                .unwrap_or_else(|| json!([]));
            body.insert(settings_param.to_string(), settings);
            Ok((
                format!(
                    "deviceManagement/templates/{}/createInstance",
                    encode_segment(template)
                ),
                Value::Object(body),
            ))
        }
    }
}

/// The body of the PATCH or PUT of an update.
pub(crate) fn update_body(
    contract: &Contract,
    graph_root: &str,
    obj: &Map<String, Value>,
) -> Value {
    let mut body = match contract.update {
        UpdateMethod::Put => with_inline(contract, graph_root, obj),
        _ => properties(contract, graph_root, obj),
    };
    for k in contract.update_omit {
        body.remove(*k);
    }
    Value::Object(body)
}

/// `{param: <sub-resource>}` for a `PatchThenAction` update.
pub(crate) fn action_body(obj: &Map<String, Value>, sub_resource: &str, param: &str) -> Value {
    let items = obj.get(sub_resource).cloned().unwrap_or_else(|| json!([]));
    let mut body = Map::new();
    body.insert(param.to_string(), items);
    Value::Object(body)
}

/// `{payload_key: [assignments]}` for `/assign`.
pub(crate) fn assign_body(payload_key: &str, assignments: &[Value]) -> Value {
    let mut body = Map::new();
    body.insert(payload_key.to_string(), Value::Array(assignments.to_vec()));
    Value::Object(body)
}

fn definition_bind(graph_root: &str, definition_id: &str) -> String {
    format!("{graph_root}/deviceManagement/groupPolicyDefinitions('{definition_id}')")
}

fn id_of<'a>(v: &'a Value, reference: &str) -> Option<&'a str> {
    v.get(reference)?
        .get("id")?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// A definition value as `updateDefinitionValues` takes it: the catalogue references as
/// `@odata.bind` URLs, presentation values matched to `current` ones (by presentation id)
/// carrying those ids.
fn definition_value_write(
    graph_root: &str,
    desired: &Value,
    current: Option<&Value>,
) -> Option<Value> {
    let def_id = id_of(desired, "definition")?;
    let mut out: Map<String, Value> = desired
        .as_object()?
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "definition" | "presentationValues" | "id"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match current.and_then(|c| c.get("id")).and_then(Value::as_str) {
        Some(id) => {
            out.insert("id".into(), json!(id));
        }
        None => {
            out.insert(
                "definition@odata.bind".into(),
                json!(definition_bind(graph_root, def_id)),
            );
        }
    }
    let current_pvs: Vec<&Value> = current
        .and_then(|c| c.get("presentationValues"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let pvs: Vec<Value> = desired
        .get("presentationValues")
        .and_then(Value::as_array)
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|pv| {
            let pres_id = id_of(pv, "presentation")?;
            let mut w: Map<String, Value> = pv
                .as_object()?
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "presentation" | "id"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let existing = current_pvs
                .iter()
                .find(|c| id_of(c, "presentation") == Some(pres_id))
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str);
            match existing {
                Some(id) => {
                    w.insert("id".into(), json!(id));
                }
                None => {
                    w.insert(
                        "presentation@odata.bind".into(),
                        json!(format!(
                            "{}/presentations('{pres_id}')",
                            definition_bind(graph_root, def_id)
                        )),
                    );
                }
            }
            Some(Value::Object(w))
        })
        .collect();
    out.insert("presentationValues".into(), Value::Array(pvs));
    Some(Value::Object(out))
}

/// The `updateDefinitionValues` body turning `current` (the target's definition values, with
/// their ids) into `desired` (normalized): matched by definition id → `updated`, new →
/// `added`, gone → `deletedIds`. `None` when there is nothing to send.
pub(crate) fn definition_values_update(
    contract: &Contract,
    graph_root: &str,
    desired: &[Value],
    current: &[Value],
) -> Result<Option<Value>, GraphError> {
    let mut added = Vec::new();
    let mut updated = Vec::new();
    for d in desired {
        let def_id = id_of(d, "definition").ok_or_else(|| invalid(contract))?;
        let matched = current
            .iter()
            .find(|c| id_of(c, "definition") == Some(def_id));
        let w = definition_value_write(graph_root, d, matched).ok_or_else(|| invalid(contract))?;
        if matched.is_some() {
            updated.push(w);
        } else {
            added.push(w);
        }
    }
    let deleted: Vec<Value> = current
        .iter()
        .filter(|c| {
            let def = id_of(c, "definition");
            def.is_none() || !desired.iter().any(|d| id_of(d, "definition") == def)
        })
        .filter_map(|c| c.get("id").cloned())
        .collect();
    if added.is_empty() && updated.is_empty() && deleted.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "added": added,
        "updated": updated,
        "deletedIds": deleted,
    })))
}

/// Percent-encodes one URL path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    encode(s, |b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b':' | b'@' | b'(' | b')' | b'\'' | b','
            )
    })
}

/// Percent-encodes one query value.
pub(crate) fn encode_query(s: &str) -> String {
    encode(s, |b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b'\'' | b'(' | b')' | b',' | b'$' | b'=' | b'/'
            )
    })
}

fn encode(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The OData string literal of `s`: quotes doubled.
pub(crate) fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::normalize::normalize;
    use crate::graph::registry::get;

    const ROOT: &str = "https://graph.test/beta";

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn post_creates_carry_inline_sub_resources_and_patches_do_not() {
        let c = get("deviceCompliancePolicies").unwrap();
        let o = obj(
            json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "C",
            "scheduledActionsForRule": [{"ruleName": "r"}], "assignments": [{"target": {}}]}),
        );
        let (path, body) = create_request(c, ROOT, None, &o).unwrap();
        assert_eq!(path, "deviceManagement/deviceCompliancePolicies");
        assert!(body.get("scheduledActionsForRule").is_some());
        assert!(body.get("assignments").is_none());
        let patch = update_body(c, ROOT, &o);
        assert!(patch.get("scheduledActionsForRule").is_none());
        assert_eq!(
            patch["@odata.type"],
            "#microsoft.graph.windows10CompliancePolicy"
        );
        assert_eq!(
            action_body(
                &o,
                "scheduledActionsForRule",
                "deviceComplianceScheduledActionForRules"
            ),
            json!({"deviceComplianceScheduledActionForRules": [{"ruleName": "r"}]})
        );
    }

    #[test]
    fn settings_catalog_put_carries_settings() {
        let c = get("configurationPolicies").unwrap();
        let o = obj(json!({"name": "N", "settings": [{"settingInstance": {}}]}));
        assert!(update_body(c, ROOT, &o).get("settings").is_some());
    }

    #[test]
    fn intents_are_created_from_their_template_and_never_patch_it() {
        let c = get("intents").unwrap();
        let o = obj(
            json!({"displayName": "I", "description": "d", "templateId": "tmpl-1", "roleScopeTagIds": ["0"],
            "settings": [{"definitionId": "x", "valueJson": "true"}]}),
        );
        let (path, body) = create_request(c, ROOT, None, &o).unwrap();
        assert_eq!(path, "deviceManagement/templates/tmpl-1/createInstance");
        assert_eq!(
            body,
            json!({"displayName": "I", "description": "d", "roleScopeTagIds": ["0"],
                "settingsDelta": [{"definitionId": "x", "valueJson": "true"}]})
        );
        let patch = update_body(c, ROOT, &o);
        assert!(patch.get("templateId").is_none());
        assert!(patch.get("settings").is_none());
        let err = create_request(c, ROOT, None, &obj(json!({"displayName": "I"}))).unwrap_err();
        assert_eq!(err.code(), "invalid_object");
    }

    #[test]
    fn definition_values_are_diffed_into_added_updated_and_deleted() {
        let c = get("groupPolicyConfigurations").unwrap();
        let source = json!({"displayName": "G", "definitionValues": [
            {"id": "s1", "enabled": true, "definition": {"id": "d1"},
             "presentationValues": [{"id": "sp1", "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                "value": "new", "presentation": {"id": "p1"}},
              {"@odata.type": "#microsoft.graph.groupPolicyPresentationValueDecimal", "value": 3, "presentation": {"id": "p2"}}]},
            {"id": "s2", "enabled": false, "definition": {"id": "d2"}, "presentationValues": []}
        ]});
        let desired = normalize(c, &source).payload["definitionValues"]
            .as_array()
            .unwrap()
            .clone();
        let current = vec![
            json!({"id": "t1", "definition": {"id": "d1"}, "presentationValues": [{"id": "tp1", "presentation": {"id": "p1"}, "value": "old"}]}),
            json!({"id": "t3", "definition": {"id": "d3"}, "presentationValues": []}),
        ];
        let root = "https://graph.microsoft.com/beta";
        let body = definition_values_update(c, root, &desired, &current)
            .unwrap()
            .unwrap();
        assert_eq!(body["deletedIds"], json!(["t3"]));
        assert_eq!(body["updated"][0]["id"], "t1");
        let pvs = body["updated"][0]["presentationValues"].as_array().unwrap();
        assert_eq!(pvs[0]["id"], "tp1");
        assert_eq!(pvs[0]["value"], "new");
        assert_eq!(
            pvs[1]["presentation@odata.bind"],
            format!("{root}/deviceManagement/groupPolicyDefinitions('d1')/presentations('p2')")
        );
        assert_eq!(
            body["added"][0]["definition@odata.bind"],
            format!("{root}/deviceManagement/groupPolicyDefinitions('d2')")
        );
        assert_eq!(body["added"][0]["enabled"], false);
        assert!(body["added"][0].get("definition").is_none());
        assert!(
            definition_values_update(c, root, &[], &[])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn odata_literals_and_encoding() {
        assert_eq!(odata_string("O'Brien"), "'O''Brien'");
        assert_eq!(
            encode_query("name eq 'A&B #1'"),
            "name%20eq%20'A%26B%20%231'"
        );
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(assign_body("k", &[json!(1)]), json!({"k": [1]}));
    }
}

//! Normalization of Graph objects for storage and comparison: read-only fields stripped per
//! the contract (sub-resources included), a content hash over canonical JSON, masked-secret
//! detection and field-level diffs for previews.
//!
//! Stored payloads keep Graph's order of settings and sub-resources: a restore writes them
//! back as they were captured, so tools that compare by position see no change. Lists Graph
//! gives no meaningful order are sorted only inside [`comparable`] — what hashes and diffs
//! read.
//!
//! What is stripped (DESIGN section 6, "Fields peers strip before writing"):
//! - everywhere: every `@odata.*` annotation except `@odata.type`, property annotations
//!   (`x@odata.type`, `assignments@odata.context`, `x@odata.bind`), action descriptors (keys
//!   starting with `#`), `secretReferenceValueId`;
//! - on the object: `id`, `createdDateTime`, `lastModifiedDateTime`, `modifiedDateTime`,
//!   `version`, `supportsScopeTags`, `isAssigned`, plus the contract's own read-only fields;
//! - on every item of a sub-resource (settings, definition values, scheduled actions, ...)
//!   and of `assignments`: its `id` (tenant-specific), timestamps and `version`, plus the
//!   sub-resource's own list (`settingDefinitions` inside settings); assignments also lose
//!   `sourceId` (the policy id);
//! - catalogue references (an ADMX `definition` / `presentation`) keep their `id`, which is
//!   the same in every tenant, and lose only timestamps.
//!
//! **Files.** Stripping, the comparable form and the hash live here; canonical JSON, content
//! hashes and decoding exports in `json.rs`; diffs and masked secrets, both reported as JSON
//! pointers, in `diff.rs`.

use serde_json::{Map, Value};

use super::registry::{Contract, SubResource};

mod diff;
mod json;

pub use diff::{FieldChange, diff, masked_secrets};
pub use json::{approx_len, canonical_json, content_hash, parse_json_bytes};

const OBJECT_STRIP: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "modifiedDateTime",
    "version",
    "supportsScopeTags",
    "isAssigned",
];

const ITEM_STRIP: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "modifiedDateTime",
    "version",
];

const REFERENCE_STRIP: &[&str] = &[
    "createdDateTime",
    "lastModifiedDateTime",
    "modifiedDateTime",
];

const ASSIGNMENT_STRIP: &[&str] = &[
    "id",
    "sourceId",
    "createdDateTime",
    "lastModifiedDateTime",
    "modifiedDateTime",
];

/// Removed wherever it appears.
const EVERYWHERE_STRIP: &[&str] = &["secretReferenceValueId"];

/// One Graph object ready for the database: payload and assignments split, hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The object's Graph id in the tenant it was read from.
    pub source_id: Option<String>,
    /// The value of the contract's match key.
    pub display_name: String,
    pub odata_type: Option<String>,
    /// The object without read-only fields and without `assignments`.
    pub payload: Value,
    /// Normalized assignments (always an array).
    pub assignments: Value,
    /// SHA-256 (hex) of the canonical payload.
    pub content_hash: String,
    /// JSON pointers (into `payload`) of masked secret values (`****`).
    pub masked_secrets: Vec<String>,
}

/// Normalizes a raw Graph object (as the client returns it, or from an export).
pub fn normalize(contract: &Contract, raw: &Value) -> Normalized {
    let mut payload = strip(contract, raw);
    let assignments = match payload
        .as_object_mut()
        .and_then(|m| m.remove("assignments"))
    {
        Some(a) => a,
        None => Value::Array(Vec::new()),
    };
    let source_id = raw.get("id").and_then(id_text);
    let display_name = payload
        .get(contract.match_key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let odata_type = payload
        .get("@odata.type")
        .and_then(Value::as_str)
        .map(str::to_string);
    Normalized {
        source_id,
        display_name,
        odata_type,
        content_hash: hash(contract, &payload),
        masked_secrets: masked_secrets(&payload),
        payload,
        assignments,
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A copy of `raw` with everything read-only removed, in Graph's order. Keeps
/// `assignments` (normalized) when present. Idempotent.
pub fn strip(contract: &Contract, raw: &Value) -> Value {
    let Value::Object(obj) = raw else {
        return raw.clone();
    };
    let mut out = clean_map(obj);
    for k in OBJECT_STRIP
        .iter()
        .filter(|k| !contract.keep.contains(k))
        .chain(contract.strip)
    {
        out.remove(*k);
    }
    if let Some(t) = contract.implicit_type
        && out
            .get("@odata.type")
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(t))
    {
        out.remove("@odata.type");
    }
    strip_subs(&mut out, contract.sub_resources);
    if let Some(a) = out.remove("assignments") {
        out.insert("assignments".into(), normalize_assignments(a));
    }
    Value::Object(out)
}

/// Normalized assignments: ids and policy ids dropped, sorted.
pub fn normalize_assignments(raw: Value) -> Value {
    let mut items: Vec<Value> = as_items(clean(&raw))
        .into_iter()
        .map(|mut m| {
            for k in ASSIGNMENT_STRIP {
                m.remove(*k);
            }
            Value::Object(m)
        })
        .collect();
    sort_items(&mut items, None);
    Value::Array(items)
}

fn strip_subs(obj: &mut Map<String, Value>, subs: &[SubResource]) {
    for sub in subs {
        let Some(v) = obj.remove(sub.name) else {
            continue;
        };
        let v = if sub.bind.is_some() {
            // A relationship by reference: only which object it names is content (Graph
            // expands the whole related object).
            match v.get("id") {
                Some(id) => serde_json::json!({ "id": id }),
                None => Value::Null,
            }
        } else if sub.reference {
            match v {
                Value::Object(mut m) => {
                    for k in REFERENCE_STRIP {
                        m.remove(*k);
                    }
                    Value::Object(m)
                }
                other => other,
            }
        } else {
            let items: Vec<Value> = as_items(v)
                .into_iter()
                .map(|mut m| {
                    for k in ITEM_STRIP.iter().chain(sub.strip) {
                        m.remove(*k);
                    }
                    strip_subs(&mut m, sub.children);
                    Value::Object(m)
                })
                .collect();
            Value::Array(items)
        };
        obj.insert(sub.name.to_string(), v);
    }
}

/// The form two payloads are compared in: sub-resource lists (settings, definition values,
/// scheduled actions, ...) sorted by their identity, at every level. Used for hashes and
/// diffs only, never written.
pub fn comparable(contract: &Contract, payload: &Value) -> Value {
    let mut out = payload.clone();
    if let Value::Object(obj) = &mut out {
        sort_subs(obj, contract.sub_resources);
    }
    out
}

fn sort_subs(obj: &mut Map<String, Value>, subs: &[SubResource]) {
    for sub in subs {
        if sub.reference {
            continue;
        }
        if let Some(Value::Array(items)) = obj.get_mut(sub.name) {
            for item in items.iter_mut() {
                if let Value::Object(m) = item {
                    sort_subs(m, sub.children);
                }
            }
            sort_items(items, sub.sort_key);
        }
    }
}

/// The content hash of a normalized payload: SHA-256 of its [`comparable`] form.
pub fn hash(contract: &Contract, payload: &Value) -> String {
    content_hash(&comparable(contract, payload))
}

/// A sub-resource as a list of objects: real exports sometimes hold one object or a
/// `{"value": [...]}` wrapper where an array belongs.
fn as_items(v: Value) -> Vec<Map<String, Value>> {
    let list = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove("value") {
            Some(Value::Array(a)) => a,
            Some(other) => {
                m.insert("value".into(), other);
                vec![Value::Object(m)]
            }
            None => vec![Value::Object(m)],
        },
        other => vec![other],
    };
    list.into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn sort_items(items: &mut [Value], key: Option<&str>) {
    items.sort_by_cached_key(|item| {
        let k = key
            .and_then(|k| lookup(item, k))
            .map(canonical_json)
            .unwrap_or_default();
        (k, canonical_json(item))
    });
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/').try_fold(v, |v, seg| v.get(seg))
}

/// Whether a key is metadata rather than data.
pub fn is_annotation(key: &str) -> bool {
    (key.starts_with('@') && key != "@odata.type")
        || (!key.starts_with('@') && key.contains("@odata."))
        || key.starts_with('#')
}

/// Annotations and everywhere-stripped keys removed, recursively.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(clean_map(m)),
        Value::Array(a) => Value::Array(a.iter().map(clean).collect()),
        other => other.clone(),
    }
}

fn clean_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| !is_annotation(k) && !EVERYWHERE_STRIP.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), clean(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::registry::get;
    use serde_json::json;

    fn catalog_policy() -> Value {
        json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/configurationPolicies/$entity",
            "id": "6f1d0a8e-0000-4000-8000-000000000001",
            "name": "Baseline",
            "description": "d",
            "createdDateTime": "2025-01-01T00:00:00Z",
            "lastModifiedDateTime": "2025-01-02T00:00:00Z",
            "settingCount": 2,
            "isAssigned": true,
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy",
            "roleScopeTagIds": ["0"],
            "roleScopeTagIds@odata.type": "#Collection(String)",
            "#microsoft.graph.assign": {"target": "x"},
            "platforms": "windows10",
            "settings": [
                {"id": "1", "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                    "settingDefinitionId": "b_setting", "choiceSettingValue": {"value": "b_1", "@odata.etag": "x"}},
                 "settingDefinitions": [{"id": "b_setting"}]},
                {"id": "0", "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                    "settingDefinitionId": "a_setting", "simpleSettingValue": {"value": "****", "secretReferenceValueId": "abc"}}}
            ],
            "assignments": [
                {"id": "6f1d_g1", "source": "direct", "sourceId": "6f1d", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}
            ]
        })
    }

    #[test]
    fn strips_read_only_fields_annotations_and_sub_resource_ids() {
        let c = get("configurationPolicies").unwrap();
        let n = normalize(c, &catalog_policy());
        let p = n.payload.as_object().unwrap();
        for gone in [
            "@odata.context",
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "settingCount",
            "isAssigned",
            "roleScopeTagIds@odata.type",
            "#microsoft.graph.assign",
            "assignments",
            "@odata.type",
        ] {
            assert!(!p.contains_key(gone), "{gone} kept");
        }
        assert_eq!(
            n.source_id.as_deref(),
            Some("6f1d0a8e-0000-4000-8000-000000000001")
        );
        assert_eq!(n.display_name, "Baseline");
        let settings = p["settings"].as_array().unwrap();
        // Graph's order kept, ids and settingDefinitions gone.
        assert_eq!(
            settings[0]["settingInstance"]["settingDefinitionId"],
            "b_setting"
        );
        assert!(settings.iter().all(|s| s.get("id").is_none()));
        assert!(
            settings
                .iter()
                .all(|s| s.get("settingDefinitions").is_none())
        );
        // Nested annotations gone, @odata.type kept, secretReferenceValueId gone.
        assert_eq!(
            settings[0]["settingInstance"]["choiceSettingValue"],
            json!({"value": "b_1"})
        );
        assert!(settings[1]["settingInstance"]["@odata.type"].is_string());
        assert!(
            settings[1]["settingInstance"]["simpleSettingValue"]
                .get("secretReferenceValueId")
                .is_none()
        );
        assert_eq!(
            n.assignments,
            json!([{"source": "direct", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}])
        );
        assert_eq!(
            n.masked_secrets,
            vec!["/settings/1/settingInstance/simpleSettingValue/value".to_string()]
        );
    }

    #[test]
    fn hash_is_stable_across_key_order_ids_and_list_order() {
        let c = get("configurationPolicies").unwrap();
        let a = normalize(c, &catalog_policy());
        // Same content from another tenant: other ids, other key order, other list order.
        let text = serde_json::to_string(&catalog_policy())
            .unwrap()
            .replace("6f1d0a8e-0000-4000-8000-000000000001", "other-id");
        let mut b_raw: Value = serde_json::from_str(&text).unwrap();
        b_raw["settings"].as_array_mut().unwrap().reverse();
        b_raw["settings"][0]["id"] = json!("7");
        let b = normalize(c, &b_raw);
        assert_eq!(a.content_hash, b.content_hash);
        // Each keeps the order it came in; only the comparable forms are equal.
        assert_ne!(a.payload, b.payload);
        assert_eq!(comparable(c, &a.payload), comparable(c, &b.payload));
        assert_eq!(
            b.payload["settings"][0]["settingInstance"]["settingDefinitionId"],
            "a_setting"
        );
        assert_eq!(a.content_hash.len(), 64);
        let mut changed = b_raw.clone();
        changed["description"] = json!("other");
        assert_ne!(normalize(c, &changed).content_hash, a.content_hash);
        // Normalizing twice changes nothing.
        let again = strip(c, &a.payload);
        assert_eq!(again, a.payload);
    }

    #[test]
    fn admin_template_references_keep_ids_and_object_definition_values_become_arrays() {
        let c = get("groupPolicyConfigurations").unwrap();
        let raw = json!({
            "id": "gp1", "displayName": "ADMX", "@odata.type": "#microsoft.graph.groupPolicyConfiguration",
            "definitionValues": {"id": "dv1", "enabled": true, "createdDateTime": "x",
                "definition": {"id": "def1", "displayName": "D", "lastModifiedDateTime": "y", "@odata.context": "z"},
                "presentationValues": [{"id": "pv1", "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                    "value": "v", "presentation@odata.bind": "u", "presentation": {"id": "p1", "label": "L"}}]}
        });
        let n = normalize(c, &raw);
        assert_eq!(
            n.odata_type.as_deref(),
            Some("#microsoft.graph.groupPolicyConfiguration")
        );
        assert_eq!(
            n.payload["definitionValues"],
            json!([{"enabled": true, "definition": {"id": "def1", "displayName": "D"},
                "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                    "value": "v", "presentation": {"id": "p1", "label": "L"}}]}])
        );
    }

    #[test]
    fn compliance_scheduled_actions_lose_ids_and_keep_content() {
        let c = get("deviceCompliancePolicies").unwrap();
        let raw = json!({
            "id": "c1", "displayName": "C", "version": 3, "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "scheduledActionsForRule": [{"id": "r1", "ruleName": "PasswordRequired",
                "scheduledActionConfigurations": [{"id": "a1", "actionType": "block", "gracePeriodHours": 0,
                    "notificationMessageCCList@odata.type": "#Collection(String)", "notificationMessageCCList": []}]}]
        });
        let n = normalize(c, &raw);
        assert_eq!(
            n.payload,
            json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "C",
                "scheduledActionsForRule": [{"ruleName": "PasswordRequired",
                    "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 0, "notificationMessageCCList": []}]}]})
        );
        assert!(n.masked_secrets.is_empty());
    }
}

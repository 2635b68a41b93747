//! The normalisation every stored object goes through, whatever its source (fixture, admin
//! API, demo, Graph create): annotations stripped, ids, timestamps, versions and defaults
//! filled in, contained sub-resources shaped as Intune stores them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::collections::{
    ALL_DEVICES_ID, ALL_LICENSED_USERS_ID, CollectionSpec, Fill, Kind, VersionKind,
};

use super::{Catalog, Tenant, graph_time, new_id};

/// Why an object cannot be stored. The message reaches admin and Graph 400s and start-up
/// errors, so it names the shape found rather than a Rust type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    #[error("expected an array, found {0}")]
    NotAnArray(&'static str),
    #[error("expected objects, found {0}")]
    NotObjects(&'static str),
    /// A navigation property that is not a list of objects.
    #[error("{nav}: {inner}")]
    Navigation {
        nav: &'static str,
        inner: Box<ImportError>,
    },
    #[error("assignment target must be an object")]
    TargetNotAnObject,
    #[error("definition@odata.bind must be a URL naming a definition")]
    DefinitionBind,
    #[error("definition must be an object")]
    DefinitionNotAnObject,
    #[error("presentation@odata.bind must be a URL naming a presentation")]
    PresentationBind,
    #[error("{0}@odata.bind must be a URL naming the related entity")]
    Bind(&'static str),
}

/// Keys that are metadata, not data: instance annotations other than `@odata.type`, property
/// annotations (`x@odata.type`, `assignments@odata.context`, ...) and action descriptors
/// (`#microsoft.graph.assign`). Exports carry them; the store does not.
pub fn is_annotation(key: &str) -> bool {
    (key.starts_with('@') && key != "@odata.type")
        || (key.contains("@odata.") && !key.starts_with('@') && !key.ends_with("@odata.bind"))
        || key.starts_with('#')
}

pub fn strip_annotations(obj: &mut Map<String, Value>) {
    obj.retain(|k, _| !is_annotation(k));
}

/// `#microsoft.graph.x` from `x`, `microsoft.graph.x` or `#microsoft.graph.x`.
pub fn qualify_type(t: &str) -> String {
    let bare = t.trim_start_matches('#');
    if bare.contains('.') {
        format!("#{bare}")
    } else {
        format!("#microsoft.graph.{bare}")
    }
}

/// Bring an imported object (fixture, admin API, demo, or a validated Graph create) into the
/// stored shape: ids, timestamps, version, defaults and contained sub-resources. Values that
/// are present are kept (exports carry real ids and dates).
pub fn import(
    spec: &'static CollectionSpec,
    obj: Value,
    tenant: &Tenant,
    now: DateTime<Utc>,
    catalog: &mut Catalog,
) -> Result<Map<String, Value>, ImportError> {
    let mut obj = match obj {
        Value::Object(m) => m,
        other => return Err(ImportError::NotAnObject(kind_of(&other))),
    };
    strip_annotations(&mut obj);
    let ty = match obj.get("@odata.type").and_then(Value::as_str) {
        Some(t) => qualify_type(t),
        None => format!("#microsoft.graph.{}", spec.base_type),
    };
    obj.insert("@odata.type".into(), Value::String(ty));
    let id = match obj.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => tenant.next_id(spec),
    };
    obj.insert("id".into(), Value::String(id.clone()));
    let ts = Value::String(graph_time(now));
    if let Some(k) = spec.stamps.created_key() {
        obj.entry(k).or_insert_with(|| ts.clone());
    }
    if let Some(k) = spec.stamps.modified_key() {
        obj.entry(k).or_insert(ts);
    }
    for (k, fill) in spec.server_set {
        if let Fill::Json(text) = fill {
            obj.entry(*k)
                .or_insert_with(|| serde_json::from_str(text).unwrap_or(Value::Null));
        }
    }
    match spec.version {
        VersionKind::Int => {
            obj.entry("version").or_insert(json!(1));
        }
        VersionKind::Str => {
            obj.entry("version")
                .or_insert_with(|| Value::String(format!("\"{}\"", uuid::Uuid::new_v4().simple())));
        }
        VersionKind::None => {}
    }
    if spec.scope_tags {
        obj.entry("roleScopeTagIds").or_insert_with(|| json!(["0"]));
    }
    for (name, item) in take_binds(spec, &mut obj)? {
        obj.insert(name.to_string(), item);
    }
    for nav in spec.navs {
        let Some(v) = obj.remove(nav.name) else {
            continue;
        };
        let items = as_items(v).map_err(|e| ImportError::Navigation {
            nav: nav.name,
            inner: Box::new(e),
        })?;
        let items = match nav.name {
            "assignments" => normalize_assignments(spec, &id, items)?,
            "settings" if spec.kind == Kind::SettingsCatalog => normalize_catalog_settings(items),
            "definitionValues" => items
                .into_iter()
                .map(|dv| normalize_definition_value(dv, now, catalog))
                .collect::<Result<_, _>>()?,
            "scheduledActionsForRule" => normalize_rules(items),
            _ => items
                .into_iter()
                .map(|m| Value::Object(with_id(m)))
                .collect(),
        };
        // A single-valued relationship (a role assignment's `roleDefinition`) is one object.
        let value = if nav.single {
            items.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        };
        obj.insert(nav.name.to_string(), value);
    }
    refresh_computed(spec, &mut obj);
    Ok(obj)
}

/// Properties the service computes from the entity and its sub-resources.
pub fn refresh_computed(spec: &CollectionSpec, obj: &mut Map<String, Value>) {
    for (k, fill) in spec.server_set {
        let value = match fill {
            Fill::Json(_) => continue,
            Fill::CountOf(nav) => {
                json!(obj.get(*nav).and_then(Value::as_array).map_or(0, Vec::len))
            }
            Fill::CopyOf(other) => obj.get(*other).cloned().unwrap_or(Value::Null),
            Fill::Publishing | Fill::UploadState => {
                let ty = obj
                    .get("@odata.type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim_start_matches('#')
                    .trim_start_matches("microsoft.graph.");
                let lob = crate::collections::is_of(ty, "mobileLobApp")
                    || crate::collections::is_of(ty, "managedMobileLobApp");
                let committed = obj
                    .get("committedContentVersion")
                    .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
                let published = !lob || committed;
                match (fill, published) {
                    (Fill::Publishing, true) => json!("published"),
                    (Fill::Publishing, false) => json!("notPublished"),
                    (_, true) => json!(1),
                    (_, false) => json!(0),
                }
            }
            Fill::IngestionType => {
                let any = obj
                    .get("definitionValues")
                    .and_then(Value::as_array)
                    .is_some_and(|d| !d.is_empty());
                // Exports of custom (ingested) ADMX say so; keep what they say.
                match obj.get(*k).and_then(Value::as_str) {
                    Some("custom" | "mixed") => continue,
                    _ if any => json!("builtIn"),
                    _ => json!("unknown"),
                }
            }
            Fill::EndOfSupport => {
                let version = obj.get("featureUpdateVersion").and_then(Value::as_str);
                match version.and_then(end_of_support) {
                    Some(d) => json!(d),
                    None => obj.get(*k).cloned().unwrap_or(Value::Null),
                }
            }
            Fill::QualityRelease | Fill::QualityContent => {
                let release = obj
                    .get("expeditedUpdateSettings")
                    .and_then(|e| e.get("qualityUpdateRelease"))
                    .and_then(Value::as_str)
                    .and_then(|r| DateTime::parse_from_rfc3339(r).ok());
                match release {
                    Some(r) => {
                        let content = format!(
                            "{} B Security Updates for Windows 10 and later",
                            r.format("%Y.%m")
                        );
                        if *fill == Fill::QualityRelease {
                            json!(format!("{} - {content}", r.format("%B %-d, %Y")))
                        } else {
                            json!(content)
                        }
                    }
                    None => obj.get(*k).cloned().unwrap_or(Value::Null),
                }
            }
        };
        obj.insert((*k).to_string(), value);
    }
    if spec.kind == Kind::SettingsCatalog {
        let n = obj
            .get("settings")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        obj.insert("settingCount".into(), json!(n));
    }
    if spec.is_assigned {
        let assigned = obj
            .get("assignments")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        obj.insert("isAssigned".into(), Value::Bool(assigned));
    }
}

/// End of servicing (Enterprise and Education editions) of a feature update, as Intune shows
/// it: learn.microsoft.com/windows/release-health/windows11-release-information and the
/// Windows 10 equivalent.
fn end_of_support(version: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("Windows 10, version 21H2", "2024-06-11T00:00:00Z"),
        ("Windows 10, version 22H2", "2025-10-14T00:00:00Z"),
        ("Windows 11, version 21H2", "2024-10-08T00:00:00Z"),
        ("Windows 11, version 22H2", "2025-10-14T00:00:00Z"),
        ("Windows 11, version 23H2", "2026-11-10T00:00:00Z"),
        ("Windows 11, version 24H2", "2027-10-12T00:00:00Z"),
    ];
    TABLE
        .iter()
        .find(|(v, _)| v.eq_ignore_ascii_case(version))
        .map(|(_, d)| *d)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A sub-resource as a list of objects. Real exports sometimes hold a single object, or a
/// `{"value":[..]}` wrapper, where an array belongs.
fn as_items(v: Value) -> Result<Vec<Map<String, Value>>, ImportError> {
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
        other => return Err(ImportError::NotAnArray(kind_of(&other))),
    };
    list.into_iter()
        .map(|v| match v {
            Value::Object(mut m) => {
                strip_annotations(&mut m);
                Ok(m)
            }
            other => Err(ImportError::NotObjects(kind_of(&other))),
        })
        .collect()
}

fn with_id(mut m: Map<String, Value>) -> Map<String, Value> {
    if m.get("id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        m.insert("id".into(), Value::String(new_id()));
    }
    m
}

/// The id part Intune derives from an assignment target.
fn target_key(target: &Map<String, Value>) -> Option<String> {
    let ty = target
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ty.ends_with("allDevicesAssignmentTarget") {
        return Some(ALL_DEVICES_ID.into());
    }
    if ty.ends_with("allLicensedUsersAssignmentTarget") {
        return Some(ALL_LICENSED_USERS_ID.into());
    }
    target
        .get("groupId")
        .or_else(|| target.get("collectionId"))
        .or_else(|| target.get("entraObjectId"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

pub fn normalize_assignments(
    spec: &CollectionSpec,
    parent_id: &str,
    items: Vec<Map<String, Value>>,
) -> Result<Vec<Value>, ImportError> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for mut a in items {
        let mut target = match a.remove("target") {
            Some(Value::Object(t)) => t,
            Some(_) => return Err(ImportError::TargetNotAnObject),
            None => Map::new(),
        };
        strip_annotations(&mut target);
        if let Some(t) = target.get("@odata.type").and_then(Value::as_str) {
            let q = qualify_type(t);
            target.insert("@odata.type".into(), Value::String(q));
        }
        if spec.kind != Kind::ScopeTag {
            target
                .entry("deviceAndAppManagementAssignmentFilterId")
                .or_insert(Value::Null);
            target
                .entry("deviceAndAppManagementAssignmentFilterType")
                .or_insert_with(|| json!("none"));
        }
        let has_id = a
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !has_id {
            let id = match target_key(&target) {
                Some(k) => format!("{parent_id}{}{k}", spec.assignment_id_sep),
                None => new_id(),
            };
            a.insert("id".into(), Value::String(id));
        }
        if spec.kind == Kind::SettingsCatalog {
            a.entry("source").or_insert_with(|| json!("direct"));
            a.entry("sourceId").or_insert_with(|| json!(parent_id));
        }
        a.insert("target".into(), Value::Object(target));
        out.push(Value::Object(a));
    }
    Ok(out)
}

fn normalize_catalog_settings(items: Vec<Map<String, Value>>) -> Vec<Value> {
    // Settings of a policy are numbered "0", "1", ... by the service.
    items
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s.insert("id".into(), Value::String(i.to_string()));
            Value::Object(s)
        })
        .collect()
}

fn normalize_rules(items: Vec<Map<String, Value>>) -> Vec<Value> {
    items
        .into_iter()
        .map(|mut r| {
            if let Some(cfgs) = r.remove("scheduledActionConfigurations") {
                let cfgs: Vec<Value> = as_items(cfgs)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| Value::Object(with_id(c)))
                    .collect();
                r.insert("scheduledActionConfigurations".into(), Value::Array(cfgs));
            }
            Value::Object(with_id(r))
        })
        .collect()
}

/// The single-valued relationships a body sets by reference
/// (`"roleDefinition@odata.bind": ".../roleDefinitions('id')"`, as role assignments are
/// created): removed from `obj` and returned as the related entity's stored form `{"id"}`.
pub fn take_binds(
    spec: &CollectionSpec,
    obj: &mut Map<String, Value>,
) -> Result<Vec<(&'static str, Value)>, ImportError> {
    let mut out = Vec::new();
    for nav in spec.navs.iter().filter(|n| n.single) {
        if let Some(bind) = obj.remove(&format!("{}@odata.bind", nav.name)) {
            let id = bind
                .as_str()
                .and_then(bind_id)
                .ok_or(ImportError::Bind(nav.name))?;
            out.push((nav.name, json!({ "id": id })));
        }
    }
    Ok(out)
}

/// The id inside an `@odata.bind` URL such as
/// `https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('id')` (the last
/// `('...')` or the last path segment).
pub fn bind_id(url: &str) -> Option<String> {
    if let Some(end) = url.rfind("')") {
        let start = url[..end].rfind("('")? + 2;
        return Some(url[start..end].to_string());
    }
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn normalize_definition_value(
    mut dv: Map<String, Value>,
    now: DateTime<Utc>,
    catalog: &mut Catalog,
) -> Result<Value, ImportError> {
    let ts = Value::String(graph_time(now));
    if let Some(bind) = dv.remove("definition@odata.bind") {
        let id = bind
            .as_str()
            .and_then(bind_id)
            .ok_or(ImportError::DefinitionBind)?;
        dv.insert("definition".into(), resolve(&catalog.definitions, &id));
    }
    match dv.get_mut("definition") {
        Some(Value::Object(def)) => {
            strip_annotations(def);
            if let Some(id) = def.get("id").and_then(Value::as_str) {
                catalog
                    .definitions
                    .entry(id.to_string())
                    .or_insert_with(|| Value::Object(def.clone()));
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => return Err(ImportError::DefinitionNotAnObject),
    }
    dv.entry("createdDateTime").or_insert_with(|| ts.clone());
    dv.entry("lastModifiedDateTime")
        .or_insert_with(|| ts.clone());
    dv.entry("configurationType")
        .or_insert_with(|| json!("policy"));
    dv.entry("enabled").or_insert(Value::Bool(true));
    let pvs = match dv.remove("presentationValues") {
        Some(v) => as_items(v)?,
        None => Vec::new(),
    };
    let pvs = pvs
        .into_iter()
        .map(|pv| normalize_presentation_value(pv, now, catalog))
        .collect::<Result<Vec<_>, _>>()?;
    dv.insert("presentationValues".into(), Value::Array(pvs));
    Ok(Value::Object(with_id(dv)))
}

pub fn normalize_presentation_value(
    mut pv: Map<String, Value>,
    now: DateTime<Utc>,
    catalog: &mut Catalog,
) -> Result<Value, ImportError> {
    let ts = Value::String(graph_time(now));
    if let Some(bind) = pv.remove("presentation@odata.bind") {
        let id = bind
            .as_str()
            .and_then(bind_id)
            .ok_or(ImportError::PresentationBind)?;
        pv.insert("presentation".into(), resolve(&catalog.presentations, &id));
    }
    if let Some(Value::Object(p)) = pv.get_mut("presentation") {
        strip_annotations(p);
        if let Some(id) = p.get("id").and_then(Value::as_str) {
            catalog
                .presentations
                .entry(id.to_string())
                .or_insert_with(|| Value::Object(p.clone()));
        }
    }
    if let Some(t) = pv.get("@odata.type").and_then(Value::as_str) {
        let q = qualify_type(t);
        pv.insert("@odata.type".into(), Value::String(q));
    }
    pv.entry("createdDateTime").or_insert_with(|| ts.clone());
    pv.entry("lastModifiedDateTime").or_insert(ts);
    Ok(Value::Object(with_id(pv)))
}

/// A catalogue entry, or a stub carrying just the id: the real catalogue is far larger than
/// ours, and a bind to a definition we never saw is still valid in Graph.
fn resolve(map: &HashMap<String, Value>, id: &str) -> Value {
    map.get(id).cloned().unwrap_or_else(|| json!({ "id": id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::by_path;
    use crate::store::TenantCreds;

    fn tenant() -> Tenant {
        Tenant::new(TenantCreds {
            id: "t".into(),
            name: "t".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
        })
    }

    #[test]
    fn import_assigns_ids_strips_annotations_and_tolerates_object_definition_values() {
        let spec = by_path("deviceManagement/groupPolicyConfigurations").unwrap();
        let mut cat = Catalog::default();
        let obj = json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#x",
            "displayName": "ADMX",
            "roleScopeTagIds@odata.type": "#Collection(String)",
            "#microsoft.graph.assign": {"target": "x"},
            "definitionValues": {"enabled": true, "definition": {"id": "def1", "displayName": "D"},
                "presentationValues": [{"@odata.type": "microsoft.graph.groupPolicyPresentationValueText", "value": "x",
                    "presentation": {"id": "p1", "label": "L"}}]}
        });
        let out = import(spec, obj, &tenant(), Utc::now(), &mut cat).unwrap();
        assert!(out.get("@odata.context").is_none());
        assert!(out.get("roleScopeTagIds@odata.type").is_none());
        assert!(out.get("#microsoft.graph.assign").is_none());
        assert_eq!(
            out["@odata.type"],
            "#microsoft.graph.groupPolicyConfiguration"
        );
        let dvs = out["definitionValues"].as_array().unwrap();
        assert_eq!(dvs.len(), 1);
        assert!(dvs[0]["id"].is_string());
        assert_eq!(
            dvs[0]["presentationValues"][0]["@odata.type"],
            "#microsoft.graph.groupPolicyPresentationValueText"
        );
        assert!(cat.definitions.contains_key("def1"));
        assert!(cat.presentations.contains_key("p1"));
    }

    #[test]
    fn assignment_ids_follow_intune_convention() {
        let spec = by_path("deviceManagement/deviceManagementScripts").unwrap();
        let items = vec![
            json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}),
            json!({"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}),
        ]
        .into_iter()
        .map(|v| v.as_object().cloned().unwrap())
        .collect();
        let out = normalize_assignments(spec, "p", items).unwrap();
        assert_eq!(out[0]["id"], "p:g1");
        assert_eq!(out[1]["id"], format!("p:{ALL_DEVICES_ID}"));
    }

    #[test]
    fn bind_ids_parse() {
        assert_eq!(
            bind_id("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('abc')/presentations('p1')").as_deref(),
            Some("p1")
        );
        assert_eq!(
            bind_id("deviceManagement/groupPolicyDefinitions/abc").as_deref(),
            Some("abc")
        );
    }
}

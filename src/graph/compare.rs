//! The semantic diff engine: what changed between two captures, object by object and setting
//! by setting. Pure functions over normalized payloads (what captures store: read-only and
//! volatile fields already stripped by the contract, in `normalize`).
//!
//! **Pairing.** In one tenant an object is the same object when its Graph id is: a renamed
//! policy is a change, not a removal and an addition. Across tenants ids differ: objects pair
//! through the object mappings restores recorded, then by type, `@odata.type` and name when
//! exactly one object on each side has it. Same-named objects are never paired by guess; they
//! are reported added/removed and flagged `ambiguous`.
//!
//! **Settings by identity, not position.** Every payload is flattened into paths whose list
//! items are named by what identifies them (a catalog setting by its `settingDefinitionId`,
//! recursing into choice and group children; an OMA setting by `omaUri`; an administrative
//! template value by its definition id; an assignment by its target), so reordered lists are
//! no change and a changed nested value is one change at its own path. Lists without an
//! identity (scope tag ids, members) compare as sets.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::normalize::canonical_json;

/// One captured object, as a capture stores it.
#[derive(Debug, Clone, Copy)]
pub struct Captured<'a> {
    pub policy_type: &'a str,
    pub graph_id: &'a str,
    pub display_name: &'a str,
    pub payload: &'a Value,
    pub assignments: &'a Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One setting that differs: `before` absent = added, `after` absent = removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SettingChange {
    /// The setting's path: property names, list items named by their identity in brackets
    /// (`settings[device_vendor_msft_policy_config_defender_allowarchivescanning]/…`).
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// One object that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectChange {
    pub policy_type: String,
    /// The object's id on the side it is on (the right side when it is on both).
    pub graph_id: String,
    pub display_name: String,
    pub change: ChangeKind,
    /// The settings that differ (every setting of an added or removed object).
    pub settings: Vec<SettingChange>,
    /// Another object on the other side has the same type and name: not paired by guess.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
    /// Who made the change, where Intune's audit log says (the last change in the period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
}

/// How objects of the two sides are known to be the same object.
pub enum Pairing<'a> {
    /// One tenant: by Graph id.
    ById,
    /// Two tenants: `mapped(policy_type, left_id)` is the right side's id a restore recorded
    /// for the left object, if any; otherwise an unambiguous type + `@odata.type` + name.
    /// Assignments and scope tags name each tenant's own groups and tags, and are left out.
    Across {
        mapped: &'a dyn Fn(&str, &str) -> Option<String>,
    },
}

/// The changes from `left` to `right`, objects in (type, name, id) order.
pub fn compare(
    left: &[Captured<'_>],
    right: &[Captured<'_>],
    pairing: &Pairing<'_>,
) -> Vec<ObjectChange> {
    // An object listed twice (a page Graph repeated) is one object.
    let (left, right) = (&first_of_each(left), &first_of_each(right));
    let across = matches!(pairing, Pairing::Across { .. });
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut left_done = vec![false; left.len()];
    let mut right_done = vec![false; right.len()];
    let mut ambiguous_left = vec![false; left.len()];
    let mut ambiguous_right = vec![false; right.len()];
    let right_by_id: HashMap<(&str, &str), usize> = right
        .iter()
        .enumerate()
        .map(|(i, o)| ((o.policy_type, o.graph_id), i))
        .collect();
    match pairing {
        Pairing::ById => {
            for (i, l) in left.iter().enumerate() {
                if let Some(&j) = right_by_id.get(&(l.policy_type, l.graph_id))
                    && !right_done[j]
                {
                    pairs.push((i, j));
                    left_done[i] = true;
                    right_done[j] = true;
                }
            }
        }
        Pairing::Across { mapped } => {
            for (i, l) in left.iter().enumerate() {
                if let Some(id) = mapped(l.policy_type, l.graph_id)
                    && let Some(&j) = right_by_id.get(&(l.policy_type, id.as_str()))
                    && !right_done[j]
                {
                    pairs.push((i, j));
                    left_done[i] = true;
                    right_done[j] = true;
                }
            }
            // Per (type, `@odata.type`, name): the unpaired objects of each side.
            let mut by_name: BTreeMap<NameKey, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
            for (i, l) in left.iter().enumerate().filter(|(i, _)| !left_done[*i]) {
                by_name.entry(name_key(l)).or_default().0.push(i);
            }
            for (j, r) in right.iter().enumerate().filter(|(j, _)| !right_done[*j]) {
                by_name.entry(name_key(r)).or_default().1.push(j);
            }
            for (ls, rs) in by_name.values() {
                match (ls.as_slice(), rs.as_slice()) {
                    ([i], [j]) => {
                        pairs.push((*i, *j));
                        left_done[*i] = true;
                        right_done[*j] = true;
                    }
                    (ls, rs) if !ls.is_empty() && !rs.is_empty() => {
                        ls.iter().for_each(|i| ambiguous_left[*i] = true);
                        rs.iter().for_each(|j| ambiguous_right[*j] = true);
                    }
                    _ => {}
                }
            }
        }
    }
    let mut out = Vec::new();
    for (i, j) in pairs {
        let settings = diff_settings(&flatten(&left[i], across), &flatten(&right[j], across));
        if !settings.is_empty() {
            out.push(change(&right[j], ChangeKind::Changed, settings, false));
        }
    }
    for (i, l) in left.iter().enumerate().filter(|(i, _)| !left_done[*i]) {
        let settings = diff_settings(&flatten(l, across), &BTreeMap::new());
        out.push(change(l, ChangeKind::Removed, settings, ambiguous_left[i]));
    }
    for (j, r) in right.iter().enumerate().filter(|(j, _)| !right_done[*j]) {
        let settings = diff_settings(&BTreeMap::new(), &flatten(r, across));
        out.push(change(r, ChangeKind::Added, settings, ambiguous_right[j]));
    }
    out.sort_by(|a, b| {
        (&a.policy_type, &a.display_name, &a.graph_id).cmp(&(
            &b.policy_type,
            &b.display_name,
            &b.graph_id,
        ))
    });
    out
}

/// Policy type, `@odata.type` and name, compared case-insensitively.
type NameKey = (String, String, String);

fn first_of_each<'a>(side: &[Captured<'a>]) -> Vec<Captured<'a>> {
    let mut seen = std::collections::HashSet::new();
    side.iter()
        .filter(|o| seen.insert((o.policy_type, o.graph_id)))
        .copied()
        .collect()
}

fn name_key(o: &Captured<'_>) -> NameKey {
    let ty = o
        .payload
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    (
        o.policy_type.to_string(),
        ty,
        o.display_name.trim().to_lowercase(),
    )
}

fn change(
    o: &Captured<'_>,
    kind: ChangeKind,
    settings: Vec<SettingChange>,
    ambiguous: bool,
) -> ObjectChange {
    ObjectChange {
        policy_type: o.policy_type.to_string(),
        graph_id: o.graph_id.to_string(),
        display_name: o.display_name.to_string(),
        change: kind,
        settings,
        ambiguous,
        changed_by: None,
    }
}

fn diff_settings(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<SettingChange> {
    let mut out = Vec::new();
    for (path, before) in a {
        match b.get(path) {
            Some(after) if after == before => {}
            after => out.push(SettingChange {
                path: path.clone(),
                before: Some(before.clone()),
                after: after.cloned(),
            }),
        }
    }
    for (path, after) in b.iter().filter(|(p, _)| !a.contains_key(*p)) {
        out.push(SettingChange {
            path: path.clone(),
            before: None,
            after: Some(after.clone()),
        });
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

/// What identifies an item of a list property, wherever the list appears: the first of
/// these paths that the item has.
const LIST_IDENTITY: &[(&str, &[&str])] = &[
    // Settings catalog (`settingInstance/...`), intents (`definitionId`).
    (
        "settings",
        &["settingInstance/settingDefinitionId", "definitionId"],
    ),
    ("children", &["settingDefinitionId"]),
    ("omaSettings", &["omaUri"]),
    ("definitionValues", &["definition/id"]),
    ("presentationValues", &["presentation/id"]),
    ("scheduledActionsForRule", &["ruleName"]),
    ("scheduledActionConfigurations", &["actionType"]),
    ("localizedNotificationMessages", &["locale"]),
    ("apps", &["mobileAppIdentifier"]),
    ("assignments", &["target"]),
];

/// Every leaf setting of an object by path; assignments under `assignments[...]`. Across
/// tenants, assignments and scope tags (tenant-specific ids) are left out.
fn flatten(o: &Captured<'_>, across: bool) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Value::Object(m) = o.payload {
        for (k, v) in m {
            if across && k == "roleScopeTagIds" {
                continue;
            }
            walk(k, v, k, &mut out);
        }
    }
    if !across {
        walk("assignments", o.assignments, "assignments", &mut out);
    }
    out
}

/// How many leaf settings an object has, counted as [`compare`] compares them.
pub fn setting_count(o: &Captured<'_>, across: bool) -> usize {
    flatten(o, across).len()
}

fn walk(name: &str, v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                walk(k, child, &format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            let keys = LIST_IDENTITY
                .iter()
                .find(|(list, _)| *list == name)
                .map(|(_, keys)| *keys)
                .unwrap_or(&[]);
            let mut seen: HashMap<String, usize> = HashMap::new();
            for item in items {
                let id = keys
                    .iter()
                    .find_map(|k| lookup(item, k))
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => canonical_json(other),
                    })
                    // No identity: the item is its content (a changed item is a removal and
                    // an addition), still independent of its position.
                    .unwrap_or_else(|| canonical_json(item));
                // Two items with one identity (a malformed export) stay apart.
                let n = seen.entry(id.clone()).or_insert(0);
                *n += 1;
                let label = if *n == 1 { id } else { format!("{id}#{n}") };
                let item_path = format!("{path}[{label}]");
                match item {
                    Value::Object(m) => {
                        for (k, child) in m {
                            walk(k, child, &format!("{item_path}/{k}"), out);
                        }
                        if m.is_empty() {
                            out.insert(item_path, item.clone());
                        }
                    }
                    other => {
                        out.insert(item_path, other.clone());
                    }
                }
            }
        }
        // A list of values is a set: compared whole, in a stable order.
        Value::Array(items) => {
            let mut sorted = items.clone();
            sorted.sort_by_cached_key(canonical_json);
            out.insert(path.to_string(), Value::Array(sorted));
        }
        other => {
            out.insert(path.to_string(), other.clone());
        }
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/').try_fold(v, |v, seg| v.get(seg))
}

/// "12 changed, 3 added, 1 removed".
pub fn summary(changes: &[ObjectChange]) -> (usize, usize, usize) {
    let count = |k: ChangeKind| changes.iter().filter(|c| c.change == k).count();
    (
        count(ChangeKind::Changed),
        count(ChangeKind::Added),
        count(ChangeKind::Removed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj<'a>(
        ty: &'a str,
        id: &'a str,
        name: &'a str,
        payload: &'a Value,
        assignments: &'a Value,
    ) -> Captured<'a> {
        Captured {
            policy_type: ty,
            graph_id: id,
            display_name: name,
            payload,
            assignments,
        }
    }

    fn choice(def: &str, value: &str, children: Value) -> Value {
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": def,
            "choiceSettingValue": {"value": value, "children": children}}})
    }

    #[test]
    fn reordered_settings_and_assignments_are_no_change() {
        let a = json!({"name": "P", "settings": [choice("a", "a_1", json!([])), choice("b", "b_0", json!([]))],
            "roleScopeTagIds": ["0", "1"]});
        let b = json!({"name": "P", "settings": [choice("b", "b_0", json!([])), choice("a", "a_1", json!([]))],
            "roleScopeTagIds": ["1", "0"]});
        let g = |id: &str| json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": id}});
        let (x, y) = (json!([g("1"), g("2")]), json!([g("2"), g("1")]));
        let left = [obj("configurationPolicies", "p", "P", &a, &x)];
        let right = [obj("configurationPolicies", "p", "P", &b, &y)];
        assert!(compare(&left, &right, &Pairing::ById).is_empty());
    }

    #[test]
    fn a_changed_nested_choice_setting_is_one_precise_change() {
        let nested = |v: &str| {
            json!([{
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": "parent_child",
            "choiceSettingValue": {"value": v, "children": []}}])
        };
        let a = json!({"name": "P", "settings": [choice("other", "o_1", json!([])), choice("parent", "parent_1", nested("parent_child_0"))]});
        let b = json!({"name": "P", "settings": [choice("parent", "parent_1", nested("parent_child_1")), choice("other", "o_1", json!([]))]});
        let none = json!([]);
        let changes = compare(
            &[obj("configurationPolicies", "p", "P", &a, &none)],
            &[obj("configurationPolicies", "p", "P", &b, &none)],
            &Pairing::ById,
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change, ChangeKind::Changed);
        assert_eq!(
            changes[0].settings,
            [SettingChange {
                path: "settings[parent]/settingInstance/choiceSettingValue/children[parent_child]/choiceSettingValue/value".into(),
                before: Some(json!("parent_child_0")),
                after: Some(json!("parent_child_1")),
            }]
        );
    }

    #[test]
    fn an_object_listed_twice_pairs_once() {
        let a = json!({"displayName": "A", "v": 1});
        let none = json!([]);
        let o = obj("deviceConfigurations", "1", "A", &a, &none);
        assert!(compare(&[o, o], &[o], &Pairing::ById).is_empty());
        assert!(compare(&[o], &[o, o], &Pairing::ById).is_empty());
    }

    #[test]
    fn renamed_objects_in_one_tenant_pair_by_id() {
        let a = json!({"displayName": "Old name", "passwordRequired": true});
        let b = json!({"displayName": "New name", "passwordRequired": true});
        let none = json!([]);
        let changes = compare(
            &[obj("deviceConfigurations", "1", "Old name", &a, &none)],
            &[obj("deviceConfigurations", "1", "New name", &b, &none)],
            &Pairing::ById,
        );
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].change, ChangeKind::Changed);
        assert_eq!(changes[0].settings[0].path, "displayName");
    }

    #[test]
    fn same_named_objects_across_tenants_are_flagged_not_paired() {
        let p = |n: u32| json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Twin", "n": n});
        let (a, b, c) = (p(1), p(2), p(1));
        let unique_l = json!({"displayName": "Unique", "x": 1});
        let unique_r = json!({"displayName": "Unique", "x": 2});
        let none = json!([]);
        let left = [
            obj("deviceConfigurations", "l1", "Twin", &a, &none),
            obj("deviceConfigurations", "l2", "Twin", &b, &none),
            obj("deviceConfigurations", "l3", "Unique", &unique_l, &none),
        ];
        let right = [
            obj("deviceConfigurations", "r1", "Twin", &c, &none),
            obj("deviceConfigurations", "r3", "Unique", &unique_r, &none),
        ];
        let mapped = |_: &str, _: &str| None;
        let changes = compare(&left, &right, &Pairing::Across { mapped: &mapped });
        let twins: Vec<&ObjectChange> = changes
            .iter()
            .filter(|c| c.display_name == "Twin")
            .collect();
        assert_eq!(twins.len(), 3, "{changes:?}");
        assert!(
            twins
                .iter()
                .all(|c| c.ambiguous && c.change != ChangeKind::Changed)
        );
        let unique: Vec<&ObjectChange> = changes
            .iter()
            .filter(|c| c.display_name == "Unique")
            .collect();
        assert_eq!(unique.len(), 1);
        assert_eq!(unique[0].change, ChangeKind::Changed);
        assert_eq!(unique[0].settings[0].path, "x");
    }

    #[test]
    fn across_tenants_mappings_pair_first_and_tenant_ids_are_left_out() {
        let a = json!({"displayName": "Baseline", "roleScopeTagIds": ["3"], "v": 1});
        let b = json!({"displayName": "Baseline (renamed)", "roleScopeTagIds": ["7"], "v": 1});
        let (x, y) = (
            json!([{"target": {"groupId": "g1"}}]),
            json!([{"target": {"groupId": "g9"}}]),
        );
        let left = [obj("deviceConfigurations", "l", "Baseline", &a, &x)];
        let right = [obj(
            "deviceConfigurations",
            "r",
            "Baseline (renamed)",
            &b,
            &y,
        )];
        let mapped =
            |t: &str, id: &str| (t == "deviceConfigurations" && id == "l").then(|| "r".to_string());
        let changes = compare(&left, &right, &Pairing::Across { mapped: &mapped });
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].settings.len(), 1, "{changes:?}");
        assert_eq!(changes[0].settings[0].path, "displayName");
    }

    #[test]
    fn added_and_removed_objects_list_their_settings_and_oma_settings_pair_by_uri() {
        let oma = |v: &str| {
            json!({"displayName": "Custom", "omaSettings": [
            {"omaUri": "./Device/A", "value": v}, {"omaUri": "./Device/B", "value": "same"}]})
        };
        let (a, b) = (oma("1"), oma("2"));
        let gone = json!({"displayName": "Gone", "k": true});
        let none = json!([]);
        let changes = compare(
            &[
                obj("deviceConfigurations", "c", "Custom", &a, &none),
                obj("deviceConfigurations", "g", "Gone", &gone, &none),
            ],
            &[obj("deviceConfigurations", "c", "Custom", &b, &none)],
            &Pairing::ById,
        );
        assert_eq!(changes.len(), 2);
        let custom = &changes[0];
        assert_eq!(custom.settings.len(), 1);
        assert_eq!(custom.settings[0].path, "omaSettings[./Device/A]/value");
        let removed = &changes[1];
        assert_eq!(removed.change, ChangeKind::Removed);
        assert!(removed.settings.iter().all(|s| s.after.is_none()));
        assert_eq!(summary(&changes), (1, 0, 1));
    }
}

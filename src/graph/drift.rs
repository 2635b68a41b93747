//! Drift: how far a tenant is from its baseline (a backup set, often of another tenant), as
//! pure functions over captured objects, on top of the diff engine ([`super::compare`]).
//!
//! Objects pair as in any cross-tenant comparison (object mappings, then an unambiguous type
//! and name; same-named objects are flagged, never paired by guess). A baseline object the
//! tenant lacks is **missing**, an object of the baseline's types the baseline lacks is
//! **extra**, and a setting that differs in a paired object is **differing**. The alignment
//! score is the share of the baseline's settings the tenant matches: every setting of a
//! missing object and every differing baseline setting counts against it; a setting only the
//! tenant has is drift but not a baseline setting. An accepted exception (one setting, or a
//! whole object with path [`WHOLE_OBJECT`]) is left out of the entries and counts as matching.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compare::{self, Captured, ChangeKind, Pairing};

/// The path of an exception that accepts a whole missing or extra object.
pub const WHOLE_OBJECT: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// In the baseline, not in the tenant.
    Missing,
    /// In the tenant (of a type the baseline covers), not in the baseline.
    Extra,
    /// A setting that differs in an object both have.
    Differing,
}

/// One difference from the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftEntry {
    pub kind: DriftKind,
    pub policy_type: String,
    /// The object's id where it is: the baseline's for a missing object, the tenant's for an
    /// extra or differing one. With `policy_type` and `path`, what an exception names.
    pub graph_id: String,
    pub display_name: String,
    /// The differing setting; [`WHOLE_OBJECT`] for a missing or extra object.
    pub path: String,
    /// The baseline's value (absent: the baseline does not set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Value>,
    /// The tenant's value (absent: the tenant does not set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Value>,
    /// How many baseline settings a missing object holds (0 otherwise).
    #[serde(default)]
    pub settings: usize,
    /// Another object of the same type and name exists: not paired by guess.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
}

impl DriftEntry {
    /// What an exception for this entry names.
    pub fn key(&self) -> ExceptionKey {
        ExceptionKey {
            policy_type: self.policy_type.clone(),
            graph_id: self.graph_id.clone(),
            path: self.path.clone(),
        }
    }
}

/// An accepted difference: `(policy type, object id, setting path or "*")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExceptionKey {
    pub policy_type: String,
    pub graph_id: String,
    pub path: String,
}

/// A tenant's drift from its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Drift {
    /// Matching baseline settings / baseline settings (1.0 for an empty baseline).
    pub score: f64,
    pub baseline_settings: usize,
    pub matching_settings: usize,
    pub missing: usize,
    pub extra: usize,
    pub differing: usize,
    /// Differences an exception accepted (not in `entries`).
    pub excepted: usize,
    /// Missing, then differing, then extra; by type, name and path within each.
    pub entries: Vec<DriftEntry>,
}

/// The drift of `tenant` from `baseline`. `tenant` should hold only objects of the types the
/// baseline covers; `mapped` is the restore mappings from the baseline's tenant into this one.
pub fn drift(
    baseline: &[Captured<'_>],
    tenant: &[Captured<'_>],
    mapped: &dyn Fn(&str, &str) -> Option<String>,
    exceptions: &HashSet<ExceptionKey>,
) -> Drift {
    let mut seen = HashSet::new();
    let baseline_settings: usize = baseline
        .iter()
        .filter(|o| seen.insert((o.policy_type, o.graph_id)))
        .map(|o| compare::setting_count(o, true))
        .sum();
    let changes = compare::compare(baseline, tenant, &Pairing::Across { mapped });
    let mut entries = Vec::new();
    let mut mismatched = 0usize;
    let mut excepted = 0usize;
    for change in changes {
        let entry = |kind, path: &str, baseline, tenant, settings| DriftEntry {
            kind,
            policy_type: change.policy_type.clone(),
            graph_id: change.graph_id.clone(),
            display_name: change.display_name.clone(),
            path: path.to_string(),
            baseline,
            tenant,
            settings,
            ambiguous: change.ambiguous,
        };
        match change.change {
            ChangeKind::Removed | ChangeKind::Added => {
                let (kind, against) = if change.change == ChangeKind::Removed {
                    (DriftKind::Missing, change.settings.len())
                } else {
                    (DriftKind::Extra, 0)
                };
                let e = entry(kind, WHOLE_OBJECT, None, None, against);
                if exceptions.contains(&e.key()) {
                    excepted += 1;
                } else {
                    mismatched += against;
                    entries.push(e);
                }
            }
            ChangeKind::Changed => {
                for s in &change.settings {
                    let e = entry(
                        DriftKind::Differing,
                        &s.path,
                        s.before.clone(),
                        s.after.clone(),
                        0,
                    );
                    if exceptions.contains(&e.key()) {
                        excepted += 1;
                    } else {
                        mismatched += usize::from(s.before.is_some());
                        entries.push(e);
                    }
                }
            }
        }
    }
    let rank = |k: DriftKind| match k {
        DriftKind::Missing => 0,
        DriftKind::Differing => 1,
        DriftKind::Extra => 2,
    };
    entries.sort_by(|a, b| {
        (rank(a.kind), &a.policy_type, &a.display_name, &a.path).cmp(&(
            rank(b.kind),
            &b.policy_type,
            &b.display_name,
            &b.path,
        ))
    });
    let count = |k: DriftKind| entries.iter().filter(|e| e.kind == k).count();
    let matching = baseline_settings.saturating_sub(mismatched);
    Drift {
        score: if baseline_settings == 0 {
            1.0
        } else {
            matching as f64 / baseline_settings as f64
        },
        baseline_settings,
        matching_settings: matching,
        missing: count(DriftKind::Missing),
        extra: count(DriftKind::Extra),
        differing: count(DriftKind::Differing),
        excepted,
        entries,
    }
}

/// Entries of `now` that `before` did not have (new drift since the previous report).
pub fn new_entries<'a>(before: &[DriftEntry], now: &'a [DriftEntry]) -> Vec<&'a DriftEntry> {
    let known: HashSet<(DriftKind, ExceptionKey)> =
        before.iter().map(|e| (e.kind, e.key())).collect();
    now.iter()
        .filter(|e| !known.contains(&(e.kind, e.key())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj<'a>(id: &'a str, name: &'a str, payload: &'a Value, none: &'a Value) -> Captured<'a> {
        Captured {
            policy_type: "deviceConfigurations",
            graph_id: id,
            display_name: name,
            payload,
            assignments: none,
        }
    }

    fn no_mapping(_: &str, _: &str) -> Option<String> {
        None
    }

    #[test]
    fn missing_extra_and_differing_settings_score_against_the_baseline() {
        let none = json!([]);
        let std_a = json!({"displayName": "A", "camera": false, "bluetooth": true});
        let std_b = json!({"displayName": "B", "pin": 6});
        let cust_a = json!({"displayName": "A", "camera": true, "bluetooth": true, "extra": 1});
        let cust_c = json!({"displayName": "C", "x": 1});
        let baseline = [obj("b1", "A", &std_a, &none), obj("b2", "B", &std_b, &none)];
        let tenant = [
            obj("t1", "A", &cust_a, &none),
            obj("t3", "C", &cust_c, &none),
        ];
        let d = drift(&baseline, &tenant, &no_mapping, &HashSet::new());
        // A: 3 settings, 1 differs; B: 2 settings, missing.
        assert_eq!(d.baseline_settings, 5);
        assert_eq!(d.matching_settings, 2);
        assert!((d.score - 0.4).abs() < 1e-9, "{}", d.score);
        assert_eq!(
            (d.missing, d.differing, d.extra),
            (1, 2, 1),
            "{:?}",
            d.entries
        );
        let kinds: Vec<(DriftKind, &str)> = d
            .entries
            .iter()
            .map(|e| (e.kind, e.path.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (DriftKind::Missing, WHOLE_OBJECT),
                (DriftKind::Differing, "camera"),
                (DriftKind::Differing, "extra"),
                (DriftKind::Extra, WHOLE_OBJECT),
            ]
        );
        let camera = &d.entries[1];
        assert_eq!(camera.graph_id, "t1");
        assert_eq!(
            (camera.baseline.clone(), camera.tenant.clone()),
            (Some(json!(false)), Some(json!(true)))
        );
        assert_eq!(d.entries[0].graph_id, "b2");
        assert_eq!(d.entries[0].settings, 2);
    }

    #[test]
    fn an_accepted_exception_is_left_out_and_counts_as_matching() {
        let none = json!([]);
        let std_a = json!({"displayName": "A", "camera": false});
        let cust_a = json!({"displayName": "A", "camera": true});
        let std_b = json!({"displayName": "B", "pin": 6});
        let baseline = [obj("b1", "A", &std_a, &none), obj("b2", "B", &std_b, &none)];
        let tenant = [obj("t1", "A", &cust_a, &none)];
        let exceptions: HashSet<ExceptionKey> = [
            ExceptionKey {
                policy_type: "deviceConfigurations".into(),
                graph_id: "t1".into(),
                path: "camera".into(),
            },
            ExceptionKey {
                policy_type: "deviceConfigurations".into(),
                graph_id: "b2".into(),
                path: WHOLE_OBJECT.into(),
            },
        ]
        .into_iter()
        .collect();
        let d = drift(&baseline, &tenant, &no_mapping, &exceptions);
        assert!(d.entries.is_empty(), "{:?}", d.entries);
        assert_eq!(d.excepted, 2);
        assert_eq!(d.score, 1.0);
    }

    #[test]
    fn reordered_settings_are_aligned_and_twins_are_flagged() {
        let none = json!([]);
        let a = json!({"displayName": "A", "omaSettings": [{"omaUri": "./x", "value": 1}, {"omaUri": "./y", "value": 2}]});
        let b = json!({"displayName": "A", "omaSettings": [{"omaUri": "./y", "value": 2}, {"omaUri": "./x", "value": 1}]});
        let twin = json!({"displayName": "Twin", "v": 1});
        let baseline = [obj("b1", "A", &a, &none), obj("b2", "Twin", &twin, &none)];
        let tenant = [
            obj("t1", "A", &b, &none),
            obj("t2", "Twin", &twin, &none),
            obj("t3", "Twin", &twin, &none),
        ];
        let d = drift(&baseline, &tenant, &no_mapping, &HashSet::new());
        assert!(
            d.entries
                .iter()
                .all(|e| e.display_name == "Twin" && e.ambiguous),
            "{:?}",
            d.entries
        );
        assert_eq!((d.missing, d.extra, d.differing), (1, 2, 0));
        let fresh = new_entries(&d.entries[..1], &d.entries);
        assert_eq!(fresh.len(), 2);
    }

    #[test]
    fn an_empty_baseline_is_fully_aligned() {
        let d = drift(&[], &[], &no_mapping, &HashSet::new());
        assert_eq!((d.score, d.baseline_settings, d.entries.len()), (1.0, 0, 0));
    }
}

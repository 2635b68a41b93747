//! What a capture holds, per policy type: how many objects, which of them a restore will not
//! write and why (built-in objects, configuration Graph cannot write, app packages Graph
//! never returns), which restore only into their own tenant, and which have an `@odata.type`
//! this version does not know (captured as they are, flagged here). Pure over the stored
//! items; snapshots and backup sets both show it.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::registry;

/// Why a captured object is not written back by a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NotRestorable {
    /// `builtin`, `not_restorable`, `content_not_restorable` (the code restore items get) or
    /// `unknown_type`.
    pub code: &'static str,
    pub reason: String,
    pub count: u64,
}

/// One policy type of a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TypeCoverage {
    pub policy_type: String,
    /// The type's human name; the key itself for a type this version does not know.
    pub label: String,
    pub captured: u64,
    /// Objects a restore writes (created or updated).
    pub restorable: u64,
    pub not_restorable: Vec<NotRestorable>,
    /// Why the type's objects are restored only into the tenant they were captured from (a
    /// restore into another tenant skips them `same_tenant_only`).
    pub same_tenant_only: Option<String>,
    /// Objects whose `@odata.type` is not among the collection's documented types: kept as
    /// Graph served them and restored as they are.
    pub unknown_odata_types: Vec<UnknownOdataType>,
    /// The type is not in this version's registry (stored by an older or newer one).
    pub unknown_type: bool,
}

/// An `@odata.type` Graph served that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UnknownOdataType {
    /// Without namespace (`windows12GeneralConfiguration`).
    pub odata_type: String,
    pub count: u64,
}

/// Coverage of a capture's items, in restore order (unknown types last). `items` yields
/// (policy type, source id, payload) of every item.
pub fn of<'a>(items: impl IntoIterator<Item = (&'a str, &'a str, &'a Value)>) -> Vec<TypeCoverage> {
    let mut out: Vec<TypeCoverage> = registry::all()
        .iter()
        .map(|c| TypeCoverage {
            policy_type: c.key.to_string(),
            label: c.label.to_string(),
            captured: 0,
            restorable: 0,
            not_restorable: Vec::new(),
            same_tenant_only: c.same_tenant_only.map(str::to_string),
            unknown_odata_types: Vec::new(),
            unknown_type: false,
        })
        .collect();
    for (policy_type, source_id, payload) in items {
        let contract = registry::get(policy_type);
        let pos = match out.iter().position(|t| t.policy_type == policy_type) {
            Some(p) => p,
            None => {
                out.push(TypeCoverage {
                    policy_type: policy_type.to_string(),
                    label: policy_type.to_string(),
                    captured: 0,
                    restorable: 0,
                    not_restorable: Vec::new(),
                    same_tenant_only: None,
                    unknown_odata_types: Vec::new(),
                    unknown_type: true,
                });
                out.len() - 1
            }
        };
        let entry = &mut out[pos];
        entry.captured += 1;
        if let Some(ty) = contract.and_then(|c| c.unknown_odata_type(payload)) {
            match entry
                .unknown_odata_types
                .iter_mut()
                .find(|u| u.odata_type == ty)
            {
                Some(u) => u.count += 1,
                None => entry.unknown_odata_types.push(UnknownOdataType {
                    odata_type: ty.to_string(),
                    count: 1,
                }),
            }
        }
        let why = match contract {
            None => Some((
                "unknown_type",
                "this version does not know the type".to_string(),
            )),
            Some(c) if c.read_only.is_some() => Some((
                "not_restorable",
                c.read_only.unwrap_or_default().to_string(),
            )),
            Some(c) if c.is_builtin(source_id) => Some((
                "builtin",
                "built-in objects exist in every tenant and are never restored".to_string(),
            )),
            Some(c) if !c.restorable(payload) => Some((
                "content_not_restorable",
                format!(
                    "Graph never returns the package of a {}",
                    payload
                        .get("@odata.type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .trim_start_matches("#microsoft.graph.")
                ),
            )),
            Some(_) => None,
        };
        match why {
            None => entry.restorable += 1,
            Some((code, reason)) => match entry
                .not_restorable
                .iter_mut()
                .find(|n| n.code == code && n.reason == reason)
            {
                Some(n) => n.count += 1,
                None => entry.not_restorable.push(NotRestorable {
                    code,
                    reason,
                    count: 1,
                }),
            },
        }
    }
    out.retain(|t| t.captured > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_per_type_with_the_reasons_a_restore_skips() {
        let win32 = json!({"@odata.type": "#microsoft.graph.win32LobApp"});
        let web = json!({"@odata.type": "#microsoft.graph.webApp"});
        let plain = json!({});
        let future_profile =
            json!({"@odata.type": "#microsoft.graph.windows12GeneralConfiguration"});
        let general = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration"});
        let items = [
            ("roleScopeTags", "0", &plain),
            ("roleScopeTags", "1", &plain),
            ("mobileApps", "a", &win32),
            ("mobileApps", "b", &web),
            ("mobileApps", "c", &win32),
            ("vppTokens", "v", &plain),
            ("someFutureType", "x", &plain),
            ("deviceConfigurations", "d1", &future_profile),
            ("deviceConfigurations", "d2", &general),
            ("deviceConfigurations", "d3", &future_profile),
            ("roleAssignments", "r", &plain),
        ];
        let c = of(items);
        let by = |k: &str| c.iter().find(|t| t.policy_type == k).unwrap();
        assert_eq!(by("roleScopeTags").captured, 2);
        assert_eq!(by("roleScopeTags").restorable, 1);
        assert_eq!(by("roleScopeTags").not_restorable[0].code, "builtin");
        let apps = by("mobileApps");
        assert_eq!((apps.captured, apps.restorable), (3, 1));
        assert_eq!(apps.not_restorable[0].count, 2);
        assert!(apps.not_restorable[0].reason.contains("win32LobApp"));
        assert_eq!(by("vppTokens").not_restorable[0].code, "not_restorable");
        assert!(by("someFutureType").unknown_type);
        // A type Graph added later: captured, restorable as it is, flagged.
        let profiles = by("deviceConfigurations");
        assert_eq!((profiles.captured, profiles.restorable), (3, 3));
        assert_eq!(
            profiles.unknown_odata_types,
            [UnknownOdataType {
                odata_type: "windows12GeneralConfiguration".into(),
                count: 2
            }]
        );
        assert!(by("mobileApps").unknown_odata_types.is_empty());
        assert!(by("roleAssignments").same_tenant_only.is_some());
        assert!(profiles.same_tenant_only.is_none());
        assert_eq!(c.last().unwrap().policy_type, "someFutureType");
        assert!(c.iter().all(|t| t.captured > 0));
    }
}

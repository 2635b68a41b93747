//! The registry of simulated Intune collections: one declarative row per collection saying how
//! Graph treats it (types, paging, navigation properties, assign action, versions, ...).
//! Kept in one file: it is a single declarative table, read beside the types its rows fill.
//!
//! Request handling is generic over these rows; adding a collection means adding a row.

/// A navigation property, contained in its parent and only returned on `$expand` (or through
/// its own sub-path). `children` are its own navigation properties.
#[derive(Debug)]
pub struct Nav {
    pub name: &'static str,
    /// Single-valued (e.g. a definition value's `definition`) rather than a collection.
    pub single: bool,
    pub children: &'static [Nav],
}

const fn nav(name: &'static str, children: &'static [Nav]) -> Nav {
    Nav {
        name,
        single: false,
        children,
    }
}

const fn nav_one(name: &'static str) -> Nav {
    Nav {
        name,
        single: true,
        children: &[],
    }
}

/// Which `@odata.type` values a collection accepts on create.
#[derive(Debug)]
pub enum TypeRule {
    /// Only the base type (or one of the listed derived types); may be omitted.
    Concrete(&'static [&'static str]),
    /// An abstract base: the body must name a derived type whose (lower-case) name ends with
    /// one of `suffixes`, and contains none of `excluded`.
    Polymorphic {
        suffixes: &'static [&'static str],
        excluded: &'static [&'static str],
    },
}

/// What `POST /{id}/assign` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignReply {
    /// 200 with `{"value":[assignments]}`.
    Collection,
    /// 204 No Content.
    NoContent,
    /// Autopilot profiles: `assign` takes `deviceIds`, group assignments are POSTed to
    /// `/assignments` one at a time. Answers 204 and changes nothing we model.
    DeviceIds,
}

#[derive(Debug)]
pub struct AssignSpec {
    /// The action parameter carrying the assignments.
    pub payload_key: &'static str,
    /// Other parameters the action accepts (and we ignore).
    pub other_keys: &'static [&'static str],
    pub reply: AssignReply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Settings catalog: 25 per page, `$top` cannot raise it.
    Small,
    /// Everything else: the configured default, `$top` up to the configured maximum.
    Large,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionKind {
    None,
    /// An integer bumped on every update.
    Int,
    /// An opaque string (app protection policies).
    Str,
}

/// Special behaviours a collection has beyond the common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    /// `configurationPolicies`: `/settings` paged, PUT, `settingCount`.
    SettingsCatalog,
    /// `groupPolicyConfigurations`: definition values, `updateDefinitionValues`.
    AdminTemplate,
    /// `deviceCompliancePolicies`: scheduled actions, one block action required on create.
    Compliance,
    /// `intents`: settings, `updateSettings`.
    Intent,
    /// `roleScopeTags`: the built-in tag `0` cannot be deleted.
    ScopeTag,
    /// `deviceEnrollmentConfigurations`: the default configurations cannot be deleted.
    Enrollment,
}

#[derive(Debug)]
pub struct CollectionSpec {
    /// Path below the version, e.g. `deviceManagement/configurationPolicies`.
    pub path: &'static str,
    /// Base entity type, without namespace.
    pub base_type: &'static str,
    pub types: TypeRule,
    /// Whether responses carry `@odata.type` on entities. Graph (minimal metadata) omits it
    /// where the entity set is not polymorphic; settings-catalog exports famously lack it.
    pub emit_type: bool,
    /// The display-name property (`name` for the settings catalog).
    pub key: &'static str,
    /// Also served under `/v1.0/` (most Intune collections are beta-only).
    pub v1: bool,
    /// `PUT /{id}` replaces the entity.
    pub put: bool,
    pub paging: Paging,
    pub assign: Option<AssignSpec>,
    /// Entity type of the assignments.
    pub assignment_type: &'static str,
    /// Separator Intune uses in assignment ids (`{policyId}_{groupId}`; scripts use `:`).
    pub assignment_id_sep: &'static str,
    /// Navigation properties (always includes `assignments`).
    pub navs: &'static [Nav],
    /// Properties the list omits (script bodies): GET the item for them.
    pub list_omits: &'static [&'static str],
    pub version: VersionKind,
    /// Carries `roleScopeTagIds` (defaulted to `["0"]`).
    pub scope_tags: bool,
    /// Carries a computed `isAssigned`.
    pub is_assigned: bool,
    pub kind: Kind,
}

impl CollectionSpec {
    pub fn nav(&self, name: &str) -> Option<&'static Nav> {
        self.navs.iter().find(|n| n.name.eq_ignore_ascii_case(name))
    }

    /// `microsoft.graph.x` of the entity set.
    pub fn qualified_base(&self) -> String {
        format!("microsoft.graph.{}", self.base_type)
    }

    pub fn is_polymorphic(&self) -> bool {
        matches!(self.types, TypeRule::Polymorphic { .. })
    }
}

const ASSIGNMENTS: Nav = nav("assignments", &[]);
const ONLY_ASSIGNMENTS: &[Nav] = &[ASSIGNMENTS];

const fn assign(payload_key: &'static str, reply: AssignReply) -> Option<AssignSpec> {
    Some(AssignSpec {
        payload_key,
        other_keys: &[],
        reply,
    })
}

/// Every supported collection. Order is the export order.
pub static COLLECTIONS: &[CollectionSpec] = &[
    CollectionSpec {
        path: "deviceManagement/configurationPolicies",
        base_type: "deviceManagementConfigurationPolicy",
        types: TypeRule::Concrete(&[]),
        emit_type: false,
        key: "name",
        v1: false,
        put: true,
        paging: Paging::Small,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "deviceManagementConfigurationPolicyAssignment",
        assignment_id_sep: "_",
        navs: &[
            ASSIGNMENTS,
            nav("settings", &[nav("settingDefinitions", &[])]),
        ],
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: true,
        kind: Kind::SettingsCatalog,
    },
    CollectionSpec {
        path: "deviceManagement/deviceConfigurations",
        base_type: "deviceConfiguration",
        types: TypeRule::Polymorphic {
            suffixes: &["configuration", "certificate", "profile", "profilebase"],
            excluded: &[
                "compliancepolicy",
                "autopilotdeploymentprofile",
                "enrollment",
                "updateprofile",
                "appconfiguration",
                "managedapp",
                "comanagementauthority",
            ],
        },
        emit_type: true,
        key: "displayName",
        v1: true,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "deviceConfigurationAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::Int,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/deviceCompliancePolicies",
        base_type: "deviceCompliancePolicy",
        types: TypeRule::Polymorphic {
            suffixes: &["compliancepolicy"],
            excluded: &[],
        },
        emit_type: true,
        key: "displayName",
        v1: true,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "deviceCompliancePolicyAssignment",
        assignment_id_sep: "_",
        navs: &[
            ASSIGNMENTS,
            nav(
                "scheduledActionsForRule",
                &[nav("scheduledActionConfigurations", &[])],
            ),
        ],
        list_omits: &[],
        version: VersionKind::Int,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Compliance,
    },
    CollectionSpec {
        path: "deviceManagement/groupPolicyConfigurations",
        base_type: "groupPolicyConfiguration",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "groupPolicyConfigurationAssignment",
        assignment_id_sep: "_",
        navs: &[
            ASSIGNMENTS,
            nav(
                "definitionValues",
                &[
                    nav_one("definition"),
                    nav("presentationValues", &[nav_one("presentation")]),
                ],
            ),
        ],
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::AdminTemplate,
    },
    CollectionSpec {
        path: "deviceManagement/deviceManagementScripts",
        base_type: "deviceManagementScript",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: Some(AssignSpec {
            payload_key: "deviceManagementScriptAssignments",
            other_keys: &["deviceManagementScriptGroupAssignments"],
            reply: AssignReply::NoContent,
        }),
        assignment_type: "deviceManagementScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["scriptContent"],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/deviceShellScripts",
        base_type: "deviceShellScript",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: Some(AssignSpec {
            payload_key: "deviceManagementScriptAssignments",
            other_keys: &["deviceManagementScriptGroupAssignments"],
            reply: AssignReply::NoContent,
        }),
        assignment_type: "deviceManagementScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["scriptContent"],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/deviceHealthScripts",
        base_type: "deviceHealthScript",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("deviceHealthScriptAssignments", AssignReply::NoContent),
        assignment_type: "deviceHealthScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["detectionScriptContent", "remediationScriptContent"],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/windowsAutopilotDeploymentProfiles",
        base_type: "windowsAutopilotDeploymentProfile",
        types: TypeRule::Polymorphic {
            suffixes: &["windowsautopilotdeploymentprofile"],
            excluded: &[],
        },
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: Some(AssignSpec {
            payload_key: "deviceIds",
            other_keys: &[],
            reply: AssignReply::DeviceIds,
        }),
        assignment_type: "windowsAutopilotDeploymentProfileAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/assignmentFilters",
        base_type: "deviceAndAppManagementAssignmentFilter",
        types: TypeRule::Concrete(&["payloadCompatibleAssignmentFilter"]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: None,
        assignment_type: "",
        assignment_id_sep: "_",
        navs: &[],
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: false,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/roleScopeTags",
        base_type: "roleScopeTag",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "roleScopeTagAutoAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: false,
        is_assigned: false,
        kind: Kind::ScopeTag,
    },
    CollectionSpec {
        path: "deviceManagement/windowsFeatureUpdateProfiles",
        base_type: "windowsFeatureUpdateProfile",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "windowsFeatureUpdateProfileAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/windowsQualityUpdateProfiles",
        base_type: "windowsQualityUpdateProfile",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "windowsQualityUpdateProfileAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/windowsDriverUpdateProfiles",
        base_type: "windowsDriverUpdateProfile",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "windowsDriverUpdateProfileAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceManagement/deviceEnrollmentConfigurations",
        base_type: "deviceEnrollmentConfiguration",
        types: TypeRule::Polymorphic {
            suffixes: &[
                "limitconfiguration",
                "restrictionsconfiguration",
                "restrictionconfiguration",
                "helloforbusinessconfiguration",
                "completionpageconfiguration",
                "authorityconfiguration",
                "notificationconfiguration",
                "enrollmentconfiguration",
            ],
            excluded: &[],
        },
        emit_type: true,
        key: "displayName",
        v1: true,
        put: false,
        paging: Paging::Large,
        assign: assign("enrollmentConfigurationAssignments", AssignReply::NoContent),
        assignment_type: "enrollmentConfigurationAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::Int,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Enrollment,
    },
    CollectionSpec {
        path: "deviceManagement/intents",
        base_type: "deviceManagementIntent",
        types: TypeRule::Concrete(&[]),
        emit_type: true,
        key: "displayName",
        v1: false,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "deviceManagementIntentAssignment",
        assignment_id_sep: "_",
        navs: &[ASSIGNMENTS, nav("settings", &[])],
        list_omits: &[],
        version: VersionKind::None,
        scope_tags: true,
        is_assigned: true,
        kind: Kind::Intent,
    },
    CollectionSpec {
        path: "deviceAppManagement/mobileAppConfigurations",
        base_type: "managedDeviceMobileAppConfiguration",
        types: TypeRule::Polymorphic {
            suffixes: &["appconfiguration"],
            excluded: &["managedappconfiguration"],
        },
        emit_type: true,
        key: "displayName",
        v1: true,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "managedDeviceMobileAppConfigurationAssignment",
        assignment_id_sep: "_",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &[],
        version: VersionKind::Int,
        scope_tags: true,
        is_assigned: false,
        kind: Kind::Plain,
    },
    CollectionSpec {
        path: "deviceAppManagement/managedAppPolicies",
        base_type: "managedAppPolicy",
        types: TypeRule::Polymorphic {
            suffixes: &[
                "managedappprotection",
                "informationprotectionpolicy",
                "managedappconfiguration",
            ],
            excluded: &[],
        },
        emit_type: true,
        key: "displayName",
        v1: true,
        put: false,
        paging: Paging::Large,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "targetedManagedAppPolicyAssignment",
        assignment_id_sep: "_",
        navs: &[ASSIGNMENTS, nav("apps", &[])],
        list_omits: &[],
        version: VersionKind::Str,
        scope_tags: true,
        is_assigned: true,
        kind: Kind::Plain,
    },
];

/// The collection registered at exactly `path` (case-insensitive, as Graph is).
pub fn by_path(path: &str) -> Option<&'static CollectionSpec> {
    let path = path.trim_matches('/');
    COLLECTIONS
        .iter()
        .find(|c| c.path.eq_ignore_ascii_case(path))
}

/// The collection whose path is the longest prefix of `segments`, with how many segments it
/// used.
pub fn match_segments(segments: &[String]) -> Option<(&'static CollectionSpec, usize)> {
    COLLECTIONS.iter().find_map(|c| {
        let parts: Vec<&str> = c.path.split('/').collect();
        let n = parts.len();
        (segments.len() >= n
            && parts
                .iter()
                .zip(segments)
                .all(|(a, b)| a.eq_ignore_ascii_case(b)))
        .then_some((c, n))
    })
}

/// Ids Intune gives the "all users"/"all devices" virtual groups inside assignment ids.
pub const ALL_LICENSED_USERS_ID: &str = "acacacac-9df4-4c7d-9d50-4ef0226f57a9";
pub const ALL_DEVICES_ID: &str = "adadadad-808e-44e2-905a-0b7873a8a531";

/// Assignment target types Graph accepts.
pub const TARGET_TYPES: &[&str] = &[
    "groupAssignmentTarget",
    "exclusionGroupAssignmentTarget",
    "allLicensedUsersAssignmentTarget",
    "allDevicesAssignmentTarget",
    "configurationManagerCollectionAssignmentTarget",
    "scopeTagGroupAssignmentTarget",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collection_is_unique_and_has_assignments_nav_when_assignable() {
        for (i, c) in COLLECTIONS.iter().enumerate() {
            assert!(
                COLLECTIONS[i + 1..].iter().all(|o| o.path != c.path),
                "{}",
                c.path
            );
            if c.assign.is_some() {
                assert!(c.nav("assignments").is_some(), "{}", c.path);
            }
        }
    }

    #[test]
    fn segments_match_longest_registered_prefix() {
        let segs: Vec<String> = ["deviceManagement", "configurationPolicies", "x", "settings"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (c, n) = match_segments(&segs).unwrap();
        assert_eq!(c.path, "deviceManagement/configurationPolicies");
        assert_eq!(n, 2);
        assert!(by_path("deviceappmanagement/managedAppPolicies").is_some());
    }
}

//! The registry of simulated collections: one declarative row per collection saying how
//! Graph treats it (types, paging, navigation properties, assign action, versions, the
//! properties the service fills in, ...), plus the tenant singletons.
//!
//! Request handling is generic over these rows; adding a collection means adding a row in
//! `table.rs` (and, where Graph accepts derived types, a list in `types.rs`).

mod table;
mod types;

/// A navigation property, contained in its parent and only returned on `$expand` (or through
/// its own sub-path). `children` are its own navigation properties.
#[derive(Debug)]
pub struct Nav {
    pub name: &'static str,
    /// Single-valued (e.g. a definition value's `definition`) rather than a collection.
    pub single: bool,
    /// Items are created, changed and deleted through the navigation's own path (POST
    /// `/{id}/{nav}`, PATCH and DELETE `/{id}/{nav}/{item}`), e.g. a notification template's
    /// localized messages.
    pub writable: bool,
    pub children: &'static [Nav],
}

pub(crate) const fn nav(name: &'static str, children: &'static [Nav]) -> Nav {
    Nav {
        name,
        single: false,
        writable: false,
        children,
    }
}

/// A contained collection whose items are written through its own path.
pub(crate) const fn nav_rw(name: &'static str) -> Nav {
    Nav {
        writable: true,
        ..nav(name, &[])
    }
}

pub(crate) const fn nav_one(name: &'static str) -> Nav {
    Nav {
        name,
        single: true,
        writable: false,
        children: &[],
    }
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
    /// Settings catalog: 25 per page by default (`SimConfig::page_size`).
    Small,
    /// Everything else: the configured default page size.
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

/// Which timestamps the service keeps on an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamps {
    /// `createdDateTime` and `lastModifiedDateTime` (most of Intune).
    CreatedModified,
    /// `lastModifiedDateTime` only (intents).
    ModifiedOnly,
    /// `createdDateTime` and `modifiedDateTime` (conditional access).
    CreatedModifiedShort,
    /// `createdDateTime` only (directory objects).
    CreatedOnly,
    /// None the service sets (audit events carry their own `activityDateTime`).
    None,
}

impl Stamps {
    /// The property an update bumps, if any.
    pub fn modified_key(self) -> Option<&'static str> {
        match self {
            Stamps::CreatedModified | Stamps::ModifiedOnly => Some("lastModifiedDateTime"),
            Stamps::CreatedModifiedShort => Some("modifiedDateTime"),
            Stamps::CreatedOnly | Stamps::None => None,
        }
    }

    pub fn created_key(self) -> Option<&'static str> {
        match self {
            Stamps::CreatedModified | Stamps::CreatedModifiedShort | Stamps::CreatedOnly => {
                Some("createdDateTime")
            }
            Stamps::ModifiedOnly | Stamps::None => None,
        }
    }
}

/// How the service fills in a property it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// A fixed initial value (JSON text); kept when an import carries one.
    Json(&'static str),
    /// The number of items of a sub-resource (`deployedAppCount` = apps).
    CountOf(&'static str),
    /// A copy of another property (`deployableContentDisplayName` = `featureUpdateVersion`).
    CopyOf(&'static str),
    /// The end of servicing of a feature update's version.
    EndOfSupport,
    /// A quality update's release, as `releaseDateDisplayName` shows it.
    QualityRelease,
    /// A quality update's content, as `deployableContentDisplayName` shows it.
    QualityContent,
    /// `policyConfigurationIngestionType`: `builtIn` once definition values (of built-in ADMX)
    /// are set, `unknown` before.
    IngestionType,
    /// An app's `publishingState`: line-of-business apps (`mobileLobApp` and the managed LOB
    /// types) are `notPublished` until content is committed (`committedContentVersion`);
    /// every other app is `published`.
    Publishing,
    /// An app's `uploadState`: 1 (ready) once published, 0 before.
    UploadState,
}

/// Special behaviours a collection has beyond the common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    /// `configurationPolicies`, `compliancePolicies`: `/settings` paged, PUT, `settingCount`.
    SettingsCatalog,
    /// `groupPolicyConfigurations`: definition values, `updateDefinitionValues`.
    AdminTemplate,
    /// `deviceCompliancePolicies`: scheduled actions, one block action required on create.
    Compliance,
    /// `intents`: settings, `updateSettings`, `categories`.
    Intent,
    /// `roleScopeTags`: the built-in tag `0` cannot be deleted.
    ScopeTag,
    /// `deviceEnrollmentConfigurations`: the default configurations cannot be deleted.
    Enrollment,
    /// `roleDefinitions`: built-in roles cannot be changed or deleted.
    RoleDefinition,
}

#[derive(Debug)]
pub struct CollectionSpec {
    /// Path below the version, e.g. `deviceManagement/configurationPolicies`.
    pub path: &'static str,
    /// Base entity type, without namespace.
    pub base_type: &'static str,
    /// The base type cannot be created: a body must name one of `derived`.
    pub abstract_base: bool,
    /// Concrete derived types Graph accepts on create (see `types.rs`).
    pub derived: &'static [&'static str],
    /// A type-specific view of another collection's objects (e.g. `iosManagedAppProtections`
    /// over `managedAppPolicies`): stored there, listed here when their type is admitted.
    pub storage: Option<&'static str>,
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
    /// Navigation properties (always includes `assignments` where there are any).
    pub navs: &'static [Nav],
    /// Properties the list omits (script bodies): GET the item for them.
    pub list_omits: &'static [&'static str],
    pub version: VersionKind,
    /// Carries `roleScopeTagIds` (defaulted to `["0"]`).
    pub scope_tags: bool,
    /// Carries a computed `isAssigned`.
    pub is_assigned: bool,
    pub kind: Kind,
    pub stamps: Stamps,
    /// Properties the service fills in, and how. Clients cannot set them; reads return them.
    pub server_set: &'static [(&'static str, Fill)],
    /// Only the service writes here (audit events): POST, PATCH and DELETE answer 405.
    pub read_only: bool,
}

/// A row with Graph's most common behaviour; rows override what differs.
pub(crate) const fn coll(path: &'static str, base_type: &'static str) -> CollectionSpec {
    CollectionSpec {
        path,
        base_type,
        abstract_base: false,
        derived: &[],
        storage: None,
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
        stamps: Stamps::CreatedModified,
        server_set: &[],
        read_only: false,
    }
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
        self.abstract_base || !self.derived.is_empty()
    }

    /// Where the objects are kept: the viewed collection for a view.
    pub fn home(&self) -> &'static str {
        self.storage.unwrap_or(self.path)
    }

    /// The registered spelling of an accepted concrete type (`name` without namespace), or
    /// `None` when this collection does not take it.
    pub fn accepted_type(&self, name: &str) -> Option<&'static str> {
        if !self.abstract_base && name.eq_ignore_ascii_case(self.base_type) {
            return Some(self.base_type);
        }
        self.derived
            .iter()
            .find(|d| d.eq_ignore_ascii_case(name))
            .copied()
    }

    /// Whether a stored object belongs to this collection (always, except in a view).
    pub fn admits(&self, obj: &serde_json::Map<String, serde_json::Value>) -> bool {
        if self.storage.is_none() {
            return true;
        }
        let ty = obj
            .get("@odata.type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let bare = ty
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.");
        bare.eq_ignore_ascii_case(self.base_type)
            || self.derived.iter().any(|d| d.eq_ignore_ascii_case(bare))
    }
}

/// A single-valued entity below a singleton (`deviceManagement/settings`): one per tenant,
/// GET and PATCH.
#[derive(Debug)]
pub struct SingletonSpec {
    pub path: &'static str,
    pub type_name: &'static str,
    pub v1: bool,
    /// An entity (context `.../$entity`) rather than a complex property of its parent.
    pub entity: bool,
    /// The value a new tenant has (JSON text).
    pub initial: &'static str,
}

pub use table::SINGLETONS;

/// The singleton registered at exactly `path` (case-insensitive).
pub fn singleton(path: &str) -> Option<&'static SingletonSpec> {
    let path = path.trim_matches('/');
    SINGLETONS
        .iter()
        .find(|s| s.path.eq_ignore_ascii_case(path))
}

pub use table::COLLECTIONS;

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
    let mut best: Option<(&'static CollectionSpec, usize)> = None;
    for c in COLLECTIONS {
        let mut n = 0;
        let matched = c.path.split('/').all(|part| {
            let hit = segments
                .get(n)
                .is_some_and(|s| s.eq_ignore_ascii_case(part));
            n += 1;
            hit
        });
        if matched && best.is_none_or(|(_, b)| n > b) {
            best = Some((c, n));
        }
    }
    best
}

/// Whether an entity of type `actual` is a `wanted` (both without namespace): the same type,
/// one of its abstract ancestors, or an entity set's base type.
pub fn is_of(actual: &str, wanted: &str) -> bool {
    if actual.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let ancestors = types::ANCESTORS
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(actual))
        .map_or(&[][..], |(_, a)| a);
    ancestors.iter().any(|a| a.eq_ignore_ascii_case(wanted))
        || COLLECTIONS.iter().any(|c| {
            c.base_type.eq_ignore_ascii_case(wanted)
                && c.derived.iter().any(|d| d.eq_ignore_ascii_case(actual))
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
    fn table_values_are_valid_and_views_fit_their_home() {
        for c in COLLECTIONS {
            for (k, fill) in c.server_set {
                if let Fill::Json(text) = fill {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(text).is_ok(),
                        "{}: {k}",
                        c.path
                    );
                }
            }
            for (i, t) in c.derived.iter().enumerate() {
                assert!(!c.derived[i + 1..].contains(t), "{}: {t} twice", c.path);
                assert!(!t.ends_with("Base"), "{}: {t} is abstract", c.path);
            }
            if let Some(home) = c.storage {
                let h = by_path(home).unwrap_or_else(|| panic!("{}: no {home}", c.path));
                assert!(h.storage.is_none());
                assert!(
                    h.accepted_type(c.base_type).is_some(),
                    "{} is not a type of {home}",
                    c.base_type
                );
            }
        }
        for s in SINGLETONS {
            assert!(
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s.initial)
                    .is_ok(),
                "{}",
                s.path
            );
            assert!(by_path(s.path).is_none());
        }
        assert!(is_of("managedIOSLobApp", "managedApp"));
        assert!(is_of("win32LobApp", "mobileApp"));
        assert!(!is_of("webApp", "mobileLobApp"));
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

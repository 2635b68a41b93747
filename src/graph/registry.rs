//! The contract registry: one declarative entry per supported Intune policy type saying how
//! Graph serves it (collection, sub-resources, read-only fields, match key, create / update /
//! assign methods). The client, normalization and restores are generic over these entries:
//! adding a type is adding an entry here (and its tests), never new control flow.
//!
//! **Keys.** A contract's key is the last segment of its collection path, exactly as Graph
//! spells it (`configurationPolicies`, `deviceHealthScripts`, `managedAppPolicies`, ...). Every
//! collection's last segment is unique, so the key names the collection unambiguously and
//! needs no second vocabulary; it is what the database stores as `policy_type`. Users may also
//! type the full collection path, a few friendly aliases (`settingsCatalog`,
//! `adminTemplates`, ...) or any case: [`parse_types`] turns all of them into keys.
//!
//! **Order.** [`all`] lists the types in restore order: scope tags and assignment filters
//! first, because other objects refer to them.
//!
//! **Files.** The types an entry is made of and the lookups over the table live here; the
//! table itself, with the tests that pin it to Graph's facts, is in `table.rs`.

use std::fmt;

mod table;

// Graph's concrete `@odata.type`s per polymorphic collection, from its resource pages: one
// file, read by graph-sim (what it accepts) and here (what a capture recognizes).
#[allow(dead_code)]
#[path = "../../graph-sim/src/collections/types.rs"]
mod graph_types;

use table::CONTRACTS;

/// Graph API version of a collection. Every peer uses beta; the settings catalog is beta-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    Beta,
    V1,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beta => "beta",
            Self::V1 => "v1.0",
        }
    }
}

/// How a sub-resource is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// Inline through `$expand` on the parent request.
    Expand,
    /// Its own paged request `.../{parentId}/{name}` (with `$expand` of its `Expand`
    /// children), following `@odata.nextLink`.
    Path,
}

/// A navigation property stored inline in the object, the way graph-sim's fixtures and
/// exports hold it (e.g. a settings-catalog policy's `settings` array).
#[derive(Debug)]
pub struct SubResource {
    /// Property name inline, and path segment when fetched by path.
    pub name: &'static str,
    pub fetch: Fetch,
    /// A single object that is a reference to Microsoft's catalogue (an ADMX `definition`
    /// or `presentation`): its `id` identifies it across tenants and is kept.
    pub reference: bool,
    /// Sent inline in the body of a create (and of a PUT update).
    pub write_inline: bool,
    /// Item property (a `/`-separated path) that orders the items for comparison; items
    /// are otherwise ordered by their canonical JSON. Graph gives these lists no meaning
    /// in their order, and writes can reorder them.
    pub sort_key: Option<&'static str>,
    /// Extra keys dropped from every item (besides ids, timestamps and annotations).
    pub strip: &'static [&'static str],
    pub children: &'static [SubResource],
    /// A single-valued relationship to an object of this collection (path below the version),
    /// written as `<name>@odata.bind` (a role assignment's `roleDefinition`).
    pub bind: Option<&'static str>,
    /// `$top` of a by-path fetch: the largest page Graph serves of it (a settings-catalog
    /// policy's settings come 25 a page by default).
    pub top: Option<u32>,
}

/// How a type's objects are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GET {collection}` answers pages of objects.
    Collection,
    /// `GET {collection}` answers one object (the APNs certificate); a tenant where it is not
    /// set up answers 404. Its id is the type's key where Graph gives none.
    Singleton,
    /// Each object of `parent` holds its own collection: `collection` is
    /// `{parent}/{id}/{segment}` (an Apple enrollment program token's enrollment profiles).
    /// Object ids are `{parentId}/{id}`, so everything that names an object names both.
    Contained { parent: &'static str },
}

/// How a new object is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMethod {
    /// `POST {collection}` with the properties and the `write_inline` sub-resources.
    Post,
    /// `POST {collection}` with the properties, then `POST /{id}/updateDefinitionValues`
    /// `{added}` (administrative templates).
    PostThenDefinitionValues,
    /// `POST {collection}` with the properties, then `POST /{id}/{sub_resource}` once per item
    /// (a notification template's localized messages).
    PostThenChildren { sub_resource: &'static str },
    /// `POST /deviceManagement/templates/{templateId}/createInstance` with
    /// `{displayName, description, roleScopeTagIds, <settings_param>: settings}` (intents).
    CreateInstance {
        template_property: &'static str,
        settings_param: &'static str,
    },
}

/// How an existing object is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMethod {
    /// `PATCH /{id}` with the top-level properties (sub-resources are not sent).
    Patch,
    /// `PUT /{id}` with the whole object, `write_inline` sub-resources included (settings
    /// catalog: PATCH cannot change settings).
    Put,
    /// `PATCH /{id}`, then `POST /{id}/{action}` `{param: <sub_resource>}` (compliance
    /// `scheduleActionsForRules`, intents `updateSettings`).
    PatchThenAction {
        sub_resource: &'static str,
        action: &'static str,
        param: &'static str,
    },
    /// `PATCH /{id}`, then the items of `sub_resource` one by one, matched on `key`: PATCH
    /// those that changed, POST new ones, DELETE those no longer wanted.
    PatchThenChildren {
        sub_resource: &'static str,
        key: &'static str,
    },
    /// `PATCH /{id}`, then `POST /{id}/updateDefinitionValues` `{added, updated, deletedIds}`
    /// computed against the target's current definition values (administrative templates).
    PatchThenDefinitionValues,
}

impl UpdateMethod {
    /// A short name for reports and tests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Patch => "PATCH",
            Self::Put => "PUT",
            Self::PatchThenAction { action, .. } => action,
            Self::PatchThenDefinitionValues => "updateDefinitionValues",
            Self::PatchThenChildren { .. } => "PATCH children",
        }
    }
}

/// A property a restore never turns on by itself: written as `to` where the captured value is
/// `from`, unless the restore request asks to keep captured values (conditional access:
/// `state` `enabled` → `enabledForReportingButNotEnforced`). A target object already at
/// `from` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guarded {
    pub property: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

impl Guarded {
    /// `wanted` as a restore writes it over `current` (the target object, if any).
    pub fn apply(
        &self,
        mut wanted: serde_json::Value,
        current: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let is_from = |v: &serde_json::Value| {
            v.get(self.property).and_then(serde_json::Value::as_str) == Some(self.from)
        };
        if is_from(&wanted)
            && !current.is_some_and(is_from)
            && let Some(obj) = wanted.as_object_mut()
        {
            obj.insert(
                self.property.to_string(),
                serde_json::Value::String(self.to.to_string()),
            );
        }
        wanted
    }
}

/// How assignments are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignMethod {
    /// `POST /{id}/assign` `{payload_key: [assignments]}`, replacing all assignments.
    Action { payload_key: &'static str },
    /// `POST /{id}/assignments` one assignment at a time, `DELETE` for removed ones
    /// (Autopilot profiles, whose `assign` action takes device ids).
    PostEach,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignments {
    /// Read with `$expand=assignments` or from `/{id}/assignments`.
    pub fetch: Fetch,
    pub method: AssignMethod,
}

/// One supported policy type.
#[derive(Debug)]
pub struct Contract {
    /// Stable key stored as `policy_type`: the collection's last path segment.
    pub key: &'static str,
    /// Other names users may type for it.
    pub aliases: &'static [&'static str],
    /// Human name for pages.
    pub label: &'static str,
    /// Path below the version, e.g. `deviceManagement/configurationPolicies`.
    pub collection: &'static str,
    pub api_version: ApiVersion,
    /// The list omits content (script bodies): GET each item.
    pub per_item_get: bool,
    pub sub_resources: &'static [SubResource],
    /// Read-only top-level properties of this type, stripped besides the common ones.
    pub strip: &'static [&'static str],
    /// Common read-only names that are content in this type, kept (an app's `version`).
    pub keep: &'static [&'static str],
    /// Properties kept in the stored payload but never sent in an update.
    pub update_omit: &'static [&'static str],
    /// Property matched against the target tenant (`displayName`; `name` for the catalog).
    pub match_key: &'static str,
    /// The `@odata.type` Graph leaves out of this collection's answers (it is not
    /// polymorphic) while exports carry it: dropped in normalization so both compare equal.
    pub implicit_type: Option<&'static str>,
    pub create: CreateMethod,
    pub update: UpdateMethod,
    pub assignments: Option<Assignments>,
    /// Carries `roleScopeTagIds`.
    pub scope_tags: bool,
    /// Ids of built-in objects, never created, updated or deleted by a restore.
    pub builtin_ids: &'static [&'static str],
    /// Ids containing this mark are service defaults: never created or deleted, only
    /// updated in place when matched.
    pub default_id_mark: Option<&'static str>,
    /// A property restores write in its safe value unless asked otherwise.
    pub guarded: Option<Guarded>,
    /// Types whose object ids this type's payload may hold (a conditional access policy's
    /// named locations): restored earlier, and rewritten to the target's ids before writing.
    pub references: &'static [&'static str],
    /// Configuration Graph shows but no API writes (VPP tokens, partner connections): captured
    /// for the record; a restore reports each item `not_restorable` with this reason.
    pub read_only: Option<&'static str>,
    /// `@odata.type`s (without namespace) whose content Graph never returns (line-of-business
    /// and Win32 app packages): captured, never written, reported `content_not_restorable`.
    pub content_not_restorable: &'static [&'static str],
    /// The concrete `@odata.type`s (without namespace) Graph documents for this collection;
    /// empty where it is not polymorphic. An object of any other type is captured as it is
    /// and flagged in the coverage report.
    pub odata_types: &'static [&'static str],
    /// `@odata.type`s this collection also serves that another type owns (targeted app
    /// configurations in `managedAppPolicies`): left out of its captures.
    pub excludes: &'static [&'static str],
    pub shape: Shape,
    /// Restored only into the tenant it was captured from (it names that tenant's groups or
    /// Apple token); elsewhere the item is skipped `same_tenant_only` with this reason.
    pub same_tenant_only: Option<&'static str>,
}

impl Contract {
    /// The `$expand` value for a GET of the collection or an item, derived from the
    /// `Expand` sub-resources and assignments.
    pub fn expand(&self) -> Option<String> {
        let mut parts = Vec::new();
        if matches!(self.assignments, Some(a) if a.fetch == Fetch::Expand) {
            parts.push("assignments".to_string());
        }
        parts.extend(expand_clauses(self.sub_resources));
        (!parts.is_empty()).then(|| parts.join(","))
    }

    /// Built-in objects are never restored (the scope tag `0`).
    pub fn is_builtin(&self, id: &str) -> bool {
        self.builtin_ids.contains(&id)
    }

    /// Service default objects (enrollment defaults) exist in every tenant: update in place
    /// only.
    pub fn is_service_default(&self, id: &str) -> bool {
        self.default_id_mark.is_some_and(|m| id.contains(m))
    }

    /// Objects every new tenant has of itself (built-in and service-default objects, the
    /// tenant's singletons): not configuration an admin made.
    pub fn comes_with_every_tenant(&self, id: &str) -> bool {
        self.is_builtin(id) || self.is_service_default(id) || self.shape == Shape::Singleton
    }

    /// Whether a captured object of this type can be written back (its `@odata.type` is not
    /// one whose content Graph withholds).
    pub fn restorable(&self, payload: &serde_json::Value) -> bool {
        let bare = bare_type(payload).unwrap_or_default();
        !self
            .content_not_restorable
            .iter()
            .any(|t| t.eq_ignore_ascii_case(bare))
    }

    pub fn sub_resource(&self, name: &str) -> Option<&'static SubResource> {
        self.sub_resources.iter().find(|s| s.name == name)
    }

    /// The bare `@odata.type` of `payload`, when this polymorphic collection's documented
    /// types do not include it (a type Graph added after this version).
    pub fn unknown_odata_type<'a>(&self, payload: &'a serde_json::Value) -> Option<&'a str> {
        if self.odata_types.is_empty() {
            return None;
        }
        let bare = bare_type(payload)?;
        let known = self
            .odata_types
            .iter()
            .chain(self.excludes)
            .any(|t| t.eq_ignore_ascii_case(bare));
        (!known).then_some(bare)
    }

    /// Whether Graph answers `payload` here but another type owns it.
    pub fn excluded(&self, payload: &serde_json::Value) -> bool {
        bare_type(payload)
            .is_some_and(|bare| self.excludes.iter().any(|t| t.eq_ignore_ascii_case(bare)))
    }

    /// For a contained type, the parent collection and the segment below each parent.
    pub fn contained(&self) -> Option<(&'static str, &'static str)> {
        match self.shape {
            Shape::Contained { parent } => Some((parent, self.key)),
            _ => None,
        }
    }

    /// The parent object's id within a contained type's `{parentId}/{id}`.
    pub fn parent_id<'a>(&self, id: &'a str) -> Option<&'a str> {
        self.contained()?;
        id.split_once('/').map(|(parent, _)| parent)
    }

    /// The path (below the version) of the collection that holds object `id`, and the id
    /// within it: `(collection, id)` for most types, the parent's own collection for a
    /// contained type's `{parentId}/{id}`. `None` for a contained id without its parent.
    pub fn locate<'a>(&self, id: &'a str) -> Option<(String, &'a str)> {
        match self.contained() {
            None => Some((self.collection.to_string(), id)),
            Some((parent, segment)) => {
                let (parent_id, own) = id.split_once('/')?;
                Some((
                    format!(
                        "{parent}/{}/{segment}",
                        super::payload::encode_segment(parent_id)
                    ),
                    own,
                ))
            }
        }
    }
}

/// `x` of `{"@odata.type": "#microsoft.graph.x"}`.
fn bare_type(payload: &serde_json::Value) -> Option<&str> {
    let ty = payload.get("@odata.type")?.as_str()?;
    Some(
        ty.trim_start_matches('#')
            .trim_start_matches("microsoft.graph."),
    )
}

impl SubResource {
    /// The query of a by-path fetch: `$top` and `$expand` of its `Expand` children.
    pub fn path_query(&self) -> Option<String> {
        let mut query = Vec::new();
        if let Some(top) = self.top {
            query.push(format!("$top={top}"));
        }
        let parts = expand_clauses(self.children);
        if !parts.is_empty() {
            query.push(format!("$expand={}", parts.join(",")));
        }
        (!query.is_empty()).then(|| query.join("&"))
    }
}

/// `name` or `name($expand=child,...)` for every `Expand` sub-resource.
fn expand_clauses(subs: &[SubResource]) -> Vec<String> {
    subs.iter()
        .filter(|s| s.fetch == Fetch::Expand)
        .map(|s| {
            let inner = expand_clauses(s.children);
            if inner.is_empty() {
                s.name.to_string()
            } else {
                format!("{}($expand={})", s.name, inner.join(","))
            }
        })
        .collect()
}

/// Intune's audit log, read (not captured) to say who changed an object.
pub fn audit_events() -> &'static Contract {
    &table::AUDIT_EVENTS
}

/// Every supported policy type, in restore order.
pub fn all() -> &'static [Contract] {
    CONTRACTS
}

/// Every key, in restore order.
pub fn keys() -> Vec<&'static str> {
    CONTRACTS.iter().map(|c| c.key).collect()
}

/// The contract named by a key, an alias or a collection path (any case).
pub fn get(name: &str) -> Option<&'static Contract> {
    let name = name.trim().trim_matches('/');
    CONTRACTS.iter().find(|c| {
        c.key.eq_ignore_ascii_case(name)
            || c.collection.eq_ignore_ascii_case(name)
            || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// A registered policy type: a registry key known to be valid, parsed once at the boundary
/// (API bodies, stored run specs) from a key, an alias or a collection path in any case.
/// Serialized as its key.
#[derive(Clone, Copy)]
pub struct PolicyType(&'static Contract);

impl PolicyType {
    pub fn parse(name: &str) -> Result<Self, UnknownPolicyType> {
        get(name).map(Self).ok_or_else(|| UnknownPolicyType {
            given: name.to_string(),
        })
    }

    /// The key stored as `policy_type`.
    pub fn key(self) -> &'static str {
        self.0.key
    }

    pub fn contract(self) -> &'static Contract {
        self.0
    }
}

impl Contract {
    pub fn policy_type(&'static self) -> PolicyType {
        PolicyType(self)
    }
}

impl PartialEq for PolicyType {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for PolicyType {}

impl std::hash::Hash for PolicyType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Debug for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyType({})", self.key())
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl serde::Serialize for PolicyType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

impl<'de> serde::Deserialize<'de> for PolicyType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A policy type name nobody registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPolicyType {
    pub given: String,
}

impl fmt::Display for UnknownPolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown policy type '{}'; valid types are: {}",
            self.given.chars().take(80).collect::<String>(),
            keys().join(", ")
        )
    }
}

impl std::error::Error for UnknownPolicyType {}

/// Turns a user-supplied list of type names into policy types, de-duplicated, in restore
/// order. An empty list means nothing; callers decide whether that stands for "all".
pub fn parse_types<S: AsRef<str>>(names: &[S]) -> Result<Vec<PolicyType>, UnknownPolicyType> {
    let wanted = names
        .iter()
        .map(|n| PolicyType::parse(n.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(in_restore_order(&wanted))
}

/// `types` de-duplicated, in restore order.
pub fn in_restore_order(types: &[PolicyType]) -> Vec<PolicyType> {
    CONTRACTS
        .iter()
        .map(Contract::policy_type)
        .filter(|t| types.contains(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_keys_aliases_paths_and_names_the_valid_keys_on_error() {
        let got = parse_types(&[
            "settingsCatalog",
            "DEVICECONFIGURATIONS",
            "deviceManagement/roleScopeTags",
            "configurationPolicies",
        ])
        .unwrap();
        let keys: Vec<&str> = got.iter().map(|t| t.key()).collect();
        assert_eq!(
            keys,
            [
                "roleScopeTags",
                "configurationPolicies",
                "deviceConfigurations"
            ]
        );
        let err = parse_types(&["deviceConfigurations", "bogusType"]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'bogusType'"), "{text}");
        for c in all() {
            assert!(text.contains(c.key), "{text}");
        }
        assert!(parse_types::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn policy_types_parse_any_spelling_and_serialize_as_their_key() {
        let t = PolicyType::parse("SETTINGSCATALOG").unwrap();
        assert_eq!(t.key(), "configurationPolicies");
        assert_eq!(
            t,
            PolicyType::parse("deviceManagement/configurationPolicies").unwrap()
        );
        assert_eq!(serde_json::to_value(t).unwrap(), "configurationPolicies");
        let back: PolicyType = serde_json::from_value("settingsCatalog".into()).unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_value::<PolicyType>("nope".into()).is_err());
        assert!(
            PolicyType::parse("compliancePolicies")
                .unwrap()
                .contract()
                .match_key
                == "name"
        );
    }
}

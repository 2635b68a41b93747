//! List, get, create, update (PATCH), replace (PUT) and delete of collection entities.

use serde_json::{Map, Value, json};

use crate::collections::{CollectionSpec, Kind, VersionKind};
use crate::odata::Expand;
use crate::store::{
    Tenant, graph_time, import, qualify_type, refresh_computed, strip_annotations, take_binds,
};

use super::Resource;
use super::actions::check_block_action;
use super::listing::{check_expand, project};
use super::reply::{Reply, bad_request, not_found_id};

/// Properties the service owns. Intune ignores them on create/update (an `id` sent on create
/// is replaced), so the simulator does too.
const SERVER_OWNED: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "modifiedDateTime",
    "version",
    "isAssigned",
    "settingCount",
    "supportsScopeTags",
    "deployedAppCount",
    "creationSource",
];

impl Resource<'_> {
    pub(super) fn list(&self, tenant: &Tenant) -> Reply {
        if let Err(e) = check_expand(self.spec.navs, &self.q.expand, &self.type_name()) {
            return bad_request(self.ctx, e);
        }
        let items: Vec<&Map<String, Value>> = tenant.objects(self.spec).collect();
        self.page(items, self.spec.paging, self.spec.path, |o| {
            self.render(o, true)
        })
    }

    pub(super) fn get(&self, tenant: &Tenant, id: &str) -> Reply {
        if let Err(e) = check_expand(self.spec.navs, &self.q.expand, &self.type_name()) {
            return bad_request(self.ctx, e);
        }
        let Some(obj) = tenant.find(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        let mut out = self.render(obj, false);
        out.insert(
            "@odata.context".into(),
            json!(self.ctx.context(&self.entity_context())),
        );
        Reply::json(200, Value::Object(out))
    }

    pub(super) fn body_object(&self, body: &[u8]) -> Result<Map<String, Value>, Reply> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| bad_request(self.ctx, format!("Invalid JSON in request body: {e}")))?;
        let Value::Object(m) = v else {
            return Err(bad_request(
                self.ctx,
                "The request body must be a JSON object.",
            ));
        };
        // ODataLib refuses a response annotation sent back in a request body.
        if m.contains_key("@odata.context") {
            return Err(bad_request(
                self.ctx,
                "The annotation 'odata.context' was found. This annotation is either not recognized or not expected at the current position.",
            ));
        }
        Ok(m)
    }

    /// The `@odata.type` to store for a new entity, or the 400 Graph gives.
    fn resolve_type(&self, given: Option<&Value>) -> Result<String, Reply> {
        let base = self.spec.qualified_base();
        let abstract_base = || {
            bad_request(
                self.ctx,
                format!(
                    "Cannot create an instance of the abstract type '{base}': the request must name a derived type in '@odata.type'."
                ),
            )
        };
        let t = match given {
            None | Some(Value::Null) if self.spec.abstract_base => return Err(abstract_base()),
            None | Some(Value::Null) => return Ok(format!("#{base}")),
            Some(Value::String(s)) => qualify_type(s),
            Some(_) => return Err(bad_request(self.ctx, "'@odata.type' must be a string.")),
        };
        let Some(name) = t.strip_prefix("#microsoft.graph.") else {
            return Err(bad_request(
                self.ctx,
                format!(
                    "A type named '{}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.",
                    t.trim_start_matches('#')
                ),
            ));
        };
        if self.spec.abstract_base && name.eq_ignore_ascii_case(self.spec.base_type) {
            return Err(abstract_base());
        }
        match self.spec.accepted_type(name) {
            Some(canonical) => Ok(format!("#microsoft.graph.{canonical}")),
            None => Err(bad_request(
                self.ctx,
                format!(
                    "The entity type '{}' is not compatible with the base type '{base}' of the given entity set.",
                    &t[1..]
                ),
            )),
        }
    }

    /// Drop what the service owns from a request body: common properties, this collection's
    /// server-set ones and its navigation properties.
    fn drop_server_owned(&self, obj: &mut Map<String, Value>) {
        // `version` is the service's only where it keeps one; an app's `version` is its own.
        let service_version = self.spec.version != VersionKind::None
            || self.spec.server_set.iter().any(|(k, _)| *k == "version");
        for k in SERVER_OWNED {
            if *k != "version" || service_version {
                obj.remove(*k);
            }
        }
        for (k, _) in self.spec.server_set {
            obj.remove(*k);
        }
    }

    pub(super) fn create(&self, tenant: &mut Tenant, body: &[u8]) -> Reply {
        let mut obj = match self.body_object(body) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let ty = match self.resolve_type(obj.get("@odata.type")) {
            Ok(t) => t,
            Err(r) => return r,
        };
        if let Err(r) = self.check_key(&obj) {
            return r;
        }
        if self.spec.kind == Kind::Compliance
            && let Err(r) = check_block_action(self.ctx, obj.get("scheduledActionsForRule"))
        {
            return r;
        }
        self.drop_server_owned(&mut obj);
        // Assignments are made with /assign; Intune does not take them inline on create.
        obj.remove("assignments");
        obj.insert("@odata.type".into(), Value::String(ty));
        self.store_new(tenant, obj)
    }

    pub(super) fn store_new(&self, tenant: &mut Tenant, obj: Map<String, Value>) -> Reply {
        let stored = {
            let mut catalog = self.sim.catalog.write().unwrap_or_else(|e| e.into_inner());
            match import(
                self.spec,
                Value::Object(obj),
                tenant,
                self.ctx.now,
                &mut catalog,
            ) {
                Ok(s) => s,
                Err(e) => return bad_request(self.ctx, e),
            }
        };
        let id = stored
            .get("id")
            .unwrap_or(&Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string();
        tenant.insert(self.spec, stored.clone());
        let mut out = project(&stored, self.spec.navs, &Expand::new());
        if !self.spec.emit_type {
            out.remove("@odata.type");
        }
        out.insert(
            "@odata.context".into(),
            json!(self.ctx.context(&self.entity_context())),
        );
        let mut r = Reply::json(201, Value::Object(out));
        r.headers.push((
            "Location",
            format!(
                "{}/{}/{}('{id}')",
                self.ctx.base, self.ctx.version, self.spec.path
            ),
        ));
        r
    }

    pub(super) fn check_key(&self, obj: &Map<String, Value>) -> Result<(), Reply> {
        match obj.get(self.spec.key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
            _ => Err(bad_request(
                self.ctx,
                format!(
                    "The property '{}' is required and must be a non-empty string.",
                    self.spec.key
                ),
            )),
        }
    }

    fn check_type_unchanged(
        &self,
        stored: &Map<String, Value>,
        body: &Map<String, Value>,
    ) -> Result<(), Reply> {
        if let Some(t) = body.get("@odata.type") {
            let given = t.as_str().map(qualify_type).unwrap_or_default();
            let current = stored
                .get("@odata.type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !given.eq_ignore_ascii_case(current) {
                return Err(bad_request(
                    self.ctx,
                    format!(
                        "The type '{}' of the request does not match the type '{}' of the entity.",
                        given.trim_start_matches('#'),
                        current.trim_start_matches('#')
                    ),
                ));
            }
        }
        Ok(())
    }

    fn bump(&self, obj: &mut Map<String, Value>) {
        if let Some(k) = self.spec.stamps.modified_key() {
            obj.insert(k.into(), json!(graph_time(self.ctx.now)));
        }
        refresh_computed(self.spec, obj);
        match self.spec.version {
            VersionKind::Int => {
                let v = obj.get("version").and_then(Value::as_i64).unwrap_or(0);
                obj.insert("version".into(), json!(v + 1));
            }
            VersionKind::Str => {
                obj.insert(
                    "version".into(),
                    json!(format!("\"{}\"", uuid::Uuid::new_v4().simple())),
                );
            }
            VersionKind::None => {}
        }
    }

    /// PATCH: merge top-level properties. Navigation properties in the body are ignored
    /// (Intune changes them only through their own endpoints and actions). Answers 204.
    pub(super) fn update(&self, tenant: &mut Tenant, id: &str, body: &[u8]) -> Reply {
        let mut patch = match self.body_object(body) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let Some(stored) = tenant.find(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        if let Err(r) = self.check_type_unchanged(stored, &patch) {
            return r;
        }
        if self.spec.kind == Kind::RoleDefinition && is_builtin(self.spec, stored) {
            return bad_request(
                self.ctx,
                format!("The built-in role definition '{id}' cannot be modified."),
            );
        }
        if let Some(v) = patch.get(self.spec.key)
            && v.as_str().is_none_or(|s| s.trim().is_empty())
        {
            return bad_request(
                self.ctx,
                format!(
                    "The property '{}' must be a non-empty string.",
                    self.spec.key
                ),
            );
        }
        strip_annotations(&mut patch);
        self.drop_server_owned(&mut patch);
        patch.remove("@odata.type");
        let binds = match take_binds(self.spec, &mut patch) {
            Ok(b) => b,
            Err(e) => return bad_request(self.ctx, e),
        };
        for nav in self.spec.navs {
            patch.remove(nav.name);
        }
        let Some(stored) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        for (k, v) in patch {
            stored.insert(k, v);
        }
        for (name, item) in binds {
            stored.insert(name.to_string(), item);
        }
        self.bump(stored);
        Reply::no_content()
    }

    /// PUT (settings catalog): replace the entity's properties, and its settings when the
    /// body carries them. Id, creation date and assignments survive. Answers 204.
    pub(super) fn replace(&self, tenant: &mut Tenant, id: &str, body: &[u8]) -> Reply {
        let mut new = match self.body_object(body) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let Some(stored) = tenant.find(self.spec, id).cloned() else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        if let Err(r) = self.check_type_unchanged(&stored, &new) {
            return r;
        }
        if let Err(r) = self.check_key(&new) {
            return r;
        }
        strip_annotations(&mut new);
        self.drop_server_owned(&mut new);
        new.remove("assignments");
        for k in [
            "id",
            "createdDateTime",
            "@odata.type",
            "assignments",
            "version",
        ] {
            if let Some(v) = stored.get(k) {
                new.insert(k.into(), v.clone());
            }
        }
        if !new.contains_key("settings")
            && let Some(s) = stored.get("settings")
        {
            new.insert("settings".into(), s.clone());
        }
        let mut obj = {
            let mut catalog = self.sim.catalog.write().unwrap_or_else(|e| e.into_inner());
            match import(
                self.spec,
                Value::Object(new),
                tenant,
                self.ctx.now,
                &mut catalog,
            ) {
                Ok(o) => o,
                Err(e) => return bad_request(self.ctx, e),
            }
        };
        self.bump(&mut obj);
        tenant.insert(self.spec, obj);
        Reply::no_content()
    }

    pub(super) fn delete(&self, tenant: &mut Tenant, id: &str) -> Reply {
        let Some(obj) = tenant.find(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        if is_builtin(self.spec, obj) {
            return bad_request(
                self.ctx,
                format!(
                    "The built-in {} '{id}' cannot be deleted.",
                    self.spec.base_type
                ),
            );
        }
        tenant.objects_mut(self.spec).retain(|o| {
            !o.get("id")
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(id))
        });
        Reply::no_content()
    }
}

/// Objects the service owns and refuses to delete.
fn is_builtin(spec: &CollectionSpec, obj: &Map<String, Value>) -> bool {
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
    match spec.kind {
        Kind::ScopeTag => id == "0" || obj.get("isBuiltIn").and_then(Value::as_bool) == Some(true),
        Kind::Enrollment => id.contains("_Default"),
        Kind::RoleDefinition => obj.get("isBuiltIn").and_then(Value::as_bool) == Some(true),
        _ => false,
    }
}

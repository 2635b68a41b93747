//! Graph resource semantics for one (already authenticated and admitted) request against one
//! tenant: routing of the path below `/{version}/`, list/get/create/update/delete, assign,
//! sub-resources and actions. Pure over the tenant state; no I/O.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::collections::{
    AssignReply, COLLECTIONS, CollectionSpec, Kind, Nav, Paging, TARGET_TYPES, TypeRule,
    VersionKind, match_segments,
};
use crate::odata::{
    Expand, ExpandItem, Query, apply_select, encode_skiptoken, expand_get, parse_query,
    percent_decode_path, percent_encode,
};
use crate::store::{
    Sim, Tenant, graph_time, import, normalize_assignments, normalize_definition_value,
    normalize_presentation_value, qualify_type, refresh_computed, strip_annotations,
};

/// Per-request facts the handlers need for URLs and error envelopes.
pub struct Ctx {
    /// `http://host:port` as the client addressed us.
    pub base: String,
    /// `beta` or `v1.0`.
    pub version: &'static str,
    pub request_id: String,
    pub client_request_id: String,
    pub now: DateTime<Utc>,
}

impl Ctx {
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/{}/$metadata#{fragment}", self.base, self.version)
    }
}

/// A Graph answer before it becomes HTTP (or a `$batch` sub-response).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// The Graph error envelope.
pub fn error(ctx: &Ctx, status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(
        status,
        json!({
            "error": {
                "code": code,
                "message": message.into(),
                "innerError": {
                    "date": ctx.now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": ctx.request_id,
                    "client-request-id": ctx.client_request_id,
                }
            }
        }),
    )
}

fn bad_request(ctx: &Ctx, message: impl Into<String>) -> Reply {
    error(ctx, 400, "BadRequest", message)
}

fn not_found_segment(ctx: &Ctx, segment: &str) -> Reply {
    error(
        ctx,
        404,
        "ResourceNotFound",
        format!("Resource not found for the segment '{segment}'."),
    )
}

fn not_found_id(ctx: &Ctx, what: &str, id: &str) -> Reply {
    error(
        ctx,
        404,
        "ResourceNotFound",
        format!("The {what} with id '{id}' was not found."),
    )
}

/// Intune's answer to a verb its route table does not have (status per our contract: 405).
fn method_not_allowed(ctx: &Ctx, method: &str, path: &str) -> Reply {
    let mut r = error(
        ctx,
        405,
        "No method match route template",
        format!(
            "No OData route exists that match template for http verb {method} for request /{path}."
        ),
    );
    r.headers.push(("Allow", "GET".into()));
    r
}

const ACTIONS: &[&str] = &[
    "assign",
    "updateDefinitionValues",
    "scheduleActionsForRules",
    "updateSettings",
    "createInstance",
];

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

/// Split a path into segments, turning OData key syntax `coll('id')` into `coll`, `id`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode_path(raw);
        match seg.find('(') {
            Some(i) if i > 0 && seg.ends_with(')') => {
                out.push(seg[..i].to_string());
                let key = seg[i + 1..seg.len() - 1].trim_matches('\'');
                out.push(key.to_string());
            }
            _ => out.push(seg),
        }
    }
    out
}

/// Route one Graph request. `path` is below `/{version}/` without the query.
pub fn dispatch(
    sim: &Sim,
    tenant: &mut Tenant,
    ctx: &Ctx,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    let segs = segments(path);
    let q = match parse_query(query) {
        Ok(q) => q,
        Err(e) => return bad_request(ctx, e),
    };
    let Some(first) = segs.first() else {
        return not_found_segment(ctx, ctx.version);
    };
    if first.eq_ignore_ascii_case("organization") && segs.len() == 1 {
        return organization(tenant, ctx, method, path);
    }
    if first.eq_ignore_ascii_case("deviceManagement") {
        match segs.get(1).map(|s| s.to_ascii_lowercase()).as_deref() {
            None => return device_management(tenant, ctx, method, path),
            Some("templates") if ctx.version == "beta" => {
                return templates(sim, tenant, ctx, method, path, &segs[2..], &q, body);
            }
            Some("grouppolicydefinitions") if ctx.version == "beta" => {
                return definitions(sim, ctx, method, path, &segs[2..], &q);
            }
            _ => {}
        }
    }
    let Some((spec, n)) = match_segments(&segs) else {
        let bad = segs
            .iter()
            .take(2)
            .next_back()
            .map(String::as_str)
            .unwrap_or_default();
        return not_found_segment(ctx, bad);
    };
    if ctx.version == "v1.0" && !spec.v1 {
        return not_found_segment(ctx, &segs[n - 1]);
    }
    // Type-cast segments (`/microsoft.graph.iosManagedAppProtection/`) change nothing we
    // model; a namespace-qualified action is the action.
    let rest: Vec<String> = segs[n..]
        .iter()
        .filter_map(|s| match s.strip_prefix("microsoft.graph.") {
            Some(a) if ACTIONS.iter().any(|x| x.eq_ignore_ascii_case(a)) => Some(a.to_string()),
            Some(_) => None,
            None => Some(s.clone()),
        })
        .collect();
    let r = Resource {
        sim,
        ctx,
        spec,
        q: &q,
        path,
        method,
    };
    match rest.as_slice() {
        [] => match method {
            "GET" => r.list(tenant),
            "POST" => r.create(tenant, body),
            _ => method_not_allowed(ctx, method, path),
        },
        [id] => match method {
            "GET" => r.get(tenant, id),
            "PATCH" => r.update(tenant, id, body),
            "PUT" if spec.put => r.replace(tenant, id, body),
            "DELETE" => r.delete(tenant, id),
            _ => method_not_allowed(ctx, method, path),
        },
        [id, action] if ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action)) => {
            if method != "POST" {
                return method_not_allowed(ctx, method, path);
            }
            r.action(tenant, id, action, body)
        }
        [id, nav, tail @ ..] => r.sub(tenant, id, nav, tail, body),
    }
}

struct Resource<'a> {
    sim: &'a Sim,
    ctx: &'a Ctx,
    spec: &'static CollectionSpec,
    q: &'a Query,
    path: &'a str,
    method: &'a str,
}

/// Remove navigation properties that were not expanded (recursively), as Graph does.
fn project(obj: &Map<String, Value>, navs: &[Nav], expand: &Expand) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in obj {
        match navs.iter().find(|n| n.name == k) {
            Some(nav) => {
                if let Some(item) = expand_get(expand, nav.name) {
                    out.insert(k.clone(), project_value(v, nav, item));
                }
            }
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    for nav in navs {
        if !out.contains_key(nav.name) && expand_get(expand, nav.name).is_some() {
            let empty = if nav.single { Value::Null } else { json!([]) };
            out.insert(nav.name.to_string(), empty);
        }
    }
    out
}

fn project_value(v: &Value, nav: &Nav, item: &ExpandItem) -> Value {
    let one = |x: &Value| match x {
        Value::Object(m) => {
            let mut p = project(m, nav.children, &item.expand);
            if let Some(sel) = &item.select {
                apply_select(&mut p, sel, &[]);
            }
            Value::Object(p)
        }
        other => other.clone(),
    };
    match v {
        Value::Array(a) => Value::Array(a.iter().map(one).collect()),
        other => one(other),
    }
}

/// Every `$expand` name must be a navigation property of the entity.
fn check_expand(navs: &[Nav], expand: &Expand, type_name: &str) -> Result<(), String> {
    for (name, item) in expand {
        if name == "*" {
            continue;
        }
        let Some(nav) = navs.iter().find(|n| n.name.eq_ignore_ascii_case(name)) else {
            return Err(format!(
                "Could not find a property named '{name}' on type '{type_name}'."
            ));
        };
        check_expand(nav.children, &item.expand, type_name)?;
    }
    Ok(())
}

/// `*` expands every navigation property.
fn effective_expand(navs: &[Nav], expand: &Expand) -> Expand {
    if !expand.contains_key("*") {
        return expand.clone();
    }
    navs.iter()
        .map(|n| (n.name.to_string(), ExpandItem::default()))
        .collect()
}

fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::String(a)), Some(Value::String(b))) => a.to_lowercase().cmp(&b.to_lowercase()),
        (Some(Value::Number(a)), Some(Value::Number(b))) => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => a.cmp(b),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

impl Resource<'_> {
    fn type_name(&self) -> String {
        self.spec.qualified_base()
    }

    fn sizes(&self, paging: Paging) -> (usize, usize) {
        let c = &self.sim.config;
        match paging {
            Paging::Small => (c.page_size.max(1), c.page_size.max(1)),
            Paging::Large => (c.default_page_size.max(1), c.max_page_size.max(1)),
        }
    }

    /// One page of `items` (filtered, ordered), rendered, with `@odata.nextLink` when more
    /// remain.
    fn page(
        &self,
        mut items: Vec<&Map<String, Value>>,
        paging: Paging,
        context: &str,
        render: impl Fn(&Map<String, Value>) -> Map<String, Value>,
    ) -> Reply {
        if let Some(f) = &self.q.filter {
            items.retain(|o| f.matches(o));
        }
        if let Some((prop, desc)) = &self.q.orderby {
            items.sort_by(|a, b| {
                let o = cmp_values(a.get(prop.as_str()), b.get(prop.as_str()));
                if *desc { o.reverse() } else { o }
            });
        }
        let total = items.len();
        let (default, max) = self.sizes(paging);
        let size = self.q.top.map_or(default, |t| t.min(max));
        let offset = self.q.offset();
        let value: Vec<Value> = items
            .iter()
            .skip(offset)
            .take(size)
            .map(|o| Value::Object(render(o)))
            .collect();
        let mut body = Map::new();
        body.insert("@odata.context".into(), json!(self.ctx.context(context)));
        if self.q.count {
            body.insert("@odata.count".into(), json!(total));
        }
        if size > 0 && offset + size < total {
            body.insert(
                "@odata.nextLink".into(),
                json!(self.next_link(offset + size)),
            );
        }
        body.insert("value".into(), Value::Array(value));
        Reply::json(200, Value::Object(body))
    }

    fn next_link(&self, offset: usize) -> String {
        let mut params: Vec<String> = self
            .q
            .raw
            .iter()
            .filter(|(k, _)| {
                let k = k.trim_start_matches('$').to_ascii_lowercase();
                k != "skiptoken" && k != "skip"
            })
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        params.push(format!("$skiptoken={}", encode_skiptoken(offset)));
        format!(
            "{}/{}/{}?{}",
            self.ctx.base,
            self.ctx.version,
            self.path.trim_start_matches('/'),
            params.join("&")
        )
    }

    fn render(&self, obj: &Map<String, Value>, list: bool) -> Map<String, Value> {
        let expand = effective_expand(self.spec.navs, &self.q.expand);
        let mut out = project(obj, self.spec.navs, &expand);
        if list {
            for k in self.spec.list_omits {
                out.remove(*k);
            }
        }
        if !self.spec.emit_type {
            out.remove("@odata.type");
        }
        if let Some(sel) = &self.q.select {
            let keep: Vec<&str> = expand.keys().map(String::as_str).collect();
            apply_select(&mut out, sel, &keep);
        }
        out
    }

    fn entity_context(&self) -> String {
        format!("{}/$entity", self.spec.path)
    }

    fn list(&self, tenant: &Tenant) -> Reply {
        if let Err(e) = check_expand(self.spec.navs, &self.q.expand, &self.type_name()) {
            return bad_request(self.ctx, e);
        }
        let items: Vec<&Map<String, Value>> = tenant.objects(self.spec).iter().collect();
        self.page(items, self.spec.paging, self.spec.path, |o| {
            self.render(o, true)
        })
    }

    fn get(&self, tenant: &Tenant, id: &str) -> Reply {
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

    fn body_object(&self, body: &[u8]) -> Result<Map<String, Value>, Reply> {
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
        let incompatible = |t: &str| {
            bad_request(
                self.ctx,
                format!(
                    "The entity type '{t}' is not compatible with the base type '{base}' of the given entity set."
                ),
            )
        };
        let abstract_base = || {
            bad_request(
                self.ctx,
                format!(
                    "Cannot create an instance of the abstract type '{base}': the request must name a derived type in '@odata.type'."
                ),
            )
        };
        let t = match given {
            None | Some(Value::Null) => {
                return match self.spec.types {
                    TypeRule::Concrete(_) => Ok(format!("#{base}")),
                    TypeRule::Polymorphic { .. } => Err(abstract_base()),
                };
            }
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
        let lower = name.to_ascii_lowercase();
        match self.spec.types {
            TypeRule::Concrete(derived) => {
                if name.eq_ignore_ascii_case(self.spec.base_type)
                    || derived.iter().any(|d| d.eq_ignore_ascii_case(name))
                {
                    Ok(format!(
                        "#microsoft.graph.{}",
                        canonical_type(self.spec, name)
                    ))
                } else {
                    Err(incompatible(&t[1..]))
                }
            }
            TypeRule::Polymorphic { suffixes, excluded } => {
                if name.eq_ignore_ascii_case(self.spec.base_type) {
                    return Err(abstract_base());
                }
                let other_base = COLLECTIONS
                    .iter()
                    .any(|c| c.path != self.spec.path && c.base_type.eq_ignore_ascii_case(name));
                if !other_base
                    && suffixes.iter().any(|s| lower.ends_with(s))
                    && !excluded.iter().any(|x| lower.contains(x))
                {
                    Ok(t)
                } else {
                    Err(incompatible(&t[1..]))
                }
            }
        }
    }

    fn create(&self, tenant: &mut Tenant, body: &[u8]) -> Reply {
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
        for k in SERVER_OWNED {
            obj.remove(*k);
        }
        // Assignments are made with /assign; Intune does not take them inline on create.
        obj.remove("assignments");
        obj.insert("@odata.type".into(), Value::String(ty));
        self.store_new(tenant, obj)
    }

    fn store_new(&self, tenant: &mut Tenant, obj: Map<String, Value>) -> Reply {
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

    fn check_key(&self, obj: &Map<String, Value>) -> Result<(), Reply> {
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
        obj.insert(
            "lastModifiedDateTime".into(),
            json!(graph_time(self.ctx.now)),
        );
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
    fn update(&self, tenant: &mut Tenant, id: &str, body: &[u8]) -> Reply {
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
        for k in SERVER_OWNED.iter().chain(["@odata.type"].iter()) {
            patch.remove(*k);
        }
        for nav in self.spec.navs {
            patch.remove(nav.name);
        }
        let Some(stored) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        for (k, v) in patch {
            stored.insert(k, v);
        }
        self.bump(stored);
        Reply::no_content()
    }

    /// PUT (settings catalog): replace the entity's properties, and its settings when the
    /// body carries them. Id, creation date and assignments survive. Answers 204.
    fn replace(&self, tenant: &mut Tenant, id: &str, body: &[u8]) -> Reply {
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
        for k in SERVER_OWNED {
            new.remove(*k);
        }
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

    fn delete(&self, tenant: &mut Tenant, id: &str) -> Reply {
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

    fn action(&self, tenant: &mut Tenant, id: &str, action: &str, body: &[u8]) -> Reply {
        if tenant.find(self.spec, id).is_none() {
            return not_found_id(self.ctx, self.spec.base_type, id);
        }
        let body = match self.body_object(body) {
            Ok(o) => o,
            Err(r) => return r,
        };
        match (action.to_ascii_lowercase().as_str(), self.spec.kind) {
            ("assign", _) if self.spec.assign.is_some() => self.assign(tenant, id, body),
            ("updatedefinitionvalues", Kind::AdminTemplate) => {
                self.update_definition_values(tenant, id, body)
            }
            ("scheduleactionsforrules", Kind::Compliance) => {
                self.schedule_actions(tenant, id, body)
            }
            ("updatesettings", Kind::Intent) => self.update_intent_settings(tenant, id, body),
            _ => not_found_segment(self.ctx, action),
        }
    }

    /// Validate assignments the way `/assign` and POST `/assignments` need them.
    fn parse_assignments(&self, id: &str, items: &[Value]) -> Result<Vec<Value>, Reply> {
        let mut maps = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(a) = item else {
                return Err(bad_request(self.ctx, "Each assignment must be an object."));
            };
            let Some(Value::Object(target)) = a.get("target") else {
                return Err(bad_request(
                    self.ctx,
                    "Each assignment must have a 'target' object.",
                ));
            };
            let ty = target
                .get("@odata.type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let bare = qualify_type(ty);
            let bare = bare.trim_start_matches("#microsoft.graph.");
            if !TARGET_TYPES.iter().any(|t| t.eq_ignore_ascii_case(bare)) {
                return Err(bad_request(
                    self.ctx,
                    format!("The assignment target type '{ty}' is not supported."),
                ));
            }
            if bare.to_ascii_lowercase().contains("group")
                && bare != "scopeTagGroupAssignmentTarget"
                && target
                    .get("groupId")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            {
                return Err(bad_request(
                    self.ctx,
                    "A group assignment target requires 'groupId'.",
                ));
            }
            let mut a = a.clone();
            a.remove("id");
            maps.push(a);
        }
        let out =
            normalize_assignments(self.spec, id, maps).map_err(|e| bad_request(self.ctx, e))?;
        let mut seen = std::collections::HashSet::new();
        for a in &out {
            let aid = a["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            if !seen.insert(aid) {
                return Err(bad_request(
                    self.ctx,
                    "The request contains duplicate assignment targets.",
                ));
            }
        }
        Ok(out)
    }

    fn assign(&self, tenant: &mut Tenant, id: &str, body: Map<String, Value>) -> Reply {
        let Some(spec) = &self.spec.assign else {
            return not_found_segment(self.ctx, "assign");
        };
        if let Some(bad) = body
            .keys()
            .find(|k| k.as_str() != spec.payload_key && !spec.other_keys.contains(&k.as_str()))
        {
            return bad_request(
                self.ctx,
                format!(
                    "The parameter '{bad}' in the request payload is not a valid parameter for the operation 'assign'."
                ),
            );
        }
        let items = match body.get(spec.payload_key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => {
                return bad_request(
                    self.ctx,
                    format!("The parameter '{}' must be an array.", spec.payload_key),
                );
            }
        };
        if spec.reply == AssignReply::DeviceIds {
            if items.iter().any(|d| !d.is_string()) {
                return bad_request(self.ctx, "'deviceIds' must be an array of strings.");
            }
            return Reply::no_content();
        }
        let assignments = match self.parse_assignments(id, &items) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let Some(obj) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        obj.insert("assignments".into(), Value::Array(assignments.clone()));
        refresh_computed(self.spec, obj);
        match spec.reply {
            AssignReply::Collection => Reply::json(
                200,
                json!({
                    "@odata.context": self.ctx.context(&format!("Collection(microsoft.graph.{})", self.spec.assignment_type)),
                    "value": assignments,
                }),
            ),
            _ => Reply::no_content(),
        }
    }

    fn update_definition_values(
        &self,
        tenant: &mut Tenant,
        id: &str,
        body: Map<String, Value>,
    ) -> Reply {
        let list = |k: &str| -> Result<Vec<Value>, Reply> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => Ok(a.clone()),
                Some(_) => Err(bad_request(
                    self.ctx,
                    format!("The parameter '{k}' must be an array."),
                )),
            }
        };
        if let Some(bad) = body
            .keys()
            .find(|k| !["added", "updated", "deletedIds"].contains(&k.as_str()))
        {
            return bad_request(
                self.ctx,
                format!(
                    "The parameter '{bad}' in the request payload is not a valid parameter for the operation 'updateDefinitionValues'."
                ),
            );
        }
        let (added, updated, deleted) = match (list("added"), list("updated"), list("deletedIds")) {
            (Ok(a), Ok(u), Ok(d)) => (a, u, d),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
        };
        let mut catalog = self.sim.catalog.write().unwrap_or_else(|e| e.into_inner());
        let Some(obj) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        let mut dvs: Vec<Value> = obj
            .get("definitionValues")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for d in &deleted {
            let Some(d) = d.as_str() else {
                return bad_request(self.ctx, "'deletedIds' must be an array of strings.");
            };
            dvs.retain(|v| !v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(d)));
        }
        for u in updated {
            let Value::Object(mut u) = u else {
                return bad_request(self.ctx, "Each updated definition value must be an object.");
            };
            let Some(uid) = u.get("id").and_then(Value::as_str).map(str::to_string) else {
                return bad_request(self.ctx, "Each updated definition value needs its 'id'.");
            };
            let Some(Value::Object(dv)) = dvs.iter_mut().find(|v| {
                v["id"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&uid))
            }) else {
                return not_found_id(self.ctx, "groupPolicyDefinitionValue", &uid);
            };
            strip_annotations(&mut u);
            let pvs = u.remove("presentationValues");
            u.remove("definition");
            u.remove("definition@odata.bind");
            for (k, v) in u {
                if !matches!(
                    k.as_str(),
                    "id" | "createdDateTime" | "lastModifiedDateTime"
                ) {
                    dv.insert(k, v);
                }
            }
            if let Some(Value::Array(pvs)) = pvs {
                let mut current: Vec<Value> = dv
                    .get("presentationValues")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for pv in pvs {
                    let Value::Object(mut pv) = pv else { continue };
                    strip_annotations(&mut pv);
                    let pid = pv.get("id").and_then(Value::as_str).map(str::to_string);
                    match pid.and_then(|pid| {
                        current.iter_mut().find(|c| {
                            c["id"]
                                .as_str()
                                .is_some_and(|x| x.eq_ignore_ascii_case(&pid))
                        })
                    }) {
                        Some(Value::Object(existing)) => {
                            pv.remove("presentation@odata.bind");
                            pv.remove("presentation");
                            for (k, v) in pv {
                                existing.insert(k, v);
                            }
                            existing.insert(
                                "lastModifiedDateTime".into(),
                                json!(graph_time(self.ctx.now)),
                            );
                        }
                        _ => match normalize_presentation_value(pv, self.ctx.now, &mut catalog) {
                            Ok(v) => current.push(v),
                            Err(e) => return bad_request(self.ctx, e),
                        },
                    }
                }
                dv.insert("presentationValues".into(), Value::Array(current));
            }
            dv.insert(
                "lastModifiedDateTime".into(),
                json!(graph_time(self.ctx.now)),
            );
        }
        for a in added {
            let Value::Object(mut a) = a else {
                return bad_request(self.ctx, "Each added definition value must be an object.");
            };
            strip_annotations(&mut a);
            a.remove("id");
            if !a.contains_key("definition@odata.bind")
                && !a.get("definition").is_some_and(Value::is_object)
            {
                return bad_request(
                    self.ctx,
                    "An added definition value needs 'definition@odata.bind'.",
                );
            }
            match normalize_definition_value(a, self.ctx.now, &mut catalog) {
                Ok(v) => dvs.push(v),
                Err(e) => return bad_request(self.ctx, e),
            }
        }
        obj.insert("definitionValues".into(), Value::Array(dvs));
        obj.insert(
            "lastModifiedDateTime".into(),
            json!(graph_time(self.ctx.now)),
        );
        Reply::no_content()
    }

    fn schedule_actions(&self, tenant: &mut Tenant, id: &str, body: Map<String, Value>) -> Reply {
        let key = "deviceComplianceScheduledActionForRules";
        let rules = body.get(key).cloned().unwrap_or(json!([]));
        if let Err(r) = check_block_action(self.ctx, Some(&rules)) {
            return r;
        }
        let Some(obj) = tenant.find(self.spec, id).cloned() else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        let mut obj = obj;
        obj.insert("scheduledActionsForRule".into(), rules);
        let mut catalog = self.sim.catalog.write().unwrap_or_else(|e| e.into_inner());
        match import(
            self.spec,
            Value::Object(obj),
            tenant,
            self.ctx.now,
            &mut catalog,
        ) {
            Ok(o) => tenant.insert(self.spec, o),
            Err(e) => return bad_request(self.ctx, e),
        }
        Reply::no_content()
    }

    fn update_intent_settings(
        &self,
        tenant: &mut Tenant,
        id: &str,
        body: Map<String, Value>,
    ) -> Reply {
        let Some(Value::Array(new)) = body.get("settings") else {
            return bad_request(
                self.ctx,
                "The parameter 'settings' is required and must be an array.",
            );
        };
        let Some(obj) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        let mut current: Vec<Value> = obj
            .get("settings")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for s in new {
            let Value::Object(s) = s else {
                return bad_request(self.ctx, "Each setting must be an object.");
            };
            let def = s.get("definitionId").and_then(Value::as_str);
            match current
                .iter_mut()
                .find(|c| def.is_some() && c["definitionId"].as_str() == def)
            {
                Some(Value::Object(existing)) => {
                    for (k, v) in s {
                        if k != "id" {
                            existing.insert(k.clone(), v.clone());
                        }
                    }
                }
                _ => {
                    let mut s = s.clone();
                    s.insert("id".into(), json!(crate::store::new_id()));
                    current.push(Value::Object(s));
                }
            }
        }
        obj.insert("settings".into(), Value::Array(current));
        obj.insert(
            "lastModifiedDateTime".into(),
            json!(graph_time(self.ctx.now)),
        );
        Reply::no_content()
    }

    /// `/{id}/{nav}[/...]`.
    fn sub(
        &self,
        tenant: &mut Tenant,
        id: &str,
        nav_name: &str,
        tail: &[String],
        body: &[u8],
    ) -> Reply {
        let Some(nav) = self.spec.nav(nav_name) else {
            return not_found_segment(self.ctx, nav_name);
        };
        // Intune has no route for this navigation: scheduled actions come only via $expand.
        if nav.name == "scheduledActionsForRule" {
            return error(
                self.ctx,
                400,
                "No method match route template",
                format!(
                    "No OData route exists that match template ~/singleton/navigation/key/navigation with http verb {} for request /deviceManagement/deviceCompliancePolicies('{id}')/scheduledActionsForRule.",
                    self.method
                ),
            );
        }
        let Some(obj) = tenant.find(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        let items: Vec<Map<String, Value>> = obj
            .get(nav.name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
            .unwrap_or_default();
        let canonical_id = obj
            .get("id")
            .unwrap_or(&Value::Null)
            .as_str()
            .unwrap_or(id)
            .to_string();
        let base_ctx = format!("{}('{canonical_id}')/{}", self.spec.path, nav.name);
        // `$expand` applies to the last segment: check it here unless a nested navigation
        // below an item is addressed (`nested` checks it there).
        let addresses_nested = tail.len() >= 2;
        if !addresses_nested && let Err(e) = check_expand(nav.children, &self.q.expand, nav.name) {
            return bad_request(self.ctx, e);
        }
        let expand = effective_expand(nav.children, &self.q.expand);
        let render = |m: &Map<String, Value>| -> Map<String, Value> {
            let mut out = if nav.name == "settings" && self.spec.kind == Kind::SettingsCatalog {
                setting_with_definitions(m, &expand)
            } else {
                project(m, nav.children, &expand)
            };
            if let Some(sel) = &self.q.select {
                apply_select(&mut out, sel, &[]);
            }
            out
        };
        let paging = if self.spec.kind == Kind::SettingsCatalog && nav.name == "settings" {
            Paging::Small
        } else {
            Paging::Large
        };
        match (tail, self.method) {
            ([], "GET") => self.page(items.iter().collect(), paging, &base_ctx, render),
            ([], "POST") if nav.name == "assignments" => {
                let item: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => {
                        return bad_request(self.ctx, format!("Invalid JSON in request body: {e}"));
                    }
                };
                let new = match self.parse_assignments(&canonical_id, std::slice::from_ref(&item)) {
                    Ok(mut v) => v.remove(0),
                    Err(r) => return r,
                };
                let new_id = new["id"].as_str().unwrap_or_default().to_string();
                if items.iter().any(|a| {
                    a.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|x| x.eq_ignore_ascii_case(&new_id))
                }) {
                    return error(
                        self.ctx,
                        409,
                        "Conflict",
                        format!("An assignment with id '{new_id}' already exists."),
                    );
                }
                let Some(obj) = tenant.find_mut(self.spec, id) else {
                    return not_found_id(self.ctx, self.spec.base_type, id);
                };
                let list = obj.entry("assignments").or_insert_with(|| json!([]));
                if let Value::Array(a) = list {
                    a.push(new.clone());
                }
                refresh_computed(self.spec, obj);
                let mut out = new.as_object().cloned().unwrap_or_default();
                out.insert(
                    "@odata.context".into(),
                    json!(self.ctx.context(&format!("{base_ctx}/$entity"))),
                );
                Reply::json(201, Value::Object(out))
            }
            ([], "POST") if nav.name == "definitionValues" => {
                let dv = match self.body_object(body) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                let mut wrapper = Map::new();
                wrapper.insert("added".into(), json!([dv]));
                let before = items.len();
                let r = self.update_definition_values(tenant, id, wrapper);
                if r.status != 204 {
                    return r;
                }
                let created = tenant
                    .find(self.spec, id)
                    .and_then(|o| o["definitionValues"].as_array()?.get(before).cloned())
                    .unwrap_or(Value::Null);
                let mut out = created
                    .as_object()
                    .map(|m| project(m, nav.children, &Expand::new()))
                    .unwrap_or_default();
                out.insert(
                    "@odata.context".into(),
                    json!(self.ctx.context(&format!("{base_ctx}/$entity"))),
                );
                Reply::json(201, Value::Object(out))
            }
            ([], _) => method_not_allowed(self.ctx, self.method, self.path),
            ([sub_id, rest @ ..], method) => {
                let Some(item) = items.iter().find(|m| {
                    m.get("id")
                        .unwrap_or(&Value::Null)
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(sub_id))
                }) else {
                    return not_found_id(self.ctx, nav.name, sub_id);
                };
                match (rest, method) {
                    ([], "GET") => {
                        let mut out = render(item);
                        out.insert(
                            "@odata.context".into(),
                            json!(self.ctx.context(&format!("{base_ctx}/$entity"))),
                        );
                        Reply::json(200, Value::Object(out))
                    }
                    ([], "DELETE") if nav.name == "assignments" => {
                        let Some(obj) = tenant.find_mut(self.spec, id) else {
                            return not_found_id(self.ctx, self.spec.base_type, id);
                        };
                        if let Some(Value::Array(a)) = obj.get_mut("assignments") {
                            a.retain(|x| {
                                !x["id"]
                                    .as_str()
                                    .is_some_and(|v| v.eq_ignore_ascii_case(sub_id))
                            });
                        }
                        refresh_computed(self.spec, obj);
                        Reply::no_content()
                    }
                    ([], _) => method_not_allowed(self.ctx, method, self.path),
                    ([child], "GET") => {
                        let Some(child_nav) = nav
                            .children
                            .iter()
                            .find(|n| n.name.eq_ignore_ascii_case(child))
                        else {
                            return not_found_segment(self.ctx, child);
                        };
                        self.nested(
                            item,
                            child_nav,
                            &format!("{base_ctx}('{sub_id}')/{}", child_nav.name),
                            None,
                        )
                    }
                    ([child, grand_id], "GET") => {
                        let Some(child_nav) = nav
                            .children
                            .iter()
                            .find(|n| n.name.eq_ignore_ascii_case(child))
                        else {
                            return not_found_segment(self.ctx, child);
                        };
                        self.nested(
                            item,
                            child_nav,
                            &format!("{base_ctx}('{sub_id}')/{}", child_nav.name),
                            Some(grand_id),
                        )
                    }
                    (_, "GET") => not_found_segment(
                        self.ctx,
                        rest.last().map(String::as_str).unwrap_or_default(),
                    ),
                    _ => method_not_allowed(self.ctx, method, self.path),
                }
            }
        }
    }

    /// A navigation below a sub-resource item, e.g. a definition value's `definition` or
    /// `presentationValues`.
    fn nested(
        &self,
        parent: &Map<String, Value>,
        nav: &Nav,
        context: &str,
        id: Option<&str>,
    ) -> Reply {
        if let Err(e) = check_expand(nav.children, &self.q.expand, nav.name) {
            return bad_request(self.ctx, e);
        }
        let expand = effective_expand(nav.children, &self.q.expand);
        let value = parent.get(nav.name).cloned().unwrap_or(Value::Null);
        if nav.single {
            let mut out = match value {
                Value::Object(m) => project(&m, nav.children, &expand),
                _ => return not_found_segment(self.ctx, nav.name),
            };
            out.insert(
                "@odata.context".into(),
                json!(self.ctx.context(&format!("{context}/$entity"))),
            );
            return Reply::json(200, Value::Object(out));
        }
        let items: Vec<Map<String, Value>> = value
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
            .unwrap_or_default();
        match id {
            None => self.page(items.iter().collect(), Paging::Large, context, |m| {
                project(m, nav.children, &expand)
            }),
            Some(id) => match items.iter().find(|m| {
                m.get("id")
                    .unwrap_or(&Value::Null)
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(id))
            }) {
                Some(m) => {
                    let mut out = project(m, nav.children, &expand);
                    out.insert(
                        "@odata.context".into(),
                        json!(self.ctx.context(&format!("{context}/$entity"))),
                    );
                    Reply::json(200, Value::Object(out))
                }
                None => not_found_id(self.ctx, nav.name, id),
            },
        }
    }
}

/// A settings-catalog setting; `$expand=settingDefinitions` yields a stub per definition id
/// found in the instance (the sim carries no definition catalogue).
fn setting_with_definitions(m: &Map<String, Value>, expand: &Expand) -> Map<String, Value> {
    let mut out = m.clone();
    out.remove("settingDefinitions");
    if expand_get(expand, "settingDefinitions").is_some() {
        let mut ids = Vec::new();
        collect_definition_ids(m.get("settingInstance").unwrap_or(&Value::Null), &mut ids);
        let defs: Vec<Value> = ids
            .into_iter()
            .map(|id| json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationSettingDefinition", "id": id}))
            .collect();
        out.insert("settingDefinitions".into(), Value::Array(defs));
    }
    out
}

fn collect_definition_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("settingDefinitionId")
                && !out.contains(id)
            {
                out.push(id.clone());
            }
            m.values().for_each(|c| collect_definition_ids(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_definition_ids(c, out)),
        _ => {}
    }
}

/// The compliance rule Intune enforces on create: exactly one `block` scheduled action.
fn check_block_action(ctx: &Ctx, rules: Option<&Value>) -> Result<(), Reply> {
    let blocks = rules
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| r.get("scheduledActionConfigurations")?.as_array())
                .flatten()
                .filter(|c| c.get("actionType").and_then(Value::as_str) == Some("block"))
                .count()
        })
        .unwrap_or(0);
    if blocks == 1 {
        Ok(())
    } else {
        Err(bad_request(
            ctx,
            "Compliance policy must have one and only one block scheduled action",
        ))
    }
}

/// The spelling of a concrete type as registered.
fn canonical_type(spec: &CollectionSpec, name: &str) -> String {
    if name.eq_ignore_ascii_case(spec.base_type) {
        return spec.base_type.to_string();
    }
    match spec.types {
        TypeRule::Concrete(derived) => derived
            .iter()
            .find(|d| d.eq_ignore_ascii_case(name))
            .map_or_else(|| name.to_string(), |d| d.to_string()),
        TypeRule::Polymorphic { .. } => name.to_string(),
    }
}

/// Objects the service owns and refuses to delete.
fn is_builtin(spec: &CollectionSpec, obj: &Map<String, Value>) -> bool {
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
    match spec.kind {
        Kind::ScopeTag => id == "0" || obj.get("isBuiltIn").and_then(Value::as_bool) == Some(true),
        Kind::Enrollment => id.contains("_Default"),
        _ => false,
    }
}

fn device_management(tenant: &Tenant, ctx: &Ctx, method: &str, path: &str) -> Reply {
    if method != "GET" {
        return method_not_allowed(ctx, method, path);
    }
    Reply::json(
        200,
        json!({
            "@odata.context": ctx.context("deviceManagement"),
            "id": tenant.id,
            "intuneAccountId": tenant.id,
            "subscriptionState": "active",
            "accountMoveCompletionDateTime": null,
            "intuneBrand": {"displayName": tenant.name},
        }),
    )
}

fn organization(tenant: &Tenant, ctx: &Ctx, method: &str, path: &str) -> Reply {
    if method != "GET" {
        return method_not_allowed(ctx, method, path);
    }
    Reply::json(
        200,
        json!({
            "@odata.context": ctx.context("organization"),
            "value": [{
                "id": tenant.id,
                "displayName": tenant.name,
                "verifiedDomains": [{"name": format!("{}.onmicrosoft.com", tenant.name), "isDefault": true, "isInitial": true, "type": "Managed"}],
            }],
        }),
    )
}

/// The intent templates catalogue and `createInstance`.
#[allow(clippy::too_many_arguments)]
fn templates(
    sim: &Sim,
    tenant: &mut Tenant,
    ctx: &Ctx,
    method: &str,
    path: &str,
    rest: &[String],
    q: &Query,
    body: &[u8],
) -> Reply {
    let catalog = sim.catalog.read().unwrap_or_else(|e| e.into_inner());
    let find = |id: &str| {
        catalog
            .templates
            .iter()
            .find(|t| {
                t.get("id")
                    .unwrap_or(&Value::Null)
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(id))
            })
            .cloned()
    };
    let intents =
        crate::collections::by_path("deviceManagement/intents").unwrap_or(&COLLECTIONS[0]);
    let r = Resource {
        sim,
        ctx,
        spec: intents,
        q,
        path,
        method,
    };
    match (rest, method) {
        ([], "GET") => r.page(
            catalog.templates.iter().collect(),
            Paging::Large,
            "deviceManagement/templates",
            |m| m.clone(),
        ),
        ([id], "GET") => match find(id) {
            Some(mut t) => {
                t.insert(
                    "@odata.context".into(),
                    json!(ctx.context("deviceManagement/templates/$entity")),
                );
                Reply::json(200, Value::Object(t))
            }
            None => not_found_id(ctx, "deviceManagementTemplate", id),
        },
        ([id, action], "POST")
            if action
                .trim_start_matches("microsoft.graph.")
                .eq_ignore_ascii_case("createInstance") =>
        {
            let Some(template) = find(id) else {
                return not_found_id(ctx, "deviceManagementTemplate", id);
            };
            drop(catalog);
            let b = match r.body_object(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if let Err(e) = r.check_key(&b) {
                return e;
            }
            let mut intent = Map::new();
            intent.insert(
                "@odata.type".into(),
                json!("#microsoft.graph.deviceManagementIntent"),
            );
            intent.insert(
                "displayName".into(),
                b.get("displayName").unwrap_or(&Value::Null).clone(),
            );
            intent.insert(
                "description".into(),
                b.get("description").cloned().unwrap_or(json!("")),
            );
            intent.insert(
                "templateId".into(),
                template.get("id").unwrap_or(&Value::Null).clone(),
            );
            if let Some(tags) = b.get("roleScopeTagIds") {
                intent.insert("roleScopeTagIds".into(), tags.clone());
            }
            let settings: Vec<Value> = match b.get("settingsDelta") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|s| s.as_object().cloned())
                    .map(|mut s| {
                        strip_annotations(&mut s);
                        s.remove("id");
                        Value::Object(s)
                    })
                    .collect(),
                Some(_) => {
                    return bad_request(ctx, "The parameter 'settingsDelta' must be an array.");
                }
            };
            intent.insert("settings".into(), Value::Array(settings));
            r.store_new(tenant, intent)
        }
        ([], _) | ([_], _) | ([_, _], _) => method_not_allowed(ctx, method, path),
        _ => not_found_segment(ctx, rest.last().map(String::as_str).unwrap_or_default()),
    }
}

/// The ADMX definition catalogue (read-only).
fn definitions(
    sim: &Sim,
    ctx: &Ctx,
    method: &str,
    path: &str,
    rest: &[String],
    q: &Query,
) -> Reply {
    if method != "GET" {
        return method_not_allowed(ctx, method, path);
    }
    let catalog = sim.catalog.read().unwrap_or_else(|e| e.into_inner());
    let gp = crate::collections::by_path("deviceManagement/groupPolicyConfigurations")
        .unwrap_or(&COLLECTIONS[0]);
    let r = Resource {
        sim,
        ctx,
        spec: gp,
        q,
        path,
        method,
    };
    match rest {
        [] => {
            let mut defs: Vec<&Map<String, Value>> = catalog
                .definitions
                .values()
                .filter_map(Value::as_object)
                .collect();
            defs.sort_by(|a, b| {
                a.get("id")
                    .and_then(Value::as_str)
                    .cmp(&b.get("id").and_then(Value::as_str))
            });
            r.page(
                defs,
                Paging::Large,
                "deviceManagement/groupPolicyDefinitions",
                |m| m.clone(),
            )
        }
        [id] => match catalog
            .definitions
            .get(id.as_str())
            .and_then(Value::as_object)
        {
            Some(d) => {
                let mut d = d.clone();
                d.insert(
                    "@odata.context".into(),
                    json!(ctx.context("deviceManagement/groupPolicyDefinitions/$entity")),
                );
                Reply::json(200, Value::Object(d))
            }
            None => not_found_id(ctx, "groupPolicyDefinition", id),
        },
        _ => not_found_segment(ctx, rest.last().map(String::as_str).unwrap_or_default()),
    }
}

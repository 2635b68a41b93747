//! How stored entities are shown: navigation properties projected by `$expand`, `$select`,
//! and lists filtered, ordered and paged with `@odata.nextLink`.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use crate::collections::{Nav, Paging};
use crate::odata::{
    Expand, ExpandItem, QueryError, apply_select, encode_skiptoken, expand_get, percent_encode,
};

use super::Resource;
use super::reply::Reply;

/// Remove navigation properties that were not expanded (recursively), as Graph does.
pub(super) fn project(
    obj: &Map<String, Value>,
    navs: &[Nav],
    expand: &Expand,
) -> Map<String, Value> {
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
        Value::Array(a) if nav.single => a.first().map_or(Value::Null, one),
        Value::Array(a) => Value::Array(a.iter().map(one).collect()),
        other => one(other),
    }
}

/// Every `$expand` name must be a navigation property of the entity.
pub(super) fn check_expand(
    navs: &[Nav],
    expand: &Expand,
    type_name: &str,
) -> Result<(), QueryError> {
    for (name, item) in expand {
        if name == "*" {
            continue;
        }
        let Some(nav) = navs.iter().find(|n| n.name.eq_ignore_ascii_case(name)) else {
            return Err(QueryError::UnknownProperty {
                name: name.clone(),
                type_name: type_name.to_string(),
            });
        };
        check_expand(nav.children, &item.expand, type_name)?;
    }
    Ok(())
}

/// `*` expands every navigation property.
pub(super) fn effective_expand(navs: &[Nav], expand: &Expand) -> Expand {
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
    pub(super) fn type_name(&self) -> String {
        self.spec.qualified_base()
    }

    fn sizes(&self, paging: Paging) -> (usize, usize) {
        let c = &self.sim.config;
        match paging {
            Paging::Small => (c.page_size.max(1), c.max_page_size.max(1)),
            Paging::Large => (c.default_page_size.max(1), c.max_page_size.max(1)),
        }
    }

    /// One page of `items` (filtered, ordered), rendered, with `@odata.nextLink` when more
    /// remain.
    pub(super) fn page(
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
        body.insert(
            "@odata.context".into(),
            json!(self.ctx.context(&self.selected(context))),
        );
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

    /// A context fragment narrowed by `$select`, as Graph writes it: `groups(id,displayName)`.
    pub(super) fn selected(&self, context: &str) -> String {
        match &self.q.select {
            Some(sel) if !sel.is_empty() && !sel.iter().any(|s| s == "*") => {
                format!("{context}({})", sel.join(","))
            }
            _ => context.to_string(),
        }
    }

    pub(super) fn render(&self, obj: &Map<String, Value>, list: bool) -> Map<String, Value> {
        let expand = effective_expand(self.spec.navs, &self.q.expand);
        let mut out = project(obj, self.spec.navs, &expand);
        // An inlined collection carries its own context, naming its parent.
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            for nav in self.spec.navs.iter().filter(|n| !n.single) {
                if out.contains_key(nav.name) && expand_get(&expand, nav.name).is_some() {
                    out.insert(
                        format!("{}@odata.context", nav.name),
                        json!(
                            self.ctx
                                .context(&format!("{}('{id}')/{}", self.spec.path, nav.name))
                        ),
                    );
                }
            }
        }
        if list {
            for k in self.spec.list_omits {
                out.remove(*k);
            }
        }
        if !self.spec.emit_type && !self.ctx.full_metadata {
            out.remove("@odata.type");
        }
        if self.ctx.full_metadata {
            self.full_annotations(obj, &expand, &mut out);
        }
        if let Some(sel) = &self.q.select {
            let keep: Vec<&str> = expand.keys().map(String::as_str).collect();
            apply_select(&mut out, sel, &keep);
        }
        out
    }

    /// `odata.metadata=full`: the entity's id and edit link and, per navigation property not
    /// inlined, its navigation and association links.
    fn full_annotations(
        &self,
        obj: &Map<String, Value>,
        expand: &Expand,
        out: &mut Map<String, Value>,
    ) {
        let Some(id) = obj.get("id").and_then(Value::as_str) else {
            return;
        };
        let url = self.ctx.url(&format!("{}('{id}')", self.spec.path));
        out.insert("@odata.id".into(), json!(url));
        out.insert("@odata.editLink".into(), json!(url));
        for nav in self.spec.navs {
            if expand_get(expand, nav.name).is_none() {
                out.insert(
                    format!("{}@odata.associationLink", nav.name),
                    json!(format!("{url}/{}/$ref", nav.name)),
                );
                out.insert(
                    format!("{}@odata.navigationLink", nav.name),
                    json!(format!("{url}/{}", nav.name)),
                );
            }
        }
    }

    pub(super) fn entity_context(&self) -> String {
        format!("{}/$entity", self.selected(self.spec.path))
    }
}

//! Navigation properties addressed by path below an entity: `/settings`, `/assignments`,
//! `/definitionValues` and their `presentationValues`/`definition`, and the like.

use serde_json::{Map, Value, json};

use crate::collections::{Kind, Nav, Paging};
use crate::odata::{Expand, apply_select, expand_get};
use crate::store::{Tenant, graph_time, new_id, refresh_computed, strip_annotations};

use super::Resource;
use super::catalogues::{settings_in_category, template_categories};
use super::listing::{check_expand, effective_expand, project};
use super::reply::{
    Reply, bad_request, error, method_not_allowed, not_found_id, not_found_segment,
};

impl Resource<'_> {
    /// `/{id}/{nav}[/...]`.
    pub(super) fn sub(
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
        if self.spec.kind == Kind::Intent && nav.name == "categories" {
            return self.intent_categories(tenant, id, tail);
        }
        // Intune has no route for this navigation: scheduled actions come only via $expand.
        if nav.name == "scheduledActionsForRule" && self.spec.kind == Kind::Compliance {
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
            ([], "POST") if nav.writable => {
                let mut item = match self.body_object(body) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                strip_annotations(&mut item);
                item.remove("id");
                item.insert("id".into(), json!(new_id()));
                item.insert(
                    "lastModifiedDateTime".into(),
                    json!(graph_time(self.ctx.now)),
                );
                let Some(obj) = tenant.find_mut(self.spec, id) else {
                    return not_found_id(self.ctx, self.spec.base_type, id);
                };
                let list = obj.entry(nav.name).or_insert_with(|| json!([]));
                if let Value::Array(a) = list {
                    a.push(Value::Object(item.clone()));
                }
                item.insert(
                    "@odata.context".into(),
                    json!(self.ctx.context(&format!("{base_ctx}/$entity"))),
                );
                Reply::json(201, Value::Object(item))
            }
            ([], _) => method_not_allowed(self.ctx, self.method, self.path),
            ([sub_id], "PATCH" | "DELETE") if nav.writable => {
                let patch = if self.method == "PATCH" {
                    match self.body_object(body) {
                        Ok(mut o) => {
                            strip_annotations(&mut o);
                            o.remove("id");
                            Some(o)
                        }
                        Err(r) => return r,
                    }
                } else {
                    None
                };
                let Some(obj) = tenant.find_mut(self.spec, id) else {
                    return not_found_id(self.ctx, self.spec.base_type, id);
                };
                let Some(Value::Array(list)) = obj.get_mut(nav.name) else {
                    return not_found_id(self.ctx, nav.name, sub_id);
                };
                let same = |x: &Value| {
                    x["id"]
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case(sub_id))
                };
                let Some(pos) = list.iter().position(same) else {
                    return not_found_id(self.ctx, nav.name, sub_id);
                };
                match patch {
                    Some(p) => {
                        if let Value::Object(item) = &mut list[pos] {
                            item.extend(p);
                            item.insert(
                                "lastModifiedDateTime".into(),
                                json!(graph_time(self.ctx.now)),
                            );
                        }
                    }
                    None => {
                        list.remove(pos);
                    }
                }
                Reply::no_content()
            }
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

    /// `intents/{id}/categories[/{cat}[/settings]]`: the template's categories, and the
    /// intent's settings that fall in one (how IntuneManagement exports intents).
    fn intent_categories(&self, tenant: &Tenant, id: &str, tail: &[String]) -> Reply {
        if self.method != "GET" {
            return method_not_allowed(self.ctx, self.method, self.path);
        }
        let Some(obj) = tenant.find(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        let iid = obj.get("id").and_then(Value::as_str).unwrap_or(id);
        let template = obj
            .get("templateId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let base = format!("{}('{iid}')/categories", self.spec.path);
        let categories = template_categories(template, true);
        match tail {
            [] => self.page(categories.iter().collect(), Paging::Large, &base, |m| {
                m.clone()
            }),
            [cat, rest @ ..] => {
                let empty = Vec::new();
                let settings = obj
                    .get("settings")
                    .and_then(Value::as_array)
                    .unwrap_or(&empty);
                let Some(in_cat) = settings_in_category(template, cat, settings) else {
                    return not_found_id(self.ctx, "deviceManagementIntentSettingCategory", cat);
                };
                match rest {
                    [] => {
                        let mut c = categories
                            .into_iter()
                            .find(|c| {
                                c["id"]
                                    .as_str()
                                    .is_some_and(|x| x.eq_ignore_ascii_case(cat))
                            })
                            .unwrap_or_default();
                        c.insert(
                            "@odata.context".into(),
                            json!(self.ctx.context(&format!("{base}/$entity"))),
                        );
                        Reply::json(200, Value::Object(c))
                    }
                    [s] if s.eq_ignore_ascii_case("settings") => self.page(
                        in_cat.iter().collect(),
                        Paging::Large,
                        &format!("{base}('{cat}')/settings"),
                        |m| m.clone(),
                    ),
                    [s] if s.eq_ignore_ascii_case("settingDefinitions") => self.page(
                        Vec::new(),
                        Paging::Large,
                        &format!("{base}('{cat}')/settingDefinitions"),
                        |m| m.clone(),
                    ),
                    _ => not_found_segment(
                        self.ctx,
                        rest.last().map(String::as_str).unwrap_or_default(),
                    ),
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

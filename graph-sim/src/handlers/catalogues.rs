//! The Microsoft-owned catalogues served read-only beside the tenant's collections: intent
//! templates (with `createInstance`) and ADMX definitions.

use serde_json::{Map, Value, json};

use crate::collections::{COLLECTIONS, Paging};
use crate::odata::Query;
use crate::store::{Sim, Tenant, strip_annotations};

use super::Resource;
use super::reply::{Ctx, Reply, bad_request, method_not_allowed, not_found_id, not_found_segment};

/// The intent templates catalogue and `createInstance`.
#[allow(clippy::too_many_arguments)]
pub(super) fn templates(
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
pub(super) fn definitions(
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

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
        ([id, nav, rest @ ..], "GET")
            if nav.eq_ignore_ascii_case("categories") || nav.eq_ignore_ascii_case("settings") =>
        {
            let Some(template) = find(id) else {
                return not_found_id(ctx, "deviceManagementTemplate", id);
            };
            let tid = template
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string();
            let base = format!("deviceManagement/templates('{tid}')/{nav}");
            let categories = template_categories(&tid, false);
            match (nav.to_ascii_lowercase().as_str(), rest) {
                // The template's recommended settings: the simulator models none.
                ("settings", []) => r.page(Vec::new(), Paging::Large, &base, |m| m.clone()),
                ("categories", []) => {
                    r.page(categories.iter().collect(), Paging::Large, &base, |m| {
                        m.clone()
                    })
                }
                ("categories", [cat, tail @ ..]) => {
                    let Some(c) = categories.iter().find(|c| {
                        c.get("id")
                            .and_then(Value::as_str)
                            .is_some_and(|x| x.eq_ignore_ascii_case(cat))
                    }) else {
                        return not_found_id(ctx, "deviceManagementTemplateSettingCategory", cat);
                    };
                    match tail {
                        [] => {
                            let mut c = c.clone();
                            c.insert(
                                "@odata.context".into(),
                                json!(ctx.context(&format!("{base}/$entity"))),
                            );
                            Reply::json(200, Value::Object(c))
                        }
                        [sub]
                            if sub.eq_ignore_ascii_case("settingDefinitions")
                                || sub.eq_ignore_ascii_case("recommendedSettings") =>
                        {
                            r.page(
                                Vec::new(),
                                Paging::Large,
                                &format!("{base}('{cat}')/{sub}"),
                                |m| m.clone(),
                            )
                        }
                        _ => not_found_segment(
                            ctx,
                            tail.last().map(String::as_str).unwrap_or_default(),
                        ),
                    }
                }
                _ => not_found_segment(ctx, rest.last().map(String::as_str).unwrap_or_default()),
            }
        }
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

/// The setting categories every intent template shows (`templates/{id}/categories`), with the
/// words of a setting definition id that put a setting in it; the last takes the rest.
/// (resources/intune-deviceintent-devicemanagementtemplatesettingcategory)
const CATEGORIES: &[(&str, &[&str])] = &[
    ("BitLocker", &["bitlocker"]),
    ("Microsoft Defender Firewall", &["firewall"]),
    ("Microsoft Defender Antivirus", &["defender"]),
    ("Smart Screen", &["smartscreen"]),
    ("Browser", &["edge", "browser"]),
    ("Device Guard", &["deviceguard", "credentialguard"]),
    ("General", &[]),
];

fn category_id(template_id: &str, name: &str) -> String {
    crate::fixtures::stable_guid(&format!(
        "category:{}:{name}",
        template_id.to_ascii_lowercase()
    ))
}

/// The category a setting of an intent belongs to.
fn category_of(definition_id: &str) -> &'static str {
    let d = definition_id.to_ascii_lowercase();
    CATEGORIES
        .iter()
        .find(|(_, words)| words.iter().any(|w| d.contains(w)))
        .map_or("General", |(name, _)| name)
}

/// The categories of a template, as `deviceManagementTemplateSettingCategory` or (for an
/// intent) `deviceManagementIntentSettingCategory` objects.
pub(super) fn template_categories(template_id: &str, intent: bool) -> Vec<Map<String, Value>> {
    let ty = if intent {
        "#microsoft.graph.deviceManagementIntentSettingCategory"
    } else {
        "#microsoft.graph.deviceManagementTemplateSettingCategory"
    };
    CATEGORIES
        .iter()
        .map(|(name, _)| {
            let v = json!({
                "@odata.type": ty,
                "id": category_id(template_id, name),
                "displayName": name,
                "hasRequiredSetting": false,
            });
            v.as_object().cloned().unwrap_or_default()
        })
        .collect()
}

/// The settings of an intent that fall in category `category_id`.
pub(super) fn settings_in_category(
    template_id: &str,
    category_id_wanted: &str,
    settings: &[Value],
) -> Option<Vec<Map<String, Value>>> {
    let (name, _) = CATEGORIES.iter().find(|(name, _)| {
        category_id(template_id, name).eq_ignore_ascii_case(category_id_wanted)
    })?;
    Some(
        settings
            .iter()
            .filter_map(Value::as_object)
            .filter(|s| {
                category_of(
                    s.get("definitionId")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ) == *name
            })
            .cloned()
            .collect(),
    )
}

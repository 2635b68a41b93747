//! Routing of a Graph path below `/{version}/` to the collection, item, action or
//! sub-resource that answers it, plus the tenant singletons.

use serde_json::{Map, Value, json};

use crate::collections::{SingletonSpec, match_segments, singleton};
use crate::odata::{Query, apply_select, parse_query, percent_decode_path};
use crate::store::{Sim, Tenant, graph_time, is_annotation};

use super::Resource;
use super::catalogues::{definitions, templates};
use super::reply::{Ctx, Reply, bad_request, method_not_allowed, not_found_segment};

/// What may follow an entity id as an action; any other segment there is a navigation.
const ACTIONS: &[&str] = &[
    "assign",
    "updateDefinitionValues",
    "scheduleActionsForRules",
    "updateSettings",
    "createInstance",
    "targetApps",
    "setPriority",
];

/// Split a path into segments, turning OData key syntax `coll('id')` into `coll`, `id`.
pub fn segments(path: &str) -> Vec<String> {
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
    if segs.len() == 2
        && let Some(single) = singleton(&format!("{}/{}", segs[0], segs[1]))
    {
        if ctx.version == "v1.0" && !single.v1 {
            return not_found_segment(ctx, &segs[1]);
        }
        return singleton_entity(tenant, ctx, single, method, path, &q, body);
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
    if spec.read_only && method != "GET" {
        return method_not_allowed(ctx, method, path);
    }
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

fn device_management(tenant: &Tenant, ctx: &Ctx, method: &str, path: &str) -> Reply {
    if method != "GET" {
        return method_not_allowed(ctx, method, path);
    }
    let settings = singleton("deviceManagement/settings")
        .map(|s| Value::Object(tenant.singleton(s)))
        .unwrap_or(Value::Null);
    Reply::json(
        200,
        json!({
            "@odata.context": ctx.context("deviceManagement"),
            "id": tenant.id,
            "intuneAccountId": tenant.id,
            "subscriptionState": "active",
            "accountMoveCompletionDateTime": null,
            "intuneBrand": {"displayName": tenant.name},
            "settings": settings,
        }),
    )
}

/// GET or PATCH of a tenant singleton (`deviceManagement/settings`, the APNs certificate, ...).
fn singleton_entity(
    tenant: &mut Tenant,
    ctx: &Ctx,
    spec: &'static SingletonSpec,
    method: &str,
    path: &str,
    q: &Query,
    body: &[u8],
) -> Reply {
    match method {
        "GET" => {
            let mut out = tenant.singleton(spec);
            if let Some(sel) = &q.select {
                apply_select(&mut out, sel, &[]);
            }
            // A complex property has a plain context; an entity has `/$entity`.
            let fragment = if spec.entity {
                format!("{}/$entity", spec.path)
            } else {
                spec.path.to_string()
            };
            let mut reply = Map::new();
            reply.insert("@odata.context".into(), json!(ctx.context(&fragment)));
            reply.insert(
                "@odata.type".into(),
                json!(format!("#microsoft.graph.{}", spec.type_name)),
            );
            reply.extend(out);
            Reply::json(200, Value::Object(reply))
        }
        "PATCH" => {
            let patch: Map<String, Value> = match serde_json::from_slice(body) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return bad_request(ctx, "The request body must be a JSON object."),
                Err(e) => return bad_request(ctx, format!("Invalid JSON in request body: {e}")),
            };
            let mut current = tenant.singleton(spec);
            for (k, v) in patch {
                if !is_annotation(&k) && k != "@odata.type" && k != "id" {
                    current.insert(k, v);
                }
            }
            if current.contains_key("lastModifiedDateTime") {
                current.insert("lastModifiedDateTime".into(), json!(graph_time(ctx.now)));
            }
            tenant.singletons.insert(spec.path, current);
            Reply::no_content()
        }
        _ => method_not_allowed(ctx, method, path),
    }
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

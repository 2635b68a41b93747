//! The Intune audit log: every change graph-sim accepts under `deviceManagement/` or
//! `deviceAppManagement/` is recorded as an `auditEvent`
//! (learn.microsoft.com/graph/api/resources/intune-auditing-auditevent), listed at
//! `deviceManagement/auditEvents` like any collection.

use serde_json::{Map, Value, json};

use crate::collections::{by_path, match_segments};
use crate::handlers::Reply;
use crate::store::{Tenant, graph_time, new_id};

/// The newest events kept per tenant; older ones are dropped (Intune keeps one year).
const KEEP: usize = 10_000;

const AUDIT_PATH: &str = "deviceManagement/auditEvents";

/// Intune's component for a collection path.
fn component(path: &str) -> &'static str {
    let p = path.to_ascii_lowercase();
    if p.starts_with("deviceappmanagement/") {
        "Application"
    } else if p.contains("compliance") {
        "Compliance"
    } else if p.contains("role") {
        "RoleBasedAccessControl"
    } else if p.contains("enrollment") || p.contains("autopilot") || p.contains("deponboarding") {
        "Enrollment"
    } else if p.contains("intents") {
        "DeviceIntent"
    } else if p.contains("script") {
        "DeviceManagementScripts"
    } else {
        "DeviceConfiguration"
    }
}

/// Record one accepted write. `rest` is the path below the version, `segments` already
/// decoded.
pub fn record(
    tenant: &mut Tenant,
    app: &str,
    now: chrono::DateTime<chrono::Utc>,
    method: &str,
    segments: &[String],
    reply: &Reply,
) {
    if !(200..300).contains(&reply.status) {
        return;
    }
    let Some((spec, n)) = match_segments(segments) else {
        return;
    };
    let top = spec.path.split('/').next().unwrap_or_default();
    if !(top.eq_ignore_ascii_case("deviceManagement")
        || top.eq_ignore_ascii_case("deviceAppManagement"))
        || spec.read_only
    {
        return;
    }
    let id = segments
        .get(n)
        .cloned()
        .or_else(|| reply.body.as_ref()?.get("id")?.as_str().map(str::to_string))
        .unwrap_or_default();
    let action = segments.get(n + 1).map(|a| {
        let a = a.trim_start_matches("microsoft.graph.");
        let mut c = a.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    });
    let operation = match (method, &action) {
        ("POST", None) => "Create".to_string(),
        ("DELETE", None) => "Delete".to_string(),
        ("PATCH" | "PUT", None) => "Patch".to_string(),
        (_, Some(a)) => a.clone(),
        _ => method.to_string(),
    };
    let ty = spec.base_type;
    let type_title = {
        let mut c = ty.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let display = tenant
        .find(spec, &id)
        .and_then(|o| o.get(spec.key))
        .cloned()
        .unwrap_or(Value::Null);
    let event = json!({
        "@odata.type": "#microsoft.graph.auditEvent",
        "id": new_id(),
        "displayName": format!("{operation} {type_title}"),
        "componentName": component(spec.path),
        "actor": {
            "@odata.type": "#microsoft.graph.auditActor",
            "type": "ItPro",
            "auditActorType": "Application",
            "userPermissions": [],
            "applicationId": app,
            "applicationDisplayName": null,
            "userPrincipalName": null,
            "servicePrincipalName": null,
            "ipAddress": null,
            "userId": null,
            "remoteTenantId": null,
            "remoteUserId": null,
        },
        "activity": null,
        "activityDateTime": graph_time(now),
        "activityType": format!("{operation} {type_title}"),
        "activityOperationType": operation,
        "activityResult": "Success",
        "correlationId": new_id(),
        "resources": [{
            "@odata.type": "#microsoft.graph.auditResource",
            "displayName": display,
            "modifiedProperties": [],
            "type": type_title,
            "auditResourceType": type_title,
            "resourceId": id,
        }],
        "category": component(spec.path),
    });
    let Some(audit) = by_path(AUDIT_PATH) else {
        return;
    };
    if let Value::Object(e) = event {
        let list = tenant.objects_mut(audit);
        list.push(e);
        if list.len() > KEEP {
            let extra = list.len() - KEEP;
            list.drain(..extra);
        }
    }
}

/// The events recorded for an object, oldest first (for tests and the admin API).
pub fn events_for<'a>(
    tenant: &'a Tenant,
    id: &'a str,
) -> impl Iterator<Item = &'a Map<String, Value>> {
    let audit = by_path(AUDIT_PATH);
    audit.into_iter().flat_map(move |a| {
        tenant.objects(a).filter(move |e| {
            e.get("resources")
                .and_then(Value::as_array)
                .is_some_and(|r| {
                    r.iter().any(|x| {
                        x["resourceId"]
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case(id))
                    })
                })
        })
    })
}

//! The per-family actions: `assign`, `updateDefinitionValues` (administrative templates),
//! `scheduleActionsForRules` (compliance) and `updateSettings` (intents).

use serde_json::{Map, Value, json};

use crate::collections::{AssignReply, Kind, TARGET_TYPES};
use crate::store::{
    Tenant, graph_time, import, normalize_assignments, normalize_definition_value,
    normalize_presentation_value, qualify_type, refresh_computed, strip_annotations,
};

use super::Resource;
use super::reply::{Ctx, Reply, bad_request, not_found_id, not_found_segment};

impl Resource<'_> {
    pub(super) fn action(&self, tenant: &mut Tenant, id: &str, action: &str, body: &[u8]) -> Reply {
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
            ("targetapps", _) if self.spec.nav("apps").is_some() => {
                self.target_apps(tenant, id, body)
            }
            ("setpriority", Kind::Enrollment) => self.set_priority(tenant, id, body),
            _ => not_found_segment(self.ctx, action),
        }
    }

    /// Validate assignments the way `/assign` and POST `/assignments` need them.
    pub(super) fn parse_assignments(&self, id: &str, items: &[Value]) -> Result<Vec<Value>, Reply> {
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

    pub(super) fn assign(&self, tenant: &mut Tenant, id: &str, body: Map<String, Value>) -> Reply {
        let Some(spec) = &self.spec.assign else {
            return not_found_segment(self.ctx, "assign");
        };
        // An app whose content was never committed cannot be assigned (Graph's own message).
        if tenant
            .find(self.spec, id)
            .and_then(|o| o.get("publishingState"))
            .and_then(Value::as_str)
            .is_some_and(|s| s != "published")
        {
            return bad_request(
                self.ctx,
                "Invalid operation: app's PublishingState is not 'Published'",
            );
        }
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

    pub(super) fn update_definition_values(
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
        refresh_computed(self.spec, obj);
        Reply::no_content()
    }

    /// `targetApps` (api/intune-mam-iosmanagedappprotection-targetapps and siblings): replace
    /// the policy's apps, optionally its `appGroupType`. Answers 204.
    fn target_apps(&self, tenant: &mut Tenant, id: &str, body: Map<String, Value>) -> Reply {
        if let Some(bad) = body
            .keys()
            .find(|k| !matches!(k.as_str(), "apps" | "appGroupType"))
        {
            return bad_request(
                self.ctx,
                format!(
                    "The parameter '{bad}' in the request payload is not a valid parameter for the operation 'targetApps'."
                ),
            );
        }
        let apps = match body.get("apps") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return bad_request(self.ctx, "The parameter 'apps' must be an array."),
        };
        let mut items = Vec::with_capacity(apps.len());
        for app in apps {
            let Value::Object(mut a) = app else {
                return bad_request(self.ctx, "Each app must be an object.");
            };
            strip_annotations(&mut a);
            let key = a
                .get("mobileAppIdentifier")
                .and_then(|m| {
                    m.get("bundleId")
                        .or_else(|| m.get("packageId"))
                        .or_else(|| m.get("windowsAppId"))
                })
                .and_then(Value::as_str)
                .map(str::to_string);
            if !a.get("id").is_some_and(Value::is_string) {
                a.insert("id".into(), json!(key.unwrap_or_else(crate::store::new_id)));
            }
            items.push(Value::Object(a));
        }
        let Some(obj) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        obj.insert("apps".into(), Value::Array(items));
        if let Some(g) = body.get("appGroupType") {
            obj.insert("appGroupType".into(), g.clone());
        }
        obj.insert(
            "lastModifiedDateTime".into(),
            json!(graph_time(self.ctx.now)),
        );
        refresh_computed(self.spec, obj);
        Reply::no_content()
    }

    /// `setPriority` (api/intune-onboarding-deviceenrollmentconfiguration-setpriority). The
    /// default configurations keep priority 0.
    fn set_priority(&self, tenant: &mut Tenant, id: &str, body: Map<String, Value>) -> Reply {
        let Some(priority) = body.get("priority").and_then(Value::as_i64) else {
            return bad_request(
                self.ctx,
                "The parameter 'priority' is required and must be an integer.",
            );
        };
        let Some(obj) = tenant.find_mut(self.spec, id) else {
            return not_found_id(self.ctx, self.spec.base_type, id);
        };
        if obj
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|i| i.contains("_Default"))
        {
            return bad_request(
                self.ctx,
                "The priority of a default enrollment configuration cannot be changed.",
            );
        }
        if priority < 1 {
            return bad_request(self.ctx, "The priority must be 1 or more.");
        }
        obj.insert("priority".into(), json!(priority));
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
}

/// The compliance rule Intune enforces on create: exactly one `block` scheduled action.
pub(super) fn check_block_action(ctx: &Ctx, rules: Option<&Value>) -> Result<(), Reply> {
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

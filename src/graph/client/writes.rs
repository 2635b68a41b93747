//! Writes of one tenant's Intune configuration: create, update, assign and delete, each by
//! the contract's method, and which of their requests may be sent twice. A create's POST is
//! the one request that may not: when its answer is lost it fails as `ambiguous_write`, and
//! the caller looks the object up before creating it again.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::transport::Call;
use super::{Core, GraphClient, malformed};
use crate::graph::error::{ErrorKind, GraphError};
use crate::graph::limiter::Access;
use crate::graph::normalize;
use crate::graph::payload::{self, encode_segment};
use crate::graph::registry::{AssignMethod, Contract, CreateMethod, UpdateMethod};

impl GraphClient {
    /// Creates `object` (a normalized payload or a raw object: read-only fields are stripped
    /// first) and returns what Graph answered, including the new `id`. A contained type's
    /// object is created below `parent` (the parent object's id) and its answered id is
    /// `{parent}/{id}`.
    pub async fn create(
        &self,
        contract: &Contract,
        parent: Option<&str>,
        object: &Value,
    ) -> Result<Value, GraphError> {
        let obj = writable(contract, object)?;
        let core = self.core();
        let root = core.root(contract.api_version);
        let (path, body) = payload::create_request(contract, &root, parent, &obj)?;
        let url = core.url(contract.api_version, &path);
        let mut created = core
            .execute(&Call::write(
                Method::POST,
                url,
                Some(&body),
                false,
                contract,
            ))
            .await?
            .body;
        if contract.contained().is_some() {
            qualify_id(&mut created, parent.unwrap_or_default());
        }
        let Some(id) = created
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(malformed(contract));
        };
        if let CreateMethod::PostThenChildren { sub_resource } = contract.create {
            let desired = sub_items(&obj, sub_resource);
            write_children(core, contract, &id, sub_resource, "", &desired, &[]).await?;
        }
        if contract.create == CreateMethod::PostThenDefinitionValues {
            let desired = sub_items(&obj, "definitionValues");
            if let Some(body) = payload::definition_values_update(contract, &root, &desired, &[])? {
                let url = core.item_url(contract, &id, Some("updateDefinitionValues"));
                core.execute(&Call::write(
                    Method::POST,
                    url,
                    Some(&body),
                    false,
                    contract,
                ))
                .await?;
            }
        }
        Ok(created)
    }

    /// Makes the object `id` equal to `object` by the contract's update method.
    pub async fn update(
        &self,
        contract: &Contract,
        id: &str,
        object: &Value,
    ) -> Result<(), GraphError> {
        let obj = writable(contract, object)?;
        let core = self.core();
        let root = core.root(contract.api_version);
        let body = payload::update_body(contract, &root, &obj);
        let url = core.item_url(contract, id, None);
        let method = if contract.update == UpdateMethod::Put {
            Method::PUT
        } else {
            Method::PATCH
        };
        core.execute(&Call::write(method, url, Some(&body), true, contract))
            .await?;
        match contract.update {
            UpdateMethod::Patch | UpdateMethod::Put => {}
            UpdateMethod::PatchThenAction {
                sub_resource,
                action,
                param,
            } => {
                let body = payload::action_body(&obj, sub_resource, param);
                let url = core.item_url(contract, id, Some(action));
                core.execute(&Call::write(Method::POST, url, Some(&body), true, contract))
                    .await?;
            }
            UpdateMethod::PatchThenChildren { sub_resource, key } => {
                let current = self.reads.get(contract, id).await?;
                let current = current
                    .as_object()
                    .map(|m| sub_items(m, sub_resource))
                    .unwrap_or_default();
                let desired = sub_items(&obj, sub_resource);
                write_children(core, contract, id, sub_resource, key, &desired, &current).await?;
            }
            UpdateMethod::PatchThenDefinitionValues => {
                let current = self.reads.get(contract, id).await?;
                let current = current
                    .as_object()
                    .map(|m| sub_items(m, "definitionValues"))
                    .unwrap_or_default();
                let desired = sub_items(&obj, "definitionValues");
                if let Some(body) =
                    payload::definition_values_update(contract, &root, &desired, &current)?
                {
                    let url = core.item_url(contract, id, Some("updateDefinitionValues"));
                    core.execute(&Call::write(
                        Method::POST,
                        url,
                        Some(&body),
                        false,
                        contract,
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Replaces the object's assignments with `assignments` (an array, raw or normalized).
    pub async fn assign(
        &self,
        contract: &Contract,
        id: &str,
        assignments: &Value,
    ) -> Result<(), GraphError> {
        let desired: Vec<Value> = match normalize::normalize_assignments(assignments.clone()) {
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        let Some(spec) = contract.assignments else {
            return if desired.is_empty() {
                Ok(())
            } else {
                Err(GraphError::new(ErrorKind::InvalidObject).with_policy_type(contract.key))
            };
        };
        let core = self.core();
        match spec.method {
            AssignMethod::Action { payload_key } => {
                let body = payload::assign_body(payload_key, &desired);
                let url = core.item_url(contract, id, Some("assign"));
                core.execute(&Call::write(Method::POST, url, Some(&body), true, contract))
                    .await?;
            }
            AssignMethod::PostEach => {
                let url = core.item_url(contract, id, Some("assignments"));
                let current = core.get_pages(url.clone(), contract).await?;
                let target_of =
                    |a: &Value| normalize::canonical_json(a.get("target").unwrap_or(&Value::Null));
                let wanted: Vec<String> = desired.iter().map(target_of).collect();
                let mut present = Vec::new();
                for a in &current {
                    let t = target_of(&normalize::normalize_assignments(json!([a]))[0]);
                    let aid = a.get("id").and_then(Value::as_str).unwrap_or_default();
                    if wanted.contains(&t) {
                        present.push(t);
                    } else if !aid.is_empty() {
                        let del = format!("{url}/{}", encode_segment(aid));
                        match core
                            .execute(&Call::write(Method::DELETE, del, None, true, contract))
                            .await
                        {
                            Ok(_) => {}
                            Err(e) if e.is_not_found() => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                for (a, t) in desired.iter().zip(&wanted) {
                    if present.contains(t) {
                        continue;
                    }
                    match core
                        .execute(&Call::write(
                            Method::POST,
                            url.clone(),
                            Some(a),
                            false,
                            contract,
                        ))
                        .await
                    {
                        Ok(_) => {}
                        // Already there (a retried run): the state we want.
                        Err(e) if e.kind() == ErrorKind::Conflict => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the object `id`.
    pub async fn delete(&self, contract: &Contract, id: &str) -> Result<(), GraphError> {
        let core = self.core();
        let url = core.item_url(contract, id, None);
        core.execute(&Call::write(Method::DELETE, url, None, true, contract))
            .await?;
        Ok(())
    }
}

/// A write's input as a map, read-only fields stripped.
/// `{"id": "x"}` → `{"id": "{parent}/x"}`: a contained object's id names its parent too.
pub(super) fn qualify_id(object: &mut Value, parent: &str) {
    if let Some(id) = object.get("id").and_then(Value::as_str)
        && !id.contains('/')
    {
        let id = format!("{parent}/{id}");
        object["id"] = Value::String(id);
    }
}

fn writable(contract: &Contract, object: &Value) -> Result<Map<String, Value>, GraphError> {
    match normalize::strip(contract, object) {
        Value::Object(mut m) => {
            m.remove("assignments");
            Ok(m)
        }
        _ => Err(GraphError::new(ErrorKind::InvalidObject).with_policy_type(contract.key)),
    }
}

/// Makes the items of `sub_resource` below object `id` equal to `desired`, matched to
/// `current` ones on `key`: PATCH those that differ, POST new ones, DELETE those no longer
/// wanted. With no `current` items every desired one is POSTed (a create).
async fn write_children(
    core: &Core,
    contract: &Contract,
    id: &str,
    sub_resource: &str,
    key: &str,
    desired: &[Value],
    current: &[Value],
) -> Result<(), GraphError> {
    let key_of = |v: &Value| v.get(key).and_then(Value::as_str).map(str::to_string);
    let child_url = |child_id: &str| {
        let tail = format!("{sub_resource}/{}", encode_segment(child_id));
        core.item_url(contract, id, Some(&tail))
    };
    for want in desired {
        let body = child_body(want);
        let have = current.iter().find(|c| key_of(c) == key_of(want));
        let call = match have.and_then(|h| Some((h, h.get("id")?.as_str()?))) {
            Some((h, _)) if child_body(h) == body => continue,
            Some((_, child_id)) => Call::write(
                Method::PATCH,
                child_url(child_id),
                Some(&body),
                true,
                contract,
            ),
            None => Call::write(
                Method::POST,
                core.item_url(contract, id, Some(sub_resource)),
                Some(&body),
                false,
                contract,
            ),
        };
        core.execute(&call).await?;
    }
    for old in current
        .iter()
        .filter(|c| !desired.iter().any(|d| key_of(d) == key_of(c)))
    {
        if let Some(child_id) = old.get("id").and_then(Value::as_str) {
            core.execute(&Call::write(
                Method::DELETE,
                child_url(child_id),
                None,
                true,
                contract,
            ))
            .await?;
        }
    }
    Ok(())
}

/// A contained item as its own path takes it: no id, timestamps or annotations.
fn child_body(item: &Value) -> Value {
    let Some(m) = item.as_object() else {
        return item.clone();
    };
    Value::Object(
        m.iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "id" | "lastModifiedDateTime" | "createdDateTime"
                ) && !k.contains("@odata.")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn sub_items(obj: &Map<String, Value>, name: &str) -> Vec<Value> {
    obj.get(name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

impl<'a> Call<'a> {
    pub(super) fn write(
        method: Method,
        url: String,
        body: Option<&'a Value>,
        idempotent: bool,
        contract: &Contract,
    ) -> Self {
        Self {
            method,
            url,
            body,
            access: Access::Write,
            idempotent,
            permits: 1,
            policy_type: contract.key,
            raw: false,
        }
    }

    /// A create: sent again after a lost answer, it could make a second object.
    pub(super) fn sent_once_only(&self) -> bool {
        self.access == Access::Write && !self.idempotent
    }
}

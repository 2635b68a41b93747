//! `restore`, `restore_rerun` and `restore_preview`.
//!
//! Matching is shared and read-only ([`decide`] takes a [`ReadOnlyGraph`]): the target is the
//! mapped object, else (same tenant) the source object itself, else the single object with
//! the same match key. A preview only ever holds a `ReadOnlyGraph`, so it cannot write;
//! a live restore applies the decision with a [`GraphClient`].

use entity::enums::RunItemStatus;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{OutageBreaker, client_for, is_fatal, item_key, safe, string_list};
use crate::graph::normalize::{self, FieldChange};
use crate::graph::{Contract, GraphClient, GraphError, ReadOnlyGraph, registry};
use crate::runs::{ExecError, Execution, SafeError};
use crate::store::content;
use crate::store::runs::{ItemResult, PlannedItem};

/// One object of the restore source (a backup item's latest version or a snapshot item).
#[derive(Debug, Clone)]
struct SourceItem {
    id: Uuid,
    policy_type: String,
    source_id: String,
    display_name: String,
    payload: Value,
    assignments: Value,
}

/// Both restore sources carry the same fields; one conversion each keeps them in step.
macro_rules! source_item_from {
    ($($model:path),*) => {$(
        impl From<$model> for SourceItem {
            fn from(r: $model) -> Self {
                Self {
                    id: r.id,
                    policy_type: r.policy_type,
                    source_id: r.source_id,
                    display_name: r.display_name,
                    payload: r.payload,
                    assignments: r.assignments,
                }
            }
        }
    )*};
}

source_item_from!(entity::snapshot_items::Model, entity::backup_items::Model);

impl SourceItem {
    fn key(&self) -> String {
        item_key(&self.policy_type, &self.source_id)
    }
}

/// Where the run reads from and writes to.
struct Plan {
    source_tenant: Uuid,
    target_tenant: Uuid,
    items: Vec<SourceItem>,
}

impl Plan {
    fn same_tenant(&self) -> bool {
        self.source_tenant == self.target_tenant
    }
}

async fn load_plan(execution: &Execution) -> Result<Plan, ExecError> {
    let params = &execution.run.params;
    let db = &execution.services().db;
    let missing = || {
        ExecError::Failed(SafeError::new(
            "source_missing",
            "the backup set or snapshot to restore from no longer exists",
        ))
    };
    let kind = params["source_kind"].as_str().unwrap_or_default();
    let source_id = params["source_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(missing)?;
    let wanted: Vec<Uuid> = string_list(&params["item_ids"])
        .iter()
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect();
    let (source_tenant, mut items) = if kind == "snapshot" {
        let snapshot = content::find_snapshot(db, source_id)
            .await?
            .ok_or_else(missing)?;
        let rows = content::all_snapshot_items(db, snapshot.id).await?;
        (
            snapshot.tenant_id,
            rows.into_iter().map(SourceItem::from).collect::<Vec<_>>(),
        )
    } else {
        let set = content::find_backup_set(db, source_id)
            .await?
            .ok_or_else(missing)?;
        let rows = content::latest_backup_items(db, set.id).await?;
        (
            set.tenant_id,
            rows.into_iter().map(SourceItem::from).collect(),
        )
    };
    if !wanted.is_empty() {
        items.retain(|i| wanted.contains(&i.id));
    }
    // Restore order: the registry's (scope tags and filters before what refers to them).
    let order = |t: &str| {
        registry::all()
            .iter()
            .position(|c| c.key == t)
            .unwrap_or(usize::MAX)
    };
    items.sort_by(|a, b| {
        order(&a.policy_type)
            .cmp(&order(&b.policy_type))
            .then_with(|| a.source_id.cmp(&b.source_id))
    });
    Ok(Plan {
        source_tenant,
        target_tenant: execution.run.tenant_id,
        items,
    })
}

/// What restoring one item means for the target tenant.
#[derive(Debug)]
enum Decision {
    /// Never restored (built-in objects such as scope tag "0").
    Skip {
        code: &'static str,
        message: String,
    },
    /// Cannot be restored as it stands.
    Conflict(SafeError),
    Unchanged {
        target_id: String,
    },
    /// Same content; only the assignments differ (same tenant).
    AssignOnly {
        target_id: String,
    },
    Update {
        target_id: String,
        diff: Vec<FieldChange>,
        assign: bool,
    },
    Create,
}

/// A payload as it is written to (and compared in) the target: scope tag ids only mean
/// something in their own tenant, so across tenants they are left out.
fn for_target(mut payload: Value, contract: &Contract, same_tenant: bool) -> Value {
    if !same_tenant
        && contract.scope_tags
        && let Some(obj) = payload.as_object_mut()
    {
        obj.remove("roleScopeTagIds");
    }
    payload
}

async fn find_target(
    execution: &Execution,
    reader: &ReadOnlyGraph,
    plan: &Plan,
    contract: &'static Contract,
    item: &SourceItem,
) -> Result<Result<Option<Value>, SafeError>, GraphError> {
    let db = &execution.services().db;
    let mapped = content::mapping(
        db,
        plan.source_tenant,
        &item.policy_type,
        &item.source_id,
        plan.target_tenant,
    )
    .await
    .ok()
    .flatten();
    let mut candidates: Vec<String> = mapped.map(|m| m.target_graph_id).into_iter().collect();
    if plan.same_tenant() {
        candidates.push(item.source_id.clone());
    }
    for id in candidates {
        match reader.get(contract, &id).await {
            Ok(found) => return Ok(Ok(Some(found))),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    let odata_type = item.payload.get("@odata.type").and_then(Value::as_str);
    let mut found = reader
        .find_matches(contract, &item.display_name, odata_type)
        .await?;
    match found.len() {
        0 => Ok(Ok(None)),
        1 => Ok(Ok(found.pop())),
        n => Ok(Err(SafeError::new(
            "ambiguous_match",
            format!(
                "{n} objects of policy type {} in the target tenant have this name; rename or remove the extra ones",
                contract.key
            ),
        ))),
    }
}

async fn decide(
    execution: &Execution,
    reader: &ReadOnlyGraph,
    plan: &Plan,
    contract: &'static Contract,
    item: &SourceItem,
) -> Result<Decision, GraphError> {
    if contract.is_builtin(&item.source_id) {
        return Ok(Decision::Skip {
            code: "builtin",
            message: "built-in objects exist in every tenant and are never restored".into(),
        });
    }
    let masked = normalize::masked_secrets(&item.payload);
    if !masked.is_empty() {
        return Ok(Decision::Conflict(SafeError::new(
            "secret_not_restorable",
            format!(
                "the captured object has {} masked secret value(s); Graph never returns secrets, so they cannot be restored",
                masked.len()
            ),
        )));
    }
    let same = plan.same_tenant();
    let target = match find_target(execution, reader, plan, contract, item).await? {
        Ok(target) => target,
        Err(conflict) => return Ok(Decision::Conflict(conflict)),
    };
    let Some(target) = target else {
        if contract.is_service_default(&item.source_id) {
            return Ok(Decision::Skip {
                code: "service_default_missing",
                message: "service default objects are only updated in place, never created".into(),
            });
        }
        return Ok(Decision::Create);
    };
    let current = normalize::normalize(contract, &target);
    let target_id = current.source_id.clone().unwrap_or_default();
    let wanted = for_target(item.payload.clone(), contract, same);
    let have = for_target(current.payload.clone(), contract, same);
    let assign = same
        && contract.assignments.is_some()
        && normalize::canonical_json(&normalize::normalize_assignments(item.assignments.clone()))
            != normalize::canonical_json(&current.assignments);
    if normalize::content_hash(&wanted) == normalize::content_hash(&have) {
        return Ok(if assign {
            Decision::AssignOnly { target_id }
        } else {
            Decision::Unchanged { target_id }
        });
    }
    Ok(Decision::Update {
        target_id,
        diff: normalize::diff(&have, &wanted),
        assign,
    })
}

fn base_result(item: &SourceItem) -> ItemResult {
    ItemResult {
        item_key: item.key(),
        policy_type: item.policy_type.clone(),
        display_name: item.display_name.clone(),
        source_ref: Some(item.id),
        status: RunItemStatus::Succeeded,
        action: None,
        error_code: None,
        error_message: None,
        diff: None,
        result_graph_id: None,
    }
}

fn failed(item: &SourceItem, action: &str, error: &SafeError) -> ItemResult {
    ItemResult {
        status: RunItemStatus::Failed,
        action: Some(action.into()),
        error_code: Some(error.code.clone()),
        error_message: Some(error.message.clone()),
        ..base_result(item)
    }
}

async fn plan_items(execution: &Execution, plan: &Plan) -> Result<(), ExecError> {
    let planned: Vec<PlannedItem> = plan
        .items
        .iter()
        .map(|i| PlannedItem {
            item_key: i.key(),
            policy_type: i.policy_type.clone(),
            display_name: i.display_name.clone(),
            source_ref: Some(i.id),
        })
        .collect();
    execution.plan(&planned).await
}

/// What a restore run may do to the target: a preview holds only a reader, so it cannot
/// write; a live restore holds the writing client.
enum Access {
    Preview(ReadOnlyGraph),
    Live(GraphClient),
}

/// `restore_preview`: decisions only, persisted per item.
pub async fn preview(execution: &Execution) -> Result<(), ExecError> {
    let plan = load_plan(execution).await?;
    let reader = client_for(execution, plan.target_tenant).await?.read_only();
    run_items(execution, &plan, &Access::Preview(reader)).await
}

/// `restore` and `restore_rerun`: decide, then write.
pub async fn restore(execution: &Execution) -> Result<(), ExecError> {
    let plan = load_plan(execution).await?;
    let client = client_for(execution, plan.target_tenant).await?;
    run_items(execution, &plan, &Access::Live(client)).await
}

/// Works through the plan's items (skipping those an earlier attempt finished), recording a
/// result for each, and stops calling Graph once the outage breaker opens.
async fn run_items(execution: &Execution, plan: &Plan, access: &Access) -> Result<(), ExecError> {
    let action = match access {
        Access::Preview(_) => "preview",
        Access::Live(_) => "restore",
    };
    plan_items(execution, plan).await?;
    let done = execution.finished_items().await?;
    let mut breaker = OutageBreaker::new(execution);
    for item in &plan.items {
        if done.contains(&item.key()) {
            continue;
        }
        execution.check_lease()?;
        if breaker.is_open() {
            execution
                .record(failed(item, action, &breaker.error()))
                .await?;
            continue;
        }
        let Some(contract) = registry::get(&item.policy_type) else {
            execution.record(unsupported(item)).await?;
            continue;
        };
        let outcome = match access {
            Access::Preview(reader) => decide(execution, reader, plan, contract, item)
                .await
                .map(|decision| preview_result(item, decision)),
            Access::Live(client) => restore_item(execution, client, plan, contract, item).await,
        };
        breaker.observe(outcome.as_ref().err());
        let result = match outcome {
            Ok(result) => result,
            Err(error) if is_fatal(&error) => return Err(ExecError::Failed(safe(&error))),
            Err(error) => failed(item, action, &safe(&error)),
        };
        execution.record(result).await?;
    }
    Ok(())
}

fn unsupported(item: &SourceItem) -> ItemResult {
    failed(
        item,
        "restore",
        &SafeError::new(
            "unsupported_policy_type",
            format!(
                "policy type {} is not supported by this version",
                item.policy_type
            ),
        ),
    )
}

fn preview_result(item: &SourceItem, decision: Decision) -> ItemResult {
    let base = base_result(item);
    match decision {
        Decision::Skip { code, message } => ItemResult {
            status: RunItemStatus::Skipped,
            action: Some("skip".into()),
            error_code: Some(code.into()),
            error_message: Some(message),
            ..base
        },
        Decision::Conflict(error) => ItemResult {
            status: RunItemStatus::Skipped,
            action: Some("conflict".into()),
            error_code: Some(error.code),
            error_message: Some(error.message),
            ..base
        },
        Decision::Unchanged { target_id } => ItemResult {
            action: Some("unchanged".into()),
            result_graph_id: Some(target_id),
            ..base
        },
        Decision::AssignOnly { target_id } => ItemResult {
            action: Some("would_update".into()),
            diff: Some(json!({"changes": [], "assignments": true})),
            result_graph_id: Some(target_id),
            ..base
        },
        Decision::Update {
            target_id,
            diff,
            assign,
        } => ItemResult {
            action: Some("would_update".into()),
            diff: Some(json!({"changes": diff, "assignments": assign})),
            result_graph_id: Some(target_id),
            ..base
        },
        Decision::Create => ItemResult {
            action: Some("would_create".into()),
            ..base
        },
    }
}

async fn restore_item(
    execution: &Execution,
    client: &GraphClient,
    plan: &Plan,
    contract: &'static Contract,
    item: &SourceItem,
) -> Result<ItemResult, GraphError> {
    let same = plan.same_tenant();
    let desired = for_target(item.payload.clone(), contract, same);
    let decision = decide(execution, &client.read_only(), plan, contract, item).await?;
    let base = base_result(item);
    let (action, target_id, assign) = match decision {
        Decision::Skip { .. } | Decision::Conflict(_) => {
            let preview = preview_result(item, decision);
            return Ok(match preview.action.as_deref() {
                Some("conflict") => ItemResult {
                    status: RunItemStatus::Failed,
                    action: Some("restore".into()),
                    ..preview
                },
                _ => preview,
            });
        }
        Decision::Unchanged { target_id } => ("unchanged", target_id, false),
        Decision::AssignOnly { target_id } => ("assignments_updated", target_id, true),
        Decision::Update {
            target_id, assign, ..
        } => {
            client.update(contract, &target_id, &desired).await?;
            ("updated", target_id, assign)
        }
        Decision::Create => {
            let id = create_once(execution, client, contract, item, &desired).await?;
            let assign = same && has_assignments(item);
            ("created", id, assign)
        }
    };
    if assign {
        client
            .assign(contract, &target_id, &item.assignments)
            .await?;
    }
    let db = &execution.services().db;
    let _ = content::upsert_mapping(
        db,
        plan.source_tenant,
        &item.policy_type,
        &item.source_id,
        plan.target_tenant,
        &target_id,
    )
    .await;
    let skipped_links = !same && (has_assignments(item) || has_scope_tags(item));
    Ok(ItemResult {
        action: Some(action.into()),
        result_graph_id: Some(target_id),
        diff: skipped_links.then(|| {
            json!({
                "assignments_skipped": has_assignments(item),
                "scope_tags_skipped": has_scope_tags(item),
                "reason": "assignments and scope tags are only restored into the tenant they were captured from",
            })
        }),
        ..base
    })
}

fn has_assignments(item: &SourceItem) -> bool {
    item.assignments.as_array().is_some_and(|a| !a.is_empty())
}

fn has_scope_tags(item: &SourceItem) -> bool {
    item.payload
        .get("roleScopeTagIds")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t.as_str() != Some("0")))
}

/// Creates the object at most once: the intent is recorded first, and after a lost answer
/// (or on a resumed run that recorded an intent) the object is looked up before creating.
async fn create_once(
    execution: &Execution,
    client: &GraphClient,
    contract: &'static Contract,
    item: &SourceItem,
    desired: &Value,
) -> Result<String, GraphError> {
    let key = item.key();
    let intent_recorded = execution
        .item_rows()
        .await
        .ok()
        .and_then(|rows| rows.into_iter().find(|r| r.item_key == key))
        .is_some_and(|r| r.write_intent.is_some());
    let odata_type = item.payload.get("@odata.type").and_then(Value::as_str);
    if intent_recorded && let Some(id) = look_up_created(client, contract, item, odata_type).await?
    {
        return Ok(id);
    }
    let _ = execution
        .record_write_intent(
            &key,
            json!({"op": "create", "policy_type": contract.key, "at": chrono::Utc::now()}),
        )
        .await;
    match client.create(contract, desired).await {
        Ok(created) => created
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                GraphError::new(crate::graph::ErrorKind::MalformedResponse)
                    .with_policy_type(contract.key)
            }),
        Err(error) if error.is_ambiguous_write() => {
            match look_up_created(client, contract, item, odata_type).await? {
                Some(id) => Ok(id),
                None => {
                    let created = client.create(contract, desired).await?;
                    created
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or(error)
                }
            }
        }
        Err(error) => Err(error),
    }
}

async fn look_up_created(
    client: &GraphClient,
    contract: &'static Contract,
    item: &SourceItem,
    odata_type: Option<&str>,
) -> Result<Option<String>, GraphError> {
    let found = client
        .find_matches(contract, &item.display_name, odata_type)
        .await?;
    Ok(match found.as_slice() {
        [one] => one.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    })
}

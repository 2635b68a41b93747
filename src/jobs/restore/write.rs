//! Live writes: update, create at most once, assign, with the pre-restore copy kept before
//! and the object mapping recorded after.

use entity::enums::ItemAction;
use serde_json::{Value, json};

use super::claims::Context;
use super::decide::{Decision, Failure, Match, decide, for_target, guard, store_failure};
use super::plan::SourceItem;
use super::results::{base, conflict_result, skip_result};
use crate::graph::normalize::{self, Normalized};
use crate::graph::{Contract, GraphClient, GraphError};
use crate::runs::{ExecError, Execution, SafeError};
use crate::store::content::{self, CapturedObject};
use crate::store::runs::ItemResult;
use crate::store::{StoreError, StoreResult};

/// Records the mapping of a written object; failing to is an error of the item, since
/// without it the next restore could create the object again.
async fn remember(ctx: &Context<'_>, item: &SourceItem, target_id: &str) -> Result<(), Failure> {
    let plan = ctx.plan;
    let mut last = None;
    for pause in [0u64, 200, 1000] {
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        match content::upsert_mapping(
            ctx.db(),
            &plan.source,
            &item.policy_type,
            &item.source_id,
            &plan.target,
            target_id,
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(store_failure("object mapping")(
        last.unwrap_or(StoreError::NotFound),
    ))
}

/// Keeps the object's state before this run changes it (the run's pre-restore snapshot).
pub(in crate::jobs) async fn keep_copy(
    execution: &Execution,
    contract: &Contract,
    target_id: &str,
    current: &Normalized,
) -> StoreResult<()> {
    let db = &execution.services().db;
    let snapshot = content::pre_restore_snapshot(db, execution.scope(), &execution.run).await?;
    content::keep_pre_restore_copy(
        db,
        &snapshot,
        &CapturedObject {
            policy_type: contract.key.to_string(),
            source_id: target_id.to_string(),
            display_name: current.display_name.clone(),
            payload: current.payload.clone(),
            assignments: current.assignments.clone(),
            content_hash: current.content_hash.clone(),
        },
    )
    .await
}

pub(super) async fn restore_item(
    ctx: &Context<'_>,
    client: &GraphClient,
    contract: &'static Contract,
    item: &SourceItem,
) -> Result<ItemResult, Failure> {
    let execution = ctx.execution;
    let same = ctx.plan.same_tenant();
    let desired = for_target(item.payload.clone(), contract, same);
    let decision = decide(ctx, &client.read_only(), contract, item).await?;
    let key = item.key();
    let (action, how, target_id, assign) = match decision {
        Decision::Skip { code, message } => return Ok(skip_result(item, code, message)),
        Decision::Conflict { error, candidates } => {
            return Ok(conflict_result(item, error, candidates, true));
        }
        Decision::Unchanged(target) => {
            ctx.claim(contract.key, &target.id, &key);
            (ItemAction::Unchanged, target.how, target.id, false)
        }
        Decision::Update {
            target,
            diff,
            assign,
        } => {
            // Held from now on, whatever the answer: a lost answer must not free the
            // object for another item (in this attempt or the next).
            ctx.claim(contract.key, &target.id, &key);
            execution
                .record_write_intent(
                    &key,
                    json!({"op": "update", "target": target.id, "at": chrono::Utc::now()}),
                )
                .await
                .map_err(intent_failed)?;
            keep_copy(execution, contract, &target.id, &target.current)
                .await
                .map_err(store_failure("pre-restore copy"))?;
            if !diff.is_empty() {
                let desired = guard(ctx, contract, desired, Some(&target.current.payload));
                client.update(contract, &target.id, &desired).await?;
            }
            let action = if diff.is_empty() {
                ItemAction::AssignmentsUpdated
            } else {
                ItemAction::Updated
            };
            (action, target.how, target.id, assign)
        }
        Decision::Create {
            adopt: Some(target),
            ..
        } => {
            // Created by an earlier attempt whose answer (or later steps) were lost: make it
            // whole (an admin template's definition values may be missing) instead of
            // creating again.
            ctx.claim(contract.key, &target.id, &key);
            let desired = guard(ctx, contract, desired, None);
            let have = for_target(target.current.payload.clone(), contract, same);
            if normalize::hash(contract, &have) != normalize::hash(contract, &desired) {
                client.update(contract, &target.id, &desired).await?;
            }
            (
                ItemAction::Created,
                Match::None,
                target.id,
                same && has_assignments(item),
            )
        }
        Decision::Create { adopt: None, named } => {
            let desired = guard(ctx, contract, desired, None);
            let id = create_once(ctx, client, contract, item, &desired, named).await?;
            (
                ItemAction::Created,
                Match::None,
                id,
                same && has_assignments(item),
            )
        }
    };
    // The mapping first: once it exists, no later attempt can take the object for another.
    remember(ctx, item, &target_id).await.inspect_err(|_| {
        tracing::warn!(target_id, "the object's mapping was not recorded");
    })?;
    if assign {
        client
            .assign(contract, &target_id, &item.assignments)
            .await?;
    }
    let skipped_links = !same && (has_assignments(item) || has_scope_tags(item));
    Ok(ItemResult {
        action: Some(action),
        match_kind: Some(how.as_str().into()),
        result_graph_id: Some(target_id),
        diff: skipped_links.then(|| {
            json!({
                "assignments_skipped": has_assignments(item),
                "scope_tags_skipped": has_scope_tags(item),
                "reason": "assignments and scope tags are only restored into the tenant they were captured from",
            })
        }),
        ..base(item)
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

/// Creates the object at most once. The intent, with `existing` (the ids that already
/// carried the item's name), is recorded first; after a lost answer the object that
/// appeared since is taken as ours instead of creating again. A resumed attempt finds it
/// the same way (see [`resolve`](super::decide::resolve)).
async fn create_once(
    ctx: &Context<'_>,
    client: &GraphClient,
    contract: &'static Contract,
    item: &SourceItem,
    desired: &Value,
    existing: Vec<String>,
) -> Result<String, Failure> {
    let odata_type = item.payload.get("@odata.type").and_then(Value::as_str);
    ctx.execution
        .record_write_intent(
            &item.key(),
            json!({
                "op": "create",
                "policy_type": contract.key,
                "name": item.display_name,
                "existing": existing,
                "at": chrono::Utc::now(),
            }),
        )
        .await
        .map_err(intent_failed)?;
    // Graph's retry budget bounds the rounds of "send, lose the answer, look, send again".
    let budget =
        std::time::Duration::from_secs(ctx.execution.services().settings.graph.retry_budget_secs);
    let started = std::time::Instant::now();
    let mut round = 0u32;
    let id = loop {
        let parent = contract.parent_id(&item.source_id);
        let error = match client.create(contract, parent, desired).await {
            Ok(created) => break created_id(contract, &created)?,
            Err(error) if error.is_ambiguous_write() => error,
            Err(error) => return Err(error.into()),
        };
        let now = matching_ids(client, contract, item, odata_type).await?;
        let new: Vec<&String> = now.iter().filter(|id| !existing.contains(id)).collect();
        match new.as_slice() {
            [one] => break (*one).clone(),
            // The look-up rules out a lost create: send it again, after a pause.
            [] if started.elapsed() < budget => {
                round += 1;
                let pause = std::time::Duration::from_millis(200 << round.min(5));
                tokio::time::sleep(pause.min(budget.saturating_sub(started.elapsed()))).await;
            }
            [] => return Err(Failure::Graph(error)),
            // Several appeared: not ours to pick; the item fails with the intent kept.
            _ => return Err(Failure::Graph(error)),
        }
    };
    ctx.claim(contract.key, &id, &item.key());
    Ok(id)
}

fn intent_failed(error: ExecError) -> Failure {
    match error {
        ExecError::Failed(_) => Failure::Store(SafeError::new(
            "mapping_failed",
            "the write could not be recorded before sending it; nothing was changed, re-run the item",
        )),
        stop => Failure::Stop(stop),
    }
}

fn created_id(contract: &'static Contract, created: &Value) -> Result<String, GraphError> {
    created
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            GraphError::new(crate::graph::ErrorKind::MalformedResponse)
                .with_policy_type(contract.key)
        })
}

async fn matching_ids(
    client: &GraphClient,
    contract: &'static Contract,
    item: &SourceItem,
    odata_type: Option<&str>,
) -> Result<Vec<String>, GraphError> {
    Ok(client
        .find_matches(
            contract,
            &item.display_name,
            odata_type,
            contract.parent_id(&item.source_id),
        )
        .await?
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_string))
        .collect())
}

//! `restore_undo`: puts back what a finished live restore (or re-run) changed.
//!
//! Every object in the restore's pre-restore snapshot — each object it was about to change,
//! whether or not its item then succeeded — is written back to that state; with
//! `delete_created`, every object it created is deleted — by the Graph id the restore
//! recorded, never by name. The undo keeps its own pre-restore copy of
//! everything it changes or deletes, so undoing an undo is a plain restore of that snapshot.

use entity::enums::{ItemAction, RunItemStatus};
use entity::run_items;
use serde_json::{Value, json};
use uuid::Uuid;

use super::restore::{base_result, failed_result, get_existing, keep_copy, registry_position};
use super::{OutageBreaker, client_for, is_fatal, safe};
use crate::graph::normalize;
use crate::graph::{Contract, GraphClient, GraphError, registry};
use crate::runs::{ExecError, Execution, SafeError};
use crate::store::runs::{self as run_store, ItemResult, PlannedItem};
use crate::store::{StoreError, content};

/// What the undo does to one object the restore touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Revert,
    Delete,
    Keep,
}

struct Work {
    step: Step,
    key: String,
    policy_type: String,
    display_name: String,
    source_ref: Option<Uuid>,
    target_id: String,
}

pub async fn undo(
    execution: &Execution,
    original_id: Uuid,
    delete_created: bool,
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    let original = run_store::get_in_tenant(db, execution.scope(), original_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ExecError::Failed(SafeError::new(
                "source_missing",
                "the restore to undo no longer exists",
            )),
            other => other.into(),
        })?;
    let copies = match original.pre_restore_snapshot_id {
        Some(id) => content::all_snapshot_items(db, execution.scope(), id).await?,
        None => Vec::new(),
    };
    let work = plan(
        copies,
        run_store::all_items(db, execution.scope(), original.id).await?,
        delete_created,
    );
    let planned: Vec<PlannedItem> = work
        .iter()
        .map(|w| PlannedItem {
            item_key: w.key.clone(),
            policy_type: w.policy_type.clone(),
            display_name: w.display_name.clone(),
            source_ref: w.source_ref,
        })
        .collect();
    execution.plan(&planned).await?;
    let done = execution.finished_items().await?;
    let client = client_for(execution, execution.run.tenant_id).await?;
    let mut breaker = OutageBreaker::new(execution);
    for w in &work {
        if done.contains(&w.key) {
            continue;
        }
        execution.check_lease()?;
        let base = base_result(w.key.clone(), &w.policy_type, &w.display_name, w.source_ref);
        let action = match w.step {
            Step::Revert => ItemAction::Revert,
            Step::Delete => ItemAction::Delete,
            Step::Keep => ItemAction::Keep,
        };
        if breaker.is_open() {
            execution
                .record(failed_result(base, action, &breaker.error()))
                .await?;
            continue;
        }
        let Some(contract) = registry::get(&w.policy_type) else {
            let error = SafeError::new(
                "unsupported_policy_type",
                format!(
                    "policy type {} is not supported by this version",
                    w.policy_type
                ),
            );
            execution
                .record(failed_result(base, action, &error))
                .await?;
            continue;
        };
        let outcome = match w.step {
            Step::Keep => Ok(Ok(ItemResult {
                status: RunItemStatus::Skipped,
                action: Some(ItemAction::Kept),
                error_message: Some(
                    "created by the restore and kept (the undo was asked not to delete created objects)"
                        .into(),
                ),
                result_graph_id: Some(w.target_id.clone()),
                ..base.clone()
            })),
            Step::Revert => {
                revert(execution, &client, contract, &original, w, base.clone()).await
            }
            Step::Delete => delete(execution, &client, contract, w, base.clone()).await,
        };
        breaker.observe(outcome.as_ref().err());
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => failed_result(base, action, &error),
            Err(error) if is_fatal(&error) => return Err(ExecError::Failed(safe(&error))),
            Err(error) => failed_result(base, action, &safe(&error)),
        };
        execution.record(result).await?;
    }
    Ok(())
}

/// The objects the restore changed: every object it kept a pre-restore copy of (reverted)
/// and every object it created (deleted or kept), in reverse restore order (what refers to
/// scope tags and filters goes before them).
fn plan(
    copies: Vec<entity::snapshot_items::Model>,
    rows: Vec<run_items::Model>,
    delete_created: bool,
) -> Vec<Work> {
    let mut work: Vec<Work> = copies
        .into_iter()
        .map(|copy| Work {
            step: Step::Revert,
            key: super::item_key(&copy.policy_type, &copy.source_id),
            policy_type: copy.policy_type,
            display_name: copy.display_name,
            source_ref: Some(copy.id),
            target_id: copy.source_id,
        })
        .collect();
    let reverted: std::collections::HashSet<String> = work.iter().map(|w| w.key.clone()).collect();
    for row in rows {
        let (Some(ItemAction::Created), Some(target_id)) = (row.action, row.result_graph_id) else {
            continue;
        };
        let key = super::item_key(&row.policy_type, &target_id);
        if reverted.contains(&key) {
            continue;
        }
        work.push(Work {
            step: if delete_created {
                Step::Delete
            } else {
                Step::Keep
            },
            key,
            policy_type: row.policy_type,
            display_name: row.display_name,
            source_ref: row.source_ref,
            target_id,
        });
    }
    work.sort_by(|a, b| {
        registry_position(&b.policy_type)
            .cmp(&registry_position(&a.policy_type))
            .then_with(|| a.key.cmp(&b.key))
    });
    work
}

fn copy_failed() -> SafeError {
    SafeError::new(
        "mapping_failed",
        "the undo could not keep a copy of the object before changing it; nothing was changed, re-run the undo",
    )
}

/// Writes the object back to its pre-restore state.
async fn revert(
    execution: &Execution,
    client: &GraphClient,
    contract: &'static Contract,
    original: &entity::runs::Model,
    w: &Work,
    base: ItemResult,
) -> Result<Result<ItemResult, SafeError>, GraphError> {
    let db = &execution.services().db;
    let before = match original.pre_restore_snapshot_id {
        Some(snapshot) => {
            content::snapshot_item_by_source(
                db,
                execution.scope(),
                snapshot,
                contract.key,
                &w.target_id,
            )
            .await
        }
        None => Ok(None),
    };
    let before = match before {
        Ok(before) => before,
        Err(_) => return Ok(Err(copy_failed())),
    };
    let Some(before) = before else {
        return Ok(Err(SafeError::new(
            "no_pre_restore_copy",
            "the restore kept no copy of this object before updating it, so it cannot be put back",
        )));
    };
    let Some(raw) = get_existing(&client.read_only(), contract, &w.target_id).await? else {
        return Ok(Err(SafeError::new(
            "target_missing",
            format!(
                "the object {} no longer exists in the tenant; restore it from the pre-restore snapshot {}",
                w.target_id, before.snapshot_id
            ),
        )));
    };
    let current = normalize::normalize(contract, &raw);
    let content_differs = normalize::hash(contract, &current.payload) != before.content_hash;
    let assign = contract.assignments.is_some()
        && normalize::canonical_json(&normalize::normalize_assignments(
            before.assignments.clone(),
        )) != normalize::canonical_json(&current.assignments);
    if !content_differs && !assign {
        return Ok(Ok(ItemResult {
            action: Some(ItemAction::Unchanged),
            result_graph_id: Some(w.target_id.clone()),
            ..base
        }));
    }
    if keep_copy(execution, contract, &w.target_id, &current)
        .await
        .is_err()
    {
        return Ok(Err(copy_failed()));
    }
    let diff = normalize::diff(
        &normalize::comparable(contract, &current.payload),
        &normalize::comparable(contract, &before.payload),
    );
    if content_differs {
        client
            .update(contract, &w.target_id, &before.payload)
            .await?;
    }
    if assign {
        client
            .assign(contract, &w.target_id, &before.assignments)
            .await?;
    }
    Ok(Ok(ItemResult {
        action: Some(ItemAction::Reverted),
        result_graph_id: Some(w.target_id.clone()),
        diff: Some(json!({"changes": diff, "assignments": assign})),
        ..base
    }))
}

/// Deletes an object the restore created, by the id it recorded.
async fn delete(
    execution: &Execution,
    client: &GraphClient,
    contract: &'static Contract,
    w: &Work,
    base: ItemResult,
) -> Result<Result<ItemResult, SafeError>, GraphError> {
    let db = &execution.services().db;
    let found = get_existing(&client.read_only(), contract, &w.target_id).await?;
    if let Some(raw) = &found {
        let current = normalize::normalize(contract, raw);
        if keep_copy(execution, contract, &w.target_id, &current)
            .await
            .is_err()
        {
            return Ok(Err(copy_failed()));
        }
        match client.delete(contract, &w.target_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    if content::delete_mappings_to(db, execution.scope(), contract.key, &w.target_id)
        .await
        .is_err()
    {
        tracing::warn!("deleted object's mapping not removed; the next restore re-checks it");
    }
    Ok(Ok(ItemResult {
        action: Some(ItemAction::Deleted),
        result_graph_id: Some(w.target_id.clone()),
        error_message: found
            .is_none()
            .then(|| "already gone from the tenant".to_string()),
        diff: None::<Value>,
        ..base
    }))
}

//! `compare`: what changed from one side to the other — two captures, or a capture and the
//! tenant as Graph serves it now (read through the read-only client) — one item per object
//! that was added, removed or changed, carrying its setting changes. Reads only.

use entity::enums::{ItemAction, RunItemStatus};
use serde_json::Value;

use super::restore::SourceItem;
use super::{client_for, safe};
use crate::graph::compare::{self, Captured, ChangeKind, Pairing};
use crate::graph::{ReadOnlyGraph, registry};
use crate::runs::{ExecError, Execution, SafeError, Side, Source};
use crate::store::content;
use crate::store::runs::{ItemResult, PlannedItem};
use crate::store::{StoreError, TenantScope};

/// A side's object as the diff engine reads it.
fn captured(o: &SourceItem) -> Captured<'_> {
    Captured {
        policy_type: &o.policy_type,
        graph_id: &o.source_id,
        display_name: &o.display_name,
        payload: &o.payload,
        assignments: &o.assignments,
    }
}

pub async fn compare(execution: &Execution, left: Side, right: Side) -> Result<(), ExecError> {
    let left_scope = scope(execution, left)?;
    let right_scope = scope(execution, right)?;
    // The live side reads the types the stored side holds: the stored side is read first.
    let ((left_objects, left_types), (right_objects, right_types)) = if left == Side::Live {
        let r = read(execution, right, &right_scope, &[]).await?;
        let l = read(execution, left, &left_scope, &r.1).await?;
        (l, r)
    } else {
        let l = read(execution, left, &left_scope, &[]).await?;
        let r = read(execution, right, &right_scope, &l.1).await?;
        (l, r)
    };
    // Only the types both sides hold are compared: a capture of fewer types has not lost
    // the others.
    let common = |t: &str| {
        let holds = |types: &[String]| types.is_empty() || types.iter().any(|k| k == t);
        holds(&left_types) && holds(&right_types)
    };
    let lefts: Vec<Captured<'_>> = left_objects
        .iter()
        .filter(|o| common(&o.policy_type))
        .map(captured)
        .collect();
    let rights: Vec<Captured<'_>> = right_objects
        .iter()
        .filter(|o| common(&o.policy_type))
        .map(captured)
        .collect();
    let changes = if left_scope == right_scope {
        compare::compare(&lefts, &rights, &Pairing::ById)
    } else {
        // Restores record source → target; the baseline may be on either side.
        let db = &execution.services().db;
        let mut mapped = content::mappings_between(db, &left_scope, &right_scope).await?;
        for ((policy_type, right_id), left_id) in
            content::mappings_between(db, &right_scope, &left_scope).await?
        {
            mapped.entry((policy_type, left_id)).or_insert(right_id);
        }
        let lookup = |policy_type: &str, id: &str| {
            mapped
                .get(&(policy_type.to_string(), id.to_string()))
                .cloned()
        };
        compare::compare(&lefts, &rights, &Pairing::Across { mapped: &lookup })
    };
    let key = |c: &compare::ObjectChange| format!("{}/{}", c.policy_type, c.graph_id);
    let planned: Vec<PlannedItem> = changes
        .iter()
        .map(|c| PlannedItem {
            item_key: key(c),
            policy_type: c.policy_type.clone(),
            display_name: c.display_name.clone(),
            source_ref: None,
        })
        .collect();
    if !planned.is_empty() {
        execution.plan(&planned).await?;
    }
    for change in changes {
        execution.check_lease()?;
        let action = match change.change {
            ChangeKind::Added => ItemAction::Added,
            ChangeKind::Removed => ItemAction::Removed,
            ChangeKind::Changed => ItemAction::Changed,
        };
        execution
            .record(ItemResult {
                item_key: key(&change),
                policy_type: change.policy_type.clone(),
                display_name: change.display_name.clone(),
                source_ref: None,
                status: RunItemStatus::Succeeded,
                action: Some(action),
                error_code: change.ambiguous.then(|| "ambiguous_name".to_string()),
                error_message: change.ambiguous.then(|| {
                    "another object on the other side has this type and name: not paired by guess"
                        .to_string()
                }),
                error_context: None,
                match_kind: None,
                diff: Some(serde_json::json!({"settings": change.settings})),
                result_graph_id: Some(change.graph_id.clone()),
            })
            .await?;
    }
    Ok(())
}

/// The tenant a side's content belongs to (the run's own for the live side).
fn scope(execution: &Execution, side: Side) -> Result<TenantScope, ExecError> {
    match side {
        Side::Stored(source) => Ok(*execution.scope_of(source.tenant_id())?),
        Side::Live => Ok(*execution.scope()),
    }
}

/// A side's objects and the policy types it holds (empty: every type). The live side reads
/// `types` (every type when empty).
async fn read(
    execution: &Execution,
    side: Side,
    scope: &TenantScope,
    types: &[String],
) -> Result<(Vec<SourceItem>, Vec<String>), ExecError> {
    let db = &execution.services().db;
    let missing = |e: StoreError| match e {
        StoreError::NotFound => ExecError::Failed(SafeError::new(
            "source_missing",
            "a snapshot or backup set to compare no longer exists",
        )),
        other => other.into(),
    };
    let keys = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match side {
        Side::Stored(Source::Snapshot { id, .. }) => {
            let snapshot = content::snapshot(db, scope, id).await.map_err(missing)?;
            let objects = content::all_snapshot_items(db, scope, snapshot.id)
                .await?
                .into_iter()
                .map(SourceItem::from)
                .collect();
            (objects, keys(&snapshot.policy_types))
        }
        Side::Stored(Source::BackupSet { id, .. }) => {
            let set = content::backup_set(db, scope, id).await.map_err(missing)?;
            let objects = content::latest_backup_items(db, scope, set.id)
                .await?
                .into_iter()
                .filter(|i| i.missing_since.is_none())
                .map(SourceItem::from)
                .collect();
            (objects, keys(&set.policy_types))
        }
        Side::Live => {
            let client = client_for(execution, execution.run.tenant_id).await?;
            let graph: ReadOnlyGraph = client.read_only();
            let contracts = registry::parse_types(types).map_err(|e| {
                ExecError::Failed(SafeError::new("invalid_policy_types", e.to_string()))
            })?;
            let contracts: Vec<&'static crate::graph::Contract> = if contracts.is_empty() {
                registry::all().iter().collect()
            } else {
                contracts.into_iter().map(|t| t.contract()).collect()
            };
            let mut out = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for contract in contracts {
                execution.check_lease()?;
                let listed = graph
                    .list_normalized(contract)
                    .await
                    .map_err(|e| ExecError::Failed(safe(&e)))?;
                for n in listed {
                    let Some(id) = n.source_id else { continue };
                    // A page that repeats an object lists it once here.
                    if !seen.insert((contract.key, id.clone())) {
                        continue;
                    }
                    out.push(SourceItem {
                        id: uuid::Uuid::nil(),
                        policy_type: contract.key.to_string(),
                        source_id: id,
                        display_name: n.display_name,
                        payload: n.payload,
                        assignments: n.assignments,
                    });
                }
            }
            (out, types.to_vec())
        }
    })
}

//! Pruning: apply the tenant's retention. One item per deletion — each snapshot, the old
//! versions of each backup set, the old runs — and one skipped item per snapshot a rule
//! would delete but a protection keeps (the newest, one a run reads, a pre-restore copy
//! still undoable). The summary says how much stored content was reclaimed.

use std::collections::HashSet;

use chrono::Utc;
use entity::enums::{ItemAction, RunItemStatus};
use serde_json::json;
use uuid::Uuid;

use crate::runs::{ExecError, Execution, RunSpec, Side, Source};
use crate::store::retention::{self, Plan};
use crate::store::runs::{ItemResult, PlannedItem};

pub async fn prune(execution: &Execution) -> Result<(), ExecError> {
    let services = execution.services();
    let db = &services.db;
    let scope = execution.scope();
    let policy = retention::policy(db, &services.settings.retention, scope).await?;
    let plan = retention::plan(
        db,
        scope,
        policy,
        Utc::now(),
        &snapshots_in_use(execution).await?,
    )
    .await?;
    execution.plan(&planned(&plan)).await?;
    let done = execution.finished_items().await?;

    for (entry, protection) in &plan.protected {
        let key = snapshot_key(entry.id);
        if done.contains(&key) {
            continue;
        }
        execution
            .record(ItemResult {
                status: RunItemStatus::Skipped,
                action: Some(ItemAction::Keep),
                error_code: Some(protection.code().into()),
                error_message: Some(match protection {
                    retention::Protection::Newest => {
                        "the tenant's newest snapshot is always kept".into()
                    }
                    retention::Protection::InUse => {
                        "a queued or running run reads this snapshot".into()
                    }
                    retention::Protection::UndoWindow => format!(
                        "a pre-restore copy is kept {} days, while its restore can be undone",
                        policy.undo_window_days
                    ),
                }),
                ..ItemResult::succeeded(&key, "snapshot", &snapshot_name(entry))
            })
            .await?;
    }
    for entry in &plan.snapshots {
        let key = snapshot_key(entry.id);
        if done.contains(&key) {
            continue;
        }
        // Runs started since the plan may read it now.
        let in_use = snapshots_in_use(execution).await?;
        let result = match retention::delete_snapshot(db, scope, entry.id, &in_use).await? {
            Some(bytes) => ItemResult {
                action: Some(ItemAction::Deleted),
                diff: Some(json!({"bytes": bytes, "objects": entry.item_count})),
                ..ItemResult::succeeded(&key, "snapshot", &snapshot_name(entry))
            },
            None => ItemResult {
                status: RunItemStatus::Skipped,
                action: Some(ItemAction::Keep),
                error_code: Some("in_use".into()),
                error_message: Some("a run started reading this snapshot".into()),
                ..ItemResult::succeeded(&key, "snapshot", &snapshot_name(entry))
            },
        };
        execution.record(result).await?;
    }
    for batch in &plan.versions {
        let key = format!("backup_set/{}/versions", batch.backup_set_id);
        if done.contains(&key) {
            continue;
        }
        let (deleted, bytes) = retention::delete_versions(db, scope, &batch.ids).await?;
        execution
            .record(ItemResult {
                action: Some(ItemAction::Deleted),
                diff: Some(json!({"bytes": bytes, "versions": deleted})),
                ..ItemResult::succeeded(
                    &key,
                    "backup_set",
                    &format!("{}: {deleted} old version(s)", batch.backup_set_name),
                )
            })
            .await?;
    }
    if let (Some(before), false) = (plan.runs_before, plan.runs.is_empty())
        && !done.contains(RUNS_KEY)
    {
        let (deleted, items, bytes) = retention::delete_runs(db, scope, &plan.runs).await?;
        execution
            .record(ItemResult {
                action: Some(ItemAction::Deleted),
                diff: Some(json!({"bytes": bytes, "runs": deleted, "item_results": items})),
                ..ItemResult::succeeded(
                    RUNS_KEY,
                    "run",
                    &format!(
                        "{deleted} run(s) finished before {}, with {items} item result(s)",
                        before.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
            })
            .await?;
    }

    let reclaimed: i64 = execution
        .item_rows()
        .await?
        .iter()
        .filter_map(|r| r.diff.as_ref()?.get("bytes")?.as_i64())
        .sum();
    execution.set_note(format!("{} reclaimed.", human_bytes(reclaimed)));
    Ok(())
}

const RUNS_KEY: &str = "runs";

fn planned(plan: &Plan) -> Vec<PlannedItem> {
    let snapshot = |e: &retention::SnapshotEntry| PlannedItem {
        item_key: snapshot_key(e.id),
        policy_type: "snapshot".into(),
        display_name: snapshot_name(e),
        source_ref: None,
    };
    let mut items: Vec<PlannedItem> = plan.protected.iter().map(|(e, _)| snapshot(e)).collect();
    items.extend(plan.snapshots.iter().map(snapshot));
    items.extend(plan.versions.iter().map(|b| PlannedItem {
        item_key: format!("backup_set/{}/versions", b.backup_set_id),
        policy_type: "backup_set".into(),
        display_name: format!("{}: {} old version(s)", b.backup_set_name, b.ids.len()),
        source_ref: Some(b.backup_set_id),
    }));
    if !plan.runs.is_empty() {
        items.push(PlannedItem {
            item_key: RUNS_KEY.into(),
            policy_type: "run".into(),
            display_name: format!("{} old run(s)", plan.runs.len()),
            source_ref: None,
        });
    }
    items
}

fn snapshot_key(id: Uuid) -> String {
    format!("snapshot/{id}")
}

fn snapshot_name(entry: &retention::SnapshotEntry) -> String {
    let what = if entry.purpose == crate::store::content::SNAPSHOT_PRE_RESTORE {
        "Pre-restore copy"
    } else {
        "Snapshot"
    };
    format!(
        "{what} of {} ({} objects)",
        entry.created_at.format("%Y-%m-%d %H:%M UTC"),
        entry.item_count
    )
}

/// Snapshots queued or running runs read, in any tenant (a cross-tenant restore or a
/// comparison may read this tenant's).
async fn snapshots_in_use(execution: &Execution) -> Result<HashSet<Uuid>, ExecError> {
    let mut ids = HashSet::new();
    for (operation, params) in retention::active_specs(&execution.services().db).await? {
        let Ok(spec) = RunSpec::from_stored(operation, &params) else {
            continue;
        };
        let mut add = |source: &Source| {
            if let Source::Snapshot { id, .. } = source {
                ids.insert(*id);
            }
        };
        if let Some(r) = spec.restore() {
            add(&r.source);
        }
        match &spec {
            RunSpec::Compare { left, right } => {
                for side in [left, right] {
                    if let Side::Stored(s) = side {
                        add(s);
                    }
                }
            }
            RunSpec::RestoreUndo {
                pre_restore_snapshot_id: Some(id),
                ..
            } => {
                ids.insert(*id);
            }
            _ => {}
        }
    }
    Ok(ids)
}

/// "1.4 MiB", "312 B".
pub fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

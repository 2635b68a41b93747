//! The restore source as a plan: which items, read from which tenant, in which order.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use uuid::Uuid;

use crate::graph::registry;
use crate::jobs::item_key;
use crate::runs::{ExecError, Execution, SafeError};
use crate::runs::{RestoreSpec, Source};
use crate::store::content;
use crate::store::runs::PlannedItem;
use crate::store::{StoreError, TenantScope};

/// One object of the restore source (a backup item's latest version or a snapshot item).
#[derive(Debug, Clone)]
pub(in crate::jobs) struct SourceItem {
    pub id: Uuid,
    pub policy_type: String,
    pub source_id: String,
    pub display_name: String,
    pub payload: Value,
    pub assignments: Value,
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
    pub fn key(&self) -> String {
        item_key(&self.policy_type, &self.source_id)
    }
}

/// Where the run reads from and writes to.
pub(super) struct Plan {
    /// The source's tenant, as the initiator's membership granted it for this execution.
    pub(super) source: TenantScope,
    /// The run's tenant, granted by the claim.
    pub(super) target: TenantScope,
    /// The selected items, in restore order.
    pub(super) items: Vec<SourceItem>,
    /// (policy type, source id) → item key of every item of the source, selected or not:
    /// in the same tenant each of those objects belongs to its own item.
    pub(super) source_objects: HashMap<(String, String), String>,
    /// Write guarded properties as captured (see `Contract::guarded`).
    pub(super) keep_enforcement: bool,
}

impl Plan {
    pub(super) fn same_tenant(&self) -> bool {
        self.source == self.target
    }
}

pub(super) async fn load_plan(
    execution: &Execution,
    spec: &RestoreSpec,
) -> Result<Plan, ExecError> {
    let db = &execution.services().db;
    let missing = || {
        ExecError::Failed(SafeError::new(
            "source_missing",
            "the backup set or snapshot to restore from no longer exists",
        ))
    };
    let wanted: Option<HashSet<Uuid>> = spec
        .selection
        .item_ids()
        .map(|ids| ids.iter().copied().collect());
    // Backup sets are versioned: a selected version replaced by a newer capture since the
    // start is restored in its newest version, not dropped.
    let mut wanted_objects = None;
    let source = *execution.scope_of(spec.source.tenant_id())?;
    let gone = |e: StoreError| match e {
        StoreError::NotFound => missing(),
        other => other.into(),
    };
    let all = match spec.source {
        Source::Snapshot { id, .. } => {
            let snapshot = content::snapshot(db, &source, id).await.map_err(gone)?;
            let rows = content::all_snapshot_items(db, &source, snapshot.id).await?;
            rows.into_iter().map(SourceItem::from).collect::<Vec<_>>()
        }
        Source::BackupSet { id, .. } => {
            let set = content::backup_set(db, &source, id).await.map_err(gone)?;
            if let Some(ids) = &wanted {
                let ids: Vec<Uuid> = ids.iter().copied().collect();
                wanted_objects =
                    Some(content::backup_item_objects(db, &source, set.id, &ids).await?);
            }
            let rows = content::latest_backup_items(db, &source, set.id).await?;
            rows.into_iter().map(SourceItem::from).collect()
        }
    };
    let source_objects = all
        .iter()
        .map(|i| ((i.policy_type.clone(), i.source_id.clone()), i.key()))
        .collect();
    let mut items: Vec<SourceItem> = match (&wanted, &wanted_objects) {
        (_, Some(objects)) => all
            .into_iter()
            .filter(|i| objects.contains(&(i.policy_type.clone(), i.source_id.clone())))
            .collect(),
        (Some(ids), None) => all.into_iter().filter(|i| ids.contains(&i.id)).collect(),
        (None, _) => all,
    };
    sort_for_restore(&mut items);
    Ok(Plan {
        source,
        target: *execution.scope(),
        items,
        source_objects,
        keep_enforcement: spec.keep_enforcement,
    })
}

/// Restore order: the registry's (scope tags and filters before what refers to them), then
/// source id, so every attempt and every preview walks the items in the same order.
pub(super) fn sort_for_restore(items: &mut [SourceItem]) {
    items.sort_by(|a, b| {
        registry_position(&a.policy_type)
            .cmp(&registry_position(&b.policy_type))
            .then_with(|| a.source_id.cmp(&b.source_id))
    });
}

pub(in crate::jobs) fn registry_position(policy_type: &str) -> usize {
    registry::all()
        .iter()
        .position(|c| c.key == policy_type)
        .unwrap_or(usize::MAX)
}

pub(super) async fn plan_items(execution: &Execution, plan: &Plan) -> Result<(), ExecError> {
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

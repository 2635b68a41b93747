//! Purging a disabled tenant: one item per kind of stored data, each saying how many rows
//! went. The tenant row, its members, its audit trail and this run stay, so its admins can
//! read what was removed; the client secret is dropped last.

use entity::enums::ItemAction;
use serde_json::json;

use crate::runs::{ExecError, Execution, SafeError};
use crate::store::purge::{self, Part};
use crate::store::runs::{ItemResult, PlannedItem};
use crate::store::tenants;

pub async fn purge(execution: &Execution) -> Result<(), ExecError> {
    let services = execution.services();
    let db = &services.db;
    let scope = execution.scope();
    let tenant = tenants::get(db, scope.tenant_id()).await?;
    if tenant.disabled_at.is_none() {
        return Err(ExecError::Failed(SafeError::new(
            "tenant_enabled",
            "the tenant was enabled again before its purge ran; nothing was deleted",
        )));
    }
    let planned: Vec<PlannedItem> = Part::ALL
        .iter()
        .map(|part| PlannedItem {
            item_key: part.key().into(),
            policy_type: "tenant_data".into(),
            display_name: part.label().into(),
            source_ref: None,
        })
        .collect();
    execution.plan(&planned).await?;
    let done = execution.finished_items().await?;
    let mut total = 0;
    for part in Part::ALL {
        if done.contains(part.key()) {
            continue;
        }
        execution.check_lease()?;
        let deleted = purge::delete(db, scope, part, execution.run_id()).await?;
        total += deleted;
        execution
            .record(ItemResult {
                action: Some(ItemAction::Deleted),
                diff: Some(json!({"deleted": deleted})),
                ..ItemResult::succeeded(part.key(), "tenant_data", part.label())
            })
            .await?;
    }
    let tenant = tenants::get(db, scope.tenant_id()).await?;
    tenants::mark_purged(db, &services.secrets, tenant).await?;
    execution.set_note(format!(
        "{total} stored records deleted; the client secret was dropped."
    ));
    Ok(())
}

//! A connection test: sign in to the tenant with its app registration and read one
//! collection — one item that says whether the connection works, and if not, why (Graph's
//! and Entra's sanitized answer).

use entity::enums::{ItemAction, RunItemStatus};
use serde_json::json;

use super::{client_for, safe};
use crate::graph::registry;
use crate::runs::{ExecError, Execution, SafeError};
use crate::store::runs::{ItemResult, PlannedItem};

/// What the test reads: a collection every Intune tenant has.
const PROBE: &str = "deviceConfigurations";
const KEY: &str = "connection/sign-in-and-read";

pub async fn test(execution: &Execution) -> Result<(), ExecError> {
    let name = "Sign in and list device configurations";
    execution
        .plan(&[PlannedItem {
            item_key: KEY.into(),
            policy_type: PROBE.into(),
            display_name: name.into(),
            source_ref: None,
        }])
        .await?;
    let contract = registry::get(PROBE).ok_or_else(|| {
        ExecError::Failed(SafeError::new(
            "internal",
            "the probe type is not registered",
        ))
    })?;
    let client = client_for(execution, execution.scope().tenant_id()).await?;
    let result = match client.read_only().list(contract).await {
        Ok(objects) => ItemResult {
            action: Some(ItemAction::List),
            diff: Some(json!({"objects": objects.len()})),
            error_message: Some(format!(
                "signed in and read {} device configuration(s)",
                objects.len()
            )),
            ..ItemResult::succeeded(KEY, PROBE, name)
        },
        Err(e) => {
            // The item says why, and the run ends failed with the same code.
            let error = safe(&e);
            execution
                .record(ItemResult {
                    status: RunItemStatus::Failed,
                    action: Some(ItemAction::List),
                    error_code: Some(error.code.clone()),
                    error_message: Some(error.message.clone()),
                    error_context: error.context.clone(),
                    ..ItemResult::succeeded(KEY, PROBE, name)
                })
                .await?;
            return Err(ExecError::Failed(error));
        }
    };
    execution.record(result).await
}

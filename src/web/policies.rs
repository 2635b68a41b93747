//! One policy across captures: `GET /tenants/{tenant}/policies/{policy_type}/{graph_id}/history`,
//! every captured version of the object with what changed between versions.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use entity::enums::Role;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract::Path;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::graph::compare::{self, Pairing, SettingChange};
use crate::graph::registry::PolicyType;
use crate::store::content;

/// Versions read at most (the newest captures).
const HISTORY_CAPTURES: u64 = 1_000;

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/tenants/{tenant}/policies/{policy_type}/{graph_id}/history",
            Access::Tenant(Role::Viewer),
            history,
        )
        .doc(
            Doc::new("Every captured version of one object, with what changed between versions")
                .returns::<HistoryBody>(200, "Versions, oldest first"),
        )
}

/// One version: the captures from `first_seen_at` to `last_seen_at` held the same content.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Version {
    /// The first capture that held this version.
    pub(super) snapshot_id: Uuid,
    pub(super) first_seen_at: DateTime<Utc>,
    pub(super) last_seen_at: DateTime<Utc>,
    /// Captures that held it.
    pub(super) captures: u32,
    pub(super) display_name: String,
    content_hash: String,
    /// Settings changed from the previous version (empty for the first).
    pub(super) changes: Vec<SettingChange>,
    /// Who made the change, where Intune's audit log said at the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) changed_by: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct HistoryBody {
    pub(super) policy_type: String,
    graph_id: String,
    /// Oldest first.
    pub(super) versions: Vec<Version>,
}

async fn history(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, policy_type, graph_id)): Path<(String, String, String)>,
) -> Result<Json<HistoryBody>, ApiError> {
    Ok(Json(
        history_of(&state, &access, &policy_type, graph_id).await?,
    ))
}

/// Every captured version of one object (the API's and the history page's).
pub(super) async fn history_of(
    state: &AppState,
    access: &TenantAccess,
    policy_type: &str,
    graph_id: String,
) -> Result<HistoryBody, ApiError> {
    let policy_type = PolicyType::parse(policy_type)
        .map_err(|e| ApiError::Validation(format!("policy_type: {e}")))?;
    let db = &state.services().db;
    let captures = content::object_history(
        db,
        access.scope(),
        policy_type.key(),
        &graph_id,
        HISTORY_CAPTURES,
    )
    .await?;
    if captures.is_empty() {
        return Err(ApiError::NotFound);
    }
    let mut versions: Vec<Version> = Vec::new();
    let mut last: Option<&entity::snapshot_items::Model> = None;
    for (snapshot, item) in &captures {
        let changes = match last {
            None => None,
            Some(prev) => {
                let diff = compare::compare(
                    &[content::as_captured(prev)],
                    &[content::as_captured(item)],
                    &Pairing::ById,
                );
                Some(
                    diff.into_iter()
                        .next()
                        .map(|c| c.settings)
                        .unwrap_or_default(),
                )
            }
        };
        match (changes, versions.last_mut()) {
            (Some(changes), Some(current)) if changes.is_empty() => {
                current.last_seen_at = snapshot.created_at;
                current.captures += 1;
            }
            (changes, _) => versions.push(Version {
                snapshot_id: snapshot.id,
                first_seen_at: snapshot.created_at,
                last_seen_at: snapshot.created_at,
                captures: 1,
                display_name: item.display_name.clone(),
                content_hash: item.content_hash.clone(),
                changed_by: changes.as_ref().and_then(|_| changed_by(snapshot, item)),
                changes: changes.unwrap_or_default(),
            }),
        }
        last = Some(item);
    }
    Ok(HistoryBody {
        policy_type: policy_type.key().to_string(),
        graph_id,
        versions,
    })
}

/// The actor the capture of `snapshot` recorded for the object's change.
fn changed_by(
    snapshot: &entity::snapshots::Model,
    item: &entity::snapshot_items::Model,
) -> Option<String> {
    let changes: Vec<compare::ObjectChange> =
        serde_json::from_value(snapshot.changes.clone()?).ok()?;
    changes
        .into_iter()
        .find(|c| c.policy_type == item.policy_type && c.graph_id == item.source_id)?
        .changed_by
}

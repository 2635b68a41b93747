//! The item results a restore records, from a decision or a failure.

use entity::enums::{ItemAction, RunItemStatus};
use serde_json::json;
use uuid::Uuid;

use super::decide::{Decision, Match};
use super::plan::SourceItem;
use crate::runs::SafeError;
use crate::store::runs::ItemResult;

pub(in crate::jobs) fn base_result(
    key: String,
    policy_type: &str,
    name: &str,
    source: Option<Uuid>,
) -> ItemResult {
    ItemResult {
        source_ref: source,
        ..ItemResult::succeeded(&key, policy_type, name)
    }
}

pub(super) fn base(item: &SourceItem) -> ItemResult {
    base_result(
        item.key(),
        &item.policy_type,
        &item.display_name,
        Some(item.id),
    )
}

pub(in crate::jobs) fn failed_result(
    mut result: ItemResult,
    action: ItemAction,
    error: &SafeError,
) -> ItemResult {
    result.status = RunItemStatus::Failed;
    result.action = Some(action);
    result.error_code = Some(error.code.clone());
    result.error_message = Some(error.message.clone());
    result.error_context = error.context.clone();
    result
}

pub(super) fn failed(item: &SourceItem, action: ItemAction, error: &SafeError) -> ItemResult {
    failed_result(base(item), action, error)
}

pub(super) fn unsupported(item: &SourceItem) -> ItemResult {
    failed(
        item,
        ItemAction::Restore,
        &SafeError::new(
            "unsupported_policy_type",
            format!(
                "policy type {} is not supported by this version",
                item.policy_type
            ),
        ),
    )
}

pub(super) fn conflict_result(
    item: &SourceItem,
    error: SafeError,
    candidates: Vec<String>,
    live: bool,
) -> ItemResult {
    ItemResult {
        // A preview that finds a conflict did its job; a live restore that meets one did
        // not restore the item.
        status: if live {
            RunItemStatus::Failed
        } else {
            RunItemStatus::Skipped
        },
        action: Some(ItemAction::Conflict),
        error_code: Some(error.code),
        error_message: Some(error.message),
        diff: (!candidates.is_empty()).then(|| json!({"candidates": candidates})),
        ..base(item)
    }
}

pub(super) fn skip_result(item: &SourceItem, code: &str, message: String) -> ItemResult {
    ItemResult {
        status: RunItemStatus::Skipped,
        action: Some(ItemAction::Skip),
        error_code: Some(code.into()),
        error_message: Some(message),
        ..base(item)
    }
}

pub(super) fn preview_result(item: &SourceItem, decision: Decision) -> ItemResult {
    match decision {
        Decision::Skip { code, message } => skip_result(item, code, message),
        Decision::Conflict { error, candidates } => conflict_result(item, error, candidates, false),
        Decision::Unchanged(target) => ItemResult {
            action: Some(ItemAction::Unchanged),
            match_kind: Some(target.how.as_str().into()),
            result_graph_id: Some(target.id),
            ..base(item)
        },
        Decision::Update {
            target,
            diff,
            assign,
        } => ItemResult {
            action: Some(ItemAction::WouldUpdate),
            match_kind: Some(target.how.as_str().into()),
            diff: Some(json!({"changes": diff, "assignments": assign})),
            result_graph_id: Some(target.id),
            ..base(item)
        },
        Decision::Create { adopt, .. } => ItemResult {
            action: Some(ItemAction::WouldCreate),
            match_kind: Some(Match::None.as_str().into()),
            result_graph_id: adopt.map(|t| t.id),
            ..base(item)
        },
    }
}

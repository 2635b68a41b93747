//! Which target objects belong to which item of this run: claims held in this attempt and
//! the create intents an earlier attempt left behind.

use std::collections::HashMap;

use serde_json::Value;

use super::decide::{Failure, store_failure};
use super::plan::{Plan, SourceItem};
use crate::graph::Contract;
use crate::runs::{ExecError, Execution};
use crate::store::content;

/// Which target objects belong to which item of this run: an object another item
/// resolved to, is writing or created is never matched by name again.
#[derive(Debug, Default)]
struct Claims {
    by_target: HashMap<(String, String), String>,
}

impl Claims {
    fn claim(&mut self, policy_type: &str, target_id: &str, item_key: &str) {
        self.by_target
            .insert((policy_type.into(), target_id.into()), item_key.into());
    }

    fn holder(&self, policy_type: &str, target_id: &str) -> Option<String> {
        self.by_target
            .get(&(policy_type.to_string(), target_id.to_string()))
            .cloned()
    }
}

/// A create an earlier attempt of this run sent (its intent row), maybe without an answer.
#[derive(Debug, Clone)]
pub(super) struct CreateIntent {
    pub(super) policy_type: String,
    /// Lower-cased match key of the item.
    pub(super) name: String,
    /// Target ids that carried the item's name when the create was sent.
    pub(super) existing: Vec<String>,
}

impl CreateIntent {
    fn parse(intent: &Value) -> Option<Self> {
        (intent["op"] == "create").then(|| Self {
            policy_type: intent["policy_type"].as_str().unwrap_or_default().into(),
            name: intent["name"].as_str().unwrap_or_default().to_lowercase(),
            existing: intent["existing"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// What the decision reads besides Graph: the plan, this run's claims and the create
/// intents an earlier attempt recorded.
pub(super) struct Context<'a> {
    pub(super) execution: &'a Execution,
    pub(super) plan: &'a Plan,
    /// Shared by the decision and the writes of one attempt (a mutex, not a cell: the
    /// worker's futures are `Send`).
    claims: std::sync::Mutex<Claims>,
    /// Item key → the create it sent in an earlier attempt (without a recorded result);
    /// dropped once the item is settled in this attempt.
    create_intents: std::sync::Mutex<HashMap<String, CreateIntent>>,
}

impl<'a> Context<'a> {
    pub(super) async fn new(execution: &'a Execution, plan: &'a Plan) -> Result<Self, ExecError> {
        let mut claims = Claims::default();
        let mut create_intents = HashMap::new();
        for row in execution.item_rows().await? {
            if let Some(id) = &row.result_graph_id {
                claims.claim(&row.policy_type, id, &row.item_key);
            }
            let Some(intent) = &row.write_intent else {
                continue;
            };
            // An update that was sent holds its target even if its answer was lost.
            if intent["op"] == "update"
                && let Some(target) = intent["target"].as_str()
            {
                claims.claim(&row.policy_type, target, &row.item_key);
            }
            if row.result_graph_id.is_none()
                && let Some(create) = CreateIntent::parse(intent)
            {
                create_intents.insert(row.item_key.clone(), create);
            }
        }
        Ok(Self {
            execution,
            plan,
            claims: std::sync::Mutex::new(claims),
            create_intents: std::sync::Mutex::new(create_intents),
        })
    }

    pub(super) fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.execution.services().db
    }

    pub(super) fn create_intent(&self, key: &str) -> Option<CreateIntent> {
        self.create_intents.lock().ok()?.get(key).cloned()
    }

    /// The item's result is recorded: what it created is claimed by its result from now on.
    pub(super) fn settled(&self, key: &str) {
        if let Ok(mut intents) = self.create_intents.lock() {
            intents.remove(key);
        }
    }

    pub(super) fn claim(&self, policy_type: &str, target_id: &str, item_key: &str) {
        if let Ok(mut claims) = self.claims.lock() {
            claims.claim(policy_type, target_id, item_key);
        }
    }

    /// The other item of this run that holds `target_id`, if any.
    pub(super) fn held_by_other(
        &self,
        policy_type: &str,
        target_id: &str,
        key: &str,
    ) -> Option<String> {
        let holder = self.claims.lock().ok()?.holder(policy_type, target_id)?;
        (holder != key).then_some(holder)
    }

    /// In the same tenant, the item whose own object `target_id` is (if not `item`).
    pub(super) fn source_object_of_other(
        &self,
        policy_type: &str,
        target_id: &str,
        key: &str,
    ) -> bool {
        self.plan.same_tenant()
            && self
                .plan
                .source_objects
                .get(&(policy_type.to_string(), target_id.to_string()))
                .is_some_and(|owner| owner != key)
    }

    /// Whether `target_id` belongs to something other than `item`: another item of this
    /// run (resolved, writing, created, or possibly created by a create whose answer was
    /// lost), another object of the source (same tenant), or a mapping of another source id.
    pub(super) async fn claimed_by_other(
        &self,
        contract: &Contract,
        item: &SourceItem,
        target_id: &str,
    ) -> Result<bool, Failure> {
        let key = item.key();
        if self.held_by_other(contract.key, target_id, &key).is_some()
            || self.source_object_of_other(contract.key, target_id, &key)
        {
            return Ok(true);
        }
        let name = item.display_name.to_lowercase();
        let lost_create_of_other = self.create_intents.lock().is_ok_and(|intents| {
            intents.iter().any(|(other, intent)| {
                *other != key
                    && intent.policy_type == contract.key
                    && intent.name == name
                    && !intent.existing.iter().any(|id| id == target_id)
            })
        });
        if lost_create_of_other {
            return Ok(true);
        }
        let claimants =
            content::mapping_claimants(self.db(), &self.plan.target, contract.key, target_id)
                .await
                .map_err(store_failure("object mapping"))?;
        Ok(claimants.iter().any(|(tenant, id)| {
            !(*tenant == self.plan.source.tenant_id() && *id == item.source_id)
        }))
    }
}

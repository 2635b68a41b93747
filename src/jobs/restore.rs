//! `restore`, `restore_rerun` and `restore_preview`.
//!
//! Every item's target is decided by one function, [`decide`], shared by preview and live
//! restore, by identity first and by name only when nothing else claims the object:
//! 1. the object mapping of (source tenant, policy type, source id) — `match: mapping`;
//! 2. in the same tenant, the source id itself — `same_id`;
//! 3. one object with the same match key and `@odata.type` that no other source item of
//!    this run and no mapping of another source id claims — `name`; several such objects
//!    are a `conflict` listing their ids, never a silent pick;
//! 4. otherwise the object is created — `none`.
//!
//! A preview only ever holds a [`ReadOnlyGraph`], so it cannot write; a live restore keeps a
//! copy of every object it is about to change (the run's pre-restore snapshot, which undo
//! reads) and records the mapping of every object it wrote. A mapping that cannot be read or
//! written fails the item (retryable) instead of being taken for "no mapping", which would
//! duplicate the object on the next attempt.

use std::collections::{HashMap, HashSet};

use entity::enums::{ItemAction, RunItemStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{OutageBreaker, client_for, is_fatal, item_key, safe};
use crate::graph::normalize::{self, FieldChange, Normalized};
use crate::graph::{Contract, GraphClient, GraphError, ReadOnlyGraph, registry};
use crate::runs::{ExecError, Execution, SafeError};
use crate::runs::{RestoreSpec, Source};
use crate::store::content::{self, CapturedObject};
use crate::store::runs::{ItemResult, PlannedItem};
use crate::store::{StoreError, StoreResult, TenantScope};

/// One object of the restore source (a backup item's latest version or a snapshot item).
#[derive(Debug, Clone)]
pub(super) struct SourceItem {
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
struct Plan {
    /// The source's tenant, as the initiator's membership granted it for this execution.
    source: TenantScope,
    /// The run's tenant, granted by the claim.
    target: TenantScope,
    /// The selected items, in restore order.
    items: Vec<SourceItem>,
    /// (policy type, source id) → item key of every item of the source, selected or not:
    /// in the same tenant each of those objects belongs to its own item.
    source_objects: HashMap<(String, String), String>,
}

impl Plan {
    fn same_tenant(&self) -> bool {
        self.source == self.target
    }
}

async fn load_plan(execution: &Execution, spec: &RestoreSpec) -> Result<Plan, ExecError> {
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

pub(super) fn registry_position(policy_type: &str) -> usize {
    registry::all()
        .iter()
        .position(|c| c.key == policy_type)
        .unwrap_or(usize::MAX)
}

/// How an item's target was found (`run_items.match_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Mapping,
    SameId,
    Name,
    None,
}

impl Match {
    fn as_str(self) -> &'static str {
        match self {
            Match::Mapping => "mapping",
            Match::SameId => "same_id",
            Match::Name => "name",
            Match::None => "none",
        }
    }
}

/// The target object an item resolves to, as it is now.
#[derive(Debug)]
struct Target {
    id: String,
    how: Match,
    current: Normalized,
}

/// What restoring one item means for the target tenant.
#[derive(Debug)]
enum Decision {
    /// Never restored (built-in objects such as scope tag "0").
    Skip {
        code: &'static str,
        message: String,
    },
    /// Cannot be restored as it stands; `candidates` are the target ids that matched.
    Conflict {
        error: SafeError,
        candidates: Vec<String>,
    },
    Unchanged(Target),
    /// Content and/or assignments differ.
    Update {
        target: Target,
        diff: Vec<FieldChange>,
        assign: bool,
    },
    /// No target: create one. `adopt` is the object an earlier attempt of this run already
    /// created for the item (its answer was lost): it is completed instead; `named` are the
    /// ids that carry the item's name now (all claimed by others), recorded with the
    /// create intent.
    Create {
        adopt: Option<Target>,
        named: Vec<String>,
    },
}

/// Where an item's target search ended.
enum Resolution {
    Found(Target),
    /// No object for the item; `named` as in [`Decision::Create`].
    Absent {
        named: Vec<String>,
    },
    Decided(Decision),
}

/// Why an item could not be decided or written.
#[derive(Debug)]
enum Failure {
    Graph(GraphError),
    /// The object mapping (or the pre-restore copy) could not be read or written.
    Store(SafeError),
}

impl From<GraphError> for Failure {
    fn from(e: GraphError) -> Self {
        Failure::Graph(e)
    }
}

fn store_failure(what: &'static str) -> impl FnOnce(StoreError) -> Failure {
    move |e| {
        tracing::warn!(error = %e, what, "database error for one item");
        Failure::Store(SafeError::new(
            "mapping_failed",
            format!(
                "the {what} could not be read or written; nothing was changed for this item, re-run it"
            ),
        ))
    }
}

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
struct CreateIntent {
    policy_type: String,
    /// Lower-cased match key of the item.
    name: String,
    /// Target ids that carried the item's name when the create was sent.
    existing: Vec<String>,
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
struct Context<'a> {
    execution: &'a Execution,
    plan: &'a Plan,
    /// Shared by the decision and the writes of one attempt (a mutex, not a cell: the
    /// worker's futures are `Send`).
    claims: std::sync::Mutex<Claims>,
    /// Item key → the create it sent in an earlier attempt (without a recorded result);
    /// dropped once the item is settled in this attempt.
    create_intents: std::sync::Mutex<HashMap<String, CreateIntent>>,
}

impl<'a> Context<'a> {
    async fn new(execution: &'a Execution, plan: &'a Plan) -> Result<Self, ExecError> {
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

    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.execution.services().db
    }

    fn create_intent(&self, key: &str) -> Option<CreateIntent> {
        self.create_intents.lock().ok()?.get(key).cloned()
    }

    /// The item's result is recorded: what it created is claimed by its result from now on.
    fn settled(&self, key: &str) {
        if let Ok(mut intents) = self.create_intents.lock() {
            intents.remove(key);
        }
    }

    fn claim(&self, policy_type: &str, target_id: &str, item_key: &str) {
        if let Ok(mut claims) = self.claims.lock() {
            claims.claim(policy_type, target_id, item_key);
        }
    }

    /// The other item of this run that holds `target_id`, if any.
    fn held_by_other(&self, policy_type: &str, target_id: &str, key: &str) -> Option<String> {
        let holder = self.claims.lock().ok()?.holder(policy_type, target_id)?;
        (holder != key).then_some(holder)
    }

    /// In the same tenant, the item whose own object `target_id` is (if not `item`).
    fn source_object_of_other(&self, policy_type: &str, target_id: &str, key: &str) -> bool {
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
    async fn claimed_by_other(
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

/// Reads an object by id; `None` when Graph no longer has it.
pub(super) async fn get_existing(
    reader: &ReadOnlyGraph,
    contract: &Contract,
    id: &str,
) -> Result<Option<Value>, GraphError> {
    match reader.get(contract, id).await {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn target_of(contract: &Contract, raw: &Value, how: Match) -> Target {
    let current = normalize::normalize(contract, raw);
    Target {
        id: current.source_id.clone().unwrap_or_default(),
        how,
        current,
    }
}

fn conflict(contract: &Contract, candidates: Vec<String>, why: &str) -> Decision {
    Decision::Conflict {
        error: SafeError::new(
            "ambiguous_match",
            format!(
                "{} objects of policy type {} in the target tenant {why} ({}); rename or remove the extra ones, then re-run",
                candidates.len(),
                contract.key,
                candidates.join(", ")
            ),
        ),
        candidates,
    }
}

/// What the item resolves to in the target tenant: a target, nothing, or a decision already
/// (adopting what an earlier attempt created, or a conflict).
async fn resolve(
    ctx: &Context<'_>,
    reader: &ReadOnlyGraph,
    contract: &'static Contract,
    item: &SourceItem,
) -> Result<Resolution, Failure> {
    let plan = ctx.plan;
    let key = item.key();
    let intent = ctx.create_intent(&key);
    let intent = intent.as_ref();
    let mapped = content::mapping(
        ctx.db(),
        &plan.source,
        &item.policy_type,
        &item.source_id,
        &plan.target,
    )
    .await
    .map_err(store_failure("object mapping"))?;
    // A mapping to an object another item of this run holds, or (same tenant) to another
    // item's own object, is not trusted — two source objects mapped to one target is what
    // name matching used to do: this item then gets an object of its own.
    if let Some(mapped) = mapped
        && ctx
            .held_by_other(contract.key, &mapped.target_graph_id, &key)
            .is_none()
        && !ctx.source_object_of_other(contract.key, &mapped.target_graph_id, &key)
        && let Some(found) = get_existing(reader, contract, &mapped.target_graph_id).await?
    {
        let target = target_of(contract, &found, Match::Mapping);
        // Mapped by this run's own earlier create (which then failed later on): still ours
        // to have created, so undo can delete it.
        if intent.is_some_and(|i| !i.existing.contains(&target.id)) {
            return Ok(Resolution::Decided(Decision::Create {
                adopt: Some(target),
                named: Vec::new(),
            }));
        }
        return Ok(Resolution::Found(target));
    }
    if plan.same_tenant()
        && let Some(found) = get_existing(reader, contract, &item.source_id).await?
    {
        if let Some(holder) = ctx.held_by_other(contract.key, &item.source_id, &key) {
            return Ok(Resolution::Decided(Decision::Conflict {
                error: SafeError::new(
                    "already_written",
                    format!(
                        "this object was already written for item {holder} of this run; re-run this item on its own"
                    ),
                ),
                candidates: vec![item.source_id.clone()],
            }));
        }
        return Ok(Resolution::Found(target_of(
            contract,
            &found,
            Match::SameId,
        )));
    }
    let odata_type = item.payload.get("@odata.type").and_then(Value::as_str);
    let found = reader
        .find_matches(contract, &item.display_name, odata_type)
        .await?;
    let mut unclaimed = Vec::new();
    let mut named = Vec::new();
    for object in found {
        let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        named.push(id.clone());
        if !ctx.claimed_by_other(contract, item, &id).await? {
            unclaimed.push((id, object));
        }
    }
    // A create of this item was sent by an earlier attempt and its answer lost: the object
    // that appeared since is that create.
    if let Some(intent) = intent {
        let (new, old): (Vec<_>, Vec<_>) = unclaimed
            .into_iter()
            .partition(|(id, _)| !intent.existing.contains(id));
        match new.as_slice() {
            [] => unclaimed = old,
            [(_, object)] => {
                return Ok(Resolution::Decided(Decision::Create {
                    adopt: Some(target_of(contract, object, Match::None)),
                    named: Vec::new(),
                }));
            }
            several => {
                let ids = several.iter().map(|(id, _)| id.clone()).collect();
                return Ok(Resolution::Decided(conflict(
                    contract,
                    ids,
                    "appeared with this name since this item's create was sent",
                )));
            }
        }
    }
    match unclaimed.len() {
        0 => Ok(Resolution::Absent { named }),
        1 => {
            let (_, object) = unclaimed.remove(0);
            Ok(Resolution::Found(target_of(contract, &object, Match::Name)))
        }
        _ => Ok(Resolution::Decided(conflict(
            contract,
            unclaimed.into_iter().map(|(id, _)| id).collect(),
            "have this name and none is mapped to this item",
        ))),
    }
}

/// The one decision function of preview and live restore.
async fn decide(
    ctx: &Context<'_>,
    reader: &ReadOnlyGraph,
    contract: &'static Contract,
    item: &SourceItem,
) -> Result<Decision, Failure> {
    if contract.is_builtin(&item.source_id) {
        return Ok(Decision::Skip {
            code: "builtin",
            message: "built-in objects exist in every tenant and are never restored".into(),
        });
    }
    let masked = normalize::masked_secrets(&item.payload);
    if !masked.is_empty() {
        return Ok(Decision::Conflict {
            error: SafeError::new(
                "secret_not_restorable",
                format!(
                    "the captured object has {} masked secret value(s); Graph never returns secrets, so they cannot be restored",
                    masked.len()
                ),
            ),
            candidates: Vec::new(),
        });
    }
    let same = ctx.plan.same_tenant();
    let target = match resolve(ctx, reader, contract, item).await? {
        Resolution::Found(target) => target,
        Resolution::Decided(decision) => return Ok(decision),
        Resolution::Absent { .. } if contract.is_service_default(&item.source_id) => {
            return Ok(Decision::Skip {
                code: "service_default_missing",
                message: "service default objects are only updated in place, never created".into(),
            });
        }
        Resolution::Absent { named } => return Ok(Decision::Create { adopt: None, named }),
    };
    let wanted = for_target(item.payload.clone(), contract, same);
    let have = for_target(target.current.payload.clone(), contract, same);
    let assign = same
        && contract.assignments.is_some()
        && normalize::canonical_json(&normalize::normalize_assignments(item.assignments.clone()))
            != normalize::canonical_json(&target.current.assignments);
    if normalize::hash(contract, &wanted) == normalize::hash(contract, &have) && !assign {
        return Ok(Decision::Unchanged(target));
    }
    let diff = normalize::diff(
        &normalize::comparable(contract, &have),
        &normalize::comparable(contract, &wanted),
    );
    Ok(Decision::Update {
        target,
        diff,
        assign,
    })
}

/// A payload as it is written to (and compared in) the target: scope tag ids only mean
/// something in their own tenant, so across tenants they are left out.
fn for_target(mut payload: Value, contract: &Contract, same_tenant: bool) -> Value {
    if !same_tenant
        && contract.scope_tags
        && let Some(obj) = payload.as_object_mut()
    {
        obj.remove("roleScopeTagIds");
    }
    payload
}

pub(super) fn base_result(
    key: String,
    policy_type: &str,
    name: &str,
    source: Option<Uuid>,
) -> ItemResult {
    ItemResult {
        item_key: key,
        policy_type: policy_type.to_string(),
        display_name: name.to_string(),
        source_ref: source,
        status: RunItemStatus::Succeeded,
        action: None,
        error_code: None,
        error_message: None,
        error_context: None,
        match_kind: None,
        diff: None,
        result_graph_id: None,
    }
}

fn base(item: &SourceItem) -> ItemResult {
    base_result(
        item.key(),
        &item.policy_type,
        &item.display_name,
        Some(item.id),
    )
}

pub(super) fn failed_result(
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

fn failed(item: &SourceItem, action: ItemAction, error: &SafeError) -> ItemResult {
    failed_result(base(item), action, error)
}

async fn plan_items(execution: &Execution, plan: &Plan) -> Result<(), ExecError> {
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

/// What a restore run may do to the target: a preview holds only a reader, so it cannot
/// write; a live restore holds the writing client.
enum Access {
    Preview(ReadOnlyGraph),
    Live(GraphClient),
}

/// `restore_preview`: decisions only, persisted per item.
pub async fn preview(execution: &Execution, spec: &RestoreSpec) -> Result<(), ExecError> {
    let plan = load_plan(execution, spec).await?;
    let reader = client_for(execution, plan.target.tenant_id())
        .await?
        .read_only();
    run_items(execution, &plan, &Access::Preview(reader)).await
}

/// `restore` and `restore_rerun`: decide, keep a pre-restore copy, then write.
pub async fn restore(execution: &Execution, spec: &RestoreSpec) -> Result<(), ExecError> {
    let plan = load_plan(execution, spec).await?;
    let client = client_for(execution, plan.target.tenant_id()).await?;
    run_items(execution, &plan, &Access::Live(client)).await
}

/// Works through the plan's items (skipping those an earlier attempt finished), recording a
/// result for each, and stops calling Graph once the outage breaker opens.
async fn run_items(execution: &Execution, plan: &Plan, access: &Access) -> Result<(), ExecError> {
    let action = match access {
        Access::Preview(_) => ItemAction::Preview,
        Access::Live(_) => ItemAction::Restore,
    };
    plan_items(execution, plan).await?;
    let done = execution.finished_items().await?;
    let ctx = Context::new(execution, plan).await?;
    let mut breaker = OutageBreaker::new(execution);
    for item in &plan.items {
        if done.contains(&item.key()) {
            continue;
        }
        execution.check_lease()?;
        if breaker.is_open() {
            execution
                .record(failed(item, action, &breaker.error()))
                .await?;
            continue;
        }
        let Some(contract) = registry::get(&item.policy_type) else {
            execution.record(unsupported(item)).await?;
            continue;
        };
        let outcome = match access {
            Access::Preview(reader) => decide(&ctx, reader, contract, item)
                .await
                .map(|decision| preview_result(item, decision)),
            Access::Live(client) => restore_item(&ctx, client, contract, item).await,
        };
        breaker.observe(match &outcome {
            Err(Failure::Graph(e)) => Some(e),
            _ => None,
        });
        let result = match outcome {
            Ok(result) => result,
            Err(Failure::Graph(error)) if is_fatal(&error) => {
                return Err(ExecError::Failed(safe(&error)));
            }
            Err(Failure::Graph(error)) => failed(item, action, &safe(&error)),
            Err(Failure::Store(error)) => failed(item, action, &error),
        };
        if let Some(id) = &result.result_graph_id {
            ctx.claim(&item.policy_type, id, &item.key());
        }
        execution.record(result).await?;
        ctx.settled(&item.key());
    }
    Ok(())
}

fn unsupported(item: &SourceItem) -> ItemResult {
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

fn conflict_result(
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

fn skip_result(item: &SourceItem, code: &str, message: String) -> ItemResult {
    ItemResult {
        status: RunItemStatus::Skipped,
        action: Some(ItemAction::Skip),
        error_code: Some(code.into()),
        error_message: Some(message),
        ..base(item)
    }
}

fn preview_result(item: &SourceItem, decision: Decision) -> ItemResult {
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
pub(super) async fn keep_copy(
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

async fn restore_item(
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
                .map_err(|_| intent_failed())?;
            keep_copy(execution, contract, &target.id, &target.current)
                .await
                .map_err(store_failure("pre-restore copy"))?;
            if !diff.is_empty() {
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
/// the same way (see [`resolve`]).
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
        .map_err(|_| intent_failed())?;
    let id = match client.create(contract, desired).await {
        Ok(created) => created_id(contract, &created)?,
        Err(error) if error.is_ambiguous_write() => {
            let now = matching_ids(client, contract, item, odata_type).await?;
            let new: Vec<&String> = now.iter().filter(|id| !existing.contains(id)).collect();
            match new.as_slice() {
                [one] => (*one).clone(),
                // The look-up rules out a lost create: send it once more.
                [] => created_id(contract, &client.create(contract, desired).await?)?,
                // Several appeared: not ours to pick; the item fails with the intent kept.
                _ => return Err(Failure::Graph(error)),
            }
        }
        Err(error) => return Err(Failure::Graph(error)),
    };
    ctx.claim(contract.key, &id, &item.key());
    Ok(id)
}

fn intent_failed() -> Failure {
    Failure::Store(SafeError::new(
        "mapping_failed",
        "the write could not be recorded before sending it; nothing was changed, re-run the item",
    ))
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
        .find_matches(contract, &item.display_name, odata_type)
        .await?
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_string))
        .collect())
}

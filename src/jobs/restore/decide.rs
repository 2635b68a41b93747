//! Target matching: what an item resolves to in the target tenant, and what restoring it
//! would mean — the one decision preview and live restore share.

use serde_json::Value;

use super::claims::Context;
use super::plan::SourceItem;
use crate::graph::normalize::{self, FieldChange, Normalized};
use crate::graph::{Contract, ErrorKind, GraphError, ReadOnlyGraph};
use crate::runs::{ExecError, SafeError};
use crate::store::StoreError;
use crate::store::content;

/// How an item's target was found (`run_items.match_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Match {
    Mapping,
    SameId,
    Name,
    None,
}

impl Match {
    pub(super) fn as_str(self) -> &'static str {
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
pub(super) struct Target {
    pub(super) id: String,
    pub(super) how: Match,
    pub(super) current: Normalized,
}

/// What restoring one item means for the target tenant.
#[derive(Debug)]
pub(super) enum Decision {
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
pub(super) enum Failure {
    Graph(GraphError),
    /// The object mapping (or the pre-restore copy) could not be read or written.
    Store(SafeError),
    /// The whole run stops here (the database went away, the lease was lost); the item is
    /// not recorded, so a resumed run takes it up again.
    Stop(ExecError),
}

impl From<GraphError> for Failure {
    fn from(e: GraphError) -> Self {
        match e.kind() {
            // The create was held back: stop here; the worker re-checks its lease (waiting
            // for the database if need be) and resumes or lets the run go.
            ErrorKind::Fenced => Failure::Stop(ExecError::Interrupted(
                "the run's lease could not be confirmed before a create".into(),
            )),
            _ => Failure::Graph(e),
        }
    }
}

pub(super) fn store_failure(what: &'static str) -> impl FnOnce(StoreError) -> Failure {
    move |e| {
        if e.is_transient() {
            return Failure::Stop(e.into());
        }
        tracing::warn!(error = %e, what, "database error for one item");
        Failure::Store(SafeError::new(
            "mapping_failed",
            format!(
                "the {what} could not be read or written; nothing was changed for this item, re-run it"
            ),
        ))
    }
}

/// Reads an object by id; `None` when Graph no longer has it.
pub(in crate::jobs) async fn get_existing(
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
        .find_matches(
            contract,
            &item.display_name,
            odata_type,
            contract.parent_id(&item.source_id),
        )
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
pub(super) async fn decide(
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
    if let Some(reason) = contract.read_only {
        return Ok(Decision::Skip {
            code: "not_restorable",
            message: format!("captured for the record only: {reason}"),
        });
    }
    if !contract.restorable(&item.payload) {
        return Ok(Decision::Skip {
            code: "content_not_restorable",
            message: "Graph never returns this app's package; it is captured for the record \
                      and must be uploaded again from its installer"
                .into(),
        });
    }
    if let Some(reason) = contract.same_tenant_only
        && !ctx.plan.same_tenant()
    {
        return Ok(Decision::Skip {
            code: "same_tenant_only",
            message: format!("restored only into the tenant it was captured from: {reason}"),
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
    let wanted = guard(
        ctx,
        contract,
        for_target(item.payload.clone(), contract, same),
        Some(&target.current.payload),
    );
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
/// The contract's guarded property as this restore writes it over `current` (the target's
/// object, `None` for a create): its safe value unless the restore keeps captured values.
pub(super) fn guard(
    ctx: &Context<'_>,
    contract: &Contract,
    wanted: Value,
    current: Option<&Value>,
) -> Value {
    match contract.guarded {
        Some(g) if !ctx.plan.keep_enforcement => g.apply(wanted, current),
        _ => wanted,
    }
}

pub(super) fn for_target(mut payload: Value, contract: &Contract, same_tenant: bool) -> Value {
    if !same_tenant
        && contract.scope_tags
        && let Some(obj) = payload.as_object_mut()
    {
        obj.remove("roleScopeTagIds");
    }
    payload
}

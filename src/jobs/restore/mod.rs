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

mod claims;
mod decide;
mod plan;
mod references;
mod results;
mod write;

use entity::enums::ItemAction;

use super::{OutageBreaker, client_for, is_fatal, safe};
use crate::graph::{GraphClient, ReadOnlyGraph, registry};
use crate::runs::{ExecError, Execution, RestoreSpec};
use claims::Context;
use decide::{Failure, decide};
use plan::{Plan, load_plan, plan_items};
use results::{failed, preview_result, unsupported};
use write::restore_item;

pub(super) use decide::get_existing;
pub(super) use plan::{SourceItem, registry_position};
pub(super) use results::{base_result, failed_result};
pub(super) use write::keep_copy;

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
        let rewritten = match references::rewrite(&ctx, contract, item).await {
            Ok(r) => r,
            Err(Failure::Stop(stop)) => return Err(stop),
            Err(Failure::Store(error)) => {
                execution.record(failed(item, action, &error)).await?;
                continue;
            }
            Err(Failure::Graph(error)) => {
                execution
                    .record(failed(item, action, &safe(&error)))
                    .await?;
                continue;
            }
        };
        let item = rewritten.as_ref().unwrap_or(item);
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
            Err(Failure::Stop(stop)) => return Err(stop),
        };
        if let Some(id) = &result.result_graph_id {
            ctx.claim(&item.policy_type, id, &item.key());
        }
        execution.record(result).await?;
        ctx.settled(&item.key());
    }
    Ok(())
}

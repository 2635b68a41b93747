//! Fan-outs: one parent run over ordinary runs in many tenants ("capture all my tenants
//! now", "preview/restore this backup set into these tenants").
//!
//! Each child goes through the normal start path — de-duplicated (an identical run already
//! active is joined, not repeated), rate-limited and tenant-fair like any run. The parent
//! holds no work of its own: it is `running` until every child is terminal, then its
//! children's outcome (`partial` when some failed), settled by whichever finish comes last
//! (and by the reaper, should that process die). The parent notifies its initiator once;
//! the children it started notify nobody.

use entity::enums::{Role, RunStatus};
use entity::fanouts;
use serde_json::Value as Json;
use uuid::Uuid;

use super::lifecycle::{Orchestrator, operation_label};
use super::spec::RunSpec;
use super::start::StartRequest;
use crate::store::activity::{self, NewNotification};
use crate::store::fanouts::{self as fanout_store, NewFanout};
use crate::store::{StoreResult, TenantScope, accounts};

/// What to start in every target tenant. Authorization and validation happened before.
pub struct FanoutRequest {
    pub initiator_id: Uuid,
    pub spec: RunSpec,
    /// The request as the API took it, kept for the parent's page.
    pub params: Json,
    pub targets: Vec<TenantScope>,
}

/// How a fan-out's children ended (children not started count as failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct FanoutCounts {
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub partial: u32,
    pub failed: u32,
    pub canceled: u32,
}

impl FanoutCounts {
    pub fn of(statuses: impl IntoIterator<Item = RunStatus>) -> Self {
        let mut c = Self::default();
        for status in statuses {
            match status {
                RunStatus::Queued => c.queued += 1,
                RunStatus::Running => c.running += 1,
                RunStatus::Succeeded => c.succeeded += 1,
                RunStatus::Partial => c.partial += 1,
                RunStatus::Failed => c.failed += 1,
                RunStatus::Canceled => c.canceled += 1,
            }
        }
        c
    }

    fn open(&self) -> u32 {
        self.queued + self.running
    }

    fn total(&self) -> u32 {
        self.open() + self.succeeded + self.partial + self.failed + self.canceled
    }

    /// The parent's terminal status: all alike → that; canceled on request with nothing
    /// failed → canceled; otherwise partial.
    pub fn outcome(&self, cancel_requested: bool) -> RunStatus {
        let n = self.total();
        if n > 0 && self.succeeded == n {
            RunStatus::Succeeded
        } else if n > 0 && self.failed == n {
            RunStatus::Failed
        } else if n > 0 && self.canceled == n
            || cancel_requested && self.failed == 0 && self.partial == 0
        {
            RunStatus::Canceled
        } else {
            RunStatus::Partial
        }
    }
}

impl Orchestrator {
    /// Creates the parent and starts one child per target. A child that cannot be started
    /// (the database refused it) is logged and counted failed when the parent settles.
    pub async fn start_fanout(&self, request: FanoutRequest) -> StoreResult<fanouts::Model> {
        let db = &self.services.db;
        let fanout = fanout_store::insert(
            db,
            NewFanout {
                id: Uuid::now_v7(),
                initiator_id: request.initiator_id,
                operation: request.spec.operation(),
                params: request.params,
                tenant_count: request.targets.len(),
            },
        )
        .await?;
        for scope in &request.targets {
            let started = self
                .start(StartRequest {
                    run_id: None,
                    fanout_id: Some(fanout.id),
                    scope: *scope,
                    initiator_id: request.initiator_id,
                    spec: request.spec.clone(),
                })
                .await;
            match started {
                Ok(started) if started.deduplicated => {
                    fanout_store::add_child(db, fanout.id, scope, started.run.id, true).await?;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, fanout_id = %fanout.id, tenant_id = %scope.tenant_id(), "fan-out child could not be started");
                }
            }
        }
        fanout_store::mark_started(db, fanout.id).await?;
        self.settle_fanout(fanout.id).await?;
        Ok(fanout_store::get_any(db, fanout.id)
            .await?
            .unwrap_or(fanout))
    }

    /// Settles a fan-out whose children have all ended: its status, summary and the one
    /// notification to its initiator. Does nothing while a child is open or children are
    /// still being started; settling twice is settling once.
    pub async fn settle_fanout(&self, id: Uuid) -> StoreResult<()> {
        let db = &self.services.db;
        let Some(fanout) = fanout_store::get_any(db, id).await? else {
            return Ok(());
        };
        if fanout.status != RunStatus::Running || fanout.started_at.is_none() {
            return Ok(());
        }
        let children = fanout_store::children(db, id).await?;
        let mut counts = FanoutCounts::of(children.iter().map(|(_, run)| run.status));
        if counts.open() > 0 {
            return Ok(());
        }
        let not_started = u32::try_from(fanout.tenant_count)
            .unwrap_or(0)
            .saturating_sub(counts.total());
        counts.failed += not_started;
        let status = counts.outcome(fanout.cancel_requested_at.is_some());
        let label = operation_label(fanout.operation);
        let mut summary = format!(
            "{label} in {} tenant(s): {} succeeded, {} partly, {} failed, {} canceled.",
            fanout.tenant_count, counts.succeeded, counts.partial, counts.failed, counts.canceled
        );
        if not_started > 0 {
            summary.push_str(&format!(" {not_started} could not be started."));
        }
        if !fanout_store::settle(db, id, status, &summary).await? {
            return Ok(());
        }
        tracing::info!(fanout_id = %id, status = status.as_str(), "fan-out finished");
        // Attached to the first tenant, so a user who left every tenant of it sees nothing.
        if let Some((first, _)) = children.first() {
            let verb = match status {
                RunStatus::Succeeded => "succeeded",
                RunStatus::Failed => "failed",
                RunStatus::Canceled => "was canceled",
                _ => "finished with some failures",
            };
            let result = activity::notify_if_wanted(
                db,
                NewNotification {
                    user_id: fanout.initiator_id,
                    tenant_id: first.tenant_id,
                    run_id: None,
                    fanout_id: Some(id),
                    kind: "fanout".into(),
                    title: format!("{label} in {} tenants {verb}", fanout.tenant_count),
                    body: summary,
                },
                &[],
            )
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not write the fan-out's notification");
            }
        }
        Ok(())
    }

    /// Settles every fan-out `run_id` is a child of (after it finished).
    pub(crate) async fn settle_parents_of(&self, run_id: Uuid) {
        let parents = match fanout_store::open_parents_of(&self.services.db, run_id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not look up the run's fan-outs; the reaper will settle them");
                return;
            }
        };
        for id in parents {
            if let Err(e) = self.settle_fanout(id).await {
                tracing::warn!(error = %e, fanout_id = %id, "could not settle the fan-out; the reaper will");
            }
        }
    }

    /// Cancels the open children the fan-out started (a joined run is someone else's start
    /// and goes on), where `by` may still cancel runs; asking twice is asking once.
    pub async fn cancel_fanout(&self, fanout: &fanouts::Model, by: Uuid) -> StoreResult<()> {
        let db = &self.services.db;
        fanout_store::request_cancel(db, fanout.id).await?;
        for (child, run) in fanout_store::children(db, fanout.id).await? {
            if child.joined || run.status.is_terminal() {
                continue;
            }
            let Some((scope, role)) = accounts::member_scope(db, child.tenant_id, by).await? else {
                continue;
            };
            // As for `POST .../runs/{run}/cancel`: operators and admins.
            if !role.allows(Role::Operator) {
                continue;
            }
            if let Err(e) = self.cancel(&scope, run.id, by).await {
                tracing::debug!(error = %e, run_id = %run.id, "child not canceled");
            }
        }
        self.settle_fanout(fanout.id).await
    }
}

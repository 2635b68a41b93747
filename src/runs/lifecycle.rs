//! The state transitions of a run after it was queued: claim, progress, finish. Each is a
//! guarded database update followed by its side effects (notification, audit, event, dedupe
//! key release), which only the writer that won the update performs.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use entity::enums::{Role, RunItemStatus, RunOperation, RunStatus};
use entity::{run_items, runs, tenants};
use redis::Script;
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::SafeError;
use super::events::{self, EventKind, RunEvent};
use super::queue::Queues;
use super::spec::RunSpec;
use super::view::RunView;
use crate::graph::GraphShared;
use crate::metrics;
use crate::services::Services;
use crate::store::activity::{self, NewAuditEvent, NewNotification};
use crate::store::runs::{
    self as run_store, ClaimRefusal, Counts, FinishGuard, ItemResult, PlannedItem, Surroundings,
    Terminal,
};
use crate::store::{StoreError, StoreResult, TenantScope, accounts};

/// Everything the orchestration needs: services plus the job queues.
#[derive(Clone, Debug)]
pub struct Orchestrator {
    pub services: Services,
    pub queues: Queues,
}

/// Delay before a run refused for its tenant's fair share is offered again.
const TENANT_BUSY_RETRY: Duration = Duration::from_secs(2);

impl Orchestrator {
    pub fn new(services: Services) -> Self {
        let queues = Queues::new(&services.redis);
        Self { services, queues }
    }

    pub fn view(&self, run: &runs::Model) -> RunView {
        RunView::new(run, &self.services.settings.server.public_url)
    }

    pub async fn publish(&self, kind: EventKind, run: &runs::Model) {
        let event = RunEvent {
            kind,
            tenant_id: run.tenant_id,
            run: self.view(run),
        };
        events::publish(&self.services.redis, &event).await;
    }

    pub(crate) fn dedupe_key(
        &self,
        tenant_id: Uuid,
        op: RunOperation,
        target_id: Uuid,
        selection_digest: &str,
    ) -> String {
        let mut key = format!("dedupe:{tenant_id}:{}:{target_id}", op.as_str());
        if !selection_digest.is_empty() {
            key.push(':');
            key.push_str(selection_digest);
        }
        self.services.redis.key(&key)
    }

    /// The dedupe key of `run`'s start.
    pub(crate) fn dedupe_key_of(&self, run: &runs::Model) -> String {
        self.dedupe_key(
            run.tenant_id,
            run.operation,
            run.target_id,
            &run.selection_digest,
        )
    }

    /// Publishes a run's state change and remembers the run as its dedupe key's active run,
    /// in one round trip: a start that is de-duplicated to it is then answered from Redis
    /// without reading the database. The remembered run expires after
    /// `runs.stale_after_secs` unless the run's heartbeat renews it, and is forgotten when
    /// the run finishes, so it never outlives the run by more than that.
    ///
    /// Setting it unconditionally is safe: the database admits one active run per key.
    pub(crate) async fn publish_active(&self, run: &runs::Model) {
        self.publish_active_with(run, None).await
    }

    /// Pushes a queued run's job and announces the run ([`Orchestrator::publish_active`]),
    /// remembering the job's id in the same round trip. A failed push is logged: the sweeper
    /// re-pushes queued runs that have no live job.
    pub(crate) async fn offer(&self, run: &runs::Model) {
        let record = match self.queues.push_unrecorded(run, Duration::ZERO).await {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::warn!(error = %e, "push failed; the sweeper will re-push");
                None
            }
        };
        self.publish_active_with(run, record).await;
    }

    /// [`Orchestrator::publish_active`], sending `also` (a command of the same change) in
    /// the same round trip.
    async fn publish_active_with(&self, run: &runs::Model, also: Option<redis::Cmd>) {
        let event = RunEvent {
            kind: EventKind::State,
            tenant_id: run.tenant_id,
            run: self.view(run),
        };
        let mut pipe = redis::pipe();
        if let Some(also) = also {
            pipe.add_command(also).ignore();
        }
        if let Ok(json) = serde_json::to_string(run) {
            pipe.cmd("SET")
                .arg(active_key(&self.dedupe_key_of(run)))
                .arg(format!("{}\n{json}", run.id))
                .arg("EX")
                .arg(self.active_ttl())
                .ignore();
        }
        if let Some(publish) = events::publish_command(&self.services.redis, &event) {
            pipe.add_command(publish).ignore();
        }
        let mut conn = self.services.redis.connection();
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %e, "could not publish the run's state");
        }
    }

    /// Keeps the remembered active run alive while its heartbeat beats.
    pub(crate) async fn renew_active(&self, dedupe_key: &str, run_id: Uuid) {
        let script = Script::new(
            "local v = redis.call('GET', KEYS[1]) if v and string.sub(v, 1, 36) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0",
        );
        let mut conn = self.services.redis.connection();
        let _: redis::RedisResult<i64> = script
            .key(active_key(dedupe_key))
            .arg(run_id.to_string())
            .arg(self.active_ttl())
            .invoke_async(&mut conn)
            .await;
    }

    /// How long a remembered active run is trusted without its heartbeat renewing it.
    pub(crate) fn active_ttl(&self) -> u64 {
        self.services.settings.runs.stale_after_secs.max(1)
    }

    /// Deletes the start's dedupe key only if it still names this run (compare-and-delete),
    /// and forgets the run as the key's active run.
    pub(crate) async fn release_dedupe_key(&self, run: &runs::Model) {
        let key = self.dedupe_key_of(run);
        let script = Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end local v = redis.call('GET', KEYS[2]) if v and string.sub(v, 1, 36) == ARGV[1] then redis.call('DEL', KEYS[2]) end return 1",
        );
        let mut conn = self.services.redis.connection();
        let result: redis::RedisResult<i64> = script
            .key(&key)
            .key(active_key(&key))
            .arg(run.id.to_string())
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = result {
            // Both expire by themselves; the database index stays the authority.
            tracing::warn!(error = %e, "could not release the dedupe key");
        }
    }

    /// `queued → running` for this worker. `None` when there is nothing to do now (someone
    /// else has it, it is finished, or its tenant is at its fair share and it was re-offered).
    pub async fn claim(
        &self,
        run_id: Uuid,
        worker: &str,
    ) -> StoreResult<Option<(run_store::Claim, Uuid)>> {
        let settings = &self.services.settings.runs;
        let lease = Uuid::new_v4();
        let max = chrono::Duration::seconds(settings.max_duration_secs as i64);
        match run_store::claim(
            &self.services.db,
            run_id,
            worker,
            lease,
            max,
            settings.tenant_concurrency,
        )
        .await?
        {
            Ok(claim) => {
                let run = &claim.run;
                // The caller's run span learns the tenant only now.
                tracing::Span::current()
                    .record("tenant_id", tracing::field::display(run.tenant_id));
                self.notify(run, &claim.around, "running", "started").await;
                if run.operation.writes_to_tenant() {
                    self.audit(
                        run,
                        &format!("{}.started", super::audit_prefix(run.operation)),
                        json!({"attempt": run.attempt}),
                    )
                    .await;
                }
                self.publish_active(run).await;
                Ok(Some((claim, lease)))
            }
            Err(ClaimRefusal::TenantBusy) => {
                if let Some(run) = run_store::get(&self.services.db, run_id).await?
                    && let Err(e) = self.queues.push_after(&run, TENANT_BUSY_RETRY).await
                {
                    tracing::warn!(error = %e, "re-offer failed; the sweeper will");
                }
                Ok(None)
            }
            Err(ClaimRefusal::NotQueued) => Ok(None),
        }
    }

    /// Terminal compare-and-set plus its side effects. `lease = None` is the reaper's form.
    /// Returns false when another writer finished or took the run first.
    ///
    /// Like [`Orchestrator::claim`], called inside the run's span (see [`run_span`]), which
    /// gives its log lines `run_id`, `tenant_id` and `operation`.
    pub async fn finish(
        &self,
        run: &runs::Model,
        guard: impl Into<FinishGuard>,
        terminal: Terminal,
    ) -> StoreResult<bool> {
        let db = &self.services.db;
        let Some(finished) = run_store::finish(db, run.id, guard, &terminal).await? else {
            return Ok(false);
        };
        // The finish's transaction could not read what surrounds the run: one statement does.
        let around = match run_store::surroundings(db, finished.id).await {
            Ok(around) => around,
            Err(e) => {
                tracing::warn!(error = %e, "could not read what surrounds the run; telling no one");
                None
            }
        };
        Ok(self.finished(finished, around).await)
    }

    /// [`Orchestrator::finish`] by the lease holder whose last item write stored `counts`:
    /// when they say every item is finished, the terminal write is tried as one statement
    /// (which counts the rows itself), and the full finish runs only if it did not apply.
    pub async fn finish_counted(
        &self,
        run: &runs::Model,
        lease: Uuid,
        terminal: Terminal,
        counts: &Counts,
    ) -> StoreResult<bool> {
        if counts.finished() == counts.total {
            let db = &self.services.db;
            if let Some((finished, around)) =
                run_store::finish_settled(db, run.id, lease, &terminal).await?
            {
                return Ok(self.finished(finished, Some(around)).await);
            }
        }
        self.finish(run, Some(lease), terminal).await
    }

    /// The side effects of a terminal state just stored (always true: it was). Those that
    /// depend on what surrounds the run are left out when `around` could not be read.
    async fn finished(&self, finished: runs::Model, around: Option<Surroundings>) -> bool {
        // Counted as soon as the terminal state is stored, before the side effects below, so
        // a scrape that follows a terminal run page already counts the run.
        let began = finished.started_at.unwrap_or(finished.queued_at);
        let duration = (finished.finished_at.unwrap_or_else(Utc::now) - began)
            .to_std()
            .unwrap_or_default();
        metrics::run_finished(
            finished.operation.as_str(),
            finished.status.as_str(),
            duration,
        );
        let verb = match finished.status {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "finished with some failures",
            RunStatus::Canceled => "was canceled",
            _ => "failed",
        };
        if finished.operation.writes_to_tenant() {
            self.audit(
                &finished,
                &format!("{}.finished", super::audit_prefix(finished.operation)),
                json!({
                    "status": finished.status.as_str(),
                    "error_code": finished.error_code,
                    "succeeded": finished.succeeded_items,
                    "failed": finished.failed_items,
                    "skipped": finished.skipped_items,
                    "created": finished.created_items,
                    "updated": finished.updated_items,
                    "unchanged": finished.unchanged_items,
                    "conflict": finished.conflict_items,
                    "deleted": finished.deleted_items,
                    "pre_restore_snapshot_id": finished.pre_restore_snapshot_id,
                }),
            )
            .await;
        }
        // The audit trail first (just above), then the people and systems to tell.
        if let Some(around) = &around {
            self.notify(&finished, around, finished.status.as_str(), verb)
                .await;
        }
        self.release_dedupe_key(&finished).await;
        self.publish(EventKind::State, &finished).await;
        // Most tenants have no webhook and most runs no fan-out: then nothing more is read.
        if around.as_ref().is_none_or(|a| a.webhooks) {
            self.queue_run_event(&finished).await;
        }
        if around.as_ref().is_none_or(|a| a.open_fanouts) {
            self.settle_parents_of(finished.id).await;
        }
        tracing::info!(status = finished.status.as_str(), "run finished");
        true
    }

    /// Notification to the initiator about a state change, if their preferences want it. A
    /// finished live restore is also of kind `live_restore`. Failing to write one must not
    /// change the run's outcome, so errors are logged.
    async fn notify(&self, run: &runs::Model, around: &Surroundings, kind: &str, verb: &str) {
        if let Err(e) = self.try_notify(run, around, kind, verb).await {
            tracing::warn!(error = %e, "could not write a notification");
        }
    }

    async fn try_notify(
        &self,
        run: &runs::Model,
        around: &Surroundings,
        kind: &str,
        verb: &str,
    ) -> StoreResult<()> {
        let db = &self.services.db;
        let also: &[&str] = if run.operation.writes_to_tenant() && run.status.is_terminal() {
            &["live_restore"]
        } else {
            &[]
        };
        let mut kinds = vec![kind];
        kinds.extend_from_slice(also);
        // A fan-out's own children: the fan-out tells its initiator, once.
        if !around.preferences.wants(run.tenant_id, &kinds) || around.started_by_fanout {
            return Ok(());
        }
        let label = operation_label(run.operation);
        let body = run
            .summary
            .clone()
            .unwrap_or_else(|| format!("{label} {verb}."));
        activity::notify(
            db,
            NewNotification {
                user_id: run.initiator_id,
                tenant_id: run.tenant_id,
                run_id: Some(run.id),
                fanout_id: None,
                kind: kind.to_string(),
                title: format!("{label} {verb}"),
                body,
            },
        )
        .await?;
        Ok(())
    }

    async fn audit(&self, run: &runs::Model, action: &str, details: serde_json::Value) {
        self.audit_as(run, run.initiator_id, action, details).await;
    }

    /// An audit event about `run` whose actor is `actor` (who asked to cancel it, ...).
    pub(crate) async fn audit_as(
        &self,
        run: &runs::Model,
        actor: Uuid,
        action: &str,
        details: serde_json::Value,
    ) {
        let result = activity::audit(
            &self.services.db,
            NewAuditEvent {
                tenant_id: run.tenant_id,
                actor_id: Some(actor),
                action: action.to_string(),
                run_id: Some(run.id),
                details,
            },
        )
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "could not write an audit event");
        }
    }

    /// The initiator's scopes of every tenant the run touches, if they may still do this
    /// (memberships change after queueing): the operation's role in the run's tenant, and
    /// membership of every other tenant the run reads (the source of a cross-tenant
    /// restore). `None` when any is gone.
    ///
    /// `scope` and `around` are the claim's: a run that touches only its own tenant needs no
    /// further read, as the claim read the initiator's role there.
    pub async fn initiator_scopes(
        &self,
        run: &runs::Model,
        spec: &RunSpec,
        scope: &TenantScope,
        around: &Surroundings,
    ) -> StoreResult<Option<Vec<TenantScope>>> {
        let tenants = spec.tenants(run.tenant_id);
        if tenants == [run.tenant_id] {
            let needed = super::required_role(run.operation);
            return Ok(around
                .initiator_role
                .filter(|role| role.allows(needed))
                .map(|_| vec![*scope]));
        }
        let mut granted =
            accounts::active_member_roles(&self.services.db, run.initiator_id, &tenants).await?;
        let mut scopes = Vec::with_capacity(tenants.len());
        for tenant_id in tenants {
            let needed = if tenant_id == run.tenant_id {
                super::required_role(run.operation)
            } else {
                Role::Viewer
            };
            match granted.remove(&tenant_id) {
                Some((scope, role)) if role.allows(needed) => scopes.push(scope),
                _ => return Ok(None),
            }
        }
        Ok(Some(scopes))
    }
}

/// The span every log line about one run is written in: `run_id`, `tenant_id` and
/// `operation` once per line, whichever process writes it. `tenant_id` may be left empty
/// and recorded later (a claim learns it from the row).
pub fn run_span(run_id: Uuid, tenant_id: Option<Uuid>, operation: RunOperation) -> tracing::Span {
    let span = tracing::info_span!(
        "run",
        %run_id,
        tenant_id = tracing::field::Empty,
        operation = operation.as_str(),
    );
    if let Some(tenant_id) = tenant_id {
        span.record("tenant_id", tracing::field::display(tenant_id));
    }
    span
}

/// A human label for an operation, used in notifications and summaries.
pub fn operation_label(op: RunOperation) -> &'static str {
    match op {
        RunOperation::CaptureSnapshot => "Snapshot capture",
        RunOperation::BackupSetCapture => "Backup set capture",
        RunOperation::Restore => "Restore",
        RunOperation::RestoreRerun => "Restore re-run",
        RunOperation::RestorePreview => "Restore preview",
        RunOperation::RestoreUndo => "Restore undo",
        RunOperation::Compare => "Comparison",
        RunOperation::Import => "Import",
        RunOperation::Prune => "Retention pruning",
        RunOperation::ConnectionTest => "Connection test",
        RunOperation::TenantPurge => "Tenant purge",
    }
}

/// The terminal state a run's items imply: all done → succeeded, some failed → partial,
/// every item failed → failed.
pub fn outcome(op: RunOperation, counts: &Counts, elapsed: Duration) -> Terminal {
    let label = operation_label(op);
    let secs = elapsed.as_secs_f64();
    let (status, error_code) = if counts.failed == 0 {
        (RunStatus::Succeeded, None)
    } else if counts.succeeded + counts.skipped > 0 {
        (RunStatus::Partial, Some("items_failed".to_string()))
    } else {
        (RunStatus::Failed, Some("items_failed".to_string()))
    };
    let summary = if counts.total == 0 {
        format!("{label} finished in {secs:.1} s: nothing to do (0 items).")
    } else {
        format!(
            "{label} {}: {} in {secs:.1} s.",
            match status {
                RunStatus::Succeeded => "succeeded",
                RunStatus::Partial => "partly succeeded",
                _ => "failed",
            },
            tally(op, counts),
        )
    };
    Terminal {
        status,
        error_code,
        error_context: (counts.failed > 0).then(|| json!({"failed_items": counts.failed})),
        summary,
    }
}

/// "12 items: 5 created, 4 updated, ..." (captures: "12 of 12 items succeeded, ...") — what
/// a run did, in the words of its operation.
pub fn tally(op: RunOperation, counts: &Counts) -> String {
    let parts: Vec<String> = match op {
        RunOperation::Compare => {
            return format!("{} objects differ", counts.succeeded);
        }
        RunOperation::Prune | RunOperation::TenantPurge => {
            return format!(
                "{} deletions, {} kept, {} failed",
                counts.deleted, counts.skipped, counts.failed
            );
        }
        RunOperation::CaptureSnapshot
        | RunOperation::BackupSetCapture
        | RunOperation::Import
        | RunOperation::ConnectionTest => {
            return format!(
                "{} of {} items succeeded, {} failed, {} skipped",
                counts.succeeded, counts.total, counts.failed, counts.skipped
            );
        }
        RunOperation::RestorePreview => vec![
            format!("would create {}", counts.created),
            format!("would update {}", counts.updated),
            format!("{} unchanged", counts.unchanged),
            format!("{} conflict", counts.conflict),
            format!(
                "{} skipped",
                counts.skipped - counts.conflict.min(counts.skipped)
            ),
            format!("{} failed", counts.failed),
        ],
        RunOperation::Restore | RunOperation::RestoreRerun => vec![
            format!("{} created", counts.created),
            format!("{} updated", counts.updated),
            format!("{} unchanged", counts.unchanged),
            format!("{} conflict", counts.conflict),
            format!("{} skipped", counts.skipped),
            format!(
                "{} failed",
                counts.failed - counts.conflict.min(counts.failed)
            ),
        ],
        RunOperation::RestoreUndo => vec![
            format!("{} reverted", counts.updated),
            format!("{} deleted", counts.deleted),
            format!("{} unchanged", counts.unchanged),
            format!("{} skipped", counts.skipped),
            format!("{} failed", counts.failed),
        ],
    };
    format!("{} items: {}", counts.total, parts.join(", "))
}

/// A run-level failure (nothing or not everything could be attempted).
pub fn failure(op: RunOperation, error: &SafeError, counts: &Counts) -> Terminal {
    Terminal {
        status: RunStatus::Failed,
        error_code: Some(error.code.clone()),
        error_context: Some(json!({"message": error.message})),
        summary: format!(
            "{} failed: {} ({} of {} items done; {}).",
            operation_label(op),
            error.message,
            counts.finished(),
            counts.total,
            tally(op, counts),
        ),
    }
}

/// Why an execution stopped early.
#[derive(Debug)]
pub enum ExecError {
    /// The whole run failed with a safe error.
    Failed(SafeError),
    /// The lease was lost (re-queued by the reaper or finished elsewhere): stop silently.
    LeaseLost,
    /// Someone asked to cancel the run: stop after the item in flight.
    Canceled,
    /// The database went away mid-run: the worker waits for it (within
    /// `database.retry_budget_secs`) and resumes the run where its recorded items left off.
    Interrupted(String),
}

impl From<StoreError> for ExecError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "the database went away during a run");
            return ExecError::Interrupted(e.to_string());
        }
        tracing::error!(error = %e, "database error during a run");
        ExecError::Failed(SafeError::new(
            "database_error",
            "the run could not record its progress",
        ))
    }
}

/// One claimed run being executed: what an operation's executor works through.
/// A run this worker holds the lease of, with its spec read and the scopes it may use.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub run: runs::Model,
    pub spec: RunSpec,
    pub lease: Uuid,
    /// The run's tenant, granted by the claim.
    pub scope: TenantScope,
    /// The tenant's row as the claim read it, for the first Graph client of the run's own
    /// tenant (later ones read it afresh).
    pub tenant: Option<tenants::Model>,
    /// Every tenant the run touches, granted by the initiator's memberships at execution
    /// time ([`Orchestrator::initiator_scopes`]).
    pub initiator_scopes: Vec<TenantScope>,
}

pub struct Execution {
    pub orchestrator: Orchestrator,
    /// The worker process's Graph connections, token cache and rate limiter.
    pub graph: GraphShared,
    pub run: runs::Model,
    /// What the run does, parsed from the claimed row.
    pub spec: RunSpec,
    pub lease: Uuid,
    scope: TenantScope,
    initiator_scopes: Vec<TenantScope>,
    /// [`Claimed::tenant`], until it is taken.
    claimed_tenant: std::sync::Mutex<Option<tenants::Model>>,
    lease_lost: watch::Receiver<bool>,
    /// Set once a cancel request is seen (by the run's heartbeat, or after an item).
    canceled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// When the cancel request was last looked for after an item.
    cancel_checked: std::sync::Mutex<std::time::Instant>,
    /// A sentence the executor adds to the run's summary ("1.2 MiB reclaimed").
    note: std::sync::Mutex<Option<String>>,
    /// What this execution's item writes did: whether it tried any, and the counts the last
    /// one stored (cleared when one fails, since it may have stored part of its rows).
    /// Item writes of one execution go one at a time under this lock.
    items: tokio::sync::Mutex<ItemWrites>,
    /// How often this execution has begun: more than once when it resumes after the
    /// database went away.
    passes: std::sync::atomic::AtomicU32,
}

#[derive(Debug, Default)]
struct ItemWrites {
    tried: bool,
    counts: Option<Counts>,
}

/// The Redis key remembering the active run of a dedupe key: `{run id}\n{Run Record JSON}`.
pub(crate) fn active_key(dedupe_key: &str) -> String {
    format!("{dedupe_key}:active")
}

/// The run a dedupe key's active-run value names, if it is that run's and readable.
pub(crate) fn remembered_run(value: &str, holder: Uuid) -> Option<runs::Model> {
    let (id, json) = value.split_once('\n')?;
    if Uuid::parse_str(id).ok()? != holder {
        return None;
    }
    let run: runs::Model = serde_json::from_str(json).ok()?;
    (run.id == holder && !run.status.is_terminal()).then_some(run)
}

/// How often, at most, an executor looks for a cancel request between items.
const CANCEL_CHECK_EVERY: Duration = Duration::from_millis(250);

impl Execution {
    pub fn new(
        orchestrator: Orchestrator,
        graph: GraphShared,
        claimed: Claimed,
        lease_lost: watch::Receiver<bool>,
        canceled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Self {
            orchestrator,
            graph,
            run: claimed.run,
            spec: claimed.spec,
            lease: claimed.lease,
            scope: claimed.scope,
            initiator_scopes: claimed.initiator_scopes,
            claimed_tenant: std::sync::Mutex::new(claimed.tenant),
            lease_lost,
            canceled,
            cancel_checked: std::sync::Mutex::new(std::time::Instant::now()),
            note: std::sync::Mutex::new(None),
            items: tokio::sync::Mutex::new(ItemWrites::default()),
            passes: std::sync::atomic::AtomicU32::new(0),
        }
    }

    pub fn run_id(&self) -> Uuid {
        self.run.id
    }

    /// The row of tenant `tenant_id` as the claim read it, once: it is the run's own tenant
    /// and nothing took it yet.
    pub fn take_claimed_tenant(&self, tenant_id: Uuid) -> Option<tenants::Model> {
        let mut slot = self.claimed_tenant.lock().ok()?;
        slot.take_if(|t| t.id == tenant_id)
    }

    /// Adds a sentence to the summary the run ends with (when its items decide it).
    pub fn set_note(&self, note: String) {
        if let Ok(mut slot) = self.note.lock() {
            *slot = Some(note);
        }
    }

    /// The executor's sentence for the summary, if it left one.
    pub fn note(&self) -> Option<String> {
        self.note.lock().ok().and_then(|n| n.clone())
    }

    /// Marks the run canceled: the executor stops at its next check.
    pub fn note_canceled(&self) {
        self.canceled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Looks for a cancel request now and then (at most every 250 ms).
    async fn look_for_cancel(&self) -> Result<(), ExecError> {
        let due = self
            .cancel_checked
            .lock()
            .map(|mut at| {
                let due = at.elapsed() >= CANCEL_CHECK_EVERY;
                if due {
                    *at = std::time::Instant::now();
                }
                due
            })
            .unwrap_or(true);
        if due
            && run_store::cancel_request(&self.services().db, self.run.id)
                .await?
                .is_some()
        {
            self.note_canceled();
        }
        self.check_lease()
    }

    /// The run's own tenant.
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// Another tenant the run reads (a cross-tenant restore's source), as the initiator's
    /// membership granted it at execution time; no scope, no read.
    pub fn scope_of(&self, tenant_id: Uuid) -> Result<&TenantScope, ExecError> {
        if tenant_id == self.scope.tenant_id() {
            return Ok(&self.scope);
        }
        self.initiator_scopes
            .iter()
            .find(|s| s.tenant_id() == tenant_id)
            .ok_or_else(|| {
                ExecError::Failed(SafeError::new(
                    "authorization_revoked",
                    "the run touches a tenant its initiator is not a member of",
                ))
            })
    }

    pub fn services(&self) -> &Services {
        &self.orchestrator.services
    }

    /// Fails fast when the lease is gone, so a re-queued run is not worked twice, and when the
    /// run was canceled, so no further item starts.
    pub fn check_lease(&self) -> Result<(), ExecError> {
        if *self.lease_lost.borrow() {
            Err(ExecError::LeaseLost)
        } else if self.canceled.load(std::sync::atomic::Ordering::SeqCst) {
            Err(ExecError::Canceled)
        } else {
            Ok(())
        }
    }

    /// Registers the run's items (pending) so progress has a total; a resumed run keeps its
    /// existing rows.
    pub async fn plan(&self, items: &[PlannedItem]) -> Result<(), ExecError> {
        self.check_lease()?;
        let counts = self
            .write_items(|db| run_store::plan_items(db, &self.run, items))
            .await?;
        self.publish_progress(&counts).await;
        Ok(())
    }

    /// Item keys already finished by an earlier attempt: a resumed run skips them.
    pub async fn finished_items(&self) -> Result<HashSet<String>, ExecError> {
        Ok(self
            .item_rows()
            .await?
            .into_iter()
            .filter(|r| {
                matches!(
                    r.status,
                    RunItemStatus::Succeeded | RunItemStatus::Failed | RunItemStatus::Skipped
                )
            })
            .map(|r| r.item_key)
            .collect())
    }

    /// Marks the start of a pass of the executor over this run (see [`Execution::is_fresh`]).
    pub(crate) fn begin_pass(&self) {
        self.passes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// True in the first pass of the run's first attempt (not resumed after a database
    /// outage): what this pass has not stored yet, no earlier pass stored either, so it need
    /// not be looked for.
    pub fn is_fresh(&self) -> bool {
        self.run.attempt <= 1 && self.passes.load(std::sync::atomic::Ordering::Relaxed) <= 1
    }

    /// Item rows of this run (with write intents), for executors that resume carefully. A
    /// first attempt that has written none yet has none to read: only the executions of
    /// this run write its items.
    pub async fn item_rows(&self) -> Result<Vec<run_items::Model>, ExecError> {
        if self.run.attempt <= 1 && !self.items.lock().await.tried {
            return Ok(Vec::new());
        }
        Ok(run_store::all_items(&self.services().db, &self.scope, self.run.id).await?)
    }

    pub async fn record(&self, result: ItemResult) -> Result<(), ExecError> {
        self.record_all(vec![result]).await
    }

    /// Records many items' results at once (a few statements, one progress event): for
    /// executors that finish items faster than one round trip each.
    pub async fn record_all(&self, results: Vec<ItemResult>) -> Result<(), ExecError> {
        if results.is_empty() {
            return Ok(());
        }
        let statuses: Vec<RunItemStatus> = results.iter().map(|r| r.status).collect();
        self.record_with(&statuses, |db| {
            run_store::record_items(db, &self.run, results)
        })
        .await
    }

    /// Records item results (of `statuses`) that `write` stores, with whatever else it
    /// writes in the same statements, and returns the counts of: one progress event, then
    /// the cancel check. No results: nothing is written, and the attempt made no progress.
    pub async fn record_with<'a, F, Fut>(
        &'a self,
        statuses: &[RunItemStatus],
        write: F,
    ) -> Result<(), ExecError>
    where
        F: FnOnce(&'a sea_orm::DatabaseConnection) -> Fut,
        Fut: std::future::Future<Output = crate::store::StoreResult<Counts>>,
    {
        if statuses.is_empty() {
            return Ok(());
        }
        self.check_lease()?;
        for status in statuses {
            metrics::run_item(status.as_str());
        }
        let counts = self.write_items(write).await?;
        self.publish_progress(&counts).await;
        // The items are recorded: stop here if someone asked to cancel.
        self.look_for_cancel().await
    }

    /// The run's item counts as this execution's last item write stored them; `None` when it
    /// wrote none, or the last one failed (then count the rows).
    pub async fn stored_counts(&self) -> Option<Counts> {
        self.items.lock().await.counts
    }

    /// One item write, keeping what [`Execution::stored_counts`] answers up to date.
    async fn write_items<'a, F, Fut>(&'a self, write: F) -> Result<Counts, ExecError>
    where
        F: FnOnce(&'a sea_orm::DatabaseConnection) -> Fut,
        Fut: std::future::Future<Output = crate::store::StoreResult<Counts>>,
    {
        let mut items = self.items.lock().await;
        items.tried = true;
        items.counts = None;
        let counts = write(&self.services().db).await?;
        items.counts = Some(counts);
        Ok(counts)
    }

    pub async fn record_write_intent(
        &self,
        item_key: &str,
        intent: serde_json::Value,
    ) -> Result<(), ExecError> {
        self.check_lease()?;
        let mut items = self.items.lock().await;
        items.tried = true;
        // It marks the item running: the run's counts are taken afresh at its end.
        items.counts = None;
        run_store::record_write_intent(&self.services().db, self.run.id, item_key, intent).await?;
        Ok(())
    }

    /// Tells watchers the counts just stored (the claimed run with them, not a re-read).
    async fn publish_progress(&self, counts: &Counts) {
        let run = counts.applied_to(&self.run);
        self.orchestrator.publish(EventKind::Progress, &run).await;
    }

    pub fn started_at(&self) -> chrono::DateTime<Utc> {
        self.run.started_at.unwrap_or_else(Utc::now)
    }
}

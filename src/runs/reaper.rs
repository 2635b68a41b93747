//! The sweeper/reaper: the part of the protocol that turns every failure of delivery or of
//! a worker into either a new attempt or a terminal state.
//!
//! Each tick (one per fleet, by a short Redis lock):
//! 1. running runs past their deadline → `failed` / `timed_out`;
//! 2. running runs with a stale heartbeat → re-queued, or `failed` / `worker_lost` after
//!    `runs.max_attempts` attempts in a row that recorded no new item result;
//! 3. queued runs without a live job (Redis flushed, push lost) → pushed again;
//! 4. fan-outs whose children all ended → settled (normally the last child's finish does
//!    it; this covers a process that died in between, or while starting the children).

use std::time::Duration;

use chrono::Utc;
use entity::runs;
use serde_json::json;
use tracing::Instrument;

use super::SafeError;
use super::lifecycle::{Orchestrator, failure, run_span};
use crate::metrics;
use crate::store::StoreResult;
use crate::store::runs::{self as run_store, Terminal};

/// What one tick did (for logs, tests and metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReaperReport {
    pub timed_out: u32,
    pub requeued: u32,
    pub worker_lost: u32,
    pub repushed: u32,
}

impl Orchestrator {
    /// Runs the reaper until `stop` resolves; `on_tick` hears whether each tick it took
    /// worked (the worker's health reads it).
    pub async fn run_reaper(
        &self,
        stop: impl std::future::Future<Output = ()>,
        on_tick: impl Fn(Result<(), String>),
    ) {
        let every = Duration::from_secs(self.services.settings.runs.reaper_interval_secs);
        let stale_after = Duration::from_secs(self.services.settings.runs.stale_after_secs);
        // While the database was away no worker could heartbeat: after an outage, heartbeats
        // are judged again only once they have had a full window to arrive.
        let mut last_failed: Option<std::time::Instant> = None;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(every) => {}
            }
            if !self.take_reaper_turn(every).await {
                // Another process reaps this interval; this one is alive all the same.
                on_tick(Ok(()));
                continue;
            }
            let trust_heartbeats = last_failed.is_none_or(|at| at.elapsed() >= stale_after);
            match self.reap(trust_heartbeats).await {
                Ok(report) => {
                    if report != ReaperReport::default() {
                        tracing::info!(?report, "reaper acted");
                    }
                    on_tick(Ok(()));
                }
                Err(e) => {
                    last_failed = Some(std::time::Instant::now());
                    tracing::warn!(error = %e, "reaper tick failed");
                    on_tick(Err(e.to_string()));
                }
            }
        }
    }

    /// One reaper per fleet per interval; without Redis every process reaps (the updates
    /// are guarded, so that is only wasteful, not wrong).
    async fn take_reaper_turn(&self, every: Duration) -> bool {
        let mut conn = self.services.redis.connection();
        let got: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg(self.services.redis.key("reaper:turn"))
            .arg(std::process::id())
            .arg("NX")
            .arg("PX")
            .arg((every.as_millis() as u64).saturating_sub(50).max(100))
            .query_async(&mut conn)
            .await;
        !matches!(got, Ok(None))
    }

    /// One pass over overdue, stale and undelivered runs.
    pub async fn reap_once(&self) -> StoreResult<ReaperReport> {
        self.reap(true).await
    }

    async fn reap(&self, trust_heartbeats: bool) -> StoreResult<ReaperReport> {
        let settings = &self.services.settings.runs;
        let db = &self.services.db;
        let now = Utc::now();
        let mut report = ReaperReport::default();

        for run in run_store::overdue(db, now).await? {
            if self.time_out(&run).instrument(span_of(&run)).await? {
                report.timed_out += 1;
                self.note_action("timed_out", &run).await;
            }
        }

        let stale_before = now - chrono::Duration::seconds(settings.stale_after_secs as i64);
        let stale = if trust_heartbeats {
            run_store::stale(db, stale_before).await?
        } else {
            Vec::new()
        };
        for run in stale {
            match self.recover(&run).instrument(span_of(&run)).await? {
                Some(Recovery::Requeued) => {
                    report.requeued += 1;
                    self.note_action("requeued", &run).await;
                }
                Some(Recovery::WorkerLost) => {
                    report.worker_lost += 1;
                    self.note_action("worker_lost", &run).await;
                }
                None => {}
            }
        }

        let waiting_before = now - chrono::Duration::seconds(settings.repush_after_secs as i64);
        for run in run_store::waiting(db, waiting_before).await? {
            if self.repush(&run).instrument(span_of(&run)).await? {
                report.repushed += 1;
                self.note_action("repushed", &run).await;
            }
        }
        // A fan-out whose starting process died keeps the children it got.
        let abandoned_before = now - chrono::Duration::minutes(10);
        for fanout in crate::store::fanouts::open(db).await? {
            if fanout.started_at.is_none() && fanout.created_at < abandoned_before {
                crate::store::fanouts::mark_started(db, fanout.id).await?;
            }
            self.settle_fanout(fanout.id).await?;
        }
        metrics::reaper_actions("timed_out", report.timed_out);
        metrics::reaper_actions("requeued", report.requeued);
        metrics::reaper_actions("worker_lost", report.worker_lost);
        metrics::reaper_actions("repushed", report.repushed);
        Ok(report)
    }

    /// Adds an action to the fleet's reaper log (the operations page shows the newest).
    async fn note_action(&self, action: &'static str, run: &runs::Model) {
        let entry = ReaperAction {
            at: Utc::now(),
            action: action.to_string(),
            run_id: run.id,
            tenant_id: run.tenant_id,
            operation: run.operation,
            worker: run.lease_owner.clone(),
        };
        let broker = &self.services.redis;
        let key = broker.key(REAPER_LOG);
        let mut conn = broker.connection();
        let r: redis::RedisResult<()> = redis::pipe()
            .lpush(&key, serde_json::to_string(&entry).unwrap_or_default())
            .ignore()
            .ltrim(&key, 0, REAPER_LOG_LEN - 1)
            .ignore()
            .query_async(&mut conn)
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "could not log a reaper action in Redis");
        }
    }

    /// A running run past its deadline → `failed` / `timed_out`.
    async fn time_out(&self, run: &runs::Model) -> StoreResult<bool> {
        let counts = run_store::count_items(&self.services.db, run.id).await?;
        let error = SafeError::new(
            "timed_out",
            format!(
                "the run exceeded its maximum duration of {} s",
                self.services.settings.runs.max_duration_secs
            ),
        );
        self.finish(run, None, failure(run.operation, &error, &counts))
            .await
    }

    /// A running run whose worker stopped heartbeating: another attempt, or `worker_lost`.
    async fn recover(&self, run: &runs::Model) -> StoreResult<Option<Recovery>> {
        let db = &self.services.db;
        let Some(lease) = run.lease_token else {
            return Ok(None);
        };
        // Attempts that recorded new item results are progress: only attempts in a row
        // without any count against the limit.
        let without_progress = run.attempt - run.progress_attempt;
        if without_progress < run.max_attempts {
            if !run_store::requeue(db, run.id, lease).await? {
                return Ok(None);
            }
            let requeued = run_store::get(db, run.id).await?.unwrap_or(run.clone());
            self.offer(&requeued).await;
            tracing::warn!(
                attempt = run.attempt,
                owner = run.lease_owner.as_deref().unwrap_or("?"),
                "worker lost; run re-queued"
            );
            return Ok(Some(Recovery::Requeued));
        }
        let counts = run_store::count_items(db, run.id).await?;
        let error = SafeError::new(
            "worker_lost",
            format!(
                "the worker executing the run stopped responding {without_progress} time(s) in a row without progress"
            ),
        );
        let mut terminal: Terminal = failure(run.operation, &error, &counts);
        terminal.error_context = Some(json!({
            "attempts": run.attempt,
            "attempts_without_progress": without_progress,
        }));
        Ok(self
            .finish(run, None, terminal)
            .await?
            .then_some(Recovery::WorkerLost))
    }

    /// A queued run without a live job (Redis flushed, push lost) → pushed again.
    async fn repush(&self, run: &runs::Model) -> StoreResult<bool> {
        let live = self.queues.has_live_job(run).await.unwrap_or(true);
        if live {
            return Ok(false);
        }
        match self.queues.push(run).await {
            Ok(()) => {
                run_store::touch(&self.services.db, run.id).await?;
                tracing::info!("queued run without a live job pushed again");
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "re-push failed");
                Ok(false)
            }
        }
    }
}

/// `{prefix}:reaper:log`: the newest reaper actions, newest first.
const REAPER_LOG: &str = "reaper:log";
const REAPER_LOG_LEN: isize = 200;

/// One thing the reaper did to a run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReaperAction {
    pub at: chrono::DateTime<Utc>,
    /// `timed_out`, `requeued`, `worker_lost` or `repushed`.
    pub action: String,
    pub run_id: uuid::Uuid,
    pub tenant_id: uuid::Uuid,
    pub operation: entity::enums::RunOperation,
    /// The worker that held the run's lease, if one did.
    pub worker: Option<String>,
}

/// The newest `n` reaper actions of the fleet, newest first.
pub async fn recent_actions(
    broker: &crate::broker::Broker,
    n: usize,
) -> redis::RedisResult<Vec<ReaperAction>> {
    let mut conn = broker.connection();
    let rows: Vec<String> = redis::cmd("LRANGE")
        .arg(broker.key(REAPER_LOG))
        .arg(0)
        .arg(n.saturating_sub(1))
        .query_async(&mut conn)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect())
}

enum Recovery {
    Requeued,
    WorkerLost,
}

fn span_of(run: &runs::Model) -> tracing::Span {
    run_span(run.id, Some(run.tenant_id), run.operation)
}

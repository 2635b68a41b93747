//! The worker process: one apalis consumer per queue family, each executing as many runs as
//! its [`slots`] allow (`worker.concurrency` up to `worker.max_concurrency`, sized to the
//! CPU), plus the reaper, all supervised ([`supervise`]: restarted with
//! backoff when they stop), and a small health endpoint ([`health`]).
//!
//! Wiring above `runs`: it hands claimed runs to `jobs` and serves `/healthz` and
//! `/metrics`; neither `runs` nor `jobs` knows this module.

mod health;
mod slots;
mod supervise;

pub use health::router as health_router;
pub use supervise::{Health, HealthReport, HealthStatus, PartReport};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apalis::prelude::{BackendExt, BoxDynError, Data, Event, EventListenerExt, WorkerBuilder};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use anyhow::Context as _;

use crate::graph::{GraphShared, Limiter, LimiterOptions};
use crate::runs::SafeError;
use crate::runs::lifecycle::{
    Claimed, ExecError, Execution, Orchestrator, failure, outcome, run_span,
};
use crate::runs::queue::{Family, RunJob};
use crate::runs::{RunSpec, SpecError, fleet};
use crate::services::Services;
use crate::startup::shutdown_signal;
use crate::store::runs::{self as run_store};
use slots::{SlotLayer, Slots};
use supervise::{Stopped, supervise};

/// Shared by every job a worker process executes.
#[derive(Clone)]
struct WorkerState {
    orchestrator: Orchestrator,
    graph: GraphShared,
    /// Runs this process holds a lease on: handed back to the queue if shutdown cuts them off.
    in_flight: Arc<Mutex<HashMap<Uuid, Uuid>>>,
    process_name: String,
    /// Per queue family, the slots for runs executing in this process.
    slots: [Arc<Slots>; 3],
}

/// `policyvault worker`: runs until Ctrl-C / SIGTERM.
pub async fn run_worker_process(services: Services) -> anyhow::Result<()> {
    let listen = services.settings.worker.listen;
    let health_listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (worker.listen): give each worker on a host its own \
                 address with PV__WORKER__LISTEN, or port 0 for any free port"
            )
        })?;
    let health_addr = health_listener.local_addr()?;
    println!("PolicyVault worker running (health on http://{health_addr})");
    let health = Health::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = health::router(services.clone(), health.clone());
    let health_task = tokio::spawn(async move {
        let _ = axum::serve(health_listener, app).await;
    });
    let worker = tokio::spawn(run_worker_with_health(
        services,
        wait_for(stop_rx),
        health,
        Some(health_addr.to_string()),
    ));
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let result = worker.await?;
    health_task.abort();
    result
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Runs the queue consumers and the reaper until `stop` resolves, then hands back whatever
/// could not finish within the grace period.
pub async fn run_worker(
    services: Services,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_worker_with_health(services, stop, Health::default(), None).await
}

/// [`run_worker`], reporting the state of its parts to `health` (what `/healthz` reads, at
/// `health_addr` when it serves one) and its heartbeat to the fleet registry.
pub async fn run_worker_with_health(
    services: Services,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    health: Health,
    health_addr: Option<String>,
) -> anyhow::Result<()> {
    let orchestrator = Orchestrator::new(services);
    let settings = orchestrator.services.settings.clone();
    let limiter = Limiter::fleet(
        orchestrator.services.redis.clone(),
        LimiterOptions::default(),
    );
    let graph = GraphShared::from_settings(&settings.graph, limiter)?;
    let concurrency = settings.worker.concurrency.max(1);
    let max_concurrency = settings.worker.max_concurrency.max(concurrency);
    let state = WorkerState {
        orchestrator: orchestrator.clone(),
        graph,
        in_flight: Arc::new(Mutex::new(HashMap::new())),
        process_name: process_name(),
        slots: Family::ALL.map(|_| Slots::new(concurrency, max_concurrency)),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut parts = tokio::task::JoinSet::new();
    parts.spawn(supervise(
        "reaper".into(),
        health.clone(),
        stop_rx.clone(),
        {
            let orchestrator = orchestrator.clone();
            let health = health.clone();
            let stop_rx = stop_rx.clone();
            move |_| reaper(orchestrator.clone(), health.clone(), stop_rx.clone())
        },
    ));
    parts.spawn(supervise(
        "scheduler".into(),
        health.clone(),
        stop_rx.clone(),
        {
            let orchestrator = orchestrator.clone();
            let health = health.clone();
            let stop_rx = stop_rx.clone();
            let worker = state.process_name.clone();
            move |_| {
                scheduler(
                    orchestrator.clone(),
                    worker.clone(),
                    health.clone(),
                    stop_rx.clone(),
                )
            }
        },
    ));
    parts.spawn(supervise(
        "webhooks".into(),
        health.clone(),
        stop_rx.clone(),
        {
            let orchestrator = orchestrator.clone();
            let health = health.clone();
            let stop_rx = stop_rx.clone();
            move |_| webhooks(orchestrator.clone(), health.clone(), stop_rx.clone())
        },
    ));
    for family in Family::ALL {
        let name = format!("consumer:{}", family.as_str());
        let start = {
            let state = state.clone();
            let health = health.clone();
            let name = name.clone();
            let stop_rx = stop_rx.clone();
            move |incarnation| {
                consume(
                    state.clone(),
                    family,
                    incarnation,
                    health.clone(),
                    name.clone(),
                    stop_rx.clone(),
                )
            }
        };
        parts.spawn(supervise(name, health.clone(), stop_rx.clone(), start));
    }
    tracing::info!(
        worker = %state.process_name,
        concurrency,
        max_concurrency,
        "worker started on queues capture, restore, preview"
    );
    let adapting = tokio::spawn(slots::adapt(
        Family::ALL
            .iter()
            .map(|f| (f.as_str(), state.slots[*f as usize].clone()))
            .collect(),
        Duration::from_secs(1),
        stop_rx.clone(),
    ));
    let beating = tokio::spawn(heartbeat(
        state.clone(),
        health_addr.unwrap_or_default(),
        stop_rx.clone(),
    ));
    stop.await;
    let _ = stop_tx.send(true);
    beating.abort();
    adapting.abort();
    let _ = fleet::leave(&orchestrator.services.redis, &state.process_name).await;
    // Consumers stop taking jobs at once; runs in flight get the grace period to finish.
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        while parts.join_next().await.is_some() {}
        for slots in &state.slots {
            slots.drain().await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(worker = %state.process_name, "grace period over; handing back unfinished runs");
        parts.abort_all();
    }
    hand_back(&state).await;
    tracing::info!(worker = %state.process_name, "worker stopped");
    Ok(())
}

/// Tells the fleet registry this process is alive, every `runs.heartbeat_secs`, until stopped.
/// A beat Redis missed is simply the next one: the registry is for people, not for safety.
async fn heartbeat(state: WorkerState, health_addr: String, mut stop: watch::Receiver<bool>) {
    let services = &state.orchestrator.services;
    let every = Duration::from_secs(services.settings.runs.heartbeat_secs.max(1));
    let started_at = chrono::Utc::now();
    let host = host_name();
    loop {
        let running = state.in_flight.lock().map(|m| m.len()).unwrap_or(0);
        let beat = fleet::WorkerBeat {
            name: state.process_name.clone(),
            host: host.clone(),
            pid: std::process::id(),
            health_addr: health_addr.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at,
            seen_at: chrono::Utc::now(),
            running,
        };
        if let Err(e) = fleet::beat(&services.redis, &beat, every.as_secs() * 3).await {
            tracing::debug!(error = %e, "fleet heartbeat not written");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One incarnation of a queue's consumer: an apalis worker under a fresh name (apalis refuses
/// to register a name it saw alive recently), up once it has registered with Redis.
async fn consume(
    state: WorkerState,
    family: Family,
    incarnation: u32,
    health: Health,
    part: String,
    stop: watch::Receiver<bool>,
) -> Stopped {
    let poll = Duration::from_millis(
        state
            .orchestrator
            .services
            .settings
            .worker
            .poll_interval_ms
            .max(10),
    );
    let backend = state
        .orchestrator
        .queues
        .storage(family)
        .poll_with_interval(poll);
    let name = format!("{}-{}-{incarnation}", state.process_name, family.as_str());
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .data(state.clone())
        .layer(SlotLayer(state.slots[family as usize].clone()))
        .on_event(move |_, event| {
            if matches!(event, Event::HeartBeat) {
                health.up(&part);
            }
        })
        .build(handle_job);
    let stopped = async move {
        wait_for(stop).await;
        Ok::<(), std::io::Error>(())
    };
    match worker.run_until(stopped).await {
        Ok(()) => Stopped::Failed("the queue consumer ended".into()),
        Err(e) => Stopped::Failed(format!("the queue consumer failed: {e}")),
    }
}

/// One incarnation of the reaper: up while its ticks succeed.
async fn reaper(
    orchestrator: Orchestrator,
    health: Health,
    stop: watch::Receiver<bool>,
) -> Stopped {
    let task = tokio::spawn(async move {
        orchestrator
            .run_reaper(wait_for(stop), move |tick| match tick {
                Ok(()) => health.up("reaper"),
                Err(reason) => health.down("reaper", &format!("reaper tick failed: {reason}")),
            })
            .await;
    });
    match task.await {
        Ok(()) => Stopped::Shutdown,
        Err(e) if e.is_panic() => {
            Stopped::Failed(format!("the reaper panicked: {}", panic_text(e)))
        }
        Err(e) => Stopped::Failed(format!("the reaper ended: {e}")),
    }
}

/// Polls for due schedules every `schedules.poll_ms` until stopped.
async fn scheduler(
    orchestrator: Orchestrator,
    worker: String,
    health: Health,
    mut stop: watch::Receiver<bool>,
) -> Stopped {
    let every = Duration::from_millis(orchestrator.services.settings.schedules.poll_ms.max(50));
    let task = tokio::spawn(async move {
        loop {
            match orchestrator
                .poll_schedules(&worker, chrono::Utc::now())
                .await
            {
                Ok(_) => health.up("scheduler"),
                Err(e) => health.down("scheduler", &format!("scheduler poll failed: {e}")),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
    match task.await {
        Ok(()) => Stopped::Shutdown,
        Err(e) if e.is_panic() => {
            Stopped::Failed(format!("the scheduler panicked: {}", panic_text(e)))
        }
        Err(e) => Stopped::Failed(format!("the scheduler ended: {e}")),
    }
}

/// Delivers due webhook events (and, with `smtp.enabled`, the e-mail copies of
/// notifications) every second until stopped.
async fn webhooks(
    orchestrator: Orchestrator,
    health: Health,
    mut stop: watch::Receiver<bool>,
) -> Stopped {
    let client = match crate::http::client(Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => return Stopped::Failed(format!("no HTTP client for webhooks: {e}")),
    };
    let mailer =
        match crate::runs::email::Mailer::from_settings(&orchestrator.services.settings.smtp) {
            Ok(m) => m,
            Err(e) => return Stopped::Failed(format!("no e-mail transport: {e}")),
        };
    let task = tokio::spawn(async move {
        loop {
            let mut result = orchestrator
                .deliver_webhooks(&client)
                .await
                .map_err(|e| format!("webhook delivery failed: {e}"));
            if let (Ok(_), Some(mailer)) = (&result, &mailer) {
                result = orchestrator
                    .deliver_emails(mailer)
                    .await
                    .map_err(|e| format!("e-mail delivery failed: {e}"));
            }
            match result {
                Ok(_) => health.up("webhooks"),
                Err(e) => health.down("webhooks", &e),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
    match task.await {
        Ok(()) => Stopped::Shutdown,
        Err(e) if e.is_panic() => {
            Stopped::Failed(format!("webhook delivery panicked: {}", panic_text(e)))
        }
        Err(e) => Stopped::Failed(format!("webhook delivery ended: {e}")),
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Unique per process incarnation: host, pid and a random suffix.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

fn process_name() -> String {
    let host = host_name();
    let suffix = Uuid::new_v4().simple().to_string();
    format!("pv-{host}-{}-{}", std::process::id(), &suffix[..6])
}

/// Re-queues runs this process still holds after the grace period.
async fn hand_back(state: &WorkerState) {
    let held: Vec<(Uuid, Uuid)> = state
        .in_flight
        .lock()
        .map(|m| m.iter().map(|(r, l)| (*r, *l)).collect())
        .unwrap_or_default();
    let orchestrator = &state.orchestrator;
    for (run_id, lease) in held {
        match run_store::requeue(&orchestrator.services.db, run_id, lease).await {
            Ok(true) => match run_store::get(&orchestrator.services.db, run_id).await {
                Ok(Some(run)) => {
                    let _ = orchestrator.queues.push(&run).await;
                    let _span = run_span(run.id, Some(run.tenant_id), run.operation).entered();
                    tracing::info!("handed back an unfinished run");
                }
                // The reaper re-pushes a queued run without a live job.
                _ => tracing::info!(run_id = %run_id, "handed back an unfinished run"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(run_id = %run_id, error = %e, "could not hand back a run"),
        }
    }
}

/// The apalis handler. Always acknowledges: the run's state lives in the database, and the
/// reaper re-delivers anything that needs another attempt.
///
/// Behind the queue's [`SlotLayer`]: the run executes on a task of its own that holds one of
/// the queue's slots.
async fn handle_job(job: RunJob, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    // A run's statements follow one another: one connection serves them all (see
    // `store::Db::holding`).
    let db = state.orchestrator.services.db.clone();
    db.holding(execute_job(job, (*state).clone())).await;
    Ok(())
}

async fn execute_job(job: RunJob, state: WorkerState) {
    let worker_name = state.process_name.clone();
    let orchestrator = state.orchestrator.clone();
    let claim_span = run_span(job.run_id, None, job.operation);
    let claimed = match orchestrator
        .claim(job.run_id, &worker_name)
        .instrument(claim_span.clone())
        .await
    {
        Ok(Some(claimed)) => claimed,
        Ok(None) => return,
        Err(e) => {
            claim_span
                .in_scope(|| tracing::warn!(error = %e, "claim failed; the reaper will retry"));
            return;
        }
    };
    let (claim, lease) = claimed;
    let run = claim.run.clone();
    if let Ok(mut held) = state.in_flight.lock() {
        held.insert(run.id, lease);
    }
    let span = run_span(run.id, Some(run.tenant_id), run.operation);
    execute_claimed(&orchestrator, &state.graph, claim, lease)
        .instrument(span)
        .await;
    if let Ok(mut held) = state.in_flight.lock() {
        held.remove(&run.id);
    }
}

/// Runs inside the run's span (see [`run_span`]): every line it and the executors write
/// carries `run_id`, `tenant_id` and `operation`.
async fn execute_claimed(
    orchestrator: &Orchestrator,
    graph: &GraphShared,
    claim: run_store::Claim,
    lease: Uuid,
) {
    let run_store::Claim {
        run,
        scope,
        around,
        tenant,
    } = claim;
    let started = Instant::now();
    let db = &orchestrator.services.db;
    let spec = match RunSpec::of(&run) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!(error = %e, "the run's stored spec is unreadable");
            let error = SafeError::new(SpecError::CODE, e.to_string());
            return fail_before_work(orchestrator, &run, lease, &error).await;
        }
    };
    let initiator_scopes = match orchestrator
        .initiator_scopes(&run, &spec, &scope, &around)
        .await
    {
        Ok(Some(scopes)) => scopes,
        Ok(None) => {
            let error = SafeError::new(
                "authorization_revoked",
                "the user who started the run no longer has the required role in every tenant it touches",
            );
            return fail_before_work(orchestrator, &run, lease, &error).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "authorization check failed; handing the run back");
            let _ = run_store::requeue(db, run.id, lease).await;
            return;
        }
    };

    // Canceled while it waited (the request lost the race with this claim): stop now.
    if around.cancel_requested {
        let counts = run_store::count_items(db, run.id).await.unwrap_or_default();
        let terminal = orchestrator
            .canceled_terminal(&run, counts.finished(), counts.total)
            .await;
        let _ = orchestrator.finish(&run, Some(lease), terminal).await;
        return;
    }
    let (lost_tx, lost_rx) = watch::channel(false);
    let canceled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heartbeat = spawn_heartbeat(orchestrator.clone(), &run, lease, lost_tx, canceled.clone());
    let deadline = run
        .deadline_at
        .map(|d| (d - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(Duration::from_secs(
            orchestrator.services.settings.runs.max_duration_secs,
        ));
    let execution = Execution::new(
        orchestrator.clone(),
        graph.clone(),
        Claimed {
            run: run.clone(),
            spec,
            lease,
            scope,
            tenant,
            initiator_scopes,
        },
        lost_rx,
        canceled,
    );
    let budget = Duration::from_secs(orchestrator.services.settings.database.retry_budget_secs);
    let deadline = tokio::time::Instant::now() + deadline;
    let result = loop {
        let result = tokio::time::timeout_at(deadline, crate::jobs::execute(&execution)).await;
        let Ok(Err(ExecError::Interrupted(reason))) = result else {
            break result;
        };
        // The database went away: wait for it, make sure the run is still ours, and resume
        // (executors skip the items already recorded).
        tracing::warn!(%reason, budget_secs = budget.as_secs(), "waiting for the database to resume the run");
        if !crate::store::wait_until_reachable(db, budget).await {
            break Ok(Err(ExecError::Failed(SafeError::new(
                "database_error",
                format!(
                    "the database stayed unreachable for more than {} s",
                    budget.as_secs()
                ),
            ))));
        }
        match run_store::heartbeat(db, run.id, lease).await {
            Ok(true) => tracing::info!("database back; resuming the run"),
            _ => break Ok(Err(ExecError::LeaseLost)),
        }
    };
    heartbeat.abort();

    // The counts the execution's last item write stored; counted afresh when it wrote none
    // or its last write failed. They decide the outcome; the finish stores the rows' own
    // counts (a worker that lost the run may still have written).
    let counts = match execution.stored_counts().await {
        Some(counts) => Ok(counts),
        None => crate::store::retry_transient(budget, || run_store::count_items(db, run.id)).await,
    };
    let counts = match counts {
        Ok(counts) => counts,
        Err(e) => {
            tracing::error!(error = %e, "could not count the run's items; the reaper will finish it");
            return;
        }
    };
    let terminal = match result {
        Ok(Ok(())) => {
            let mut terminal = outcome(run.operation, &counts, started.elapsed());
            if let Some(note) = execution.note() {
                terminal.summary = format!("{} {note}", terminal.summary);
            }
            if counts.failed > 0 {
                explain_outage(orchestrator, &run, &mut terminal).await;
            }
            terminal
        }
        Ok(Err(ExecError::Failed(error))) => failure(run.operation, &error, &counts),
        Ok(Err(ExecError::Canceled)) => {
            tracing::info!("canceled after the item in flight");
            orchestrator
                .canceled_terminal(&run, counts.finished(), counts.total)
                .await
        }
        Ok(Err(ExecError::LeaseLost)) => {
            tracing::warn!("lease lost; another attempt owns the run now");
            return;
        }
        // Not reached: the loop above resumes or turns an interruption into a failure.
        Ok(Err(ExecError::Interrupted(reason))) => failure(
            run.operation,
            &SafeError::new("database_error", reason),
            &counts,
        ),
        Err(_) => failure(
            run.operation,
            &SafeError::new(
                "timed_out",
                format!(
                    "the run exceeded its maximum duration of {} s",
                    orchestrator.services.settings.runs.max_duration_secs
                ),
            ),
            &counts,
        ),
    };
    let finished = crate::store::retry_transient(budget, || {
        orchestrator.finish_counted(&run, lease, terminal.clone(), &counts)
    })
    .await;
    if let Err(e) = finished {
        tracing::error!(error = %e, "could not finish the run; the reaper will");
    }
}

/// A run that gave up on its tenant's Graph says so in its summary, in one line.
async fn explain_outage(
    orchestrator: &Orchestrator,
    run: &entity::runs::Model,
    terminal: &mut run_store::Terminal,
) {
    let db = &orchestrator.services.db;
    let Ok(n) = run_store::count_failed_with(db, run.id, "tenant_unavailable").await else {
        return;
    };
    if n > 0 {
        terminal.error_code = Some("tenant_unavailable".into());
        terminal.summary.push_str(&format!(
            " Graph stayed unavailable for this tenant past the retry budget of {} s: {n} items were not attempted.",
            orchestrator.services.settings.graph.retry_budget_secs
        ));
    }
}

/// Ends a claimed run that must not start (items an earlier attempt recorded still count).
async fn fail_before_work(
    orchestrator: &Orchestrator,
    run: &entity::runs::Model,
    lease: Uuid,
    error: &SafeError,
) {
    let db = &orchestrator.services.db;
    let counts = run_store::count_items(db, run.id).await.unwrap_or_default();
    let _ = orchestrator
        .finish(run, Some(lease), failure(run.operation, error, &counts))
        .await;
}

fn spawn_heartbeat(
    orchestrator: Orchestrator,
    run: &entity::runs::Model,
    lease: Uuid,
    lost: watch::Sender<bool>,
    canceled: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(orchestrator.services.settings.runs.heartbeat_secs);
    let (run_id, dedupe_key) = (run.id, orchestrator.dedupe_key_of(run));
    tokio::spawn(
        async move {
            loop {
                tokio::time::sleep(every).await;
                let db = &orchestrator.services.db;
                match run_store::heartbeat(db, run_id, lease).await {
                    Ok(true) => {
                        orchestrator.renew_active(&dedupe_key, run_id).await;
                        // A phase that records no items still notices a cancel request.
                        if matches!(run_store::cancel_request(db, run_id).await, Ok(Some(_))) {
                            canceled.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    Ok(false) => {
                        let _ = lost.send(true);
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
        }
        // The spawned task keeps the run's span, so its lines carry the run's fields.
        .in_current_span(),
    )
}

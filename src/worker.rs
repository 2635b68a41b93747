//! The worker process: an apalis monitor with one worker per queue family, each executing up
//! to `worker.concurrency` runs, plus the reaper and a small health endpoint.
//!
//! Wiring above `runs`: it hands claimed runs to `jobs` and serves `web::health`; neither
//! `runs` nor `jobs` knows this module.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, WorkerBuilder, WorkerBuilderExt};
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
use crate::runs::{RunSpec, SpecError};
use crate::services::Services;
use crate::startup::shutdown_signal;
use crate::store::TenantScope;
use crate::store::runs as run_store;

/// Shared by every job a worker process executes.
#[derive(Clone)]
struct WorkerState {
    orchestrator: Orchestrator,
    graph: GraphShared,
    /// Runs this process holds a lease on: handed back to the queue if shutdown cuts them off.
    in_flight: Arc<Mutex<HashMap<Uuid, Uuid>>>,
    process_name: String,
}

/// `policyvault worker`: runs until Ctrl-C / SIGTERM.
pub async fn run_worker_process(services: Services) -> anyhow::Result<()> {
    let listen = services.settings.worker.listen;
    let health = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (worker.listen)"))?;
    println!(
        "PolicyVault worker running (health on http://{})",
        health.local_addr()?
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = crate::web::health::worker_router(services.clone());
    let health_task = tokio::spawn(async move {
        let _ = axum::serve(health, app).await;
    });
    let worker = tokio::spawn(run_worker(services, wait_for(stop_rx)));
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let result = worker.await?;
    health_task.abort();
    result
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Runs the queue workers and the reaper until `stop` resolves, then hands back whatever
/// could not finish within the grace period.
pub async fn run_worker(
    services: Services,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let orchestrator = Orchestrator::new(services);
    let settings = orchestrator.services.settings.clone();
    let limiter = Limiter::fleet(
        orchestrator.services.redis.clone(),
        LimiterOptions::default(),
    );
    let graph = GraphShared::from_settings(&settings.graph, limiter)?;
    let state = WorkerState {
        orchestrator: orchestrator.clone(),
        graph,
        in_flight: Arc::new(Mutex::new(HashMap::new())),
        process_name: process_name(),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let reaper = {
        let orchestrator = orchestrator.clone();
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move { orchestrator.run_reaper(wait_for(stop_rx)).await })
    };

    let poll = Duration::from_millis(settings.worker.poll_interval_ms.max(10));
    let concurrency = settings.worker.concurrency;
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let mut monitor = Monitor::new().shutdown_timeout(grace);
    for family in Family::ALL {
        let state = state.clone();
        monitor = monitor.register(move |restarts| {
            let backend = state
                .orchestrator
                .queues
                .storage(family)
                .poll_with_interval(poll);
            WorkerBuilder::new(format!(
                "{}-{}-{restarts}",
                state.process_name,
                family.as_str()
            ))
            .backend(backend)
            .data(state.clone())
            .concurrency(concurrency)
            .build(handle_job)
        });
    }
    tracing::info!(
        worker = %state.process_name,
        concurrency,
        "worker started on queues capture, restore, preview"
    );
    let signal = async move {
        stop.await;
        let _ = stop_tx.send(true);
        Ok(())
    };
    let result = monitor.run_with_signal(signal).await;
    let _ = reaper.await;
    hand_back(&state).await;
    tracing::info!(worker = %state.process_name, "worker stopped");
    result.context("worker monitor failed")
}

/// Unique per process incarnation: host, pid and a random suffix.
fn process_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
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
async fn handle_job(job: RunJob, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let worker_name = state.process_name.clone();
    let orchestrator = state.orchestrator.clone();
    let claim_span = run_span(job.run_id, None, job.operation);
    let claimed = match orchestrator
        .claim(job.run_id, &worker_name)
        .instrument(claim_span.clone())
        .await
    {
        Ok(Some(claimed)) => claimed,
        Ok(None) => return Ok(()),
        Err(e) => {
            claim_span
                .in_scope(|| tracing::warn!(error = %e, "claim failed; the reaper will retry"));
            return Ok(());
        }
    };
    let (run, lease, scope) = claimed;
    if let Ok(mut held) = state.in_flight.lock() {
        held.insert(run.id, lease);
    }
    let span = run_span(run.id, Some(run.tenant_id), run.operation);
    execute_claimed(&orchestrator, &state.graph, run.clone(), lease, scope)
        .instrument(span)
        .await;
    if let Ok(mut held) = state.in_flight.lock() {
        held.remove(&run.id);
    }
    Ok(())
}

/// Runs inside the run's span (see [`run_span`]): every line it and the executors write
/// carries `run_id`, `tenant_id` and `operation`.
async fn execute_claimed(
    orchestrator: &Orchestrator,
    graph: &GraphShared,
    run: entity::runs::Model,
    lease: Uuid,
    scope: TenantScope,
) {
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
    let initiator_scopes = match orchestrator.initiator_scopes(&run, &spec).await {
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

    let (lost_tx, lost_rx) = watch::channel(false);
    let heartbeat = spawn_heartbeat(orchestrator.clone(), run.id, lease, lost_tx);
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
            initiator_scopes,
        },
        lost_rx,
    );
    let result = tokio::time::timeout(deadline, crate::jobs::execute(&execution)).await;
    heartbeat.abort();

    let counts = run_store::count_items(db, run.id).await.unwrap_or_default();
    let terminal = match result {
        Ok(Ok(())) => outcome(run.operation, &counts, started.elapsed()),
        Ok(Err(ExecError::Failed(error))) => failure(run.operation, &error, &counts),
        Ok(Err(ExecError::LeaseLost)) => {
            tracing::warn!("lease lost; another attempt owns the run now");
            return;
        }
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
    if let Err(e) = orchestrator.finish(&run, Some(lease), terminal).await {
        tracing::error!(error = %e, "could not finish the run; the reaper will");
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
    run_id: Uuid,
    lease: Uuid,
    lost: watch::Sender<bool>,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(orchestrator.services.settings.runs.heartbeat_secs);
    tokio::spawn(
        async move {
            loop {
                tokio::time::sleep(every).await;
                match run_store::heartbeat(&orchestrator.services.db, run_id, lease).await {
                    Ok(true) => {}
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

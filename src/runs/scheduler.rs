//! The scheduler every worker runs: it finds schedules whose next run is due and starts each
//! tick's run through the normal start path, exactly once across the fleet.
//!
//! **Exactly once per tick.** The database owns the tick: `schedule_ticks` has one row per
//! (schedule, tick), so of any number of workers racing for a due schedule one inserts the
//! row and starts the run; the others only move the schedule forward. The run's id is derived
//! from (schedule, tick), so a worker that dies between taking a tick and recording its run
//! leaves a tick another worker takes over after `STALE_TICK` and starts again — answered
//! with the same run if it already exists. After downtime only the latest missed tick runs.
//!
//! **Authorization.** A scheduled run names the schedule's owner as its initiator; a schedule
//! whose owner no longer may start its operation in the tenant disables itself with the
//! reason, and starts nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::enums::RunOperation;
use entity::schedules;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::lifecycle::Orchestrator;
use super::spec::RunSpec;
use super::start::StartRequest;
use crate::domain::schedule::Timing;
use crate::store::{StoreResult, accounts, schedules as schedule_store};

/// A tick taken but not given a run for this long is taken over by another worker.
const STALE_TICK: Duration = Duration::from_secs(10);
/// Schedules handled per poll (the rest are due at the next).
const BATCH: u64 = 200;

/// The timing of a stored schedule (its id salts the spread offset).
pub fn timing_of(s: &schedules::Model) -> Result<Timing, crate::domain::Invalid> {
    Timing::parse(
        &s.cron,
        &s.timezone,
        u32::try_from(s.spread_secs).unwrap_or(0),
        s.id.as_bytes(),
    )
}

/// The id of the run a schedule's tick starts: time-ordered by the tick, the same on every
/// worker.
pub fn run_id_of(schedule_id: Uuid, tick_at: DateTime<Utc>) -> Uuid {
    let digest = Sha256::digest(format!("{schedule_id}/{}", tick_at.timestamp_millis()));
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    uuid::Builder::from_unix_timestamp_millis(
        u64::try_from(tick_at.timestamp_millis()).unwrap_or(0),
        &random,
    )
    .into_uuid()
}

/// A disabled tenant's schedules pause: their ticks pass without a run.
async fn tenant_disabled(db: &impl sea_orm::ConnectionTrait, tenant_id: Uuid) -> StoreResult<bool> {
    Ok(crate::store::tenants::get(db, tenant_id)
        .await?
        .disabled_at
        .is_some())
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    pub started: u32,
    pub skipped_ticks: u32,
    pub disabled: u32,
    /// Ticks passed over because the schedule's tenant is disabled (schedules pause with it).
    pub paused: u32,
}

impl Orchestrator {
    /// One pass over the due schedules and the abandoned ticks, as worker `worker`.
    pub async fn poll_schedules(&self, worker: &str, now: DateTime<Utc>) -> StoreResult<Poll> {
        let db = &self.services.db;
        let mut poll = Poll::default();
        for schedule in schedule_store::due(db, now, BATCH).await? {
            let timing = match timing_of(&schedule) {
                Ok(t) => t,
                Err(e) => {
                    schedule_store::disable(db, schedule.id, &format!("invalid_timing: {e}"))
                        .await?;
                    poll.disabled += 1;
                    continue;
                }
            };
            let Some(tick) = timing.due_tick(now) else {
                schedule_store::advance(db, schedule.id, now, timing.next_run_after(now)).await?;
                continue;
            };
            if tenant_disabled(db, schedule.tenant_id).await? {
                schedule_store::advance(db, schedule.id, tick, timing.next_run_after(tick)).await?;
                poll.paused += 1;
                continue;
            }
            if schedule.last_tick_at.is_some_and(|last| last >= tick) {
                // Handled already (by this or another worker): only the next run is due later.
                schedule_store::advance(db, schedule.id, tick, timing.next_run_after(tick)).await?;
                continue;
            }
            let mine = schedule_store::take_tick(db, schedule.id, tick, worker).await?;
            schedule_store::advance(db, schedule.id, tick, timing.next_run_after(tick)).await?;
            if !mine {
                poll.skipped_ticks += 1;
                continue;
            }
            match self.start_tick(&schedule, tick).await? {
                TickOutcome::Started => poll.started += 1,
                TickOutcome::Disabled => poll.disabled += 1,
            }
        }
        let stale_before = now - chrono::Duration::from_std(STALE_TICK).unwrap_or_default();
        for tick in schedule_store::take_stale_ticks(db, stale_before, worker, BATCH).await? {
            let Some(schedule) = schedule_store::find(db, tick.schedule_id).await? else {
                continue;
            };
            if !schedule.enabled || tenant_disabled(db, schedule.tenant_id).await? {
                continue;
            }
            tracing::info!(schedule_id = %schedule.id, tick = %tick.tick_at, "taking over an abandoned tick");
            if self.start_tick(&schedule, tick.tick_at).await? == TickOutcome::Started {
                poll.started += 1;
            }
        }
        Ok(poll)
    }

    /// Starts the run of a tick this worker holds, with the owner's rights.
    async fn start_tick(
        &self,
        schedule: &schedules::Model,
        tick: DateTime<Utc>,
    ) -> StoreResult<TickOutcome> {
        let db = &self.services.db;
        let needed = super::required_role(schedule.operation);
        let owner = match schedule.owner_id {
            Some(owner) if accounts::user_is_active(db, owner).await? => {
                accounts::member_scope(db, schedule.tenant_id, owner)
                    .await?
                    .filter(|(_, role)| role.allows(needed))
                    .map(|(scope, _)| (owner, scope))
            }
            _ => None,
        };
        let Some((owner, scope)) = owner else {
            let reason = format!(
                "owner_lost_access: the schedule's owner is no longer a {needed} of the tenant; \
                 an operator who edits and enables it becomes its owner"
            );
            tracing::warn!(schedule_id = %schedule.id, "schedule disabled: its owner lost access");
            schedule_store::disable(db, schedule.id, &reason).await?;
            return Ok(TickOutcome::Disabled);
        };
        let spec = match (schedule.operation, schedule.backup_set_id) {
            (RunOperation::BackupSetCapture, Some(backup_set_id)) => RunSpec::BackupSetCapture {
                backup_set_id,
                schedule_id: Some(schedule.id),
            },
            (RunOperation::BackupSetCapture, None) => {
                schedule_store::disable(
                    db,
                    schedule.id,
                    "backup_set_missing: its backup set was deleted",
                )
                .await?;
                return Ok(TickOutcome::Disabled);
            }
            (RunOperation::Prune, _) => RunSpec::Prune {
                schedule_id: Some(schedule.id),
            },
            _ => RunSpec::CaptureSnapshot {
                policy_types: Vec::new(),
                schedule_id: Some(schedule.id),
            },
        };
        let started = self
            .start(StartRequest {
                run_id: Some(run_id_of(schedule.id, tick)),
                fanout_id: None,
                scope,
                initiator_id: owner,
                spec,
            })
            .await;
        match started {
            Ok(started) => {
                schedule_store::tick_started(db, schedule.id, tick, started.run.id).await?;
                tracing::info!(
                    schedule_id = %schedule.id,
                    run_id = %started.run.id,
                    deduplicated = started.deduplicated,
                    tick = %tick,
                    "scheduled run started"
                );
                Ok(TickOutcome::Started)
            }
            Err(e) => {
                // The tick stays taken without a run: after `STALE_TICK` any worker takes it
                // over and starts it (with the same run id, so never twice).
                tracing::warn!(schedule_id = %schedule.id, error = %e, "scheduled run not started yet");
                Err(e)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TickOutcome {
    Started,
    Disabled,
}

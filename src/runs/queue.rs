//! The apalis job queues on Redis: one queue per operation family, one typed job (the run id).
//! Redis only delivers work; whether a delivered job still has anything to do is decided by
//! the guarded claim in the database.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_redis::{Config, RedisStorage};
use entity::enums::RunOperation;
use entity::runs;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::broker::Broker;

/// A job that could not be handed to Redis; the sweeper re-pushes the run later.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not queue run {run_id}: {reason}")]
    Push { run_id: Uuid, reason: String },
    #[error("could not record the job of run {run_id}: {source}")]
    Record {
        run_id: Uuid,
        source: redis::RedisError,
    },
}

/// The job every queue carries: which run to execute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunJob {
    pub run_id: Uuid,
    pub operation: RunOperation,
}

/// Operations are grouped so a flood of one kind (e.g. previews) cannot starve the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Capture,
    Restore,
    Preview,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Capture, Family::Restore, Family::Preview];

    pub fn of(operation: RunOperation) -> Self {
        match operation {
            RunOperation::CaptureSnapshot
            | RunOperation::BackupSetCapture
            | RunOperation::Import
            // Database work of the tenant's own, beside its captures.
            | RunOperation::Prune
            | RunOperation::TenantPurge => Family::Capture,
            RunOperation::Restore | RunOperation::RestoreRerun | RunOperation::RestoreUndo => {
                Family::Restore
            }
            // Reads only, like previews.
            RunOperation::RestorePreview
            | RunOperation::Compare
            | RunOperation::ConnectionTest => Family::Preview,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Capture => "capture",
            Family::Restore => "restore",
            Family::Preview => "preview",
        }
    }
}

pub type Storage = RedisStorage<RunJob>;

/// The three queues of one deployment (named `{prefix}:queue:{family}`).
#[derive(Clone)]
pub struct Queues {
    broker: Broker,
    storages: [Storage; 3],
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues")
            .field("prefix", &self.broker.prefix())
            .finish()
    }
}

/// Heartbeat of apalis' own worker registration; orphan detection after 3 misses.
const APALIS_HEARTBEAT: Duration = Duration::from_secs(5);

impl Queues {
    pub fn new(broker: &Broker) -> Self {
        let storage = |family: Family| {
            let config = Config::default()
                .queue(queue_name(broker, family))
                .heartbeat_interval(APALIS_HEARTBEAT)
                .missed_heartbeats(3);
            RedisStorage::new(broker.connection()).with_config(config)
        };
        Self {
            broker: broker.clone(),
            storages: Family::ALL.map(storage),
        }
    }

    pub fn storage(&self, family: Family) -> Storage {
        self.storages[family as usize].clone()
    }

    /// Pushes a job for the run with a fresh task id and remembers that id, so the sweeper can
    /// tell whether the run still has a live job.
    pub async fn push(&self, run: &runs::Model) -> Result<(), QueueError> {
        self.push_after(run, Duration::ZERO).await
    }

    pub async fn push_after(&self, run: &runs::Model, delay: Duration) -> Result<(), QueueError> {
        let record = self.push_unrecorded(run, delay).await?;
        let mut conn = self.broker.connection();
        let _: () = record
            .query_async(&mut conn)
            .await
            .map_err(|source| QueueError::Record {
                run_id: run.id,
                source,
            })?;
        Ok(())
    }

    /// Pushes a job for the run like [`Queues::push_after`], but returns the command that
    /// remembers its task id instead of sending it: for a caller that sends it together with
    /// other commands in one round trip.
    pub async fn push_unrecorded(
        &self,
        run: &runs::Model,
        delay: Duration,
    ) -> Result<redis::Cmd, QueueError> {
        let family = Family::of(run.operation);
        let task_id = format!("{}.{}", run.id.simple(), Uuid::new_v4().simple());
        let mut builder = TaskBuilder::new(RunJob {
            run_id: run.id,
            operation: run.operation,
        })
        .task_id(TaskId::from_string(task_id.clone()));
        if !delay.is_zero() {
            builder = builder.run_after(delay);
        }
        let mut storage = self.storage(family);
        storage
            .push_task(builder.build())
            .await
            .map_err(|e| QueueError::Push {
                run_id: run.id,
                reason: e.to_string(),
            })?;
        Ok(redis::Cmd::set_ex(
            self.job_key(run.id),
            task_id,
            7 * 24 * 3600,
        ))
    }

    /// True when the last job pushed for the run is still waiting or running in apalis.
    pub async fn has_live_job(&self, run: &runs::Model) -> Result<bool, redis::RedisError> {
        let mut conn = self.broker.connection();
        let task_id: Option<String> = conn.get(self.job_key(run.id)).await?;
        let Some(task_id) = task_id else {
            return Ok(false);
        };
        let storage = self.storage(Family::of(run.operation));
        let meta_key = format!("{}:{task_id}", storage.get_config().job_meta_hash());
        let status: Option<String> = conn.hget(meta_key, "status").await?;
        Ok(matches!(
            status.as_deref(),
            Some("Pending" | "Queued" | "Running")
        ))
    }

    fn job_key(&self, run_id: Uuid) -> String {
        self.broker.key(&format!("job:{run_id}"))
    }

    /// Jobs waiting in each queue (for metrics and the active-runs feed).
    pub async fn depth(&self, family: Family) -> Result<u64, redis::RedisError> {
        let mut conn = self.broker.connection();
        let storage = self.storage(family);
        conn.llen(storage.get_config().active_jobs_list()).await
    }
}

pub fn queue_name(broker: &Broker, family: Family) -> String {
    broker.key(&format!("queue:{}", family.as_str()))
}

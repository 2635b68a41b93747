//! Supervision of a worker process's long-lived parts (the queue consumers and the reaper):
//! each runs in a loop that restarts it with backoff when it stops (a Redis error ends an
//! apalis consumer, a panic ends a task), and reports to [`Health`] whether it is up.
//!
//! `/healthz` of the worker reads [`Health::report`]: unhealthy (503) once a part has been down
//! longer than `worker.unhealthy_after_secs`, so an orchestrator restarts a process that
//! cannot recover by itself; a restart that succeeds within the grace never shows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;

/// The parts a worker process supervises, by name (`consumer:capture`, `reaper`, ...).
#[derive(Clone, Default)]
pub struct Health {
    parts: Arc<Mutex<BTreeMap<String, Part>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Part {
    /// `None` while up.
    down_since: Option<Instant>,
    reason: String,
    restarts: u32,
}

/// What `/healthz` of a worker answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    /// Seconds a part may be down before the process counts as unhealthy.
    pub unhealthy_after_secs: u64,
    pub parts: Vec<PartReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Unhealthy,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PartReport {
    pub name: String,
    pub up: bool,
    /// How long it has been down (absent while up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_for_secs: Option<f64>,
    /// Why it is down, or why it last went down.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Times the supervisor restarted it since the process started.
    pub restarts: u32,
}

impl Health {
    /// A part that is starting: down (reason `starting`) until it reports up.
    pub fn register(&self, name: &str) {
        self.with(|parts| {
            parts.entry(name.to_string()).or_insert(Part {
                down_since: Some(Instant::now()),
                reason: "starting".into(),
                restarts: 0,
            });
        });
    }

    pub fn up(&self, name: &str) {
        self.with(|parts| {
            let part = parts.entry(name.to_string()).or_insert(Part {
                down_since: None,
                reason: String::new(),
                restarts: 0,
            });
            part.down_since = None;
        });
    }

    /// Marks the part down; a part already down keeps the time it went down.
    pub fn down(&self, name: &str, reason: &str) {
        self.with(|parts| {
            let part = parts.entry(name.to_string()).or_insert(Part {
                down_since: None,
                reason: String::new(),
                restarts: 0,
            });
            part.down_since.get_or_insert_with(Instant::now);
            part.reason = reason.to_string();
        });
    }

    fn restarted(&self, name: &str) {
        self.with(|parts| {
            if let Some(part) = parts.get_mut(name) {
                part.restarts += 1;
            }
        });
    }

    pub fn report(&self, grace: Duration) -> HealthReport {
        let now = Instant::now();
        let (parts, unhealthy) = self.with(|parts| {
            let unhealthy = parts
                .values()
                .any(|p| p.down_since.is_some_and(|since| now - since > grace));
            let reports: Vec<PartReport> = parts
                .iter()
                .map(|(name, part)| PartReport {
                    name: name.clone(),
                    up: part.down_since.is_none(),
                    down_for_secs: part
                        .down_since
                        .map(|since| (now - since).as_secs_f64().round()),
                    reason: part.reason.clone(),
                    restarts: part.restarts,
                })
                .collect();
            (reports, unhealthy)
        });
        HealthReport {
            status: if unhealthy {
                HealthStatus::Unhealthy
            } else {
                HealthStatus::Ok
            },
            unhealthy_after_secs: grace.as_secs(),
            parts,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Part>) -> T) -> T {
        let mut parts = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut parts)
    }
}

/// Backoff between restarts of one part: 0.5 s doubling to 30 s, with jitter; a part that
/// ran for a minute before it stopped starts over at the bottom.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    const BASE: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);
    const RESET_AFTER: Duration = Duration::from_secs(60);

    pub fn next(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= Self::RESET_AFTER {
            self.failures = 0;
        }
        let factor = 1u32 << self.failures.min(6);
        self.failures = self.failures.saturating_add(1);
        let ceiling = Self::BASE.saturating_mul(factor).min(Self::MAX);
        // Half fixed, half jitter: restarts of many workers spread out, none is immediate.
        let half = ceiling / 2;
        let jitter_ms = rand::random::<u64>() % (u64::try_from(half.as_millis()).unwrap_or(1) + 1);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Why a supervised part stopped.
pub enum Stopped {
    /// The process is shutting down: not restarted.
    Shutdown,
    /// It failed or ended by itself: restarted after backoff.
    Failed(String),
}

/// Runs `start` again and again until it returns [`Stopped::Shutdown`] or `stopping` turns
/// true, keeping `health` current and logging every restart with its reason.
pub async fn supervise<F, Fut>(
    name: String,
    health: Health,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    mut start: F,
) where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Stopped>,
{
    health.register(&name);
    let mut backoff = Backoff::default();
    let mut incarnation = 0u32;
    loop {
        if *stopping.borrow() {
            return;
        }
        let started = Instant::now();
        let reason = match start(incarnation).await {
            Stopped::Shutdown => return,
            Stopped::Failed(_) if *stopping.borrow() => return,
            Stopped::Failed(reason) => reason,
        };
        health.down(&name, &reason);
        let delay = backoff.next(started.elapsed());
        tracing::warn!(
            part = %name,
            reason = %reason,
            restart_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "worker part stopped; restarting it"
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        incarnation += 1;
        health.restarted(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_down_past_the_grace_makes_the_process_unhealthy() {
        let health = Health::default();
        health.register("consumer:capture");
        health.up("consumer:capture");
        health.up("reaper");
        assert_eq!(
            health.report(Duration::ZERO).status,
            HealthStatus::Ok,
            "all up"
        );
        health.down("reaper", "reaper tick failed: database unreachable");
        let report = health.report(Duration::from_secs(60));
        assert_eq!(report.status, HealthStatus::Ok, "still within the grace");
        let reaper = report.parts.iter().find(|p| p.name == "reaper").unwrap();
        assert!(!reaper.up);
        assert_eq!(reaper.reason, "reaper tick failed: database unreachable");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            health.report(Duration::from_millis(10)).status,
            HealthStatus::Unhealthy
        );
        health.up("reaper");
        assert_eq!(
            health.report(Duration::from_millis(10)).status,
            HealthStatus::Ok
        );
    }

    #[test]
    fn going_down_again_keeps_the_first_time() {
        let health = Health::default();
        health.down("consumer:restore", "first");
        std::thread::sleep(Duration::from_millis(20));
        health.down("consumer:restore", "second");
        let report = health.report(Duration::from_millis(10));
        assert_eq!(report.status, HealthStatus::Unhealthy);
        assert_eq!(report.parts[0].reason, "second");
    }

    #[test]
    fn backoff_grows_to_its_cap_and_resets_after_a_long_run() {
        let mut backoff = Backoff::default();
        let first = backoff.next(Duration::ZERO);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
        let mut last = first;
        for _ in 0..10 {
            last = backoff.next(Duration::ZERO);
        }
        assert!(last >= Duration::from_secs(15) && last <= Duration::from_secs(30));
        let reset = backoff.next(Duration::from_secs(120));
        assert!(reset <= Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_failing_part_is_restarted_until_shutdown() {
        let health = Health::default();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let runs = Arc::new(Mutex::new(Vec::new()));
        let seen = runs.clone();
        let task = tokio::spawn(supervise("part".into(), health.clone(), rx, move |n| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(n);
                if n < 2 {
                    Stopped::Failed(format!("failure {n}"))
                } else {
                    Stopped::Shutdown
                }
            }
        }));
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("supervisor ends")
            .unwrap();
        drop(tx);
        assert_eq!(*runs.lock().unwrap(), vec![0, 1, 2]);
        let report = health.report(Duration::from_secs(60));
        assert_eq!(report.parts[0].restarts, 2);
        assert_eq!(report.parts[0].reason, "failure 1");
    }
}

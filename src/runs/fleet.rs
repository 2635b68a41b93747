//! The worker fleet as Redis sees it: every `policyvault worker` process writes a heartbeat
//! (`{prefix}:workers:{name}`, expiring after three missed beats) naming its host, pid,
//! health address and the runs it holds, so operators and the operations page can list the
//! processes that are alive — however many run on one host.

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::broker::Broker;

/// One worker process's last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerBeat {
    /// Unique per process incarnation (`pv-{host}-{pid}-{random}`).
    pub name: String,
    pub host: String,
    pub pid: u32,
    /// Where its `/healthz` and `/metrics` answer (the port it was given or picked).
    pub health_addr: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// Runs it holds a lease on right now.
    pub running: usize,
}

fn key(broker: &Broker, name: &str) -> String {
    broker.key(&format!("workers:{name}"))
}

/// Writes a heartbeat that expires after `ttl_secs` unless renewed.
pub async fn beat(broker: &Broker, beat: &WorkerBeat, ttl_secs: u64) -> redis::RedisResult<()> {
    let mut conn = broker.connection();
    let body = serde_json::to_string(beat).unwrap_or_default();
    conn.set_ex(key(broker, &beat.name), body, ttl_secs.max(1))
        .await
}

/// Removes a stopping worker's heartbeat at once.
pub async fn leave(broker: &Broker, name: &str) -> redis::RedisResult<()> {
    let mut conn = broker.connection();
    conn.del(key(broker, name)).await
}

/// The workers whose heartbeat has not expired, by name.
pub async fn alive(broker: &Broker) -> redis::RedisResult<Vec<WorkerBeat>> {
    let mut conn = broker.connection();
    let pattern = key(broker, "*");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(200) {
        let values: Vec<Option<String>> = conn.mget(chunk).await?;
        out.extend(
            values
                .into_iter()
                .flatten()
                .filter_map(|v| serde_json::from_str::<WorkerBeat>(&v).ok()),
        );
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

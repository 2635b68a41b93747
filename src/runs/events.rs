//! Live run events over Redis pub/sub: workers and web processes publish state and progress
//! changes; each web process subscribes once and fans out to its SSE clients, which filter
//! by the tenants their user belongs to.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::view::RunView;
use crate::broker::Broker;

/// One change a live UI may show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEvent {
    /// `state` for status changes, `progress` for count changes.
    pub kind: String,
    pub tenant_id: Uuid,
    pub run: RunView,
}

fn channel(broker: &Broker) -> String {
    broker.key("events")
}

/// Publishes an event; losing one only delays a live UI until the next, so errors are logged.
pub async fn publish(broker: &Broker, event: &RunEvent) {
    let Ok(payload) = serde_json::to_string(event) else {
        return;
    };
    let mut conn = broker.connection();
    let result: redis::RedisResult<i64> = redis::cmd("PUBLISH")
        .arg(channel(broker))
        .arg(payload)
        .query_async(&mut conn)
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not publish a run event");
    }
}

/// Subscribes to the event channel and re-broadcasts inside this process; reconnects after
/// Redis failures. Returns the sender SSE handlers subscribe to.
pub fn spawn_fanout(broker: Broker) -> broadcast::Sender<RunEvent> {
    let (tx, _) = broadcast::channel(1024);
    let sender = tx.clone();
    tokio::spawn(async move {
        loop {
            match broker.pubsub().await {
                Ok(mut pubsub) => {
                    if pubsub.subscribe(channel(&broker)).await.is_ok() {
                        let mut stream = pubsub.on_message();
                        while let Some(msg) = stream.next().await {
                            let Ok(payload) = msg.get_payload::<String>() else {
                                continue;
                            };
                            if let Ok(event) = serde_json::from_str::<RunEvent>(&payload) {
                                let _ = tx.send(event);
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "run event subscription failed; retrying"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    sender
}

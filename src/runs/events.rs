//! Live events over Redis pub/sub: workers and web processes publish run state and progress
//! changes, and web processes publish the sign-outs and token revocations that must end open
//! streams at once; each web process subscribes once and fans out to its SSE clients, which
//! filter run events by the tenants their user belongs to.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::view::RunView;
use crate::broker::Broker;

/// What changed about a run; the SSE event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Its status changed (queued, started, finished, handed back).
    State,
    /// Its item counts changed.
    Progress,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::State => "state",
            EventKind::Progress => "progress",
        }
    }
}

/// One change a live UI may show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEvent {
    pub kind: EventKind,
    pub tenant_id: Uuid,
    pub run: RunView,
}

/// The credential a request authenticated with: a browser session or an API token, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    Session(Uuid),
    Token(Uuid),
}

/// A message of the events channel.
///
/// Untagged so that a run event keeps exactly the JSON it always had: processes of the
/// previous release, still running during a rolling upgrade, publish and read it unchanged.
/// A revocation is `{"credential_revoked": {"session": "<id>"}}` (or `"token"`); it must be
/// tried first, since a run event has no field it needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Notice {
    /// Streams opened with this credential must end now.
    Revoked { credential_revoked: Credential },
    /// Boxed: revocations are small, and every receiver clones what is broadcast.
    Run(Box<RunEvent>),
}

fn channel(broker: &Broker) -> String {
    broker.key("events")
}

/// Publishes a run event; losing one only delays a live UI until the next, so errors are
/// logged.
pub async fn publish(broker: &Broker, event: &RunEvent) {
    publish_notice(broker, &Notice::Run(Box::new(event.clone()))).await;
}

/// The `PUBLISH` of a run event, for a caller that sends it together with other commands.
pub fn publish_command(broker: &Broker, event: &RunEvent) -> Option<redis::Cmd> {
    let payload = serde_json::to_string(&Notice::Run(Box::new(event.clone()))).ok()?;
    let mut cmd = redis::cmd("PUBLISH");
    cmd.arg(channel(broker)).arg(payload);
    Some(cmd)
}

/// Tells every web process that a credential was revoked. Its streams also notice on their
/// next periodic re-check, so a lost message delays the end but does not prevent it.
pub async fn publish_revoked(broker: &Broker, credential: Credential) {
    let notice = Notice::Revoked {
        credential_revoked: credential,
    };
    publish_notice(broker, &notice).await;
}

async fn publish_notice(broker: &Broker, notice: &Notice) {
    let Ok(payload) = serde_json::to_string(notice) else {
        return;
    };
    let mut conn = broker.connection();
    let result: redis::RedisResult<i64> = redis::cmd("PUBLISH")
        .arg(channel(broker))
        .arg(payload)
        .query_async(&mut conn)
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not publish a live event");
    }
}

/// Subscribes to the event channel and re-broadcasts inside this process; reconnects after
/// Redis failures. Returns the sender SSE handlers subscribe to.
pub fn spawn_fanout(broker: Broker) -> broadcast::Sender<Notice> {
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
                            if let Ok(notice) = serde_json::from_str::<Notice>(&payload) {
                                let _ = tx.send(notice);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn run_event_json() -> Value {
        let id = Uuid::nil();
        json!({
            "kind": "state",
            "tenant_id": id,
            "run": {
                "id": id,
                "tenant_id": id,
                "operation": "snapshot",
                "target_type": "tenant",
                "target_id": id,
                "status": "queued",
                "initiator": id,
                "parent_run_id": null,
                "queued_at": "2024-01-01T00:00:00Z",
                "started_at": null,
                "finished_at": null,
                "attempt": 0,
                "counts": {
                    "total": 0, "succeeded": 0, "failed": 0, "skipped": 0, "created": 0,
                    "updated": 0, "unchanged": 0, "conflict": 0, "deleted": 0
                },
                "selection": {"all": true, "item_count": null, "digest": ""},
                "pre_restore_snapshot_id": null,
                "error_code": null,
                "error_context": null,
                "summary": null,
                "url": "http://127.0.0.1/tenants/x/runs/y"
            }
        })
    }

    #[test]
    fn a_revocation_is_told_apart_from_a_run_event() {
        let id = Uuid::now_v7();
        for credential in [Credential::Session(id), Credential::Token(id)] {
            let text = serde_json::to_string(&Notice::Revoked {
                credential_revoked: credential,
            })
            .unwrap();
            match serde_json::from_str::<Notice>(&text).unwrap() {
                Notice::Revoked { credential_revoked } => {
                    assert_eq!(credential_revoked, credential)
                }
                other => panic!("{text} read as {other:?}"),
            }
        }
        let session = serde_json::to_value(Notice::Revoked {
            credential_revoked: Credential::Session(id),
        })
        .unwrap();
        assert_eq!(session, json!({"credential_revoked": {"session": id}}));
    }

    #[test]
    fn a_run_event_travels_as_it_always_did() {
        let event: RunEvent = serde_json::from_value(run_event_json()).unwrap();
        let text = serde_json::to_string(&Notice::Run(Box::new(event))).unwrap();
        let wire: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(wire, run_event_json());
        assert!(matches!(
            serde_json::from_str::<Notice>(&text).unwrap(),
            Notice::Run(_)
        ));
    }
}

//! The Redis connection shared by start de-duplication keys, fleet-wide quotas, live events
//! and the job queues. Redis only delivers work; the database owns run state.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::settings::{RedisSettings, redact_url};

/// Redis could not be reached at start-up.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to Redis at {url}: {reason}")]
pub struct BrokerError {
    url: String,
    reason: String,
}

#[derive(Clone)]
pub struct Broker {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Broker {
    pub async fn connect(settings: &RedisSettings) -> Result<Self, BrokerError> {
        let url = settings.url.expose_secret();
        let fail = |reason: &dyn std::fmt::Display| BrokerError {
            url: redact_url(url),
            reason: reason.to_string(),
        };
        let client = redis::Client::open(url.to_string()).map_err(|e| fail(&e))?;
        let timeout = Duration::from_secs(settings.connect_timeout_secs.max(1));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(
            timeout * 3,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| fail(&"timed out"))?
        .map_err(|e| fail(&e))?;
        let broker = Self {
            client,
            conn,
            prefix: settings.key_prefix.clone(),
        };
        broker.ping().await.map_err(|e| fail(&e))?;
        Ok(broker)
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// A key in this deployment's namespace: `{prefix}:{rest}`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A dedicated connection for SUBSCRIBE (pub/sub cannot share the multiplexed one).
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        self.client.get_async_pubsub().await
    }

    /// Deletes every key of this deployment's namespace (tests give each a prefix of its own).
    pub async fn delete_namespace(&self) -> redis::RedisResult<u64> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:*", self.prefix);
        let keys: Vec<String> = {
            let mut iter: redis::AsyncIter<String> = conn.scan_match(&pattern).await?;
            let mut keys = Vec::new();
            while let Some(item) = iter.next_item().await {
                keys.push(item?);
            }
            keys
        };
        if keys.is_empty() {
            return Ok(0);
        }
        conn.del(keys).await
    }
}

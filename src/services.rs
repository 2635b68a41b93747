//! The connected services every process shares: settings, the database pool, Redis and the
//! secret box (and the shared app's credential). Below `runs`, `jobs` and `web`; it knows only `store`, `broker` and `crypto`.

use std::sync::Arc;

use crate::broker::{Broker, BrokerError};
use crate::crypto::{CryptoError, SecretBox};
use crate::settings::Settings;
use crate::store::tenants::SharedApp;
use crate::store::{self, ConnectError};

/// Why the services could not be connected; each names what is wrong in one line.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Secrets(#[from] CryptoError),
    #[error(transparent)]
    Database(#[from] ConnectError),
    #[error(transparent)]
    Redis(#[from] BrokerError),
    #[error("configuration error: {0}")]
    SharedApp(String),
}

/// The services every process needs, connected and checked.
#[derive(Clone, Debug)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: store::Db,
    pub redis: Broker,
    pub secrets: SecretBox,
    /// The MSP's multi-tenant app registration, when `[shared_app]` configures one.
    pub shared_app: Option<SharedApp>,
}

impl Services {
    /// Connects to the database and Redis and loads the encryption key.
    pub async fn connect(settings: Settings) -> Result<Self, ServicesError> {
        let secrets = SecretBox::from_settings(&settings)?;
        let shared_app =
            SharedApp::from_settings(&settings.shared_app).map_err(ServicesError::SharedApp)?;
        let db = store::Db::new(
            store::connect(&settings.database).await?,
            settings.database.max_connections,
        );
        let redis = Broker::connect(&settings.redis).await?;
        Ok(Self {
            settings: Arc::new(settings),
            db,
            redis,
            secrets,
            shared_app,
        })
    }

    /// Fails unless the schema is current, so a process never runs on an old schema.
    pub async fn require_current_schema(&self) -> Result<(), ConnectError> {
        store::require_current_schema(&self.db).await
    }
}

//! Process start-up: connect the services once, build the web application, bind (port 0 in
//! tests) and serve until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::crypto::SecretBox;
use crate::settings::Settings;
use crate::store;

/// The services every process needs, connected and checked.
#[derive(Clone, Debug)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub redis: Broker,
    pub secrets: SecretBox,
}

impl Services {
    /// Connects to the database and Redis and loads the encryption key; every failure is a
    /// one-line message naming what is wrong.
    pub async fn connect(settings: Settings) -> Result<Self, String> {
        let secrets = SecretBox::from_settings(&settings).map_err(|e| e.to_string())?;
        let db = store::connect(&settings.database).await?;
        let redis = Broker::connect(&settings.redis).await?;
        Ok(Self {
            settings: Arc::new(settings),
            db,
            redis,
            secrets,
        })
    }

    pub async fn require_current_schema(&self) -> Result<(), String> {
        store::require_current_schema(&self.db).await
    }
}

/// The web application, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    services: Services,
}

impl Application {
    pub async fn build(services: Services) -> Result<Self, String> {
        let listen = services.settings.server.listen_addr();
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen} (server.listen): {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        Ok(Self {
            listener,
            addr,
            services,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = crate::web::router(crate::web::AppState::new(self.services));
        tracing::info!(addr = %self.addr, "web server listening");
        // The peer address feeds per-address login throttling.
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        tracing::info!("web server stopped");
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("interrupt received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

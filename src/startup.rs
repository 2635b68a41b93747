//! Process start-up of the web application: bind (port 0 in tests) and serve until a
//! shutdown signal.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::services::Services;

/// The web application, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    services: Services,
}

impl Application {
    pub async fn build(services: Services) -> anyhow::Result<Self> {
        let listen = services.settings.server.listen_addr();
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (server.listen)"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
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

//! The HTTP server: routes, our own hyper accept loop (so the `drop_after_commit` fault can
//! close a connection without answering), `spawn` and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::SimConfig;
use crate::graph::DropConnection;
use crate::store::Sim;

/// Graph allows 4 MB bodies; real exports of big settings-catalog policies stay below this.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .merge(crate::admin::router())
        .route("/_sim/{*rest}", any(crate::admin::not_found))
        .route("/{tenant}/oauth2/v2.0/token", post(crate::auth::token))
        .fallback(crate::graph::handle)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(sim)
}

/// The error a service returns to make hyper close the connection without a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped after commit (injected fault)")
    }
}

impl std::error::Error for Dropped {}

/// A simulator serving in the background.
pub struct RunningSim {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: both the Graph base (`{base}/beta/...`) and the login base
    /// (`{base}/{tenant}/oauth2/v2.0/token`).
    pub fn base_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if self.addr.is_ipv6() {
            format!("[{}]", self.addr.ip())
        } else {
            self.addr.ip().to_string()
        };
        format!("http://{host}:{}", self.addr.port())
    }

    /// Stop accepting, let in-flight requests finish (up to 5 s), then return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Build the simulator (demo tenants, fixtures), bind `listen` (port 0 picks one) and serve in
/// the background.
pub async fn spawn(config: SimConfig, listen: SocketAddr) -> anyhow::Result<RunningSim> {
    let sim = Arc::new(Sim::new(config)?);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("binding {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, router(sim), stopped));
    tracing::info!(%addr, "graph-sim listening");
    Ok(RunningSim { addr, stop, task })
}

async fn serve(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: back off rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let mut conn_stopped = stopped.clone();
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let app = app.clone();
                        async move {
                            let resp = match app.oneshot(req).await {
                                Ok(r) => r,
                                Err(never) => match never {},
                            };
                            if resp.extensions().get::<DropConnection>().is_some() {
                                Err(Dropped)
                            } else {
                                Ok(resp)
                            }
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        res = conn.as_mut() => {
                            if let Err(e) = res {
                                tracing::debug!(error = %e, "connection ended");
                            }
                        }
                        _ = async { conn_stopped.wait_for(|s| *s).await.map(|_| ()) } => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
                while conns.try_join_next().is_some() {}
            }
            _ = async { stopped.wait_for(|s| *s).await.map(|_| ()) } => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after 5 s; closing them");
    }
    tracing::info!("graph-sim stopped");
}

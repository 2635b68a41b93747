//! `GET /events`: Server-Sent Events of run state and progress changes, only of tenants the
//! caller is a member of (re-checked while the stream is open).

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::AppState;
use super::auth::CurrentUser;
use super::error::ApiError;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::store::accounts;

/// How often an open stream re-reads the caller's memberships.
const MEMBERSHIP_REFRESH: Duration = Duration::from_secs(10);

pub fn routes() -> Routes {
    Routes::new().get("/events", Access::User, stream).doc(
        Doc::new("Server-Sent Events of run changes in the caller's tenants").event_stream(
            "An endless stream; each event's `event` is its kind (`state`, `progress`, or \
             `resync` when the client fell behind and should re-read) and its data a JSON object",
        ),
    )
}

async fn member_tenants(state: &AppState, user_id: Uuid) -> HashSet<Uuid> {
    accounts::tenants_of(&state.services().db, user_id)
        .await
        .map(|ts| ts.into_iter().map(|(t, _)| t.id).collect())
        .unwrap_or_default()
}

async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut receiver = state.events.subscribe();
    let user_id = user.id();
    let mut tenants = member_tenants(&state, user_id).await;
    let stream = async_stream_events(move |tx| async move {
        let mut refreshed = Instant::now();
        loop {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(skipped)) => {
                    // This client fell behind and missed events: tell it to re-read.
                    tracing::debug!(skipped, "event stream lagged; asking the client to resync");
                    let resync = Event::default().event("resync").data("{}");
                    if tx.send(Ok(resync)).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if refreshed.elapsed() > MEMBERSHIP_REFRESH {
                tenants = member_tenants(&state, user_id).await;
                refreshed = Instant::now();
            }
            if !tenants.contains(&event.tenant_id) {
                continue;
            }
            let Ok(data) = serde_json::to_string(&event) else {
                continue;
            };
            let sse = Event::default().event(event.kind.clone()).data(data);
            if tx.send(Ok(sse)).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A stream fed by a spawned task through a bounded channel (ends when the client leaves).
fn async_stream_events<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(producer(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

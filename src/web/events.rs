//! `GET /events`: Server-Sent Events of run state and progress changes, only of tenants the
//! caller is a member of (re-checked while the stream is open), for only as long as the
//! credential that opened the stream stays valid.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::AppState;
use super::auth::{self, CurrentUser};
use super::error::ApiError;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::runs::events::{Credential, Notice};
use crate::store::accounts;

/// How often an open stream re-reads the caller's memberships.
const MEMBERSHIP_REFRESH: Duration = Duration::from_secs(10);

/// How often an open stream re-reads its credential. Sign-out and token revocation end it at
/// once through a notice; this bounds how long it outlives a credential that ended without
/// one (expiry, a disabled account, a notice lost while Redis was unreachable). The route's
/// documentation names this interval.
pub const CREDENTIAL_RECHECK: Duration = Duration::from_secs(15);

pub fn routes() -> Routes {
    Routes::new().get("/events", Access::User, stream).doc(
        Doc::new("Server-Sent Events of run changes in the caller's tenants").event_stream(
            "An endless stream; each event's `event` is its kind (`state`, `progress`, or \
             `resync` when the client fell behind and should re-read) and its data a JSON \
             object. The stream ends when the credential that opened it stops being valid: \
             at once on sign-out of its session or revocation of its API token, within 15 s \
             when the session expires or the account is disabled; reconnecting then answers \
             401",
        ),
    )
}

async fn member_tenants(state: &AppState, user_id: Uuid) -> HashSet<Uuid> {
    accounts::tenants_of(&state.services().db, user_id)
        .await
        .map(|ts| ts.into_iter().map(|m| m.tenant.id).collect())
        .unwrap_or_default()
}

/// Fails closed: a stream whose credential cannot be checked ends, and the client's
/// reconnect is authenticated afresh.
async fn still_valid(state: &AppState, credential: Credential) -> bool {
    match auth::credential_is_active(state, credential).await {
        Ok(active) => active,
        Err(e) => {
            tracing::warn!(error = %e, "could not re-check an event stream's credential");
            false
        }
    }
}

async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut receiver = state.events.subscribe();
    let credential = user.credential();
    // A revocation between authentication and the subscription above sent its notice to no
    // one; from here on a notice reaches this stream, and the database shows anything older.
    if !still_valid(&state, credential).await {
        return Err(ApiError::Unauthorized);
    }
    let user_id = user.id();
    let mut tenants = member_tenants(&state, user_id).await;
    let stream = async_stream_events(move |tx| async move {
        let mut refreshed = Instant::now();
        let mut recheck = tokio::time::interval_at(
            tokio::time::Instant::now() + CREDENTIAL_RECHECK,
            CREDENTIAL_RECHECK,
        );
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let received = tokio::select! {
                received = receiver.recv() => received,
                _ = recheck.tick() => {
                    if !still_valid(&state, credential).await {
                        tracing::debug!(?credential, "event stream credential ended");
                        return;
                    }
                    continue;
                }
                // Without this, a stream quiet for hours would keep re-checking for a
                // client that left long ago.
                () = tx.closed() => return,
            };
            let event = match received {
                Ok(Notice::Run(event)) => event,
                Ok(Notice::Revoked { credential_revoked }) => {
                    if credential_revoked == credential {
                        tracing::debug!(?credential, "event stream credential revoked");
                        return;
                    }
                    continue;
                }
                Err(RecvError::Lagged(skipped)) => {
                    // The missed messages may have held this stream's revocation.
                    if !still_valid(&state, credential).await {
                        return;
                    }
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
            let sse = Event::default().event(event.kind.as_str()).data(data);
            if tx.send(Ok(sse)).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A stream fed by a spawned task through a bounded channel; it ends when the task returns
/// (the credential ended) and the task ends when the client leaves.
fn async_stream_events<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(producer(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

//! The event stream lives no longer than the credential that opened it: sign-out of its
//! session or revocation of its API token ends it at once, in every web process, while the
//! same user's other credentials keep theirs.

use std::time::Duration;

use policyvault::startup::Application;
use policyvault::store::accounts;
use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::helpers::{Role, TestApp, TestTenant, TestUser, redis_url, spawn_app};

/// The password `TestApp::add_user` gives every user.
const PASSWORD: &str = "correct horse battery";
/// Far below the periodic re-check, so only the revocation notice can meet it.
const ENDS_WITHIN: Duration = Duration::from_secs(10);
const DELIVERED_WITHIN: Duration = Duration::from_secs(20);
const TERMINAL_WAIT: Duration = Duration::from_secs(60);

fn client() -> reqwest::Client {
    policyvault::http::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[derive(Clone, Copy)]
enum Cred<'a> {
    Token(&'a SecretString),
    Session(&'a Browser),
}

struct Browser {
    /// `pv_session=<id>`
    cookie: String,
    csrf: String,
}

async fn sign_in(base: &str, email: &str) -> Browser {
    let response = client()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "sign-in of {email}");
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pv_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let body: Value = response.json().await.unwrap();
    Browser {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    }
}

async fn get_events(base: &str, cred: Cred<'_>) -> reqwest::Response {
    let request = client().get(format!("{base}/api/v1/events"));
    let request = match cred {
        Cred::Token(token) => request.bearer_auth(token.expose_secret()),
        Cred::Session(browser) => request.header(header::COOKIE, &browser.cookie),
    };
    request.send().await.unwrap()
}

/// What a stream reader reports: each event's JSON, then `End` once the body ends.
#[derive(Debug)]
enum Frame {
    Event(Value),
    End,
}

/// An open event stream, read in the background as it arrives.
struct Stream {
    frames: mpsc::UnboundedReceiver<Frame>,
}

impl Stream {
    async fn open(base: &str, cred: Cred<'_>) -> Self {
        let mut response = get_events(base, cred).await;
        assert_eq!(response.status(), StatusCode::OK);
        let (tx, frames) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    for line in frame.lines() {
                        if let Some(data) = line.strip_prefix("data:") {
                            let event = serde_json::from_str(data.trim()).expect("JSON event");
                            let _ = tx.send(Frame::Event(event));
                        }
                    }
                }
            }
            let _ = tx.send(Frame::End);
        });
        Self { frames }
    }

    /// Waits for an event of the given run; fails if the stream ends first.
    async fn expect_run(&mut self, run_id: &str, what: &str) -> Value {
        let wait = async {
            loop {
                match self.frames.recv().await {
                    Some(Frame::Event(event)) if event["run"]["id"] == run_id => return event,
                    Some(Frame::Event(_)) => {}
                    Some(Frame::End) | None => panic!("{what}: ended before run {run_id}"),
                }
            }
        };
        tokio::time::timeout(DELIVERED_WITHIN, wait)
            .await
            .unwrap_or_else(|_| panic!("{what}: no event of run {run_id} in {DELIVERED_WITHIN:?}"))
    }

    /// Waits for the body to end, skipping events still in flight.
    async fn expect_end(&mut self, what: &str) {
        let wait = async {
            while let Some(frame) = self.frames.recv().await {
                if matches!(frame, Frame::End) {
                    return;
                }
            }
        };
        tokio::time::timeout(ENDS_WITHIN, wait)
            .await
            .unwrap_or_else(|_| panic!("{what}: still open {ENDS_WITHIN:?} after revocation"));
    }
}

/// A second web process of the same deployment (same database, same Redis namespace),
/// stopped when dropped.
struct OtherProcess {
    address: String,
    _stop: watch::Sender<bool>,
}

async fn other_process(app: &TestApp) -> OtherProcess {
    let web = Application::build(app.services.clone()).await.unwrap();
    let address = format!("http://{}", web.addr());
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(web.run_until(async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    OtherProcess {
        address,
        _stop: stop,
    }
}

async fn world() -> (TestApp, TestUser, TestTenant) {
    let app = spawn_app().await;
    let tenant = app.add_tenant("Contoso").await;
    let user = app.add_user("admin@contoso.example").await;
    app.grant(&user, &tenant, Role::Admin).await;
    (app, user, tenant)
}

/// Starts a snapshot and lets it finish (so the next start is a new run); its `state`
/// events are on their way to every stream of the tenant.
async fn run_snapshot(app: &TestApp, user: &TestUser, tenant: &TestTenant) -> String {
    let response = app
        .post(
            user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let started: Value = response.json().await.unwrap();
    let id = started["run"]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(user, tenant.id, &id, TERMINAL_WAIT)
        .await;
    id
}

#[tokio::test]
async fn signing_out_ends_the_sessions_stream_in_every_web_process() {
    let (app, user, tenant) = world().await;
    let other = other_process(&app).await;
    let browser = sign_in(&app.address, &user.email).await;
    // Opened on the other process, so the sign-out can only reach it through Redis.
    let mut stream = Stream::open(&other.address, Cred::Session(&browser)).await;
    let before = run_snapshot(&app, &user, &tenant).await;
    stream.expect_run(&before, "session stream").await;

    let signed_out = client()
        .delete(format!("{}/api/v1/session", app.address))
        .header(header::COOKIE, &browser.cookie)
        .header("x-csrf-token", &browser.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    stream.expect_end("session stream").await;
    let again = get_events(&other.address, Cred::Session(&browser)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

#[tokio::test]
async fn revoking_a_token_ends_its_stream_at_once_and_spares_the_users_other_token() {
    let (app, user, tenant) = world().await;
    let model = accounts::user_by_email(
        &app.services.db,
        &policyvault::domain::Email::parse(&user.email).unwrap(),
    )
    .await
    .unwrap();
    let (ci_row, ci_token) = accounts::create_token(&app.services.db, &model, "ci")
        .await
        .unwrap();
    let other = other_process(&app).await;
    let mut revoked = Stream::open(&other.address, Cred::Token(&ci_token)).await;
    let mut kept = Stream::open(&other.address, Cred::Token(&user.token)).await;
    let before = run_snapshot(&app, &user, &tenant).await;
    revoked.expect_run(&before, "token stream").await;
    kept.expect_run(&before, "other token's stream").await;

    // Revoked the way operators do it: the command line, a process of its own.
    let revoke = tokio::process::Command::new(env!("CARGO_BIN_EXE_policyvault"))
        .args(["token", "revoke", "--id", &ci_row.id.to_string()])
        .env(
            "PV_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("PV_ENV", "test")
        .env("PV__DATABASE__URL", &app.db.url)
        .env("PV__REDIS__URL", redis_url())
        .env("PV__REDIS__KEY_PREFIX", app.services.redis.prefix())
        .output()
        .await
        .unwrap();
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    revoked.expect_end("revoked token's stream").await;
    let again = get_events(&other.address, Cred::Token(&ci_token)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    let after = run_snapshot(&app, &user, &tenant).await;
    kept.expect_run(&after, "other token's stream after the revocation")
        .await;
    app.shutdown().await;
}

#[tokio::test]
async fn signing_out_one_session_spares_the_users_other_session_and_token() {
    let (app, user, tenant) = world().await;
    let leaving = sign_in(&app.address, &user.email).await;
    let staying = sign_in(&app.address, &user.email).await;
    let mut ended = Stream::open(&app.address, Cred::Session(&leaving)).await;
    let mut session = Stream::open(&app.address, Cred::Session(&staying)).await;
    let mut token = Stream::open(&app.address, Cred::Token(&user.token)).await;
    let before = run_snapshot(&app, &user, &tenant).await;
    for (stream, what) in [
        (&mut ended, "leaving session"),
        (&mut session, "staying session"),
        (&mut token, "token"),
    ] {
        stream.expect_run(&before, what).await;
    }

    // The web UI's sign-out form.
    let signed_out = client()
        .post(format!("{}/logout", app.address))
        .header(header::COOKIE, &leaving.cookie)
        .form(&[("csrf_token", leaving.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    ended.expect_end("leaving session's stream").await;

    let after = run_snapshot(&app, &user, &tenant).await;
    session
        .expect_run(&after, "staying session's stream after the sign-out")
        .await;
    token
        .expect_run(&after, "token stream after the sign-out")
        .await;
    app.shutdown().await;
}

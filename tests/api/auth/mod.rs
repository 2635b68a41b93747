//! Accounts and access: the route × caller matrix walked from the route table itself,
//! tenant isolation of the event stream, browser sessions (cookie flags, expiry, sign-out),
//! CSRF, API-token revocation, login throttling, and that no credential is kept in clear.
//!
//! One module per concern; this one holds what they share: the browser-like client, signing
//! in, and sending a request as a given caller.

mod csrf;
mod events;
mod in_clear;
mod matrix;
mod membership;
mod sessions;
mod throttling;
mod tokens;

use std::time::Duration;

use policyvault::store::activity;
use reqwest::{Method, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{AppOptions, TestApp, TestTenant, TestUser};

/// The password `TestApp::add_user` gives every user.
const PASSWORD: &str = "correct horse battery";
const TERMINAL_WAIT: Duration = Duration::from_secs(60);

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    policyvault::http::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn app_with(settings: &[(&str, &str)]) -> AppOptions {
    AppOptions {
        worker: true,
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..AppOptions::default()
    }
}

/// A signed-in browser: the cookie to send and the session's CSRF token.
#[derive(Clone, Debug)]
struct Browser {
    /// `pv_session=<id>`
    cookie: String,
    /// The session id alone.
    session_id: String,
    csrf: String,
}

/// The `pv_session` `Set-Cookie` header of a response, whole.
fn set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pv_session="))
        .map(str::to_string)
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/v1/session", app.address))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn browser(app: &TestApp, email: &str) -> Browser {
    let response = sign_in(app, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "sign-in of {email}");
    let cookie = set_cookie(&response).expect("a session cookie");
    let pair = cookie.split(';').next().unwrap().to_string();
    let session_id = pair.trim_start_matches("pv_session=").to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["auth"], "session");
    Browser {
        cookie: pair,
        session_id,
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Anonymous,
    Token(&'a TestUser),
    /// The cookie, plus the CSRF header on changes when `csrf` is true.
    Cookie(&'a Browser, bool),
}

enum Body {
    Empty,
    Json(Value),
    Form(Vec<(String, String)>),
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Body,
) -> reqwest::Response {
    let mut request = client().request(method.clone(), format!("{}{path}", app.address));
    match auth {
        Auth::Anonymous => {}
        Auth::Token(user) => request = request.bearer_auth(user.token.expose_secret()),
        Auth::Cookie(browser, csrf) => {
            request = request.header(header::COOKIE, &browser.cookie);
            if csrf && !method.is_safe() {
                request = request.header("x-csrf-token", &browser.csrf);
            }
        }
    }
    request = match body {
        Body::Empty => request,
        Body::Json(value) => request.json(&value),
        Body::Form(fields) => request.form(&fields),
    };
    request.send().await.unwrap()
}

async fn load_policies(app: &TestApp, tenant: &TestTenant, n: usize) {
    for i in 0..n {
        app.sim_load(
            tenant,
            "deviceManagement/deviceConfigurations",
            json!({
                "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                "displayName": format!("{} policy {i}", tenant.name),
            }),
        )
        .await;
    }
}

/// A notification of the user's own in the tenant; returns its id.
async fn notify(app: &TestApp, user_id: Uuid, tenant_id: Uuid, title: String) -> String {
    activity::notify(
        &app.services.db,
        activity::NewNotification {
            user_id,
            tenant_id,
            run_id: None,
            fanout_id: None,
            kind: "test".into(),
            title,
            body: String::new(),
        },
    )
    .await
    .unwrap()
    .id
    .to_string()
}

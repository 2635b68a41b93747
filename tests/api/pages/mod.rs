//! The web UI's pages over plain HTTP, as a browser without JavaScript uses them: forms that
//! start runs answer with a redirect to the run's page, which says it was queued (or that an
//! identical run already was); mistakes answer with pages, never JSON or a 500; lists page
//! and filter; htmx requests get fragments.

mod forms;
mod runs_list;

use std::time::Duration;

use chrono::Utc;
use entity::enums::{RunOperation, RunStatus};
use policyvault::store::runs::{self as run_store, NewRun};
use reqwest::{StatusCode, header};
use sea_orm::prelude::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{AppOptions, Role, TestApp, TestTenant, TestUser, spawn_app_with};

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(60);

/// A cookie-holding client that never follows redirects.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Visitor {
    async fn sign_in(app: &TestApp, email: &str) -> Self {
        policyvault::http::install_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = http
            .post(format!("{}/login", app.address))
            .form(&[("email", email), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let session: Value = http
            .get(format!("{}/api/v1/session", app.address))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            http,
            base: app.address.clone(),
            cookie,
            csrf: session["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        (status, response.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token, as the page's form would.
    async fn post(&self, path: &str, fields: &[(&str, &str)], htmx: bool) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie)
            .form(&form);
        if htmx {
            request = request.header("HX-Request", "true");
        }
        request.send().await.unwrap()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

async fn world(worker: bool) -> (TestApp, TestTenant, TestUser, TestUser) {
    let app = spawn_app_with(AppOptions {
        worker,
        ..AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Contoso").await;
    for i in 0..2 {
        app.sim_load(
            &tenant,
            "deviceManagement/deviceConfigurations",
            json!({
                "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                "displayName": format!("Policy {i}"),
            }),
        )
        .await;
    }
    let admin = app.add_user("admin@contoso.example").await;
    let viewer = app.add_user("viewer@contoso.example").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    app.grant(&viewer, &tenant, Role::Viewer).await;
    (app, tenant, admin, viewer)
}

/// The HTML of a page as `email` (signed in with the test password) sees it.
pub async fn page_of(app: &TestApp, email: &str, path: &str) -> String {
    let visitor = Visitor::sign_in(app, email).await;
    let (status, html) = visitor.page(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    html
}

/// Posts a page's form (with the session's CSRF token) as `email`, without JavaScript;
/// answers the status and the redirect target.
pub async fn submit_as(
    app: &TestApp,
    email: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let visitor = Visitor::sign_in(app, email).await;
    let response = visitor.post(path, fields, false).await;
    let status = response.status();
    let target = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, target)
}

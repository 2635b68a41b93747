//! Accounts and access: the route × caller matrix walked from the route table itself,
//! tenant isolation of the event stream, browser sessions (cookie flags, expiry, sign-out),
//! CSRF, API-token revocation, login throttling, and that no credential is kept in clear.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use policyvault::domain::{Email, Password};
use policyvault::store::{accounts, activity};
use policyvault::web::{Access, RouteInfo, route_table};
use reqwest::{Method, StatusCode, header};
use sea_orm::EntityTrait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{AppOptions, Role, TestApp, TestTenant, TestUser, spawn_app_with};

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

// ---- the route × caller matrix ----

/// A caller of the matrix, relative to tenant A (whose resources every path names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// Admin of tenant B, no membership of A.
    Outsider,
    Member(Role),
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// 401 for the API, a redirect to the sign-in form for pages.
    Unauthenticated,
    NotFound,
    Forbidden,
    /// 2xx (3xx for pages), or a 4xx that is none of 401/403/404 (the sample body was not
    /// acceptable, a conflict, ...).
    Allowed,
}

fn expected(route: &RouteInfo, caller: Caller) -> Expect {
    match (route.access, caller) {
        (Access::Public, _) => Expect::Allowed,
        (_, Caller::Anonymous) => Expect::Unauthenticated,
        (Access::User, _) => Expect::Allowed,
        (Access::Tenant(_), Caller::Outsider) => Expect::NotFound,
        (Access::Tenant(needed), Caller::Member(role)) => {
            if role.allows(needed) {
                Expect::Allowed
            } else {
                Expect::Forbidden
            }
        }
    }
}

/// Ids of what exists in one tenant.
#[derive(Debug, Default, Clone)]
struct TenantIds {
    tenant: String,
    name: String,
    snapshot: String,
    backup_set: String,
    /// A finished live restore (re-runnable).
    restore_run: String,
    /// A member whose membership the matrix may change and remove.
    spare_user: String,
    spare_email: String,
    runs: Vec<String>,
}

impl TenantIds {
    fn all(&self) -> Vec<&str> {
        let mut ids = vec![
            self.tenant.as_str(),
            self.name.as_str(),
            self.snapshot.as_str(),
            self.backup_set.as_str(),
        ];
        ids.extend(self.runs.iter().map(String::as_str));
        ids
    }
}

/// Fills a route's path parameters with tenant A's resources (and the caller's own
/// notification). A parameter the matrix does not know fails the test: teach it here.
fn fill(route: &RouteInfo, a: &TenantIds, notification: &str) -> String {
    let segments: Vec<&str> = route.path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let previous = if i > 0 { segments[i - 1] } else { "" };
        let value = match (*segment, previous) {
            ("{tenant}", _) => a.tenant.clone(),
            ("{id}", "snapshots") => a.snapshot.clone(),
            ("{id}", "backup-sets") => a.backup_set.clone(),
            ("{id}", "notifications") => notification.to_string(),
            ("{run}", _) => a.restore_run.clone(),
            ("{user}", "memberships") => a.spare_user.clone(),
            (s, _) if s.starts_with('{') => panic!(
                "the access matrix cannot fill {s} in {} {}: add it to `fill` in tests/api/auth.rs",
                route.method, route.path
            ),
            (s, _) => s.to_string(),
        };
        out.push(value);
    }
    out.join("/")
}

/// A body a caller with enough rights would send.
fn sample_body(route: &RouteInfo, a: &TenantIds, n: usize) -> Body {
    if route.method == Method::GET || route.method == Method::DELETE {
        return Body::Empty;
    }
    let path = route.path.as_str();
    if !path.starts_with("/api/") {
        // Pages take forms; the CSRF token travels in the header in the matrix.
        let field = |k: &str, v: &str| (k.to_string(), v.to_string());
        let fields = if path.ends_with("/backup-sets") {
            vec![field("name", &format!("Matrix page set {n}"))]
        } else if path.ends_with("/restore/preview") {
            vec![field("source", &format!("snapshot:{}", a.snapshot))]
        } else if path.ends_with("/rerun") || path.ends_with("/restore/live") {
            vec![field("confirm", &a.name), field("items", "all")]
        } else {
            Vec::new()
        };
        return Body::Form(fields);
    }
    if path.ends_with("/snapshots") {
        Body::Json(json!({}))
    } else if path.ends_with("/backup-sets") {
        Body::Json(json!({"name": format!("Matrix set {n}")}))
    } else if path.ends_with("/restores") {
        Body::Json(json!({"source": {"snapshot_id": a.snapshot}, "mode": "preview"}))
    } else if path.ends_with("/memberships") {
        Body::Json(json!({"email": a.spare_email, "role": "viewer"}))
    } else if path.ends_with("/rerun") {
        Body::Json(json!({"confirm": a.name}))
    } else if path.ends_with("/capture") || path.ends_with("/read") {
        Body::Empty
    } else {
        Body::Json(json!({}))
    }
}

/// Checks one answer against the expectation; returns its body (None for event streams).
async fn check(
    route: &RouteInfo,
    caller: Caller,
    how: &str,
    response: reqwest::Response,
) -> Option<String> {
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let body = if streaming {
        None
    } else {
        Some(response.text().await.unwrap_or_default())
    };
    let what = format!(
        "{} {} as {caller:?} ({how}): got {status} {location} {}",
        route.method,
        route.path,
        body.as_deref().unwrap_or("<stream>")
    );
    let code = status.as_u16();
    match expected(route, caller) {
        Expect::Unauthenticated if route.is_api() => assert_eq!(code, 401, "{what}"),
        Expect::Unauthenticated => {
            assert_eq!(code, 303, "{what}");
            assert!(location.starts_with("/login"), "{what}");
        }
        Expect::NotFound => assert_eq!(code, 404, "{what}"),
        Expect::Forbidden => assert_eq!(code, 403, "{what}"),
        Expect::Allowed => {
            let ok = status.is_success()
                || (status.is_redirection() && !route.is_api())
                || (status.is_client_error() && ![401, 403, 404].contains(&code));
            assert!(ok, "{what}");
        }
    }
    body
}

struct World {
    app: TestApp,
    a: TenantIds,
    b: TenantIds,
    viewer: TestUser,
    operator: TestUser,
    admin: TestUser,
    outsider: TestUser,
    /// Each user's own notification id.
    notifications: HashMap<Uuid, String>,
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

/// Starts a run as `user` and waits for it to finish; returns its id and final state.
async fn run_to_end(
    app: &TestApp,
    user: &TestUser,
    tenant: &TestTenant,
    path: &str,
    body: Value,
) -> (String, Value) {
    let response = app.post(user, path, body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    let id = body["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(user, tenant.id, &id, TERMINAL_WAIT)
        .await;
    (id, run)
}

/// Two tenants with content: A (viewer, operator, admin) and B (the outsider is its admin).
/// A notification of the user's own in the tenant; returns its id.
async fn notify(app: &TestApp, user_id: Uuid, tenant_id: Uuid, title: String) -> String {
    activity::notify(
        &app.services.db,
        activity::NewNotification {
            user_id,
            tenant_id,
            run_id: None,
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

async fn world() -> World {
    let app = spawn_app_with(app_with(&[])).await;
    let tenant_a = app.add_tenant("Contoso").await;
    let tenant_b = app.add_tenant("Fabrikam").await;
    load_policies(&app, &tenant_a, 2).await;
    load_policies(&app, &tenant_b, 2).await;
    let viewer = app.add_user("viewer@contoso.example").await;
    let operator = app.add_user("operator@contoso.example").await;
    let admin = app.add_user("admin@contoso.example").await;
    let outsider = app.add_user("admin@fabrikam.example").await;
    app.grant(&viewer, &tenant_a, Role::Viewer).await;
    app.grant(&operator, &tenant_a, Role::Operator).await;
    app.grant(&admin, &tenant_a, Role::Admin).await;
    app.grant(&outsider, &tenant_b, Role::Admin).await;

    let mut ids = Vec::new();
    for (user, tenant) in [(&admin, &tenant_a), (&outsider, &tenant_b)] {
        let base = format!("/tenants/{}", tenant.id);
        let (capture, run) =
            run_to_end(&app, user, tenant, &format!("{base}/snapshots"), json!({})).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let snapshot = app.get_json(user, &format!("{base}/snapshots")).await["snapshots"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let created: Value = app
            .post(
                user,
                &format!("{base}/backup-sets"),
                json!({"name": "Weekly", "capture": true}),
            )
            .await
            .json()
            .await
            .unwrap();
        let backup_set = created["backup_set"]["id"].as_str().unwrap().to_string();
        let set_capture = created["run"]["id"].as_str().unwrap().to_string();
        app.wait_for_terminal(user, tenant.id, &set_capture, TERMINAL_WAIT)
            .await;
        let (restore, _) = run_to_end(
            &app,
            user,
            tenant,
            &format!("{base}/restores"),
            json!({"source": {"snapshot_id": snapshot}, "mode": "live", "confirm": tenant.name}),
        )
        .await;
        ids.push(TenantIds {
            tenant: tenant.id.to_string(),
            name: tenant.name.clone(),
            snapshot,
            backup_set,
            restore_run: restore.clone(),
            runs: vec![capture, set_capture, restore],
            ..TenantIds::default()
        });
    }
    let b = ids.pop().unwrap();
    let mut a = ids.pop().unwrap();
    let spare = app.add_user("spare@contoso.example").await;
    app.grant(&spare, &tenant_a, Role::Viewer).await;
    a.spare_user = spare.id.to_string();
    a.spare_email = spare.email.clone();

    // Every user gets a notification of their own (viewers start nothing).
    let mut notifications = HashMap::new();
    for (user, tenant) in [
        (&viewer, &tenant_a),
        (&operator, &tenant_a),
        (&admin, &tenant_a),
        (&outsider, &tenant_b),
    ] {
        let id = notify(&app, user.id, tenant.id, format!("Hello {}", user.email)).await;
        notifications.insert(user.id, id);
    }
    World {
        app,
        a,
        b,
        viewer,
        operator,
        admin,
        outsider,
        notifications,
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_by_its_declared_access() {
    let w = world().await;
    let app = &w.app;
    let table = route_table();
    assert!(table.len() >= 20, "the route table lost routes: {table:#?}");
    assert!(
        table
            .iter()
            .any(|r| r.access == Access::Tenant(Role::Admin)),
        "some route needs admin"
    );
    // The roles of the issue, independent of the table: a viewer reads everything of a
    // tenant (but member management, an admin's job), and nothing that changes a tenant is
    // open to a viewer.
    for route in &table {
        if let Access::Tenant(role) = route.access {
            if route.path.contains("/memberships") {
                assert_eq!(
                    role,
                    Role::Admin,
                    "{route:?}: members are managed by admins"
                );
            } else if route.method == Method::GET {
                assert_eq!(role, Role::Viewer, "{route:?}: reads are for viewers");
            } else {
                assert!(
                    role.allows(Role::Operator),
                    "{route:?}: changes need operator"
                );
            }
        }
    }
    let callers: Vec<(Caller, Option<&TestUser>)> = vec![
        (Caller::Anonymous, None),
        (Caller::Outsider, Some(&w.outsider)),
        (Caller::Member(Role::Viewer), Some(&w.viewer)),
        (Caller::Member(Role::Operator), Some(&w.operator)),
        (Caller::Member(Role::Admin), Some(&w.admin)),
    ];
    let a_ids: Vec<String> = w.a.all().into_iter().map(str::to_string).collect();
    let b_ids: Vec<String> = w.b.all().into_iter().map(str::to_string).collect();
    let mut n = 0;
    let mut checked = 0;

    // Pass 1: API tokens. Pass 2: browser sessions (cookie + CSRF header on changes).
    for pass in ["token", "session"] {
        let mut browsers: HashMap<Uuid, Browser> = HashMap::new();
        for (caller, user) in &callers {
            if pass == "session" && user.is_none() {
                continue;
            }
            for route in &table {
                n += 1;
                let notification = user
                    .and_then(|u| w.notifications.get(&u.id).cloned())
                    .unwrap_or_else(|| Uuid::new_v4().to_string());
                let path = fill(route, &w.a, &notification);
                let body = sample_body(route, &w.a, n);
                let response = match (pass, user) {
                    (_, None) => {
                        send(app, route.method.clone(), &path, Auth::Anonymous, body).await
                    }
                    ("token", Some(user)) => {
                        send(app, route.method.clone(), &path, Auth::Token(user), body).await
                    }
                    (_, Some(user)) => {
                        let b = match browsers.get(&user.id) {
                            Some(b) => b.clone(),
                            None => {
                                let b = browser(app, &user.email).await;
                                browsers.insert(user.id, b.clone());
                                b
                            }
                        };
                        let response = send(
                            app,
                            route.method.clone(),
                            &path,
                            Auth::Cookie(&b, true),
                            body,
                        )
                        .await;
                        // Signing out ends the session: sign in again for the next route.
                        if route.path.ends_with("/session") && route.method == Method::DELETE
                            || route.path == "/logout"
                        {
                            browsers.remove(&user.id);
                        }
                        response
                    }
                };
                let body = check(route, *caller, pass, response).await;
                checked += 1;
                // Zero cross-tenant reads: an answer never names the other tenant's things.
                if let Some(body) = body {
                    let foreign = match caller {
                        Caller::Outsider => &a_ids,
                        Caller::Member(_) => &b_ids,
                        Caller::Anonymous => &a_ids,
                    };
                    for id in foreign {
                        assert!(
                            !body.contains(id.as_str()),
                            "{} {} as {caller:?} ({pass}) leaked {id}: {body}",
                            route.method,
                            route.path
                        );
                    }
                }
            }
        }
    }
    assert_eq!(checked, table.len() * (callers.len() * 2 - 1));

    // Resources of B, asked for through A's paths, are not found either.
    let through_a = [
        format!("/tenants/{}/snapshots/{}", w.a.tenant, w.b.snapshot),
        format!("/tenants/{}/backup-sets/{}", w.a.tenant, w.b.backup_set),
        format!("/tenants/{}/runs/{}", w.a.tenant, w.b.restore_run),
        format!("/tenants/{}/runs/{}/items", w.a.tenant, w.b.restore_run),
    ];
    for path in &through_a {
        assert_eq!(app.get(&w.admin, path).await.status(), 404, "{path}");
    }
    // Nor can A's admin restore from B's snapshot, or mark another user's notification.
    let response = app
        .post(
            &w.admin,
            &format!("/tenants/{}/restores", w.a.tenant),
            json!({"source": {"snapshot_id": w.b.snapshot}, "mode": "preview"}),
        )
        .await;
    assert_eq!(response.status(), 404);
    let others = &w.notifications[&w.admin.id];
    let response = app
        .post(
            &w.outsider,
            &format!("/notifications/{others}/read"),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 404);

    // Zero cross-tenant starts: every run of A was started by A's operator or admin, every
    // run of B by B's admin — and the matrix did start runs.
    let runs = entity::runs::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    let a_id: Uuid = w.a.tenant.parse().unwrap();
    let b_id: Uuid = w.b.tenant.parse().unwrap();
    for run in &runs {
        if run.tenant_id == a_id {
            assert!(
                [w.operator.id, w.admin.id].contains(&run.initiator_id),
                "run {} of A started by {}",
                run.id,
                run.initiator_id
            );
        } else {
            assert_eq!(run.tenant_id, b_id);
            assert_eq!(run.initiator_id, w.outsider.id, "run {} of B", run.id);
        }
    }
    assert!(
        runs.iter()
            .any(|r| r.tenant_id == a_id && r.initiator_id == w.operator.id),
        "the operator's starts were accepted"
    );
    assert_eq!(
        runs.iter().filter(|r| r.tenant_id == b_id).count(),
        3,
        "nothing was started in B by the matrix"
    );
    w.app.shutdown().await;
}

#[tokio::test]
async fn live_restores_and_reruns_need_the_admin_role() {
    let w = world().await;
    let app = &w.app;
    let restores = format!("/tenants/{}/restores", w.a.tenant);
    let live =
        json!({"source": {"snapshot_id": w.a.snapshot}, "mode": "live", "confirm": w.a.name});
    let refused = app.post(&w.operator, &restores, live.clone()).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("admin"),
        "{body}"
    );
    let rerun = format!("/tenants/{}/runs/{}/rerun", w.a.tenant, w.a.restore_run);
    let confirm = json!({"confirm": w.a.name});
    assert_eq!(
        app.post(&w.operator, &rerun, confirm.clone())
            .await
            .status(),
        403
    );
    assert_eq!(
        app.post(&w.viewer, &rerun, confirm.clone()).await.status(),
        403
    );
    assert_eq!(
        app.post(&w.outsider, &rerun, confirm.clone())
            .await
            .status(),
        404
    );
    assert_eq!(app.post(&w.admin, &restores, live).await.status(), 202);
    assert_eq!(app.post(&w.admin, &rerun, confirm).await.status(), 202);
    w.app.shutdown().await;
}

// ---- the event stream ----

/// Reads an SSE response until told to stop, returning every `data:` payload.
async fn read_events(
    mut response: reqwest::Response,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Value> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    loop {
        tokio::select! {
            chunk = response.chunk() => match chunk {
                Ok(Some(chunk)) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        }
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    events.push(serde_json::from_str(data.trim()).expect("JSON event"));
                }
            }
        }
    }
    events
}

#[tokio::test]
async fn the_event_stream_of_a_tenant_a_user_never_carries_tenant_b() {
    let app = spawn_app_with(app_with(&[])).await;
    let tenant_a = app.add_tenant("Contoso").await;
    let tenant_b = app.add_tenant("Fabrikam").await;
    load_policies(&app, &tenant_a, 3).await;
    load_policies(&app, &tenant_b, 3).await;
    let user_a = app.add_user("admin@contoso.example").await;
    let user_b = app.add_user("admin@fabrikam.example").await;
    app.grant(&user_a, &tenant_a, Role::Admin).await;
    app.grant(&user_b, &tenant_b, Role::Admin).await;

    // A listens with its API token, B with a browser session.
    let stream_a = send(
        &app,
        Method::GET,
        "/api/v1/events",
        Auth::Token(&user_a),
        Body::Empty,
    )
    .await;
    assert_eq!(stream_a.status(), 200);
    let b_browser = browser(&app, &user_b.email).await;
    let stream_b = send(
        &app,
        Method::GET,
        "/api/v1/events",
        Auth::Cookie(&b_browser, false),
        Body::Empty,
    )
    .await;
    assert_eq!(stream_b.status(), 200);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let reader_a = tokio::spawn(read_events(stream_a, stopped.clone()));
    let reader_b = tokio::spawn(read_events(stream_b, stopped));

    // Runs in both tenants, interleaved.
    let mut runs = Vec::new();
    for round in 0..2 {
        for (user, tenant) in [(&user_a, &tenant_a), (&user_b, &tenant_b)] {
            let path = if round == 0 {
                format!("/tenants/{}/snapshots", tenant.id)
            } else {
                format!("/tenants/{}/restores", tenant.id)
            };
            let body = if round == 0 {
                json!({})
            } else {
                let snapshots = app
                    .get_json(user, &format!("/tenants/{}/snapshots", tenant.id))
                    .await;
                json!({"source": {"snapshot_id": snapshots["snapshots"][0]["id"]}, "mode": "preview"})
            };
            let started: Value = app.post(user, &path, body).await.json().await.unwrap();
            let id = started["run"]["id"].as_str().unwrap().to_string();
            runs.push((user, tenant, id));
        }
        for (user, tenant, id) in runs.drain(..) {
            app.wait_for_terminal(user, tenant.id, &id, TERMINAL_WAIT)
                .await;
        }
    }
    // The last events of the runs may still be on their way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.send(true).unwrap();
    let events_a = reader_a.await.unwrap();
    let events_b = reader_b.await.unwrap();
    assert!(!events_a.is_empty(), "A's stream carried A's events");
    assert!(!events_b.is_empty(), "B's stream carried B's events");
    for (events, tenant) in [(&events_a, &tenant_a), (&events_b, &tenant_b)] {
        let id = tenant.id.to_string();
        for event in events {
            assert_eq!(event["tenant_id"], id.as_str(), "{event}");
            assert_eq!(event["run"]["tenant_id"], id.as_str(), "{event}");
        }
    }
    app.shutdown().await;
}

// ---- sessions ----

#[tokio::test]
async fn pages_redirect_to_a_sign_in_form_that_sets_a_hardened_cookie() {
    let app = spawn_app_with(app_with(&[])).await;
    let user = app.add_user("someone@example.com").await;

    let home = send(&app, Method::GET, "/", Auth::Anonymous, Body::Empty).await;
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()[header::LOCATION], "/login?next=/");
    let api = send(
        &app,
        Method::GET,
        "/api/v1/tenants",
        Auth::Anonymous,
        Body::Empty,
    )
    .await;
    assert_eq!(api.status(), 401);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let form = send(
        &app,
        Method::GET,
        "/login?next=/",
        Auth::Anonymous,
        Body::Empty,
    )
    .await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    for needle in [
        "<label for=\"email\"",
        "name=\"email\"",
        "<label for=\"password\"",
        "type=\"password\"",
        "name=\"next\" value=\"/\"",
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }

    let fields = |password: &str, next: &str| {
        Body::Form(vec![
            ("email".into(), user.email.clone()),
            ("password".into(), password.into()),
            ("next".into(), next.into()),
        ])
    };
    let wrong = send(
        &app,
        Method::POST,
        "/login",
        Auth::Anonymous,
        fields("not the password", "/"),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Invalid email or password")
    );
    let unknown = send(
        &app,
        Method::POST,
        "/login",
        Auth::Anonymous,
        Body::Form(vec![
            ("email".into(), "nobody@example.com".into()),
            ("password".into(), PASSWORD.into()),
        ]),
    )
    .await;
    assert_eq!(unknown.status(), 401);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Invalid email or password")
    );

    let signed_in = send(
        &app,
        Method::POST,
        "/login",
        Auth::Anonymous,
        fields(PASSWORD, "/"),
    )
    .await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[header::LOCATION], "/");
    let cookie = set_cookie(&signed_in).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let home = client()
        .get(format!("{}/", app.address))
        .header(header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(
        home.status(),
        303,
        "a user without tenants is shown the list"
    );
    assert_eq!(home.headers()[header::LOCATION], "/tenants");
    let page = client()
        .get(format!("{}/tenants", app.address))
        .header(header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&user.email), "{html}");
    assert!(html.contains("name=\"csrf_token\""), "{html}");

    // `next` only ever leads back into PolicyVault.
    let away = send(
        &app,
        Method::POST,
        "/login",
        Auth::Anonymous,
        fields(PASSWORD, "//evil.example/x"),
    )
    .await;
    assert_eq!(away.headers()[header::LOCATION], "/");
    app.shutdown().await;
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let app = spawn_app_with(app_with(&[("server.public_url", "https://pv.example.com")])).await;
    let user = app.add_user("someone@example.com").await;
    let response = sign_in(&app, &user.email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response).unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    app.shutdown().await;
}

#[tokio::test]
async fn cookie_authenticated_changes_need_the_sessions_csrf_token() {
    let app = spawn_app_with(app_with(&[])).await;
    let tenant = app.add_tenant("Contoso").await;
    let user = app.add_user("op@contoso.example").await;
    app.grant(&user, &tenant, Role::Operator).await;
    let first = browser(&app, &user.email).await;
    let second = browser(&app, &user.email).await;
    assert_ne!(first.csrf, second.csrf, "each session has its own token");
    let path = format!("/api/v1/tenants/{}/snapshots", tenant.id);
    let post = |b: Browser, token: Option<String>| {
        let mut request = client()
            .post(format!("{}{path}", app.address))
            .header(header::COOKIE, b.cookie)
            .json(&json!({}));
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.send()
    };

    for (what, token) in [
        ("no token", None),
        ("a wrong token", Some("not-the-token".to_string())),
        ("another session's token", Some(second.csrf.clone())),
    ] {
        let response = post(first.clone(), token).await.unwrap();
        assert_eq!(response.status(), 403, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "csrf_failed", "{what}");
    }
    let runs = app
        .get_json(&user, &format!("/tenants/{}/runs", tenant.id))
        .await;
    assert_eq!(
        runs["runs"].as_array().unwrap().len(),
        0,
        "refused changes changed nothing"
    );

    let accepted = post(first.clone(), Some(first.csrf.clone())).await.unwrap();
    assert_eq!(accepted.status(), 202);
    // Reads need no token; API tokens need none either (they are not ambient credentials).
    let read = send(
        &app,
        Method::GET,
        &path,
        Auth::Cookie(&first, false),
        Body::Empty,
    )
    .await;
    assert_eq!(read.status(), 200);
    let by_token = app
        .post(
            &user,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert!(by_token.status().is_success(), "{}", by_token.status());

    // HTML forms carry the token as a field.
    let forged = send(
        &app,
        Method::POST,
        "/logout",
        Auth::Cookie(&first, false),
        Body::Form(vec![("csrf_token".into(), second.csrf.clone())]),
    )
    .await;
    assert_eq!(forged.status(), 403);
    let still = send(
        &app,
        Method::GET,
        "/api/v1/session",
        Auth::Cookie(&first, false),
        Body::Empty,
    )
    .await;
    assert_eq!(
        still.status(),
        200,
        "a refused sign-out leaves the session alone"
    );
    let session: Value = still.json().await.unwrap();
    assert_eq!(session["csrf_token"], first.csrf.as_str());
    let logout = send(
        &app,
        Method::POST,
        "/logout",
        Auth::Cookie(&first, false),
        Body::Form(vec![("csrf_token".into(), first.csrf.clone())]),
    )
    .await;
    assert_eq!(logout.status(), 303);
    assert_eq!(logout.headers()[header::LOCATION], "/login");
    let gone = send(
        &app,
        Method::GET,
        "/api/v1/session",
        Auth::Cookie(&first, false),
        Body::Empty,
    )
    .await;
    assert_eq!(gone.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app_with(app_with(&[])).await;
    let user = app.add_user("someone@example.com").await;
    let b = browser(&app, &user.email).await;
    let ok = send(
        &app,
        Method::GET,
        "/api/v1/session",
        Auth::Cookie(&b, false),
        Body::Empty,
    )
    .await;
    assert_eq!(ok.status(), 200);
    let out = send(
        &app,
        Method::DELETE,
        "/api/v1/session",
        Auth::Cookie(&b, true),
        Body::Empty,
    )
    .await;
    assert_eq!(out.status(), 204);
    let cleared = set_cookie(&out).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie is worthless even to a browser that kept it.
    let after = send(
        &app,
        Method::GET,
        "/api/v1/session",
        Auth::Cookie(&b, false),
        Body::Empty,
    )
    .await;
    assert_eq!(after.status(), 401);
    let rows = entity::sessions::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    assert!(rows.iter().all(|s| s.user_id != user.id), "{rows:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout() {
    let app = spawn_app_with(app_with(&[("security.session_idle_secs", "2")])).await;
    let user = app.add_user("someone@example.com").await;
    let b = browser(&app, &user.email).await;
    let get = || {
        send(
            &app,
            Method::GET,
            "/api/v1/session",
            Auth::Cookie(&b, false),
            Body::Empty,
        )
    };
    // Activity keeps it alive past one idle period ...
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(get().await.status(), 200);
    }
    // ... and idleness ends it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = get().await;
    assert_eq!(expired.status(), 401);
    let cleared = set_cookie(&expired).expect("a dead cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let rows = entity::sessions::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap();
    assert!(rows.is_empty(), "the expired session was deleted: {rows:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn sessions_end_at_their_maximum_age_however_active() {
    let app = spawn_app_with(app_with(&[("security.session_max_secs", "3")])).await;
    let user = app.add_user("someone@example.com").await;
    let b = browser(&app, &user.email).await;
    let started = Instant::now();
    let mut last = StatusCode::OK;
    while started.elapsed() < Duration::from_secs(6) {
        last = send(
            &app,
            Method::GET,
            "/api/v1/tenants",
            Auth::Cookie(&b, false),
            Body::Empty,
        )
        .await
        .status();
        if last != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(last, 401, "still signed in after {:?}", started.elapsed());
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "ended too early: {:?}",
        started.elapsed()
    );
    app.shutdown().await;
}

// ---- API tokens ----

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let app = spawn_app_with(app_with(&[])).await;
    let user = app.add_user("ci@example.com").await;
    let row = accounts::user_by_email(&app.services.db, &Email::parse(&user.email).unwrap())
        .await
        .unwrap();
    let (token_row, secret) = accounts::create_token(&app.services.db, &row, "ci")
        .await
        .unwrap();
    let with = |token: &str| {
        client()
            .get(format!("{}/api/v1/tenants", app.address))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(with(secret.expose_secret()).await.unwrap().status(), 200);
    accounts::revoke_token(&app.services.db, token_row.id)
        .await
        .unwrap();
    let refused = with(secret.expose_secret()).await.unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    // The user's other token still works; made-up tokens never did.
    assert_eq!(
        with(user.token.expose_secret()).await.unwrap().status(),
        200
    );
    assert_eq!(with("pv_madeup").await.unwrap().status(), 401);
    // A token decides alone: a revoked one is not rescued by a valid session cookie.
    let b = browser(&app, &user.email).await;
    let both = client()
        .get(format!("{}/api/v1/tenants", app.address))
        .bearer_auth(secret.expose_secret())
        .header(header::COOKIE, &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 401);
    app.shutdown().await;
}

// ---- login throttling ----

#[tokio::test]
async fn repeated_failures_lock_an_account_until_the_window_passes() {
    let window = 12;
    let app = spawn_app_with(app_with(&[(
        "security.login_failure_window_secs",
        &window.to_string(),
    )]))
    .await;
    let user = app.add_user("target@example.com").await;
    let bystander = app.add_user("bystander@example.com").await;
    let first_failure = Instant::now();
    for attempt in 1..=5 {
        let response = sign_in(&app, &user.email, "wrong password guess").await;
        assert_eq!(response.status(), 401, "failure {attempt}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_credentials");
        assert_eq!(body["error"]["message"], "invalid email or password");
    }
    assert!(
        first_failure.elapsed() < Duration::from_secs(window - 2),
        "five sign-ins took {:?}; the window is too short for this machine",
        first_failure.elapsed()
    );
    let sixth = sign_in(&app, &user.email, "wrong password guess").await;
    assert_eq!(sixth.status(), 429);
    let retry_after: u64 = sixth.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=window).contains(&retry_after), "{retry_after}");
    let body: Value = sixth.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    // Even the right password is refused now, on both sign-in paths ...
    assert_eq!(sign_in(&app, &user.email, PASSWORD).await.status(), 429);
    let form = send(
        &app,
        Method::POST,
        "/login",
        Auth::Anonymous,
        Body::Form(vec![
            ("email".into(), user.email.to_uppercase()),
            ("password".into(), PASSWORD.into()),
        ]),
    )
    .await;
    assert_eq!(form.status(), 429);
    assert!(form.headers().contains_key(header::RETRY_AFTER));
    // ... while another account from the same address signs in normally.
    assert_eq!(
        sign_in(&app, &bystander.email, PASSWORD).await.status(),
        200
    );

    tokio::time::sleep(Duration::from_secs(retry_after + 1)).await;
    assert_eq!(sign_in(&app, &user.email, PASSWORD).await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_no_more_password_checks_than_the_limit() {
    let app = spawn_app_with(app_with(&[])).await;
    let user = app.add_user("target@example.com").await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        let email = user.email.clone();
        async move {
            sign_in(app, &email, &format!("guess number {i}"))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| s.as_u16() == 401).count();
    let refused = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert_eq!((checked, refused), (5, 15), "{statuses:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn repeated_failures_from_one_address_lock_that_address() {
    let app = spawn_app_with(app_with(&[
        ("security.login_max_failures_per_address", "3"),
        ("security.login_max_failures_per_account", "100"),
    ]))
    .await;
    let user = app.add_user("someone@example.com").await;
    for i in 0..3 {
        let response = sign_in(&app, &format!("guess{i}@example.com"), PASSWORD).await;
        assert_eq!(response.status(), 401);
    }
    let locked = sign_in(&app, &user.email, PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key(header::RETRY_AFTER));
    app.shutdown().await;
}

// ---- nothing in clear ----

#[tokio::test]
async fn passwords_tokens_and_session_ids_are_never_stored_or_logged_in_clear() {
    let app = spawn_app_with(app_with(&[])).await;
    let password = format!("unique pass {}", Uuid::new_v4().simple());
    let user = accounts::create_user(
        &app.services.db,
        &Email::parse("careful@example.com").unwrap(),
        &Password::parse(SecretString::from(password.clone())).unwrap(),
    )
    .await
    .unwrap();
    let (_, token) = accounts::create_token(&app.services.db, &user, "ci")
        .await
        .unwrap();
    let response = sign_in(&app, "careful@example.com", &password).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response).unwrap();
    let session_id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("pv_session=")
        .to_string();
    let body: Value = response.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    // Use both credentials once, and fail a sign-in with a near miss of the password.
    let b = Browser {
        cookie: format!("pv_session={session_id}"),
        session_id: session_id.clone(),
        csrf: csrf.clone(),
    };
    let used = send(
        &app,
        Method::GET,
        "/api/v1/session",
        Auth::Cookie(&b, false),
        Body::Empty,
    )
    .await;
    assert_eq!(used.status(), 200);
    let used = client()
        .get(format!("{}/api/v1/tenants", app.address))
        .bearer_auth(token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 200);
    let near_miss = format!("{password}!");
    assert_eq!(
        sign_in(&app, "careful@example.com", &near_miss)
            .await
            .status(),
        401
    );

    let db = &app.services.db;
    let users = entity::users::Entity::find().all(db).await.unwrap();
    let tokens = entity::api_tokens::Entity::find().all(db).await.unwrap();
    let sessions = entity::sessions::Entity::find().all(db).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].token_hash,
        policyvault::auth::session::digest(&b.session_id),
        "the stored form is the SHA-256 of the session id"
    );
    assert!(users[0].password_hash.starts_with("$argon2id$"));
    let rows = format!("{users:?}\n{tokens:?}\n{sessions:?}");
    let logs = String::from_utf8_lossy(&crate::helpers::CAPTURED_LOGS.lock().unwrap()).to_string();
    for (what, secret) in [
        ("the password", password.as_str()),
        ("a mistyped password", near_miss.as_str()),
        ("the API token", token.expose_secret()),
        ("the session id", session_id.as_str()),
        ("the CSRF token", csrf.as_str()),
    ] {
        assert!(!rows.contains(secret), "{what} is stored in clear");
        assert!(!logs.contains(secret), "{what} is in the logs");
    }
    assert!(logs.contains("signed in"), "the logs were captured");
    app.shutdown().await;
}

// ---- leaving a tenant ----

#[tokio::test]
async fn a_user_who_leaves_a_tenant_no_longer_sees_its_notifications() {
    let app = spawn_app_with(AppOptions::default()).await;
    let kept = app.add_tenant("Contoso").await;
    let left = app.add_tenant("Fabrikam").await;
    let user = app.add_user("someone@example.com").await;
    app.grant(&user, &kept, Role::Viewer).await;
    app.grant(&user, &left, Role::Viewer).await;
    let mut ids = HashMap::new();
    for tenant in [&kept, &left] {
        let id = notify(&app, user.id, tenant.id, format!("About {}", tenant.name)).await;
        ids.insert(tenant.id, id);
    }
    let before = app.get_json(&user, "/notifications").await;
    assert_eq!(before["unread"], 2, "{before}");

    assert!(
        accounts::revoke_membership(&app.services.db, left.id, user.id)
            .await
            .unwrap()
    );
    let after = app.get_json(&user, "/notifications").await;
    assert_eq!(after["unread"], 1, "{after}");
    let listed = after["notifications"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["tenant_id"], kept.id.to_string().as_str());
    let gone = app
        .post(
            &user,
            &format!("/notifications/{}/read", ids[&left.id]),
            json!({}),
        )
        .await;
    assert_eq!(gone.status(), 404);
    let read = app
        .post(
            &user,
            &format!("/notifications/{}/read", ids[&kept.id]),
            json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);
    // And the tenant's resources are gone with the membership.
    let runs = app.get(&user, &format!("/tenants/{}/runs", left.id)).await;
    assert_eq!(runs.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn admins_manage_members_and_keep_at_least_one_admin() {
    let app = spawn_app_with(app_with(&[])).await;
    let tenant = app.add_tenant("Members").await;
    let admin = app.add_user("admin@members.example").await;
    let newcomer = app.add_user("new@members.example").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    let base = format!("/tenants/{}/memberships", tenant.id);

    let put = |body: Value| {
        let app = &app;
        let admin = &admin;
        let url = app.url(&base);
        async move {
            app.http
                .put(url)
                .bearer_auth(admin.token.expose_secret())
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let granted = put(json!({"email": newcomer.email, "role": "operator"})).await;
    assert_eq!(granted.status().as_u16(), 200);
    let members = app.get_json(&admin, &base).await;
    let roles: Vec<(String, String)> = members["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        roles.contains(&(newcomer.email.clone(), "operator".into())),
        "{roles:?}"
    );
    // The newcomer can now start a capture.
    let started = app
        .post(
            &newcomer,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(started.status().as_u16(), 202);

    assert_eq!(
        put(json!({"email": "nobody@members.example", "role": "viewer"}))
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(
        put(json!({"email": newcomer.email, "role": "owner"}))
            .await
            .status()
            .as_u16(),
        422
    );
    // The last admin can neither step down nor be removed.
    assert_eq!(
        put(json!({"email": admin.email, "role": "viewer"}))
            .await
            .status()
            .as_u16(),
        409
    );
    let removed_self = app
        .http
        .delete(app.url(&format!("{base}/{}", admin.id)))
        .bearer_auth(admin.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(removed_self.status().as_u16(), 409);

    let removed = app
        .http
        .delete(app.url(&format!("{base}/{}", newcomer.id)))
        .bearer_auth(admin.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 204);
    let gone = app
        .get(&newcomer, &format!("/tenants/{}/runs", tenant.id))
        .await;
    assert_eq!(
        gone.status().as_u16(),
        404,
        "a removed member no longer sees the tenant"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_sign_in_form_refuses_posts_from_other_sites() {
    let app = spawn_app_with(app_with(&[])).await;
    let user = app.add_user("someone@example.com").await;
    let post = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut request = client()
            .post(format!("{}/login", app.address))
            .form(&[("email", user.email.as_str()), ("password", PASSWORD)]);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    let evil = post(Some("https://evil.example"), None).await.unwrap();
    assert_eq!(evil.status(), 403);
    assert!(
        set_cookie(&evil).is_none(),
        "no session for a cross-site sign-in"
    );
    let cross = post(None, Some("cross-site")).await.unwrap();
    assert_eq!(cross.status(), 403);
    let own = post(Some("http://127.0.0.1"), Some("same-origin"))
        .await
        .unwrap();
    assert_eq!(own.status(), 303, "the public URL's own origin signs in");
    assert!(set_cookie(&own).is_some());
    app.shutdown().await;
}

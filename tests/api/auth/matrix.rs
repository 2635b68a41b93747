//! The route × caller matrix, walked from the route table itself.

use std::collections::HashMap;

use policyvault::web::{Access, RouteInfo, route_table};
use reqwest::{Method, header};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Auth, Body, Browser, TERMINAL_WAIT, app_with, browser, load_policies, notify, send};
use crate::helpers::{Role, TestApp, TestTenant, TestUser, spawn_app_with};

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
        // No caller of the matrix is a platform admin.
        (Access::Platform, _) => Expect::Forbidden,
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
    /// An object the snapshot holds: (policy type, Graph id).
    object: (String, String),
    /// A finished live restore (re-runnable).
    restore_run: String,
    /// A disabled schedule.
    schedule: String,
    /// A webhook (to a closed port).
    webhook: String,
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

/// The caller's own things (a notification, a fan-out), for routes that name them.
struct Own {
    notification: String,
    fanout: String,
    /// A spare API token (revoking it twice is revoking it once).
    token: String,
}

/// Fills a route's path parameters with tenant A's resources (and the caller's own
/// notification and fan-out). A parameter the matrix does not know fails the test: teach it
/// here.
fn fill(route: &RouteInfo, a: &TenantIds, own: &Own) -> String {
    let segments: Vec<&str> = route.path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let previous = if i > 0 { segments[i - 1] } else { "" };
        let value = match (*segment, previous) {
            ("{tenant}", _) => a.tenant.clone(),
            ("{id}", "snapshots") => a.snapshot.clone(),
            ("{id}", "backup-sets") => a.backup_set.clone(),
            ("{id}", "notifications") => own.notification.clone(),
            ("{id}", "fanouts") => own.fanout.clone(),
            ("{id}", "tokens") => own.token.clone(),
            // An exception that does not exist: withdrawing it is idempotent.
            ("{id}", "exceptions") => Uuid::from_u128(7).to_string(),
            // Deleting is idempotent: a schedule that does not exist, so the others stay.
            ("{id}", "schedules")
                if route.method == Method::DELETE || route.path.ends_with("/delete") =>
            {
                Uuid::from_u128(8).to_string()
            }
            ("{id}", "schedules") => a.schedule.clone(),
            ("{id}", "webhooks") if route.method == Method::DELETE => {
                Uuid::from_u128(9).to_string()
            }
            ("{id}", "webhooks") => a.webhook.clone(),
            ("{run}", _) => a.restore_run.clone(),
            ("{user}", "memberships" | "members") => a.spare_user.clone(),
            ("{policy_type}", "policies") => a.object.0.clone(),
            ("{graph_id}", _) => a.object.1.clone(),
            (s, _) if s.starts_with('{') => panic!(
                "the access matrix cannot fill {s} in {} {}: add it to `fill` in tests/api/auth/matrix.rs",
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
        } else if path.ends_with("/schedules") {
            vec![field("cron", "0 2 * * *"), field("timezone", "UTC")]
        } else if path.ends_with("/drift/baseline") {
            vec![field("backup_set_id", &a.backup_set)]
        } else if path.ends_with("/drift/exceptions") {
            vec![
                field("policy_type", "deviceConfigurations"),
                field("graph_id", &format!("matrix-page-{n}")),
                field("reason", "matrix"),
            ]
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
    } else if path.ends_with("/comparisons") {
        Body::Json(json!({"left": {"snapshot_id": a.snapshot}, "right": {"live": true}}))
    } else if path.ends_with("/memberships") {
        Body::Json(json!({"email": a.spare_email, "role": "viewer"}))
    } else if path.ends_with("/rerun") {
        Body::Json(json!({"confirm": a.name}))
    } else if path.ends_with("/schedules") && path.contains("{tenant}") {
        Body::Json(json!({"operation": "capture_snapshot", "cron": "0 2 * * *", "enabled": false}))
    } else if path.ends_with("/schedules") {
        Body::Json(json!({"tenant_ids": [a.tenant], "cron": "0 2 * * *", "enabled": false}))
    } else if path.contains("/schedules/") {
        Body::Json(json!({"enabled": false}))
    } else if path.ends_with("/fanouts") {
        Body::Json(json!({"operation": "capture_snapshot", "tenant_ids": [a.tenant]}))
    } else if path.ends_with("/notification-preferences") {
        Body::Json(json!({"kinds": ["failed", "partial", "live_restore"]}))
    } else if path.ends_with("/webhooks") {
        Body::Json(json!({"url": format!("http://127.0.0.1:9/matrix/{n}")}))
    } else if path.ends_with("/baseline") {
        Body::Json(json!({"backup_set_id": a.backup_set}))
    } else if path.ends_with("/drift/exceptions") {
        Body::Json(
            json!({"policy_type": "deviceConfigurations", "graph_id": format!("matrix-{n}"), "reason": "matrix"}),
        )
    } else if path.ends_with("/capture") || path.ends_with("/read") || path.ends_with("/prunes") {
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
    /// Each user's own (empty) fan-out.
    fanouts: HashMap<Uuid, String>,
    /// Each user's spare API token.
    tokens: HashMap<Uuid, String>,
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
        let items = app
            .get_json(
                user,
                &format!("{base}/snapshots/{snapshot}/items?limit=200"),
            )
            .await;
        let item = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| !i["source_id"].as_str().unwrap().contains('/'))
            .unwrap();
        let object = (
            item["policy_type"].as_str().unwrap().to_string(),
            item["source_id"].as_str().unwrap().to_string(),
        );
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
        let schedule: Value = app
            .post(
                user,
                &format!("{base}/schedules"),
                json!({"operation": "capture_snapshot", "cron": "0 2 * * *", "enabled": false}),
            )
            .await
            .json()
            .await
            .unwrap();
        let webhook: Value = app
            .post(
                user,
                &format!("{base}/webhooks"),
                json!({"url": "http://127.0.0.1:9/hook"}),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.push(TenantIds {
            webhook: webhook["webhook"]["id"].as_str().unwrap().to_string(),
            schedule: schedule["schedule"]["id"].as_str().unwrap().to_string(),
            tenant: tenant.id.to_string(),
            name: tenant.name.clone(),
            snapshot,
            backup_set,
            object,
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
    // And a fan-out of their own (viewers cannot start one: it is written directly).
    let mut fanouts = HashMap::new();
    for user in [&viewer, &operator, &admin, &outsider] {
        let fanout = policyvault::store::fanouts::insert(
            &app.services.db,
            policyvault::store::fanouts::NewFanout {
                id: Uuid::now_v7(),
                initiator_id: user.id,
                operation: entity::enums::RunOperation::CaptureSnapshot,
                params: json!({}),
                tenant_count: 0,
            },
        )
        .await
        .unwrap();
        policyvault::store::fanouts::mark_started(&app.services.db, fanout.id)
            .await
            .unwrap();
        fanouts.insert(user.id, fanout.id.to_string());
    }
    let mut tokens = HashMap::new();
    for user in [&viewer, &operator, &admin, &outsider] {
        let row = policyvault::store::accounts::user_by_email(
            &app.services.db,
            &policyvault::domain::Email::parse(&user.email).unwrap(),
        )
        .await
        .unwrap();
        let (token, _) =
            policyvault::store::accounts::create_token(&app.services.db, &row, "spare")
                .await
                .unwrap();
        tokens.insert(user.id, token.id.to_string());
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
        fanouts,
        tokens,
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
    // tenant (but member management, webhooks with their delivery log and the tenant's
    // connection settings, an admin's job), and nothing that changes a tenant is open to a
    // viewer.
    for route in &table {
        if let Access::Tenant(role) = route.access {
            if ["/memberships", "/members", "/webhooks", "/settings"]
                .iter()
                .any(|p| route.path.contains(p))
            {
                assert_eq!(
                    role,
                    Role::Admin,
                    "{route:?}: members, webhooks and settings are managed by admins"
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
                let own = Own {
                    notification: user
                        .and_then(|u| w.notifications.get(&u.id).cloned())
                        .unwrap_or_else(|| Uuid::new_v4().to_string()),
                    fanout: user
                        .and_then(|u| w.fanouts.get(&u.id).cloned())
                        .unwrap_or_else(|| Uuid::new_v4().to_string()),
                    token: user
                        .and_then(|u| w.tokens.get(&u.id).cloned())
                        .unwrap_or_else(|| Uuid::new_v4().to_string()),
                };
                let path = fill(route, &w.a, &own);
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

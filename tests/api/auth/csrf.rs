//! Forged requests: cookie-authenticated changes need the session's CSRF token, and the
//! sign-in form refuses posts from other sites.

use reqwest::{Method, header};
use serde_json::{Value, json};

use super::{Auth, Body, Browser, PASSWORD, app_with, browser, client, send, set_cookie};
use crate::helpers::{Role, spawn_app_with};

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

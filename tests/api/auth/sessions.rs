//! Browser sessions: the sign-in form, cookie flags, sign-out, idle and absolute expiry.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use sea_orm::EntityTrait;
use serde_json::Value;

use super::{Auth, Body, PASSWORD, app_with, browser, client, send, set_cookie, sign_in};
use crate::helpers::{spawn_app_with, wait_for};

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
    // Activity keeps it alive past one idle period ... The sleeps are the rule under test:
    // idleness is time without requests, and asking whether the session ended would itself
    // be activity, so there is no event to wait on.
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
    let last = wait_for(
        Duration::from_secs(6),
        "the session to end at its maximum age",
        || async {
            let status = send(
                &app,
                Method::GET,
                "/api/v1/tenants",
                Auth::Cookie(&b, false),
                Body::Empty,
            )
            .await
            .status();
            if status == StatusCode::OK {
                Err(format!("still signed in after {:?}", started.elapsed()))
            } else {
                Ok(status)
            }
        },
    )
    .await;
    assert_eq!(last, 401, "ended after {:?}", started.elapsed());
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "ended too early: {:?}",
        started.elapsed()
    );
    app.shutdown().await;
}

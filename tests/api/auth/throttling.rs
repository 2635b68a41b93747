//! Login throttling per account and per address.

use std::time::{Duration, Instant};

use reqwest::{Method, header};
use serde_json::Value;

use super::{Auth, Body, PASSWORD, app_with, send, sign_in};
use crate::helpers::spawn_app_with;

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

    // Letting the window pass is the rule under test; trying to sign in meanwhile would
    // be more attempts against the lock, not a way to observe its end.
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

//! No password, token, session id or CSRF token in the database or the logs.

use policyvault::domain::{Email, Password};
use policyvault::store::accounts;
use reqwest::Method;
use sea_orm::EntityTrait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use uuid::Uuid;

use super::{Auth, Body, Browser, app_with, client, send, set_cookie, sign_in};
use crate::helpers::spawn_app_with;

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

//! API tokens: a revoked token is refused at once.

use policyvault::domain::Email;
use policyvault::store::accounts;
use reqwest::header;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{app_with, browser, client};
use crate::helpers::spawn_app_with;

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

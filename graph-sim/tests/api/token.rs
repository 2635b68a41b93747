use std::time::Duration;

use graph_sim::SimConfig;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn valid_credentials_get_a_bearer_token_that_reads_graph() {
    let s = spawn_demo().await;
    let t = s.tenant("contoso").await;
    let r = s
        .token_response(
            t["id"].as_str().unwrap(),
            t["client_id"].as_str().unwrap(),
            t["client_secret"].as_str().unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3599);
    assert_eq!(r.body["ext_expires_in"], 3599);
    let tok = r.body["access_token"].as_str().unwrap();
    assert_eq!(tok.split('.').count(), 3, "JWT-shaped");
    let g = s
        .get(tok, "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_eq!(g.status, 200);
    // The tenant's name works in the token URL too.
    let by_name = s
        .token_response(
            "contoso",
            t["client_id"].as_str().unwrap(),
            t["client_secret"].as_str().unwrap(),
        )
        .await;
    assert_eq!(by_name.status, 200);
}

#[tokio::test]
async fn oauth_errors_look_like_entra() {
    let s = spawn_demo().await;
    let t = s.tenant("contoso").await;
    let (id, cid) = (t["id"].as_str().unwrap(), t["client_id"].as_str().unwrap());

    let wrong = s.token_response(id, cid, "not-the-secret").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert!(
        wrong.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );
    assert_eq!(wrong.body["error_codes"], json!([7000215]));
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(wrong.body[k].is_string(), "{k}");
    }

    let unknown = s.token_response("no-such-tenant", cid, "x").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error_codes"], json!([90002]));

    let bad_grant = s
        .http
        .post(format!("{}/{id}/oauth2/v2.0/token", s.base))
        .form(&[
            ("client_id", cid),
            ("client_secret", "x"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    let bad_grant = to_resp(bad_grant).await;
    assert_eq!(bad_grant.status, 400);
    assert_eq!(bad_grant.body["error"], "unsupported_grant_type");

    let bad_scope = s
        .http
        .post(format!("{}/{id}/oauth2/v2.0/token", s.base))
        .form(&[
            ("client_id", cid),
            ("client_secret", t["client_secret"].as_str().unwrap()),
            ("scope", "User.Read"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    let bad_scope = to_resp(bad_scope).await;
    assert_eq!(bad_scope.status, 400);
    assert_eq!(bad_scope.body["error"], "invalid_scope");

    let not_form = s
        .http
        .post(format!("{}/{id}/oauth2/v2.0/token", s.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(to_resp(not_form).await.status, 400);
}

#[tokio::test]
async fn another_tenants_app_is_not_found_in_this_directory() {
    let s = spawn_demo().await;
    let contoso = s.tenant("contoso").await;
    let fabrikam = s.tenant("fabrikam").await;
    let r = s
        .token_response(
            contoso["id"].as_str().unwrap(),
            fabrikam["client_id"].as_str().unwrap(),
            fabrikam["client_secret"].as_str().unwrap(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "unauthorized_client");
    assert_eq!(r.body["error_codes"], json!([700016]));
}

#[tokio::test]
async fn tokens_are_bound_to_their_tenant() {
    let s = spawn_demo().await;
    let (contoso, ctok) = s.demo_token("contoso").await;
    let (fabrikam, ftok) = s.demo_token("fabrikam").await;
    let c = s
        .get(&ctok, "/beta/deviceManagement/configurationPolicies?$top=1")
        .await;
    let f = s
        .get(&ftok, "/beta/deviceManagement/configurationPolicies?$top=1")
        .await;
    assert_ne!(
        c.body["value"][0]["id"], f.body["value"][0]["id"],
        "each token sees its own tenant"
    );
    // A contoso object id is unknown to fabrikam's token.
    let cid = c.body["value"][0]["id"].as_str().unwrap();
    let cross = s
        .get(
            &ftok,
            &format!("/beta/deviceManagement/configurationPolicies/{cid}"),
        )
        .await;
    assert_graph_error(&cross, 404, "ResourceNotFound");
    // Replacing the tenant with another app invalidates its tokens.
    let r = s
        .admin(
            Method::PUT,
            &format!("/_sim/tenants/{}", fabrikam["id"].as_str().unwrap()),
            Some(json!({"name": "fabrikam", "client_id": "new-app", "client_secret": "s"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let after = s
        .get(&ftok, "/beta/deviceManagement/configurationPolicies")
        .await;
    assert_graph_error(&after, 401, "InvalidAuthenticationToken");
    let _ = contoso;
}

#[tokio::test]
async fn missing_garbage_and_expired_tokens_get_401() {
    let s = spawn_with(SimConfig {
        demo: true,
        token_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let none = s
        .send(
            Method::GET,
            None,
            "/beta/deviceManagement/deviceConfigurations",
            None,
        )
        .await;
    assert_graph_error(&none, 401, "InvalidAuthenticationToken");
    assert!(none.headers.get("www-authenticate").is_some());
    let garbage = s
        .get("garbage", "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_graph_error(&garbage, 401, "InvalidAuthenticationToken");

    let (_, tok) = s.demo_token("northwind").await;
    let r = s.token_response("northwind", "x", "y").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/deviceConfigurations")
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = s
        .get(&tok, "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_graph_error(&expired, 401, "InvalidAuthenticationToken");
    assert!(
        expired.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

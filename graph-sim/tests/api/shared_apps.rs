//! Multi-tenant apps: one app registration (an MSP's) signing in to the customer tenants
//! whose administrators consented to it, by secret or certificate.

use base64::Engine;
use graph_sim::{SharedApp, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::certs::*;
use crate::helpers::*;

const CONFIGS: &str = "/beta/deviceManagement/deviceConfigurations";

/// Register the multi-tenant app `client_id` with this body.
async fn put_app(s: &TestSim, client_id: &str, body: Value) -> Resp {
    s.admin(Method::PUT, &format!("/_sim/apps/{client_id}"), Some(body))
        .await
}

async fn consent(s: &TestSim, tenant: &str, client_id: &str) -> Resp {
    s.admin(
        Method::PUT,
        &format!("/_sim/tenants/{tenant}/consents/{client_id}"),
        None,
    )
    .await
}

/// The claims of an issued (JWT-shaped) access token.
fn token_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_multi_tenant_app_signs_in_only_where_consented() {
    let s = spawn_demo().await;
    let created = put_app(&s, "msp-app", json!({})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["client_secret"].as_str().unwrap().to_string();
    assert!(
        secret.len() == 20
            && secret.starts_with("sim-")
            && secret[4..].chars().all(|c| c.is_ascii_hexdigit()),
        "{secret}"
    );
    assert_eq!(
        created.body,
        json!({"client_id": "msp-app", "client_secret": secret, "certificates": []})
    );

    let before = s.token_response("contoso", "msp-app", &secret).await;
    let text = assert_oauth_error(&before, 400, "unauthorized_client", 700016);
    assert!(text.contains("consented to"), "{text}");

    assert_eq!(consent(&s, "contoso", "msp-app").await.status, 204);
    assert_eq!(
        consent(&s, "contoso", "MSP-APP").await.status,
        204,
        "idempotent"
    );
    let consents = s
        .admin(Method::GET, "/_sim/tenants/contoso/consents", None)
        .await;
    assert_eq!(consents.body, json!(["msp-app"]));

    let r = s.token_response("contoso", "msp-app", &secret).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tok = r.body["access_token"].as_str().unwrap();
    let contoso = s.tenant("contoso").await;
    assert_eq!(token_claims(tok)["appid"], "msp-app");
    assert_eq!(token_claims(tok)["tid"], contoso["id"]);
    assert_eq!(s.get(tok, CONFIGS).await.status, 200);
    let wrong = s.token_response("contoso", "msp-app", "not-it").await;
    assert_oauth_error(&wrong, 401, "invalid_client", 7000215);
    // fabrikam never consented.
    let elsewhere = s.token_response("fabrikam", "msp-app", &secret).await;
    assert_oauth_error(&elsewhere, 400, "unauthorized_client", 700016);
    // The tenant's own app still works beside it.
    s.token(&contoso).await;
}

#[tokio::test]
async fn consent_and_app_endpoints_answer_404_for_unknown_names() {
    let s = spawn_demo().await;
    let no_app = consent(&s, "contoso", "nobody").await;
    assert_eq!(no_app.status, 404);
    assert_eq!(no_app.body["error"]["code"], "app_not_found");
    put_app(&s, "msp-app", json!({"client_secret": "s3cret"})).await;
    let no_tenant = consent(&s, "nowhere", "msp-app").await;
    assert_eq!(no_tenant.status, 404);
    assert_eq!(no_tenant.body["error"]["code"], "tenant_not_found");
    assert_eq!(
        s.admin(Method::DELETE, "/_sim/apps/nobody", None)
            .await
            .status,
        404
    );
    let bad = put_app(&s, "msp-app", json!({"certificates": ["nope"]})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["code"], "invalid_certificate");
    let typo = put_app(&s, "msp-app", json!({"secret": "x"})).await;
    assert_eq!(typo.status, 400, "unknown fields are refused");
    let listed = s.admin(Method::GET, "/_sim/apps", None).await;
    assert_eq!(
        listed.body,
        json!([{"client_id": "msp-app", "client_secret": "s3cret", "certificates": []}])
    );
}

#[tokio::test]
async fn a_multi_tenant_app_signs_in_with_its_certificate() {
    let s = spawn_demo().await;
    let r = put_app(
        &s,
        "msp-app",
        json!({"client_secret": "s3cret", "certificates": [cert(1).pem]}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["certificates"][0]["x5t"], cert(1).x5t().as_str());
    consent(&s, "northwind", "msp-app").await;
    let assertion = cert(1).sign(&cert(1).ps256_header(), &claims("msp-app", "northwind"));
    let tok = s.assertion_token("northwind", "msp-app", &assertion).await;
    assert_eq!(tok.status, 200, "{}", tok.body);
    assert_eq!(
        s.get(tok.body["access_token"].as_str().unwrap(), CONFIGS)
            .await
            .status,
        200
    );
    // The tenant's own app does not hold the shared app's certificate.
    let own = s.tenant("northwind").await;
    let own_id = own["client_id"].as_str().unwrap();
    let assertion = cert(1).sign(&cert(1).ps256_header(), &claims(own_id, "northwind"));
    let r = s.assertion_token("northwind", own_id, &assertion).await;
    assert_oauth_error(&r, 401, "invalid_client", 700027);
    // Replacing the app (200) replaces its credentials and keeps the consent.
    let replaced = put_app(&s, "msp-app", json!({"client_secret": "rotated"})).await;
    assert_eq!(replaced.status, 200);
    let r = s
        .assertion_token(
            "northwind",
            "msp-app",
            &cert(1).sign(&cert(1).ps256_header(), &claims("msp-app", "northwind")),
        )
        .await;
    assert_oauth_error(&r, 401, "invalid_client", 700027);
    assert_eq!(
        s.token_response("northwind", "msp-app", "rotated")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn revoking_consent_or_deleting_the_app_invalidates_its_tokens() {
    let s = spawn_demo().await;
    put_app(&s, "msp-app", json!({"client_secret": "s3cret"})).await;
    consent(&s, "contoso", "msp-app").await;
    consent(&s, "fabrikam", "msp-app").await;
    let contoso_tok = s.token_response("contoso", "msp-app", "s3cret").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let fabrikam_tok = s.token_response("fabrikam", "msp-app", "s3cret").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.get(&contoso_tok, CONFIGS).await.status, 200);

    let revoked = s
        .admin(
            Method::DELETE,
            "/_sim/tenants/contoso/consents/msp-app",
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    let after = s.get(&contoso_tok, CONFIGS).await;
    assert_graph_error(&after, 401, "InvalidAuthenticationToken");
    assert_eq!(
        after.body["error"]["message"],
        "Access token validation failure. Invalid audience."
    );
    let again = s.token_response("contoso", "msp-app", "s3cret").await;
    assert_oauth_error(&again, 400, "unauthorized_client", 700016);
    assert_eq!(
        s.get(&fabrikam_tok, CONFIGS).await.status,
        200,
        "other tenants keep it"
    );

    let deleted = s.admin(Method::DELETE, "/_sim/apps/msp-app", None).await;
    assert_eq!(deleted.status, 204);
    assert_graph_error(
        &s.get(&fabrikam_tok, CONFIGS).await,
        401,
        "InvalidAuthenticationToken",
    );
    let consents = s
        .admin(Method::GET, "/_sim/tenants/fabrikam/consents", None)
        .await;
    assert_eq!(consents.body, json!([]));
    // Registering the client id again does not bring the old consent or tokens back.
    put_app(&s, "msp-app", json!({"client_secret": "s3cret"})).await;
    assert_graph_error(
        &s.get(&fabrikam_tok, CONFIGS).await,
        401,
        "InvalidAuthenticationToken",
    );
    let r = s.token_response("fabrikam", "msp-app", "s3cret").await;
    assert_oauth_error(&r, 400, "unauthorized_client", 700016);
}

#[tokio::test]
async fn the_start_up_shared_app_is_consented_by_every_start_up_tenant_and_survives_reset() {
    let s = spawn_with(SimConfig {
        demo: true,
        estate: 1,
        shared_app: Some(SharedApp {
            client_id: "msp-shared".into(),
            client_secret: None,
        }),
        ..SimConfig::default()
    })
    .await;
    let apps = s.admin(Method::GET, "/_sim/apps", None).await;
    assert_eq!(apps.body.as_array().unwrap().len(), 1, "{}", apps.body);
    assert_eq!(apps.body[0]["client_id"], "msp-shared");
    let secret = apps.body[0]["client_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sim-"), "{secret}");
    for name in ["contoso", "fabrikam", "northwind", "estate-0001"] {
        let r = s.token_response(name, "msp-shared", &secret).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
    }
    let tok = s
        .token_response("contoso", "msp-shared", &secret)
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.get(&tok, CONFIGS).await.status, 200);
    // A tenant created later has not consented.
    s.empty_tenant("later").await;
    let later = s.token_response("later", "msp-shared", &secret).await;
    assert_oauth_error(&later, 400, "unauthorized_client", 700016);

    // Reset: API apps and consents go, the shared app comes back with the same secret.
    put_app(&s, "extra", json!({})).await;
    consent(&s, "contoso", "extra").await;
    s.admin(
        Method::DELETE,
        "/_sim/tenants/fabrikam/consents/msp-shared",
        None,
    )
    .await;
    assert_eq!(s.admin(Method::POST, "/_sim/reset", None).await.status, 200);
    let apps = s.admin(Method::GET, "/_sim/apps", None).await;
    assert_eq!(
        apps.body,
        json!([{"client_id": "msp-shared", "client_secret": secret, "certificates": []}])
    );
    for name in ["contoso", "fabrikam"] {
        let consents = s
            .admin(Method::GET, &format!("/_sim/tenants/{name}/consents"), None)
            .await;
        assert_eq!(consents.body, json!(["msp-shared"]), "{name}");
    }
    assert_eq!(
        s.get(&tok, CONFIGS).await.status,
        200,
        "token survives reset"
    );
    assert_eq!(
        s.token_response("fabrikam", "msp-shared", &secret)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_start_up_shared_app_takes_its_secret_from_the_config() {
    let s = spawn_with(SimConfig {
        demo: true,
        shared_app: Some(SharedApp {
            client_id: "msp-shared".into(),
            client_secret: Some("given-secret".into()),
        }),
        ..SimConfig::default()
    })
    .await;
    let r = s
        .token_response("northwind", "msp-shared", "given-secret")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

//! Certificate credentials: registering certificates on a tenant's app and signing in with a
//! client assertion, as https://learn.microsoft.com/entra/identity-platform/certificate-credentials
//! describes it.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::certs::*;
use crate::helpers::*;

/// contoso with `cert(0)` registered on its app: (tenant, its id, its client id).
async fn contoso_with_cert(s: &TestSim) -> (Value, String, String) {
    let t = s.tenant("contoso").await;
    let id = t["id"].as_str().unwrap().to_string();
    let r = s
        .admin(
            Method::POST,
            &format!("/_sim/tenants/{id}/certificates"),
            Some(json!({"certificate": cert(0).pem})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let client_id = t["client_id"].as_str().unwrap().to_string();
    (t, id, client_id)
}

#[tokio::test]
async fn registered_certificates_are_listed_by_their_thumbprints() {
    let s = spawn_demo().await;
    let id = s.tenant("contoso").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/_sim/tenants/{id}/certificates");
    let c = cert(0);
    let r = s
        .admin(Method::POST, &path, Some(json!({"certificate": c.pem})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let expected = json!({
        "thumbprint": c.openssl_sha1,
        "x5t": c.x5t(),
        "x5t#S256": c.x5t_s256(),
    });
    assert_eq!(r.body, expected);
    // The same certificate again, also as base64 DER: already there.
    let der_b64 = base64::engine::general_purpose::STANDARD.encode(&c.der);
    for text in [c.pem.clone(), der_b64] {
        let again = s
            .admin(Method::POST, &path, Some(json!({"certificate": text})))
            .await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body, expected);
    }
    let second = s
        .admin(
            Method::POST,
            &path,
            Some(json!({"certificate": cert(1).pem})),
        )
        .await;
    assert_eq!(second.status, 201);
    let listed = s.admin(Method::GET, &path, None).await;
    assert_eq!(listed.body, json!([expected, second.body]));

    for bad in [
        "not a certificate",
        "aGVsbG8gd29ybGQ=",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    ] {
        let r = s
            .admin(Method::POST, &path, Some(json!({"certificate": bad})))
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"]["code"], "invalid_certificate");
    }
    let typo = s
        .admin(Method::POST, &path, Some(json!({"cert": c.pem})))
        .await;
    assert_eq!(typo.status, 400);
    let unknown = s
        .admin(
            Method::POST,
            "/_sim/tenants/nobody/certificates",
            Some(json!({"certificate": c.pem})),
        )
        .await;
    assert_eq!(unknown.status, 404);

    assert_eq!(s.admin(Method::DELETE, &path, None).await.status, 204);
    assert_eq!(s.admin(Method::GET, &path, None).await.body, json!([]));
}

#[tokio::test]
async fn put_tenant_registers_certificates_on_its_app() {
    let s = spawn_demo().await;
    let r = s
        .admin(
            Method::PUT,
            "/_sim/tenants/certified",
            Some(json!({"client_id": "certified-app", "certificates": [cert(2).pem]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listed = s
        .admin(Method::GET, "/_sim/tenants/certified/certificates", None)
        .await;
    assert_eq!(listed.body[0]["thumbprint"], cert(2).openssl_sha1.as_str());
    let assertion = cert(2).sign(
        &cert(2).ps256_header(),
        &claims("certified-app", "certified"),
    );
    let tok = s
        .assertion_token("certified", "certified-app", &assertion)
        .await;
    assert_eq!(tok.status, 200, "{}", tok.body);

    let bad = s
        .admin(
            Method::PUT,
            "/_sim/tenants/broken",
            Some(json!({"certificates": ["nope"]})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["code"], "invalid_certificate");
    assert_eq!(
        s.admin(Method::GET, "/_sim/tenants/broken", None)
            .await
            .status,
        404,
        "nothing created"
    );
}

#[tokio::test]
async fn ps256_assertion_naming_the_sha256_thumbprint_gets_a_token_that_reads_graph() {
    let s = spawn_demo().await;
    let (t, id, client_id) = contoso_with_cert(&s).await;
    let assertion = cert(0).sign(&cert(0).ps256_header(), &claims(&client_id, &id));
    let r = s.assertion_token(&id, &client_id, &assertion).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    let tok = r.body["access_token"].as_str().unwrap();
    let g = s
        .get(tok, "/beta/deviceManagement/deviceConfigurations")
        .await;
    assert_eq!(g.status, 200, "{}", g.body);
    // The certificate does not disable the app's secret.
    s.token(&t).await;
}

#[tokio::test]
async fn rs256_assertion_naming_the_sha1_thumbprint_gets_a_token() {
    let s = spawn_demo().await;
    let (_, _, client_id) = contoso_with_cert(&s).await;
    // Audience by tenant name, as a one-element array, any host; client id in another case.
    let mut c = claims(&client_id.to_uppercase(), "contoso");
    c["aud"] = json!(["http://127.0.0.1:1/contoso/oauth2/v2.0/token"]);
    let assertion = cert(0).sign(&cert(0).rs256_header(), &c);
    let r = s.assertion_token("contoso", &client_id, &assertion).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = s
        .get(
            r.body["access_token"].as_str().unwrap(),
            "/beta/deviceManagement/configurationPolicies",
        )
        .await;
    assert_eq!(g.status, 200);
}

#[tokio::test]
async fn a_certificate_not_registered_on_the_app_is_not_found() {
    let s = spawn_demo().await;
    let (_, id, client_id) = contoso_with_cert(&s).await;
    let other = cert(1);
    let by_sha1 = other.sign(&other.rs256_header(), &claims(&client_id, &id));
    let r = s.assertion_token(&id, &client_id, &by_sha1).await;
    let text = assert_oauth_error(&r, 401, "invalid_client", 700027);
    assert!(text.contains("is not registered on application"), "{text}");
    assert!(text.contains("The key was not found."), "{text}");
    assert!(
        text.contains(&format!(
            "Thumbprint of key used by client: '{}'",
            other.openssl_sha1
        )),
        "{text}"
    );
    let by_sha256 = other.sign(&other.ps256_header(), &claims(&client_id, &id));
    let r = s.assertion_token(&id, &client_id, &by_sha256).await;
    let text = assert_oauth_error(&r, 401, "invalid_client", 700027);
    assert!(text.contains(&other.x5t_s256()), "{text}");
    // Another tenant's certificate does not open this one.
    let fabrikam = s.tenant("fabrikam").await;
    let fid = fabrikam["id"].as_str().unwrap();
    let fcid = fabrikam["client_id"].as_str().unwrap();
    let r = s
        .assertion_token(
            fid,
            fcid,
            &cert(0).sign(&cert(0).ps256_header(), &claims(fcid, fid)),
        )
        .await;
    assert_oauth_error(&r, 401, "invalid_client", 700027);
}

#[tokio::test]
async fn a_signature_by_another_key_is_invalid() {
    let s = spawn_demo().await;
    let (_, id, client_id) = contoso_with_cert(&s).await;
    // Names the registered certificate but is signed by another key.
    for header in [cert(0).ps256_header(), cert(0).rs256_header()] {
        let forged = cert(1).sign(&header, &claims(&client_id, &id));
        let r = s.assertion_token(&id, &client_id, &forged).await;
        let text = assert_oauth_error(&r, 401, "invalid_client", 700027);
        assert!(
            text.contains("Client assertion contains an invalid signature."),
            "{text}"
        );
    }
    // A genuine signature over other claims.
    let genuine = cert(0).sign(&cert(0).ps256_header(), &claims(&client_id, &id));
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut c = claims(&client_id, &id);
    c["exp"] = json!(chrono::Utc::now().timestamp() + 86_400);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(c.to_string().as_bytes()),
        parts[2]
    );
    let r = s.assertion_token(&id, &client_id, &tampered).await;
    assert_oauth_error(&r, 401, "invalid_client", 700027);
    // PS256 header over an RS256 signature.
    let mismatched = cert(0).sign(&cert(0).rs256_header(), &claims(&client_id, &id));
    let parts: Vec<&str> = mismatched.split('.').collect();
    let header = b64url(
        json!({"alg": "PS256", "x5t": cert(0).x5t()})
            .to_string()
            .as_bytes(),
    );
    let r = s
        .assertion_token(
            &id,
            &client_id,
            &format!("{header}.{}.{}", parts[1], parts[2]),
        )
        .await;
    assert_oauth_error(&r, 401, "invalid_client", 700027);
}

#[tokio::test]
async fn issuer_and_subject_must_be_the_client_id() {
    let s = spawn_demo().await;
    let (_, id, client_id) = contoso_with_cert(&s).await;
    for claim in ["iss", "sub"] {
        let mut c = claims(&client_id, &id);
        c[claim] = json!("someone-else");
        let r = s
            .assertion_token(&id, &client_id, &cert(0).sign(&cert(0).ps256_header(), &c))
            .await;
        let text = assert_oauth_error(&r, 401, "invalid_client", 700021);
        assert!(
            text.contains("doesn't match 'client_id' parameter"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn audience_must_be_this_tenants_token_endpoint() {
    let s = spawn_demo().await;
    let (_, id, client_id) = contoso_with_cert(&s).await;
    let fabrikam = s.tenant("fabrikam").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fabrikam_endpoint =
        format!("https://login.microsoftonline.com/{fabrikam}/oauth2/v2.0/token");
    let contoso_endpoint = format!("https://login.microsoftonline.com/{id}/oauth2/v2.0/token");
    for aud in [
        json!(fabrikam_endpoint),
        json!("https://graph.microsoft.com"),
        json!(format!(
            "https://login.microsoftonline.com/{id}/oauth2/token"
        )),
        json!([contoso_endpoint, fabrikam_endpoint]),
        json!(null),
    ] {
        let mut c = claims(&client_id, &id);
        c["aud"] = aud.clone();
        let r = s
            .assertion_token(&id, &client_id, &cert(0).sign(&cert(0).ps256_header(), &c))
            .await;
        let text = assert_oauth_error(&r, 401, "invalid_client", 700023);
        assert!(
            text.contains("audience claim does not match Realm issuer"),
            "{aud}: {text}"
        );
    }
}

#[tokio::test]
async fn an_assertion_outside_its_lifetime_is_refused() {
    let s = spawn_demo().await;
    let (_, id, client_id) = contoso_with_cert(&s).await;
    let now = chrono::Utc::now().timestamp();
    let sign = |c: &Value| cert(0).sign(&cert(0).ps256_header(), c);

    let mut expired = claims(&client_id, &id);
    expired["nbf"] = json!(now - 1200);
    expired["exp"] = json!(now - 600);
    let r = s.assertion_token(&id, &client_id, &sign(&expired)).await;
    let text = assert_oauth_error(&r, 401, "invalid_client", 700024);
    assert!(
        text.contains("Client assertion is not within its valid time range. Current time: "),
        "{text}"
    );
    assert!(text.contains("expiry time of assertion "), "{text}");

    let mut early = claims(&client_id, &id);
    early["nbf"] = json!(now + 600);
    early["exp"] = json!(now + 1200);
    let r = s.assertion_token(&id, &client_id, &sign(&early)).await;
    assert_oauth_error(&r, 401, "invalid_client", 700024);

    let mut no_exp = claims(&client_id, &id);
    no_exp.as_object_mut().unwrap().remove("exp");
    let r = s.assertion_token(&id, &client_id, &sign(&no_exp)).await;
    assert_oauth_error(&r, 401, "invalid_client", 700024);

    // Within the five minutes of clock skew.
    let mut skewed = claims(&client_id, &id);
    skewed["nbf"] = json!(now + 120);
    skewed["exp"] = json!(now - 120);
    let r = s.assertion_token(&id, &client_id, &sign(&skewed)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn malformed_assertions_are_50027() {
    let s = spawn_demo().await;
    let (_, id, client_id) = contoso_with_cert(&s).await;
    let mut no_jti = claims(&client_id, &id);
    no_jti.as_object_mut().unwrap().remove("jti");
    let c = cert(0);
    let cases = [
        "not-a-jwt".to_string(),
        "a.b.c".to_string(),
        c.sign(&c.ps256_header(), &no_jti),
        c.sign(
            &json!({"alg": "HS256", "x5t": c.x5t()}),
            &claims(&client_id, &id),
        ),
        c.sign(&json!({"alg": "PS256"}), &claims(&client_id, &id)),
        c.sign(
            &json!({"alg": "PS256", "x5t": "short"}),
            &claims(&client_id, &id),
        ),
    ];
    for assertion in cases {
        let r = s.assertion_token(&id, &client_id, &assertion).await;
        let text = assert_oauth_error(&r, 401, "invalid_client", 50027);
        assert!(
            text.contains("JWT token is invalid or malformed."),
            "{text}"
        );
    }
}

#[tokio::test]
async fn one_client_authentication_method_per_request() {
    let s = spawn_demo().await;
    let (t, id, client_id) = contoso_with_cert(&s).await;
    let assertion = cert(0).sign(&cert(0).ps256_header(), &claims(&client_id, &id));
    let secret = t["client_secret"].as_str().unwrap();
    let both = s
        .token_form(
            &id,
            &[
                ("client_id", &client_id),
                ("client_secret", secret),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    let text = assert_oauth_error(&both, 400, "invalid_request", 9002313);
    assert!(
        text.contains("client_secret") && text.contains("client_assertion"),
        "{text}"
    );

    let no_type = s
        .token_form(
            &id,
            &[("client_id", &client_id), ("client_assertion", &assertion)],
        )
        .await;
    assert_oauth_error(&no_type, 400, "invalid_request", 900144);
    let wrong_type = s
        .token_form(
            &id,
            &[
                ("client_id", &client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_oauth_error(&wrong_type, 400, "invalid_request", 9002313);

    let neither = s.token_form(&id, &[("client_id", &client_id)]).await;
    assert_oauth_error(&neither, 401, "invalid_client", 7000216);
}

//! Credentials beside client secrets: a tenant whose app registration signs in with a
//! certificate (a client assertion signed with its private key, the key sealed at rest), and
//! tenants added by Entra directory id alone that sign in with the MSP's shared multi-tenant
//! app once their admin has consented to it.

use super::lifecycle::{error_of, platform_admin};
use super::*;
use crate::helpers::{CAPTURED_LOGS, certificate_only, certificate_pem};

fn demo_sim(tenants: &Value, name: &str) -> Value {
    tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
        .clone()
}

/// A line from the middle of the PEM's private key: if it shows up anywhere, the key leaked.
fn key_line(pem: &str) -> String {
    let key = &pem[pem.find("-----BEGIN PRIVATE KEY-----").unwrap()..];
    key.lines().nth(5).unwrap().to_string()
}

async fn sim_put(app: &TestApp, path: &str, body: Value) -> u16 {
    app.http
        .put(format!("{}{path}", app.sim_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn connection_test(app: &TestApp, user: &TestUser, tenant: &TestTenant) -> Value {
    let run = start(
        app,
        user,
        &format!("/tenants/{}/connection-test", tenant.id),
        json!({}),
    )
    .await;
    app.wait_for_terminal(user, tenant.id, &run, WAIT).await
}

/// The tenant a `POST /tenants` answer registered (graph-sim's `sim`), once its connection
/// test has failed, and why it failed.
async fn failed_first_test(
    app: &TestApp,
    user: &TestUser,
    created: &Value,
    sim: &Value,
) -> (TestTenant, String) {
    let tenant = TestTenant {
        id: created["tenant"]["id"].as_str().unwrap().parse().unwrap(),
        name: created["tenant"]["name"].as_str().unwrap().into(),
        sim_id: sim["id"].as_str().unwrap().into(),
    };
    let run = created["connection_test"]["id"].as_str().unwrap();
    let tested = app.wait_for_terminal(user, tenant.id, run, WAIT).await;
    assert_eq!(tested["status"], "failed", "{tested}");
    let items = all_items(app, user, &tenant, run).await;
    let why = items[0]["error_message"].as_str().unwrap().to_string();
    (tenant, why)
}

#[tokio::test]
async fn a_tenant_signs_in_with_a_certificate_whose_key_stays_sealed() {
    let app = spawn_app_with(demo_app()).await;
    let platform = platform_admin(&app, "platform@example.com").await;
    let sim = demo_sim(&app.sim_get("/_sim/tenants").await, "contoso");
    let pem = certificate_pem("policyvault-contoso");
    let other = certificate_pem("someone-else");
    let body = |credential: Value| {
        let mut body = json!({
            "name": "Contoso",
            "entra_tenant_id": sim["id"],
            "client_id": sim["client_id"],
            "graph_base_url": app.sim_url(),
            "login_base_url": app.sim_url(),
        });
        for (k, v) in credential.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // Unusable certificates are refused by field, naming what is wrong.
    let mismatched = certificate_only(&pem) + &other[other.find("-----BEGIN PRIVATE").unwrap()..];
    for (credential, says) in [
        (
            json!({"certificate": "not a certificate"}),
            "no certificate",
        ),
        (
            json!({"certificate": certificate_only(&pem)}),
            "no private key",
        ),
        (json!({"certificate": mismatched}), "does not belong"),
        (
            json!({"certificate": pem, "client_secret": "x"}),
            "not both",
        ),
    ] {
        let (status, message) = error_of(
            app.post(&platform, "/tenants", body(credential.clone()))
                .await,
        )
        .await;
        assert_eq!(status, 422, "{message}");
        assert!(message.starts_with("certificate: "), "{message}");
        assert!(message.contains(says), "{says}: {message}");
    }
    // Without a client id and no shared app configured, the registration says what to give.
    let (status, message) = error_of(
        app.post(
            &platform,
            "/tenants",
            json!({"name": "Contoso", "entra_tenant_id": sim["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        message.starts_with("client_id: ") && message.contains("shared_app"),
        "{message}"
    );

    // Registered with a certificate the app registration does not know yet: Entra refuses
    // the assertion and the connection test says so.
    let response = app
        .post(&platform, "/tenants", body(json!({"certificate": pem})))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert!(!created.to_string().contains("PRIVATE KEY"), "{created}");
    assert_eq!(created["tenant"]["credential"], "certificate");
    let thumbprint = created["tenant"]["certificate"]["thumbprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(thumbprint.len(), 40, "{created}");
    assert!(created["tenant"]["certificate"]["expires_at"].is_string());
    let (tenant, why) = failed_first_test(&app, &platform, &created, &sim).await;
    assert!(why.contains("AADSTS700027"), "{why}");

    // The certificate uploaded to the app registration: sign-in, the test and a capture work.
    let uploaded: Value = app
        .sim_post(
            &format!("/_sim/tenants/{}/certificates", tenant.sim_id),
            json!({"certificate": certificate_only(&pem)}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(uploaded["thumbprint"], thumbprint.as_str(), "{uploaded}");
    let tested = connection_test(&app, &platform, &tenant).await;
    assert_eq!(tested["status"], "succeeded", "{tested}");
    let (_, captured) = capture(&app, &platform, &tenant).await;
    assert_eq!(captured["status"], "succeeded", "{captured}");

    // At rest the key is sealed; nothing shows or logs it.
    let row = policyvault::store::tenants::get(&app.services.db, tenant.id)
        .await
        .unwrap();
    let sealed = row.private_key_enc.clone().unwrap();
    assert!(!sealed.contains("PRIVATE KEY") && !sealed.contains(&key_line(&pem)));
    assert!(row.certificate_pem.unwrap().contains("BEGIN CERTIFICATE"));
    let audit = app
        .get_json(&platform, &format!("/tenants/{}/audit-events", tenant.id))
        .await;
    assert!(!audit.to_string().contains(&key_line(&pem)), "{audit}");
    let logs = String::from_utf8_lossy(&CAPTURED_LOGS.lock().unwrap()).to_string();
    assert!(
        !logs.contains(&key_line(&pem)),
        "the private key was logged"
    );

    // Back to a client secret: the certificate and its key are dropped, the edit audited.
    let r = app
        .patch(
            &platform,
            &format!("/tenants/{}", tenant.id),
            json!({"client_secret": sim["client_secret"]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["tenant"]["credential"], "secret");
    assert!(edited["tenant"]["certificate"].is_null(), "{edited}");
    let row = policyvault::store::tenants::get(&app.services.db, tenant.id)
        .await
        .unwrap();
    assert_eq!((row.private_key_enc, row.certificate_pem), (None, None));
    let tested = connection_test(&app, &platform, &tenant).await;
    assert_eq!(tested["status"], "succeeded", "{tested}");
    let audit = app
        .get_json(&platform, &format!("/tenants/{}/audit-events", tenant.id))
        .await;
    let updated = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tenant.updated")
        .unwrap()
        .clone();
    assert_eq!(updated["details"]["fields"], json!(["client_secret"]));
    app.shutdown().await;
}

#[tokio::test]
async fn tenants_added_by_directory_id_sign_in_with_the_consented_shared_app() {
    // The MSP's app signs in with a certificate from a file, as `[shared_app]` configures.
    let pem = certificate_pem("policyvault-msp");
    let file = std::env::temp_dir().join(format!("pv-shared-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&file, &pem).unwrap();
    let app_id = uuid::Uuid::new_v4().to_string();
    let mut options = demo_app();
    options.settings = vec![
        ("shared_app.client_id".into(), app_id.clone()),
        (
            "shared_app.certificate_file".into(),
            file.display().to_string(),
        ),
    ];
    let app = spawn_app_with(options).await;
    let _ = std::fs::remove_file(&file);
    let platform = platform_admin(&app, "platform@example.com").await;
    assert_eq!(
        sim_put(
            &app,
            &format!("/_sim/apps/{app_id}"),
            json!({"certificates": [certificate_only(&pem)]}),
        )
        .await,
        201
    );
    let sim = demo_sim(&app.sim_get("/_sim/tenants").await, "contoso");

    // Added by its directory id alone: it signs in with the shared app.
    let response = app
        .post(
            &platform,
            "/tenants",
            json!({
                "name": "Contoso",
                "entra_tenant_id": sim["id"],
                "graph_base_url": app.sim_url(),
                "login_base_url": app.sim_url(),
            }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["tenant"]["credential"], "shared_app", "{created}");
    assert_eq!(created["tenant"]["client_id"], app_id.as_str());
    // The customer's admin has not consented yet: Entra does not know the app there.
    let (tenant, why) = failed_first_test(&app, &platform, &created, &sim).await;
    assert!(
        why.contains("AADSTS700016") && why.contains("consented"),
        "{why}"
    );

    // Consented: the test and a capture work.
    let consent = format!("/_sim/tenants/{}/consents/{app_id}", tenant.sim_id);
    assert_eq!(sim_put(&app, &consent, json!({})).await, 204);
    let tested = connection_test(&app, &platform, &tenant).await;
    assert_eq!(tested["status"], "succeeded", "{tested}");
    let (_, captured) = capture(&app, &platform, &tenant).await;
    assert_eq!(captured["status"], "succeeded", "{captured}");

    // Consent revoked: the issued token stops working and the next test fails.
    let revoked = app
        .http
        .delete(format!("{}{consent}", app.sim_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    let tested = connection_test(&app, &platform, &tenant).await;
    assert_eq!(tested["status"], "failed", "{tested}");

    // A shared-app tenant takes no secret of its own in the same edit; moving a tenant with
    // its own app onto the shared app works.
    let path = format!("/tenants/{}", tenant.id);
    let (status, message) = error_of(
        app.patch(
            &platform,
            &path,
            json!({"use_shared_app": true, "client_secret": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(message.starts_with("shared_app: "), "{message}");
    let (status, message) = error_of(
        app.patch(&platform, &path, json!({"client_secret": "x"}))
            .await,
    )
    .await;
    assert_eq!(
        status, 422,
        "leaving the shared app needs the own app's client id"
    );
    assert!(message.starts_with("client_id: "), "{message}");
    let own = register_demo_tenant(&app, "fabrikam").await;
    app.grant(&platform, &own, Role::Admin).await;
    let r = app
        .patch(
            &platform,
            &format!("/tenants/{}", own.id),
            json!({"use_shared_app": true}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["tenant"]["credential"], "shared_app", "{moved}");
    assert_eq!(
        sim_put(
            &app,
            &format!("/_sim/tenants/{}/consents/{app_id}", own.sim_id),
            json!({})
        )
        .await,
        204
    );
    let tested = connection_test(&app, &platform, &own).await;
    assert_eq!(tested["status"], "succeeded", "{tested}");
    app.shutdown().await;
}

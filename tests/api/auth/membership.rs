//! Leaving a tenant and managing its members.

use std::collections::HashMap;

use policyvault::store::accounts;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{app_with, notify};
use crate::helpers::{AppOptions, Role, spawn_app_with};

#[tokio::test]
async fn a_user_who_leaves_a_tenant_no_longer_sees_its_notifications() {
    let app = spawn_app_with(AppOptions::default()).await;
    let kept = app.add_tenant("Contoso").await;
    let left = app.add_tenant("Fabrikam").await;
    let user = app.add_user("someone@example.com").await;
    app.grant(&user, &kept, Role::Viewer).await;
    app.grant(&user, &left, Role::Viewer).await;
    let mut ids = HashMap::new();
    for tenant in [&kept, &left] {
        let id = notify(&app, user.id, tenant.id, format!("About {}", tenant.name)).await;
        ids.insert(tenant.id, id);
    }
    let before = app.get_json(&user, "/notifications").await;
    assert_eq!(before["unread"], 2, "{before}");

    assert!(
        accounts::revoke_membership(&app.services.db, left.id, user.id)
            .await
            .unwrap()
    );
    let after = app.get_json(&user, "/notifications").await;
    assert_eq!(after["unread"], 1, "{after}");
    let listed = after["notifications"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["tenant_id"], kept.id.to_string().as_str());
    let gone = app
        .post(
            &user,
            &format!("/notifications/{}/read", ids[&left.id]),
            json!({}),
        )
        .await;
    assert_eq!(gone.status(), 404);
    let read = app
        .post(
            &user,
            &format!("/notifications/{}/read", ids[&kept.id]),
            json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);
    // And the tenant's resources are gone with the membership.
    let runs = app.get(&user, &format!("/tenants/{}/runs", left.id)).await;
    assert_eq!(runs.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn admins_manage_members_and_keep_at_least_one_admin() {
    let app = spawn_app_with(app_with(&[])).await;
    let tenant = app.add_tenant("Members").await;
    let admin = app.add_user("admin@members.example").await;
    let newcomer = app.add_user("new@members.example").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    let base = format!("/tenants/{}/memberships", tenant.id);

    let put = |body: Value| {
        let app = &app;
        let admin = &admin;
        let url = app.url(&base);
        async move {
            app.http
                .put(url)
                .bearer_auth(admin.token.expose_secret())
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let granted = put(json!({"email": newcomer.email, "role": "operator"})).await;
    assert_eq!(granted.status().as_u16(), 200);
    let members = app.get_json(&admin, &base).await;
    let roles: Vec<(String, String)> = members["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        roles.contains(&(newcomer.email.clone(), "operator".into())),
        "{roles:?}"
    );
    // The newcomer can now start a capture.
    let started = app
        .post(
            &newcomer,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await;
    assert_eq!(started.status().as_u16(), 202);

    assert_eq!(
        put(json!({"email": "nobody@members.example", "role": "viewer"}))
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(
        put(json!({"email": newcomer.email, "role": "owner"}))
            .await
            .status()
            .as_u16(),
        422
    );
    // The last admin can neither step down nor be removed.
    assert_eq!(
        put(json!({"email": admin.email, "role": "viewer"}))
            .await
            .status()
            .as_u16(),
        409
    );
    let removed_self = app
        .http
        .delete(app.url(&format!("{base}/{}", admin.id)))
        .bearer_auth(admin.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(removed_self.status().as_u16(), 409);

    let removed = app
        .http
        .delete(app.url(&format!("{base}/{}", newcomer.id)))
        .bearer_auth(admin.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 204);
    let gone = app
        .get(&newcomer, &format!("/tenants/{}/runs", tenant.id))
        .await;
    assert_eq!(
        gone.status().as_u16(),
        404,
        "a removed member no longer sees the tenant"
    );
    app.shutdown().await;
}

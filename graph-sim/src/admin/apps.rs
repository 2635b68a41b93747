//! `/_sim/` endpoints for app credentials: certificates on a tenant's own app, multi-tenant
//! apps (an MSP's one registration used across customer tenants) and the admin consents that
//! let such an app into a tenant. Modelled on Entra's certificate credentials
//! (https://learn.microsoft.com/entra/identity-platform/certificate-credentials).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;

use super::{InvalidBody, err, no_tenant, parse};
use crate::certificates::{self, Certificate};
use crate::store::{App, AppView, Sim, lock, new_secret};

pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/_sim/tenants/{id}/certificates",
            get(list_certificates)
                .post(add_certificate)
                .delete(clear_certificates),
        )
        .route("/_sim/tenants/{id}/consents", get(list_consents))
        .route(
            "/_sim/tenants/{id}/consents/{client_id}",
            put(grant_consent).delete(revoke_consent),
        )
        .route("/_sim/apps", get(list_apps))
        .route(
            "/_sim/apps/{client_id}",
            get(get_app).put(put_app).delete(delete_app),
        )
}

fn no_app(client_id: &str) -> Response {
    err(
        StatusCode::NOT_FOUND,
        "app_not_found",
        format!("unknown multi-tenant app '{client_id}'"),
    )
}

fn invalid_certificate(e: certificates::InvalidCertificate) -> Response {
    err(
        StatusCode::BAD_REQUEST,
        "invalid_certificate",
        e.to_string(),
    )
}

/// A body that may be empty (every field optional).
fn parse_optional<T: serde::de::DeserializeOwned + Default>(
    body: &Bytes,
) -> Result<T, InvalidBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse(body)
}

async fn list_certificates(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => {
            let list: Vec<_> = lock(&t)
                .certificates
                .iter()
                .map(Certificate::thumbprints)
                .collect();
            Json(list).into_response()
        }
        None => no_tenant(&id),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddCertificate {
    /// PEM (`-----BEGIN CERTIFICATE-----`) or base64 of the DER.
    certificate: String,
}

/// Register a certificate on the tenant's own app: 201 when new, 200 when already there.
async fn add_certificate(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let req: AddCertificate = match parse(&body) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
    };
    let cert = match Certificate::parse(&req.certificate) {
        Ok(c) => c,
        Err(e) => return invalid_certificate(e),
    };
    let Some(tenant) = sim.tenant(&id) else {
        return no_tenant(&id);
    };
    let thumbprints = cert.thumbprints();
    let added = certificates::register(&mut lock(&tenant).certificates, cert);
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(thumbprints)).into_response()
}

async fn clear_certificates(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => {
            lock(&t).certificates.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_tenant(&id),
    }
}

async fn list_consents(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => Json(lock(&t).consents.clone()).into_response(),
        None => no_tenant(&id),
    }
}

/// An administrator of the tenant consents to a registered multi-tenant app (idempotent).
async fn grant_consent(
    State(sim): State<Arc<Sim>>,
    Path((id, client_id)): Path<(String, String)>,
) -> Response {
    let Some(tenant) = sim.tenant(&id) else {
        return no_tenant(&id);
    };
    let Some(app) = sim.app(&client_id) else {
        return no_app(&client_id);
    };
    lock(&tenant).consent(&app.client_id);
    StatusCode::NO_CONTENT.into_response()
}

/// Revoke a consent; the app's tokens for this tenant stop working at once.
async fn revoke_consent(
    State(sim): State<Arc<Sim>>,
    Path((id, client_id)): Path<(String, String)>,
) -> Response {
    match sim.tenant(&id) {
        Some(t) => {
            lock(&t).revoke_consent(&client_id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_tenant(&id),
    }
}

async fn list_apps(State(sim): State<Arc<Sim>>) -> Response {
    let list: Vec<AppView> = sim.list_apps().iter().map(App::view).collect();
    Json(list).into_response()
}

async fn get_app(State(sim): State<Arc<Sim>>, Path(client_id): Path<String>) -> Response {
    match sim.app(&client_id) {
        Some(app) => Json(app.view()).into_response(),
        None => no_app(&client_id),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PutApp {
    client_secret: Option<String>,
    /// PEM or base64 DER certificates.
    #[serde(default)]
    certificates: Vec<String>,
}

/// Register (201) or replace (200) a multi-tenant app; consents to it stay. A missing secret
/// is generated.
async fn put_app(
    State(sim): State<Arc<Sim>>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let req: PutApp = match parse_optional(&body) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
    };
    if client_id.trim().is_empty() {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "client id must not be empty",
        );
    }
    let certificates = match certificates::parse_all(&req.certificates) {
        Ok(c) => c,
        Err(e) => return invalid_certificate(e),
    };
    let app = App {
        client_id,
        client_secret: req
            .client_secret
            .filter(|s| !s.is_empty())
            .unwrap_or_else(new_secret),
        certificates,
    };
    let view = app.view();
    let status = if sim.put_app(app) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(view)).into_response()
}

/// Remove a multi-tenant app and every consent to it; its tokens stop working.
async fn delete_app(State(sim): State<Arc<Sim>>, Path(client_id): Path<String>) -> Response {
    if sim.delete_app(&client_id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        no_app(&client_id)
    }
}

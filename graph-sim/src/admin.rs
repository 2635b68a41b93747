//! The `/_sim/` admin API: tenants, object seeding, export, journal, stats, faults, reset;
//! app credentials (certificates, multi-tenant apps, consents) in `apps`. Not throttled, not
//! authenticated (the simulator is a local test tool).

mod apps;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::certificates;
use crate::collections::{COLLECTIONS, by_path};
use crate::faults::FaultSpec;
use crate::store::{Sim, TenantCreds, import, lock, new_secret};

pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/tenants", get(list_tenants))
        .route(
            "/_sim/tenants/{id}",
            get(get_tenant).put(put_tenant).delete(delete_tenant),
        )
        .route("/_sim/tenants/{id}/objects", post(post_object))
        .route("/_sim/tenants/{id}/export", get(export))
        .route(
            "/_sim/tenants/{id}/journal",
            get(journal).delete(clear_journal),
        )
        .route("/_sim/tenants/{id}/stats", get(stats))
        .route(
            "/_sim/tenants/{id}/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/tenants/{id}/faults/{fault}", delete(delete_fault))
        .route("/_sim/reset", post(reset))
        .route("/_sim/collections", get(collections))
        .merge(apps::router())
}

fn err(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

fn no_tenant(id: &str) -> Response {
    err(
        StatusCode::NOT_FOUND,
        "tenant_not_found",
        format!("unknown tenant '{id}'"),
    )
}

/// A request body that is not the JSON an endpoint takes.
#[derive(Debug, thiserror::Error)]
#[error("invalid JSON body: {0}")]
struct InvalidBody(#[from] serde_json::Error);

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, InvalidBody> {
    Ok(serde_json::from_slice(body)?)
}

async fn list_tenants(State(sim): State<Arc<Sim>>) -> Response {
    Json(sim.list_tenants()).into_response()
}

async fn get_tenant(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => Json(lock(&t).creds()).into_response(),
        None => no_tenant(&id),
    }
}

#[derive(Deserialize, Default)]
struct PutTenant {
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// PEM or base64 DER certificates registered on the tenant's own app.
    #[serde(default)]
    certificates: Vec<String>,
}

/// Create or replace an empty tenant. Missing credentials are generated.
async fn put_tenant(State(sim): State<Arc<Sim>>, Path(id): Path<String>, body: Bytes) -> Response {
    let req: PutTenant = if body.iter().all(u8::is_ascii_whitespace) {
        PutTenant::default()
    } else {
        match parse(&body) {
            Ok(r) => r,
            Err(e) => return err(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
        }
    };
    if id.trim().is_empty() {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "tenant id must not be empty",
        );
    }
    let certificates = match certificates::parse_all(&req.certificates) {
        Ok(c) => c,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                "invalid_certificate",
                e.to_string(),
            );
        }
    };
    let creds = TenantCreds {
        name: req
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.clone()),
        client_id: req
            .client_id
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        client_secret: req
            .client_secret
            .filter(|c| !c.is_empty())
            .unwrap_or_else(new_secret),
        id,
    };
    let created = sim.put_tenant(creds.clone(), certificates);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(creds)).into_response()
}

async fn delete_tenant(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let key = match sim.tenant(&id) {
        Some(t) => lock(&t).id.clone(),
        None => return no_tenant(&id),
    };
    sim.delete_tenant(&key);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct PostObject {
    collection: String,
    object: Value,
}

/// Seed an object as a fixture file would: sub-resources inline, ids assigned if missing.
async fn post_object(State(sim): State<Arc<Sim>>, Path(id): Path<String>, body: Bytes) -> Response {
    let req: PostObject = match parse(&body) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
    };
    let Some(spec) = by_path(&req.collection) else {
        let known: Vec<&str> = COLLECTIONS.iter().map(|c| c.path).collect();
        return err(
            StatusCode::BAD_REQUEST,
            "unknown_collection",
            format!(
                "unknown collection '{}'; supported: {}",
                req.collection,
                known.join(", ")
            ),
        );
    };
    let Some(tenant) = sim.tenant(&id) else {
        return no_tenant(&id);
    };
    let mut t = lock(&tenant);
    let stored = {
        let mut catalog = sim.catalog.write().unwrap_or_else(|e| e.into_inner());
        match import(spec, req.object, &t, Utc::now(), &mut catalog) {
            Ok(o) => o,
            Err(e) => return err(StatusCode::BAD_REQUEST, "invalid_object", e.to_string()),
        }
    };
    t.insert(spec, stored.clone());
    (StatusCode::CREATED, Json(Value::Object(stored))).into_response()
}

async fn export(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => Json(Value::Object(lock(&t).export())).into_response(),
        None => no_tenant(&id),
    }
}

async fn journal(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => Json(lock(&t).journal.clone()).into_response(),
        None => no_tenant(&id),
    }
}

async fn clear_journal(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => {
            lock(&t).journal.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_tenant(&id),
    }
}

async fn stats(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => Json(lock(&t).stats.clone()).into_response(),
        None => no_tenant(&id),
    }
}

async fn list_faults(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => Json(lock(&t).faults.active.clone()).into_response(),
        None => no_tenant(&id),
    }
}

async fn add_fault(State(sim): State<Arc<Sim>>, Path(id): Path<String>, body: Bytes) -> Response {
    let spec: FaultSpec = match parse(&body) {
        Ok(s) => s,
        Err(e) => return err(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
    };
    if let Err(e) = spec.validate() {
        return err(StatusCode::BAD_REQUEST, "invalid_fault", e.to_string());
    }
    let Some(tenant) = sim.tenant(&id) else {
        return no_tenant(&id);
    };
    let fault = lock(&tenant).faults.add(spec);
    tracing::info!(tenant = %id, kind = ?fault.spec.kind, "fault injected");
    (StatusCode::CREATED, Json(fault)).into_response()
}

async fn clear_faults(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.tenant(&id) {
        Some(t) => {
            lock(&t).faults.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_tenant(&id),
    }
}

async fn delete_fault(
    State(sim): State<Arc<Sim>>,
    Path((id, fault)): Path<(String, String)>,
) -> Response {
    let Some(tenant) = sim.tenant(&id) else {
        return no_tenant(&id);
    };
    let mut t = lock(&tenant);
    let before = t.faults.active.len();
    t.faults.active.retain(|f| f.id != fault);
    if t.faults.active.len() == before {
        return err(
            StatusCode::NOT_FOUND,
            "fault_not_found",
            format!("unknown fault '{fault}'"),
        );
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(sim): State<Arc<Sim>>) -> Response {
    match sim.load_initial() {
        Ok(()) => {
            tracing::info!("simulator reset to start-up state");
            Json(json!({"tenants": sim.list_tenants().len()})).into_response()
        }
        Err(e) => err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reset_failed",
            format!("{e:#}"),
        ),
    }
}

/// The supported collection paths (for tooling).
async fn collections() -> Response {
    let list: Vec<Value> = COLLECTIONS
        .iter()
        .map(|c| json!({"path": c.path, "type": c.qualified_base(), "v1.0": c.v1, "assign": c.assign.as_ref().map(|a| a.payload_key)}))
        .collect();
    Json(list).into_response()
}

/// Unknown `/_sim/...` paths.
pub async fn not_found() -> Response {
    err(StatusCode::NOT_FOUND, "not_found", "unknown admin endpoint")
}

//! Export and import: a snapshot or backup set downloaded as a zip (one JSON file per object
//! plus a manifest of hashes), and an uploaded zip — such an export, or a folder of Intune
//! JSON exports other tools write — read into a new backup set by an `import` run. The
//! request only stores the upload; the run reads it.

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use entity::enums::Role;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::auth::TenantAccess;
use super::error::ApiError;
use super::extract::Path;
use super::openapi::Doc;
use super::routes::{Access, Routes};
use crate::graph::archive::{self, ExportMeta, ExportObject};
use crate::runs::RunSpec;
use crate::runs::start::{StartRequest, Started};
use crate::runs::view::RunView;
use crate::store::content;
use crate::store::{StoreError, uploads};

pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    Routes::new()
        .get("/tenants/{tenant}/snapshots/{id}/export", VIEWER, export_snapshot)
        .doc(
            Doc::new("Download a snapshot as a zip: one JSON file per object and a manifest with hashes")
                .returns_file(200, "The export", "application/zip"),
        )
        .get("/tenants/{tenant}/backup-sets/{id}/export", VIEWER, export_backup_set)
        .doc(
            Doc::new("Download a backup set's latest versions as a zip: one JSON file per object and a manifest with hashes")
                .returns_file(200, "The export", "application/zip"),
        )
        .post(
            "/tenants/{tenant}/imports",
            Access::Tenant(Role::Operator),
            // The upload limit is `imports.max_upload_bytes`, checked while reading.
            axum::handler::Handler::layer(import, axum::extract::DefaultBodyLimit::disable()),
        )
        .doc(
            Doc::new(
                "Import a zip (a PolicyVault export, or a folder of Intune JSON exports) as a new \
                 backup set: an `import` run with one item per file",
            )
            .multipart_body::<ImportForm>()
            .returns::<ImportStarted>(202, "The import run was queued")
            .returns::<ImportStarted>(200, "An identical run is already queued or running")
            .error(413),
        )
}

fn zip_response(name: &str, bytes: Vec<u8>) -> Response {
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}.zip\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    response
}

fn write(meta: &ExportMeta, objects: &[ExportObject<'_>]) -> Result<Vec<u8>, ApiError> {
    archive::write_zip(meta, objects).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
}

async fn export_snapshot(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Response, ApiError> {
    let db = &state.services().db;
    let snapshot = content::snapshot(db, access.scope(), id).await?;
    let items = content::all_snapshot_items(db, access.scope(), snapshot.id).await?;
    let objects: Vec<ExportObject<'_>> = items
        .iter()
        .map(|i| ExportObject {
            object: content::as_captured(i),
            content_hash: &i.content_hash,
        })
        .collect();
    let name = format!(
        "{} snapshot {}",
        access.tenant.name,
        snapshot.created_at.format("%Y-%m-%d %H%M")
    );
    let meta = ExportMeta {
        kind: "snapshot",
        id: snapshot.id,
        name: name.clone(),
        tenant_id: access.tenant_id(),
        tenant_name: access.tenant.name.clone(),
    };
    Ok(zip_response(&name, write(&meta, &objects)?))
}

async fn export_backup_set(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, Uuid)>,
) -> Result<Response, ApiError> {
    let db = &state.services().db;
    let set = content::backup_set(db, access.scope(), id).await?;
    let items = content::latest_backup_items(db, access.scope(), set.id).await?;
    let objects: Vec<ExportObject<'_>> = items
        .iter()
        .map(|i| ExportObject {
            object: content::backup_item_as_captured(i),
            content_hash: &i.content_hash,
        })
        .collect();
    let meta = ExportMeta {
        kind: "backup_set",
        id: set.id,
        name: set.name.clone(),
        tenant_id: access.tenant_id(),
        tenant_name: access.tenant.name.clone(),
    };
    Ok(zip_response(
        &format!("{} {}", access.tenant.name, set.name),
        write(&meta, &objects)?,
    ))
}

/// The import's form fields.
#[derive(Debug, JsonSchema)]
#[allow(dead_code)]
struct ImportForm {
    /// A zip of JSON exports (or one `.json` file).
    #[schemars(schema_with = "super::openapi::binary")]
    file: String,
    /// Name of the new backup set (default: "Import of <file> <time>"); unique in the tenant.
    name: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct ImportStarted {
    run: RunView,
    deduplicated: bool,
    /// The new backup set the run fills.
    backup_set_id: Uuid,
}

async fn import(
    State(state): State<AppState>,
    access: TenantAccess,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    access.require(Role::Operator)?;
    let mut form = form.map_err(|e| {
        ApiError::BadRequest(format!(
            "send the archive as multipart/form-data with a `file` field ({})",
            e.body_text()
        ))
    })?;
    let limit = state.services().settings.imports.max_upload_bytes;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!("the multipart body could not be read: {e}"))
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut name: Option<String> = None;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => {
                let filename = field
                    .file_name()
                    .map(str::to_string)
                    .filter(|f| !f.trim().is_empty())
                    .unwrap_or_else(|| "upload.zip".into());
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if (bytes.len() + chunk.len()) as u64 > limit {
                        return Err(ApiError::PayloadTooLarge(format!(
                            "the upload is larger than {limit} bytes (imports.max_upload_bytes)"
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((filename, bytes));
            }
            Some("name") => {
                let text = field.text().await.map_err(bad)?;
                name = Some(text.trim().to_string()).filter(|t| !t.is_empty());
            }
            other => {
                return Err(ApiError::Validation(format!(
                    "unknown form field {:?}: send `file` (and optionally `name`)",
                    other.unwrap_or_default()
                )));
            }
        }
    }
    let Some((filename, bytes)) = file else {
        return Err(ApiError::Validation(
            "file: attach the zip to import as the `file` field".into(),
        ));
    };
    if bytes.is_empty() {
        return Err(ApiError::Validation("file: the upload is empty".into()));
    }
    let filename: String = filename
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let name = name.unwrap_or_else(|| {
        format!(
            "Import of {filename} {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        )
    });
    let db = &state.services().db;
    let (set, _) = super::backup_sets::create_backup_set(
        &state,
        &access,
        super::backup_sets::CreateBody {
            name,
            description: Some(format!("Imported from {filename}")),
            policy_types: None,
            capture: false,
        },
    )
    .await?;
    let upload = uploads::create(db, access.scope(), &filename, bytes, access.user.id()).await?;
    let started: Started = state
        .orchestrator
        .start(StartRequest {
            run_id: None,
            fanout_id: None,
            scope: *access.scope(),
            initiator_id: access.user.id(),
            spec: RunSpec::Import {
                upload_id: upload.id,
                backup_set_id: set.id,
            },
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound,
            other => other.into(),
        })?;
    let status = if started.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        axum::Json(ImportStarted {
            run: state.orchestrator.view(&started.run),
            deduplicated: started.deduplicated,
            backup_set_id: set.id,
        }),
    )
        .into_response())
}

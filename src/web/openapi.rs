//! The OpenAPI 3.1 document of the JSON API (`GET /api/v1/openapi.json`) and its browsable
//! page (`GET /api/docs`).
//!
//! The document is generated from the route table, not written by hand: every `/api/v1`
//! route of [`super::routes`] becomes an operation (method, path, path parameters from its
//! `{..}` segments, security from its [`Access`]), described by the [`Doc`] its module
//! attached with [`Routes::doc`](super::Routes::doc). Request bodies, query parameters and
//! answers are JSON Schemas derived with `schemars` from the Rust types the handlers return,
//! so what is documented is what is written. Every error answer references the one
//! `ErrorBody` schema, the type [`ApiError`](super::error::ApiError) renders.

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::error::ErrorBody;
use super::routes::{Access, RouteInfo, Routes};

/// Where the document is served; the page links to it.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

pub fn routes() -> Routes {
    Routes::new()
        .get("/openapi.json", Access::Public, openapi_json)
        .doc(
            Doc::new("This OpenAPI 3.1 document, generated from the route table")
                .returns::<OpenApiDocument>(200, "The document"),
        )
}

/// An OpenAPI 3.1 document.
// Only a description: the document is assembled as JSON by `build`, and the OpenAPI
// specification defines what is inside these members.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct OpenApiDocument {
    /// `3.1.0`.
    openapi: String,
    info: Map<String, Value>,
    paths: Map<String, Value>,
    components: Map<String, Value>,
}

/// One event of a `text/event-stream` answer.
// Only a description: axum's `Event` writes the stream.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct StreamEvent {
    /// The kind of event.
    event: String,
    /// A JSON object.
    data: String,
}

/// The browsable page (outside `/api/v1`: it is HTML, not part of the JSON API).
pub fn page_routes() -> Routes {
    Routes::new().get("/api/docs", Access::Public, docs_page)
}

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn reference<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The bytes of a file.
pub fn binary(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "format": "binary"})
}

fn inline<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

struct Answer {
    status: u16,
    description: &'static str,
    content_type: &'static str,
    schema: Option<SchemaFn>,
}

/// What the document says about one route besides its method, path and access.
pub struct Doc {
    summary: &'static str,
    /// Schema, whether required, content type.
    body: Option<(SchemaFn, bool, &'static str)>,
    query: Option<SchemaFn>,
    answers: Vec<Answer>,
    errors: Vec<u16>,
}

impl Doc {
    pub fn new(summary: &'static str) -> Self {
        Self {
            summary,
            body: None,
            query: None,
            answers: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A required JSON body of type `T`.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((reference::<T>, true, "application/json"));
        self
    }

    /// A required `multipart/form-data` body whose fields are those of `T` (an uploaded file
    /// is a `format: binary` string).
    pub fn multipart_body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((inline::<T>, true, "multipart/form-data"));
        self
    }

    /// A file answer (`application/zip`, ...).
    pub fn returns_file(
        mut self,
        status: u16,
        description: &'static str,
        content_type: &'static str,
    ) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content_type,
            schema: Some(binary),
        });
        self
    }

    /// A JSON body of type `T` that may be left out altogether.
    pub fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((reference::<T>, false, "application/json"));
        self
    }

    /// Query parameters: the fields of `T`.
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(inline::<T>);
        self
    }

    /// A JSON answer of type `T`.
    pub fn returns<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content_type: "application/json",
            schema: Some(reference::<T>),
        });
        self
    }

    /// An answer without a body.
    pub fn no_content(mut self, description: &'static str) -> Self {
        self.answers.push(Answer {
            status: 204,
            description,
            content_type: "",
            schema: None,
        });
        self
    }

    /// A `text/event-stream` answer.
    pub fn event_stream(mut self, description: &'static str) -> Self {
        self.answers.push(Answer {
            status: 200,
            description,
            content_type: "text/event-stream",
            schema: Some(inline::<StreamEvent>),
        });
        self
    }

    /// An error answer the route gives beyond those its declaration implies.
    pub fn error(mut self, status: u16) -> Self {
        self.errors.push(status);
        self
    }
}

/// Schemas of `entity`'s text enums, which do not derive `JsonSchema` (that crate does not
/// depend on schemars). The values come from each enum's own list, so the document cannot
/// fall behind a new variant. Use with `#[schemars(schema_with = "...")]`.
pub mod vocabulary {
    use entity::enums::{ItemAction, Role, RunItemStatus};
    use schemars::{Schema, SchemaGenerator, json_schema};

    fn one_of(values: impl Iterator<Item = &'static str>) -> Schema {
        let values: Vec<&str> = values.collect();
        json_schema!({"type": "string", "enum": values})
    }

    fn one_of_or_null(values: impl Iterator<Item = &'static str>) -> Schema {
        let mut values: Vec<serde_json::Value> = values.map(Into::into).collect();
        values.push(serde_json::Value::Null);
        json_schema!({"type": ["string", "null"], "enum": values})
    }

    pub fn role(_: &mut SchemaGenerator) -> Schema {
        one_of(Role::ALL.iter().map(|v| v.as_str()))
    }

    pub fn run_item_status(_: &mut SchemaGenerator) -> Schema {
        one_of(RunItemStatus::ALL.iter().map(|v| v.as_str()))
    }

    pub fn item_action_or_null(_: &mut SchemaGenerator) -> Schema {
        one_of_or_null(ItemAction::ALL.iter().map(|v| v.as_str()))
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Malformed request (not JSON, wrong content type)",
        401 => "Not signed in: no or an invalid API token or session cookie",
        403 => "Signed in but not allowed (role too low, or missing CSRF token)",
        404 => "No such resource, or not visible to the caller",
        409 => "Conflicts with the current state",
        413 => "The request body is larger than 2 MiB",
        422 => "Well-formed but invalid input",
        429 => "Too many attempts; see Retry-After",
        503 => "A dependency (database, Redis) is unreachable for a moment; see Retry-After",
        _ => "Error",
    }
}

/// The document, built once per process.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| build(super::routes().operations()))
}

fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| serde_json::to_string_pretty(document()).unwrap_or_default())
}

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator()
}

fn build(operations: Vec<(RouteInfo, Option<Doc>)>) -> Value {
    // Bodies and queries are read (serde's deserialize rules: defaults make fields
    // optional); answers are written.
    let mut read = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut written = generator(SchemaSettings::draft2020_12().for_serialize());
    let error_schema = written.subschema_for::<ErrorBody>().to_value();

    let mut paths = Map::new();
    for (route, doc) in operations {
        if !route.path.starts_with("/api/v1/") {
            continue;
        }
        let doc = doc.unwrap_or_else(|| Doc::new(""));
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true,
                       "schema": {"type": "string", "format": "uuid"}})
            })
            .collect();
        let has_path_params = !parameters.is_empty();
        if let Some(query) = doc.query {
            parameters.extend(query_parameters(query(&mut read).to_value()));
        }

        let mut op = Map::new();
        op.insert("operationId".into(), json!(operation_id(&route)));
        op.insert("summary".into(), json!(doc.summary));
        op.insert("tags".into(), json!([tag(&route.path)]));
        if !parameters.is_empty() {
            op.insert("parameters".into(), json!(parameters));
        }
        if let Some((body, required, content_type)) = doc.body {
            op.insert(
                "requestBody".into(),
                json!({"required": required,
                       "content": {content_type: {"schema": body(&mut read).to_value()}}}),
            );
        }

        let mut responses = Map::new();
        for answer in doc.answers {
            let mut response = json!({"description": answer.description});
            if let Some(schema) = answer.schema {
                let schema = schema(&mut written).to_value();
                response["content"] = json!({answer.content_type: {"schema": schema}});
            }
            responses.insert(answer.status.to_string(), response);
        }
        let mut errors = doc.errors;
        if doc.body.is_some() || doc.query.is_some() {
            errors.extend([400, 422]);
        }
        if doc.body.is_some() {
            errors.push(413);
        }
        // Any operation may find the database or Redis away for a moment.
        errors.push(503);
        if route.access != Access::Public {
            errors.extend([401, 403]);
        }
        if has_path_params {
            errors.push(404);
        }
        if route.method != axum::http::Method::GET {
            errors.push(409);
        }
        errors.sort_unstable();
        errors.dedup();
        for status in errors {
            responses.insert(
                status.to_string(),
                json!({"description": error_description(status),
                       "content": {"application/json": {"schema": error_schema}}}),
            );
        }
        op.insert("responses".into(), Value::Object(responses));
        op.insert(
            "security".into(),
            if route.access == Access::Public {
                json!([])
            } else {
                json!([{"bearerAuth": []}, {"sessionCookie": []}])
            },
        );

        let item = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = Value::Object(op);
    }

    let mut schemas = read.take_definitions(true);
    schemas.extend(written.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "PolicyVault API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Backup, preview and restore of Microsoft Intune configuration. \
                Authenticate with `Authorization: Bearer pv_...` (an API token) or the \
                `pv_session` cookie of a browser session; cookie-authenticated changes also \
                need the session's `X-CSRF-Token` header. Errors are \
                `{\"error\": {\"code\", \"message\"}}`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API token (`policyvault token create`)"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "pv_session"},
            },
        },
    })
}

/// One query parameter per property of the query type. An absent parameter is how a
/// client says "none", so `null` is not offered as a value.
fn query_parameters(schema: Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            if let Some(types) = property["type"].as_array() {
                let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                property["type"] = if types.len() == 1 {
                    types[0].clone()
                } else {
                    json!(types)
                };
            }
            json!({"name": name, "in": "query", "required": required.contains(&name.as_str()),
                   "schema": property})
        })
        .collect()
}

fn operation_id(route: &RouteInfo) -> String {
    let path: String = route
        .path
        .trim_start_matches("/api/v1/")
        .split('/')
        .map(|s| {
            s.trim_matches(|c| c == '{' || c == '}')
                .replace(['-', '.'], "_")
        })
        .collect::<Vec<_>>()
        .join("_");
    format!("{}_{path}", route.method.as_str().to_ascii_lowercase())
}

/// The resource a path belongs to: `runs` for `/api/v1/tenants/{tenant}/runs/{run}`.
fn tag(path: &str) -> String {
    let rest = path.trim_start_matches("/api/v1/");
    let rest = rest
        .strip_prefix("tenants/{tenant}/")
        .unwrap_or(rest)
        .split('/')
        .next()
        .unwrap_or(rest);
    rest.to_string()
}

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_text(),
    )
}

/// A plain listing of the operations, rendered here: the page loads nothing from elsewhere.
#[derive(askama::Template)]
#[template(path = "api_docs.html")]
struct DocsPage<'a> {
    version: &'a str,
    document_path: &'a str,
    operations: Vec<OperationRow<'a>>,
}

struct OperationRow<'a> {
    method: String,
    path: &'a str,
    summary: &'a str,
    parameters: String,
    statuses: String,
    auth: &'static str,
}

async fn docs_page() -> axum::response::Response {
    use askama::Template;
    let doc = document();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let parameters: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{} ({})",
                        p["name"].as_str().unwrap_or(""),
                        p["in"].as_str().unwrap_or("")
                    )
                })
                .collect();
            let statuses: Vec<&str> = op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.keys().map(String::as_str))
                .collect();
            operations.push(OperationRow {
                method: method.to_ascii_uppercase(),
                path,
                summary: op["summary"].as_str().unwrap_or(""),
                parameters: parameters.join(", "),
                statuses: statuses.join(" "),
                auth: if op["security"].as_array().is_some_and(Vec::is_empty) {
                    "public"
                } else {
                    "token or session"
                },
            });
        }
    }
    let page = DocsPage {
        version: doc["info"]["version"].as_str().unwrap_or(""),
        document_path: DOCUMENT_PATH,
        operations,
    };
    match page.render() {
        Ok(body) => (StatusCode::OK, Html(body)).into_response(),
        Err(e) => {
            super::error::ApiError::Internal(anyhow::anyhow!("template: {e}")).into_response()
        }
    }
}

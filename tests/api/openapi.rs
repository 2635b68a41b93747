//! The OpenAPI document: served without signing in, OpenAPI 3, and in agreement with the
//! router route for route (both ways); the browsable page lists it and loads nothing from
//! elsewhere.

use std::collections::BTreeSet;

use policyvault::web::{Access, route_table};
use reqwest::{Method, StatusCode, header};
use serde_json::Value;

use crate::helpers::{AppOptions, spawn_app_with};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(r) = v.as_str() {
                        out.push(r);
                    }
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_and_the_router_agree_route_for_route() {
    let app = spawn_app_with(AppOptions::default()).await;
    let response = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "served without signing in"
    );
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "not OpenAPI 3: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths is an object");

    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| HTTP_METHODS.contains(&k.as_str()))
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    let table = route_table();
    let served: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    assert!(
        served.len() >= 25,
        "the route table lost routes: {served:#?}"
    );
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:#?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:#?}"
    );

    // Operations say who may call them, what they answer, and how they fail.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let error_ref = "#/components/schemas/ErrorBody";
    for route in table.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        let op = &paths[&route.path][route.method.as_str().to_ascii_lowercase()];
        let name = format!("{} {}", route.method, route.path);
        assert!(
            !op["summary"].as_str().unwrap_or("").is_empty(),
            "{name}: no summary"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{name}: no success answer"
        );
        let security = op["security"].as_array().unwrap();
        if route.access == Access::Public {
            assert!(security.is_empty(), "{name} is public");
        } else {
            assert!(!security.is_empty(), "{name} needs a credential");
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"], error_ref,
                "{name}: 401 answers the error shape"
            );
        }
        for segment in route.path.split('/') {
            if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(
                    op["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == param && p["in"] == "path" && p["required"] == true),
                    "{name}: path parameter {param} is not described"
                );
            }
        }
    }
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    for r in &all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(schemas.contains_key(name), "dangling reference {r}");
    }
    for typed in ["RunView", "StartedBody", "ErrorBody", "RestoreBody"] {
        assert!(schemas.contains_key(typed), "{typed} schema missing");
    }

    // The documented error shape is the one the API answers.
    let unauthenticated = app
        .http
        .get(format!("{}/api/v1/tenants", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unauthenticated.json().await.unwrap();
    let error_schema = &schemas["ErrorBody"];
    for key in error_schema["required"].as_array().unwrap() {
        assert!(body.get(key.as_str().unwrap()).is_some(), "{body}");
    }
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string());

    // The live router serves every documented operation: without credentials, a protected
    // one is refused with 401 (the route matched; an unknown one would be 404 or 405), and
    // a public one answers something other than "no such route".
    let nil = uuid::Uuid::nil().to_string();
    for (method, path) in &documented {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { nil.as_str() } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let public = table
            .iter()
            .any(|r| &r.path == path && r.method == method && r.access == Access::Public);
        let status = app
            .http
            .request(method.clone(), format!("{}{concrete}", app.address))
            .send()
            .await
            .unwrap()
            .status();
        if public {
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {status}"
            );
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }

    // The browsable page lists every path and loads nothing from elsewhere.
    let page = app
        .http
        .get(format!("{}/api/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for (_, path) in &documented {
        let escaped = path.replace('&', "&amp;");
        assert!(html.contains(&escaped), "the page does not list {path}");
    }
    assert!(html.contains("/api/v1/openapi.json"));
    assert!(
        !html.contains("<script") && !html.contains("src=") && !html.contains("https://"),
        "the page must load nothing from elsewhere"
    );
    app.shutdown().await;
}

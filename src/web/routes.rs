//! The route table: every route is declared once, with its method, path and [`Access`], and
//! both the router and the published table ([`super::route_table`]) are built from those
//! declarations, so they cannot diverge.
//!
//! The declared access is enforced here, before any handler or body extractor runs, by
//! [`enforce`]: it authenticates (API token or session cookie), checks the CSRF token of
//! cookie-authenticated changes, and for tenant routes checks membership of the `{tenant}`
//! in the path (404 for non-members) and the declared minimum role (403). A request whose
//! matched route has no declaration is refused, so a route added around the table fails
//! closed. Handlers may still demand more (a live restore needs admin) with
//! [`TenantAccess::require`](super::auth::TenantAccess::require).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use entity::enums::Role;
use uuid::Uuid;

use super::AppState;
use super::auth::{self, Authentication, TenantAccess, member_access};
use super::error::ApiError;
use super::openapi::Doc;
use super::session;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (health checks, the sign-in endpoints).
    Public,
    /// Any signed-in user; the handler only reads what belongs to that user or to tenants
    /// they are a member of.
    User,
    /// Signed-in platform admins (who register tenants); others get 403.
    Platform,
    /// Members of the tenant named by the `{tenant}` path segment with at least this role.
    Tenant(Role),
}

/// One declared route, as published for tests and documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The full path as the router matches it, e.g. `/api/v1/tenants/{tenant}/runs`.
    pub path: String,
    pub access: Access,
}

impl RouteInfo {
    /// JSON API routes answer 401; pages redirect to the sign-in form.
    pub fn is_api(&self) -> bool {
        is_api_path(&self.path)
    }
}

pub(super) fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
}

struct Entry {
    info: RouteInfo,
    handler: MethodRouter<AppState>,
    /// What the OpenAPI document says about the route (see [`Routes::doc`]).
    doc: Option<Doc>,
}

/// Route declarations of one resource module (or of the whole application, once merged).
#[derive(Default)]
pub struct Routes {
    entries: Vec<Entry>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, routing::get(handler))
    }

    pub fn post<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, routing::post(handler))
    }

    pub fn put<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PUT, path, access, routing::put(handler))
    }

    pub fn patch<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PATCH, path, access, routing::patch(handler))
    }

    pub fn delete<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::DELETE, path, access, routing::delete(handler))
    }

    /// Panics (at start-up, and in every test) on a declaration that would weaken tenant
    /// scoping: a `{tenant}` path without tenant access, or tenant access without `{tenant}`.
    #[track_caller]
    fn add(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Self {
        let names_tenant = path.split('/').any(|segment| segment == "{tenant}");
        let tenant_access = matches!(access, Access::Tenant(_));
        assert!(
            names_tenant == tenant_access,
            "route {method} {path}: a path with a {{tenant}} segment must be declared \
             Access::Tenant(role), and only such a path may be (declared {access:?})"
        );
        self.push(Entry {
            info: RouteInfo {
                method,
                path: path.to_string(),
                access,
            },
            handler,
            doc: None,
        });
        self
    }

    /// Describes the route declared last, for the OpenAPI document ([`super::openapi`]).
    #[track_caller]
    pub fn doc(mut self, doc: Doc) -> Self {
        let entry = self
            .entries
            .last_mut()
            .expect("Routes::doc describes the route declared just before it");
        assert!(
            entry.doc.is_none(),
            "route {} {} is described twice",
            entry.info.method,
            entry.info.path
        );
        entry.doc = Some(doc);
        self
    }

    #[track_caller]
    fn push(&mut self, entry: Entry) {
        assert!(
            !self
                .entries
                .iter()
                .any(|e| e.info.method == entry.info.method && e.info.path == entry.info.path),
            "route {} {} is declared twice",
            entry.info.method,
            entry.info.path
        );
        self.entries.push(entry);
    }

    #[track_caller]
    pub fn merge(mut self, other: Routes) -> Self {
        for entry in other.entries {
            self.push(entry);
        }
        self
    }

    /// Adds `other`'s routes under a path prefix (e.g. `/api/v1`).
    #[track_caller]
    pub fn nest(mut self, prefix: &str, other: Routes) -> Self {
        for mut entry in other.entries {
            entry.info.path = format!("{prefix}{}", entry.info.path);
            self.push(entry);
        }
        self
    }

    /// The declarations, in declaration order.
    pub fn table(&self) -> Vec<RouteInfo> {
        self.entries.iter().map(|e| e.info.clone()).collect()
    }

    /// The declarations with their descriptions, in declaration order.
    pub fn operations(self) -> Vec<(RouteInfo, Option<Doc>)> {
        self.entries.into_iter().map(|e| (e.info, e.doc)).collect()
    }

    /// The router of exactly the declared routes, and the access table [`enforce`] reads.
    pub(super) fn into_parts(self) -> (Router<AppState>, AccessTable) {
        let mut table = AccessTable::default();
        let mut router = Router::new();
        for Entry { info, handler, .. } in self.entries {
            router = router.route(&info.path, handler);
            table.paths.insert(info.path.clone());
            table.access.insert((info.method, info.path), info.access);
        }
        (router, table)
    }
}

/// Declared access by (method, matched path).
#[derive(Default)]
pub(super) struct AccessTable {
    access: HashMap<(Method, String), Access>,
    paths: HashSet<String>,
}

/// State of the [`enforce`] middleware.
#[derive(Clone)]
pub(super) struct Guard {
    state: AppState,
    table: Arc<AccessTable>,
}

impl Guard {
    pub(super) fn new(state: AppState, table: AccessTable) -> Self {
        Self {
            state,
            table: Arc::new(table),
        }
    }
}

/// Enforces the declared access of the matched route (see the module documentation).
pub(super) async fn enforce(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
    else {
        return ApiError::Internal(anyhow::anyhow!("request reached a route without a path"))
            .into_response();
    };
    let method = if request.method() == Method::HEAD {
        Method::GET
    } else {
        request.method().clone()
    };
    let access = match guard.table.access.get(&(method.clone(), path.clone())) {
        Some(access) => *access,
        None if guard.table.paths.contains(&path) => {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        None => {
            return ApiError::Internal(anyhow::anyhow!(
                "route {method} {path} is not in the route table; refusing it"
            ))
            .into_response();
        }
    };
    if access == Access::Public {
        return next.run(request).await;
    }

    let state = &guard.state;
    let (mut parts, body) = request.into_parts();
    let is_page = !is_api_path(parts.uri.path());
    let htmx = super::ui::is_htmx(&parts.headers);
    // Pages answer refusals with a page (htmx with a fragment), the API with JSON.
    let refuse = |e: ApiError| {
        if is_page {
            super::ui::error_page(e, htmx)
        } else {
            e.into_response()
        }
    };
    let tenant_id = match access {
        Access::Tenant(_) => tenant_segment(&mut parts).await,
        _ => None,
    };
    let (user, member) = match auth::authenticate_in(&parts, state, tenant_id).await {
        Ok((Authentication::User(user), member)) => (user, member),
        Ok((Authentication::Anonymous { stale_cookie }, _)) => {
            return session::unauthenticated(&parts, state, stale_cookie);
        }
        Err(ApiError::Unauthorized) => return session::unauthenticated(&parts, state, false),
        Err(other) => return refuse(other),
    };
    let body = if user.session().is_some() && !method.is_safe() {
        match session::check_csrf(&parts, body, &user).await {
            Ok(body) => body,
            Err(rejection) => return rejection,
        }
    } else {
        body
    };
    if user.read_only() && !method.is_safe() {
        return refuse(ApiError::Forbidden(
            "this API token is read-only: it may read, not change or start anything".into(),
        ));
    }
    if access == Access::Platform && !user.user.platform_admin {
        return refuse(ApiError::Forbidden(
            "only platform admins may do this (policyvault user platform-admin --email …)".into(),
        ));
    }
    parts.extensions.insert(user.clone());

    if let Access::Tenant(role) = access {
        let Some(tenant_id) = tenant_id else {
            return refuse(ApiError::NotFound);
        };
        let tenant_access = match member {
            Some(member) => TenantAccess::granted(user, member),
            None => member_access(state, user, tenant_id).await,
        };
        let tenant_access = match tenant_access {
            Ok(access) => access,
            Err(e) => return refuse(e),
        };
        if let Err(e) = tenant_access.require(role) {
            return refuse(e);
        }
        parts.extensions.insert(tenant_access);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The tenant a request's `{tenant}` path segment names, if it is a tenant id.
async fn tenant_segment(parts: &mut axum::http::request::Parts) -> Option<Uuid> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "tenant")
        .and_then(|(_, value)| Uuid::parse_str(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ok() -> &'static str {
        "ok"
    }

    #[test]
    #[should_panic(expected = "{tenant} segment")]
    fn a_tenant_path_must_declare_tenant_access() {
        let _ = Routes::new().get("/tenants/{tenant}/things", Access::User, ok);
    }

    #[test]
    #[should_panic(expected = "{tenant} segment")]
    fn tenant_access_needs_a_tenant_path() {
        let _ = Routes::new().get("/things", Access::Tenant(Role::Viewer), ok);
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn a_route_is_declared_once() {
        let _ = Routes::new()
            .get("/things", Access::User, ok)
            .merge(Routes::new().get("/things", Access::Public, ok));
    }

    #[test]
    fn the_application_table_is_consistent() {
        let table = crate::web::route_table();
        assert!(
            table
                .iter()
                .any(|r| r.path == "/api/v1/tenants/{tenant}/runs"
                    && r.method == Method::GET
                    && r.access == Access::Tenant(Role::Viewer))
        );
        assert!(
            table
                .iter()
                .any(|r| r.path == "/healthz" && r.access == Access::Public)
        );
        for route in &table {
            assert!(route.path.starts_with('/'), "{route:?}");
        }
    }

    #[test]
    fn every_json_api_route_is_described() {
        for (route, doc) in crate::web::routes().operations() {
            if route.path.starts_with("/api/v1/") {
                assert!(
                    doc.is_some(),
                    "{} {} has no .doc(..)",
                    route.method,
                    route.path
                );
            }
        }
    }
}

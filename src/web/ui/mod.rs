//! The admin web UI: server-rendered pages (askama templates in `src/web/templates`) with
//! light progressive enhancement (vendored htmx and `static/app.js`). Every flow works
//! without JavaScript; with it, starts confirm in place and run pages, the header's
//! active-runs widget and the notification bell follow the SSE stream (`/api/v1/events`),
//! falling back to polling when the stream is down.
//!
//! Pages read only the database: none of them calls Graph, so they keep working while
//! Graph is down. Routes are declared here like the API's, with their [`Access`].

mod activity;
mod console;
mod content;
mod drift;
mod estate;
mod fanouts;
mod restore;
mod runs;
mod schedules;
mod tenant;
pub(super) mod view;

use askama::Template;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use entity::enums::Role;

use super::AppState;
use super::auth::{CurrentUser, TenantAccess};
use super::error::ApiError;
use super::routes::{Access, Routes};
use crate::runs::start::Started;
use crate::store::{StoreError, accounts, activity as activity_store, runs as run_store};
use view::{ActiveRunRow, TenantLink};

/// Every page of the web UI.
pub fn routes() -> Routes {
    const VIEWER: Access = Access::Tenant(Role::Viewer);
    const OPERATOR: Access = Access::Tenant(Role::Operator);
    const ADMIN: Access = Access::Tenant(Role::Admin);
    Routes::new()
        .get("/static/app.css", Access::Public, app_css)
        .get("/static/app.js", Access::Public, app_js)
        .get("/static/htmx.min.js", Access::Public, htmx_js)
        .get("/favicon.svg", Access::Public, favicon)
        .get("/favicon.ico", Access::Public, favicon_ico)
        .get("/", Access::User, tenant::home)
        .get("/tenants", Access::User, tenant::list)
        .get("/tenants/new", Access::Platform, console::new_tenant)
        .post("/tenants/new", Access::Platform, console::create_tenant)
        .get("/tokens", Access::User, console::tokens)
        .post("/tokens", Access::User, console::create_token)
        .post("/tokens/{id}/revoke", Access::User, console::revoke_token)
        .post("/schedules", Access::User, console::schedule_selected)
        .get("/runs", Access::User, estate::all_runs)
        .get("/ops", Access::User, estate::ops_page)
        .get("/tenants/{tenant}/settings", ADMIN, console::settings)
        .post("/tenants/{tenant}/settings", ADMIN, console::save_settings)
        .post(
            "/tenants/{tenant}/connection-test",
            OPERATOR,
            console::connection_test,
        )
        .post(
            "/tenants/{tenant}/settings/disable",
            ADMIN,
            console::disable,
        )
        .post("/tenants/{tenant}/settings/enable", ADMIN, console::enable)
        .post("/tenants/{tenant}/settings/purge", ADMIN, console::purge)
        .get("/tenants/{tenant}/members", ADMIN, console::members)
        .post("/tenants/{tenant}/members", ADMIN, console::grant)
        .post(
            "/tenants/{tenant}/members/{user}/revoke",
            ADMIN,
            console::revoke,
        )
        .get("/runs/active", Access::User, runs::active)
        .get("/notifications", Access::User, activity::notifications)
        .post("/notifications/read-all", Access::User, activity::read_all)
        .post(
            "/notifications/preferences",
            Access::User,
            activity::save_preferences,
        )
        .post("/notifications/{id}/read", Access::User, activity::read_one)
        .get("/restore", Access::User, restore::choose_target)
        .get("/fanouts", Access::User, fanouts::list)
        .post("/fanouts", Access::User, fanouts::create)
        .get("/fanouts/{id}", Access::User, fanouts::page)
        .post("/fanouts/{id}/cancel", Access::User, fanouts::cancel)
        .get("/tenants/{tenant}", VIEWER, tenant::dashboard)
        .get("/tenants/{tenant}/snapshots", VIEWER, content::snapshots)
        .post("/tenants/{tenant}/snapshots", OPERATOR, content::capture)
        .get(
            "/tenants/{tenant}/snapshots/{id}",
            VIEWER,
            content::snapshot,
        )
        .post(
            "/tenants/{tenant}/snapshots/{id}/compare",
            OPERATOR,
            content::compare_with_now,
        )
        .get(
            "/tenants/{tenant}/policies/{policy_type}/{graph_id}/history",
            VIEWER,
            content::history,
        )
        .get(
            "/tenants/{tenant}/backup-sets",
            VIEWER,
            content::backup_sets,
        )
        .post(
            "/tenants/{tenant}/backup-sets",
            OPERATOR,
            content::create_set,
        )
        .get(
            "/tenants/{tenant}/backup-sets/{id}",
            VIEWER,
            content::backup_set,
        )
        .post(
            "/tenants/{tenant}/backup-sets/{id}/capture",
            OPERATOR,
            content::capture_set,
        )
        .get("/tenants/{tenant}/restore", VIEWER, restore::page)
        .post(
            "/tenants/{tenant}/restore/preview",
            OPERATOR,
            restore::preview,
        )
        .post("/tenants/{tenant}/restore/live", ADMIN, restore::live)
        .get("/tenants/{tenant}/runs", VIEWER, runs::list)
        .get("/tenants/{tenant}/runs/{run}", VIEWER, runs::detail)
        .post("/tenants/{tenant}/runs/{run}/rerun", ADMIN, restore::rerun)
        .post("/tenants/{tenant}/runs/{run}/undo", ADMIN, restore::undo)
        .post(
            "/tenants/{tenant}/runs/{run}/cancel",
            OPERATOR,
            runs::cancel,
        )
        .get("/tenants/{tenant}/audit", VIEWER, activity::audit)
        .get("/tenants/{tenant}/schedules", VIEWER, schedules::page)
        .post("/tenants/{tenant}/schedules", OPERATOR, schedules::create)
        .post(
            "/tenants/{tenant}/schedules/{id}/enable",
            OPERATOR,
            schedules::enable,
        )
        .post(
            "/tenants/{tenant}/schedules/{id}/disable",
            OPERATOR,
            schedules::disable,
        )
        .post(
            "/tenants/{tenant}/schedules/{id}/delete",
            OPERATOR,
            schedules::delete,
        )
        .get("/drift", Access::User, drift::estate)
        .get("/tenants/{tenant}/drift", VIEWER, drift::page)
        .post(
            "/tenants/{tenant}/drift/baseline",
            ADMIN,
            drift::set_baseline,
        )
        .post(
            "/tenants/{tenant}/drift/baseline/clear",
            ADMIN,
            drift::clear_baseline,
        )
        .post("/tenants/{tenant}/drift/exceptions", ADMIN, drift::accept)
        .post(
            "/tenants/{tenant}/drift/exceptions/{id}/withdraw",
            ADMIN,
            drift::withdraw_exception,
        )
}

// ---- static assets ----

/// Bumps with every release so browsers never mix old scripts with new pages.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", include_str!("../static/app.css"))
}

async fn app_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../static/app.js"),
    )
}

async fn favicon() -> Response {
    asset("image/svg+xml", include_str!("../static/favicon.svg"))
}

/// Browsers that ask for `/favicon.ico` before reading the page's icon link.
async fn favicon_ico() -> Response {
    let mut response = redirect("/favicon.svg");
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    response
}

async fn htmx_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../static/vendor/htmx.min.js"),
    )
}

// ---- rendering ----

/// A complete HTML page with the headers every page gets (no caching, no framing, scripts
/// only from this origin).
pub(super) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// Renders a template as a 200 page.
fn render(template: &impl Template) -> Result<Response, PageError> {
    render_status(StatusCode::OK, template)
}

fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, PageError> {
    let body = template
        .render()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(html(status, body))
}

pub(super) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// True for requests htmx makes (they get page fragments instead of redirects).
pub(super) fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}

// ---- errors ----

/// A page's error: the API's error, answered as an HTML page (or, to htmx, a fragment).
#[derive(Debug)]
pub(super) struct PageError {
    error: ApiError,
    fragment: bool,
}

impl PageError {
    /// Answers htmx requests with a fragment for the page's status area.
    fn for_request(headers: &HeaderMap) -> impl Fn(ApiError) -> PageError {
        let fragment = is_htmx(headers);
        move |error| PageError { error, fragment }
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            fragment: false,
        }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    heading: &'static str,
    message: String,
    code: &'static str,
    fragment: bool,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.error, self.fragment)
    }
}

/// The HTML answer to a failed page request.
pub(super) fn error_page(error: ApiError, fragment: bool) -> Response {
    let retry_after = error.retry_after_secs();
    let mut response = render_error_page(error, fragment);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    response
}

fn render_error_page(error: ApiError, fragment: bool) -> Response {
    let (status, code, message) = error.public_parts();
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "Please check your input",
        StatusCode::CONFLICT => "Cannot do that now",
        StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
        _ => "Something went wrong",
    };
    let message = if status == StatusCode::NOT_FOUND {
        "There is nothing here, or you do not have access to it.".to_string()
    } else {
        message
    };
    let page = ErrorPage {
        status: status.as_u16(),
        heading,
        message,
        code,
        fragment,
    };
    match page.render() {
        // htmx swaps 4xx answers into the page's status area (see app.js's config).
        Ok(body) => html(status, body),
        Err(_) => (status, heading).into_response(),
    }
}

// ---- the shell around every signed-in page ----

/// What the header of every signed-in page shows: who is signed in, the tenant switcher,
/// the active-runs widget and the notification bell.
pub(super) struct Shell {
    pub title: String,
    pub email: String,
    /// The session's CSRF token, for forms (empty for API-token requests).
    pub csrf: String,
    pub tenants: Vec<TenantLink>,
    /// The tenant the page belongs to.
    pub tenant: Option<TenantLink>,
    /// Active runs, oldest first (at most 200), and how many there are in all.
    pub active: Vec<ActiveRunRow>,
    pub active_total: u64,
    pub unread: u64,
    /// The tenant navigation's current tab (`runs`, `snapshots`, …).
    pub section: &'static str,
    /// The run a run page follows live (`data-run-id`), if any.
    pub live_run: String,
    /// Reload the page every few seconds when scripts are off (an active run's page).
    pub noscript_refresh: bool,
    pub asset_version: &'static str,
}

impl Shell {
    pub(super) async fn new(
        state: &AppState,
        user: &CurrentUser,
        tenant: Option<&TenantAccess>,
        title: impl Into<String>,
    ) -> Result<Self, PageError> {
        let db = &state.services().db;
        let memberships = accounts::tenants_of(db, user.id()).await?;
        let scopes: Vec<_> = memberships.iter().map(|m| m.scope).collect();
        let active = run_store::list_active(db, &scopes).await?;
        // Counted only when the list is cut off: otherwise the list is the count.
        let active_total = if active.len() as u64 >= run_store::ACTIVE_LIMIT {
            run_store::count_active(db, &scopes).await?
        } else {
            active.len() as u64
        };
        let unread = activity_store::unread_count(db, user.id()).await?;
        let tenants: Vec<TenantLink> = memberships
            .iter()
            .map(|m| TenantLink::new(&m.tenant, m.role, m.scope))
            .collect();
        let active = active
            .iter()
            .map(|run| {
                let name = memberships
                    .iter()
                    .find(|m| m.tenant.id == run.tenant_id)
                    .map(|m| m.tenant.name.as_str())
                    .unwrap_or_default();
                ActiveRunRow::new(run, name)
            })
            .collect();
        Ok(Self {
            title: title.into(),
            email: user.user.email.clone(),
            csrf: user.session().map(|s| s.csrf_token()).unwrap_or_default(),
            tenant: tenant.map(|a| TenantLink::new(&a.tenant, a.role, *a.scope())),
            tenants,
            active,
            active_total,
            unread,
            section: "",
            live_run: String::new(),
            noscript_refresh: false,
            asset_version: ASSET_VERSION,
        })
    }

    /// Marks the tenant navigation's current tab.
    pub fn in_section(mut self, section: &'static str) -> Self {
        self.section = section;
        self
    }

    pub fn is_current(&self, link: &TenantLink) -> bool {
        self.tenant.as_ref().is_some_and(|t| t.id == link.id)
    }
}

// ---- starting runs from a page ----

/// The htmx answer to a start: the confirmation for the page's status area.
#[derive(Template)]
#[template(path = "started.html")]
struct StartedFragment {
    label: &'static str,
    url: String,
    status: String,
    deduplicated: bool,
}

/// The answer to a start from a page: for htmx, a confirmation with the run's link, in
/// place; otherwise a redirect to the run's page, which says it was queued.
fn started(headers: &HeaderMap, started: &Started) -> Result<Response, PageError> {
    let run = &started.run;
    let url = view::run_path(run.tenant_id, run.id);
    if is_htmx(headers) {
        let status = if started.deduplicated {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        return render_status(
            status,
            &StartedFragment {
                label: view::operation_label(run.operation),
                url,
                status: run.status.to_string(),
                deduplicated: started.deduplicated,
            },
        );
    }
    let flag = if started.deduplicated {
        "existing"
    } else {
        "new"
    };
    Ok(redirect(&format!("{url}?started={flag}")))
}

/// The request's path and query, for links that keep the current filters.
fn path_and_query(parts: &Parts) -> String {
    parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_string(),
        |pq| pq.as_str().to_string(),
    )
}

// ---- forms ----

/// A URL-encoded form body, read as name/value pairs (repeated names allowed, as checkbox
/// lists send them).
pub(super) struct FormData(Vec<(String, String)>);

/// Largest form a page accepts.
const FORM_LIMIT: usize = 1024 * 1024;

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = PageError;

    async fn from_request(
        request: axum::extract::Request,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let fragment = is_htmx(request.headers());
        let fail = |message: &str| PageError {
            error: ApiError::BadRequest(message.to_string()),
            fragment,
        };
        let is_form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bytes = axum::body::to_bytes(request.into_body(), FORM_LIMIT)
            .await
            .map_err(|_| fail("the form is too large"))?;
        if !is_form && !bytes.is_empty() {
            return Err(fail("send this form as application/x-www-form-urlencoded"));
        }
        Ok(Self(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl FormData {
    /// The first value of a field, trimmed; `None` when absent or blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of a field.
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Every non-blank value of a field, each an id (422 naming the field for one that is
    /// not).
    fn ids(&self, name: &str) -> Result<Vec<uuid::Uuid>, ApiError> {
        self.all(name)
            .into_iter()
            .map(|v| {
                uuid::Uuid::parse_str(v)
                    .map_err(|_| ApiError::Validation(format!("{name}: {v:?} is not an id")))
            })
            .collect()
    }

    fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "false" && v != "0")
    }
}

// ---- path and query ----

/// A page's path parameters; a malformed one (e.g. not a UUID) answers with a page.
pub(super) struct Path<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    crate::web::extract::Path<T>: axum::extract::FromRequestParts<S, Rejection = ApiError>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let crate::web::extract::Path(value) =
            crate::web::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// A page's query string; a malformed one answers with a page.
pub(super) struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    crate::web::extract::Query<T>: axum::extract::FromRequestParts<S, Rejection = ApiError>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let crate::web::extract::Query(value) =
            crate::web::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

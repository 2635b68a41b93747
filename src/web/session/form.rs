//! The sign-in form (`GET`/`POST /login`), sign-out (`POST /logout`) and the page that
//! refuses a form without its CSRF token. The pages are templates without scripts.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::cookie::{clear_session_cookie, session_cookie};
use super::{ClientInfo, sign_in, sign_out};
use crate::settings::Settings;
use crate::web::AppState;
use crate::web::auth::{self, Authentication, CurrentUser};
use crate::web::error::ApiError;
use crate::web::extract::Query;
use crate::web::routes::{Access, Routes};
use crate::web::ui::{self, redirect};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/login", Access::Public, login_page)
        .post("/login", Access::Public, login_form)
        .post("/logout", Access::User, logout_form)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: SecretString,
    next: Option<String>,
}

/// Where to go after signing in: a local path only (no `//host` or `/\host` escapes).
pub(in crate::web) fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

async fn login_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if let Ok(Authentication::User(_)) = auth::authenticate(&parts, &state).await {
        return redirect(&next);
    }
    login_page_response(StatusCode::OK, &next, "", None)
}

async fn login_form(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    // Login CSRF (signing a victim in to the attacker's account): browsers name the page a
    // form was posted from, and a sign-in may only come from our own.
    if is_cross_site(&headers, &state.services().settings) {
        return login_page_response(
            StatusCode::FORBIDDEN,
            "/",
            "",
            Some("Sign in from PolicyVault's own sign-in page."),
        );
    }
    let Ok(Form(form)) = form else {
        return login_page_response(
            StatusCode::BAD_REQUEST,
            "/",
            "",
            Some("Enter your e-mail address and password."),
        );
    };
    let next = safe_next(form.next.as_deref());
    if form.email.trim().is_empty() || form.password.expose_secret().is_empty() {
        return login_page_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            &form.email,
            Some("Enter your e-mail address and password."),
        );
    }
    match sign_in(&state, &form.email, form.password, &client).await {
        Ok((_, secret)) => {
            let mut response = redirect(&next);
            response.headers_mut().insert(
                SET_COOKIE,
                session_cookie(&state.services().settings, &secret),
            );
            response
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            let message = format!(
                "Too many failed sign-in attempts. Try again in {} minute(s).",
                retry_after_secs.div_ceil(60)
            );
            let mut response = login_page_response(
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &form.email,
                Some(&message),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, retry_after_secs.into());
            response
        }
        Err(ApiError::InvalidCredentials) => login_page_response(
            StatusCode::UNAUTHORIZED,
            &next,
            &form.email,
            Some("Invalid email or password."),
        ),
        Err(other) => other.into_response(),
    }
}

/// `POST /logout`; the guard has already checked the form's CSRF token.
async fn logout_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    if let Some(session) = user.session() {
        sign_out(&state, &user, session).await?;
    }
    let mut response = redirect("/login");
    response
        .headers_mut()
        .insert(SET_COOKIE, clear_session_cookie(&state.services().settings));
    Ok(response)
}

/// True when the browser says the request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is neither this request's host nor the public URL's.
fn is_cross_site(headers: &HeaderMap, settings: &Settings) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let host_of = |url: &str| {
        url.split_once("://").map(|(_, rest)| {
            rest.split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
    };
    let origin_host = match host_of(origin) {
        Some(host) => host,
        // `Origin: null` (sandboxed or privacy-stripped): not provably ours.
        None => return true,
    };
    let own_host = header("host").map(str::to_ascii_lowercase);
    let public_host = host_of(&settings.server.public_url);
    Some(&origin_host) != own_host.as_ref() && Some(&origin_host) != public_host.as_ref()
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

fn login_page_response(
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    use askama::Template;
    let page = LoginPage {
        next,
        email: email.trim(),
        error,
    };
    match page.render() {
        Ok(body) => ui::html(status, body),
        Err(e) => ApiError::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

#[derive(askama::Template)]
#[template(path = "csrf_refused.html")]
struct CsrfRefusedPage;

/// The full-page answer to a form posted without its session's CSRF token.
pub(super) fn csrf_refused() -> Response {
    use askama::Template;
    match CsrfRefusedPage.render() {
        Ok(body) => ui::html(StatusCode::FORBIDDEN, body),
        Err(e) => ApiError::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/tenants/x?y=1")), "/tenants/x?y=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "x",
            "",
            "/caf\u{e9}",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

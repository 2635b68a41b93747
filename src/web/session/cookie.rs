//! The `pv_session` cookie as the server sets and clears it.

use axum::http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::session as session_id;
use crate::settings::Settings;

/// `Set-Cookie` that stores a new session id in the browser.
pub(super) fn session_cookie(settings: &Settings, secret: &SecretString) -> HeaderValue {
    cookie_header(
        settings,
        secret.expose_secret(),
        settings.security.session_max_secs,
    )
}

/// `Set-Cookie` that removes the session cookie.
pub(in crate::web) fn clear_session_cookie(settings: &Settings) -> HeaderValue {
    cookie_header(settings, "", 0)
}

fn cookie_header(settings: &Settings, value: &str, max_age: u64) -> HeaderValue {
    let secure = if settings.server.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session_id::COOKIE
    );
    HeaderValue::from_str(&cookie).expect("session ids are base64url, valid in a header")
}

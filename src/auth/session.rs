//! Browser session ids (the `pv_session` cookie value) and the CSRF token bound to each.
//!
//! A session id is 32 random bytes; the database keeps only its SHA-256 digest. The CSRF
//! token is a one-way function of the session id under its own label, so it is never stored,
//! changes with every sign-in, and knowing it reveals neither the id nor its digest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::token;

/// Name of the session cookie.
pub const COOKIE: &str = "pv_session";

/// A new session id: the secret goes into the cookie, the hash into the database.
pub struct IssuedSession {
    pub secret: SecretString,
    pub hash: String,
}

pub fn issue() -> IssuedSession {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    IssuedSession {
        hash: digest(&secret),
        secret: SecretString::from(secret),
    }
}

/// SHA-256 hex digest of a session id (the stored form).
pub fn digest(session_id: &str) -> String {
    token::digest(session_id)
}

/// The CSRF token of a session: what forms and `X-CSRF-Token` headers must carry.
pub fn csrf_token(session_id: &SecretString) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"policyvault csrf v1\0");
    hasher.update(session_id.expose_secret().as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Whether `presented` is the CSRF token of the session, compared in constant time.
pub fn csrf_matches(session_id: &SecretString, presented: &str) -> bool {
    constant_time_eq(
        csrf_token(session_id).as_bytes(),
        presented.trim().as_bytes(),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when a string could be a session id this module issued (cheap pre-check before a
/// database look-up of arbitrary cookie values).
pub fn is_well_formed(candidate: &str) -> bool {
    candidate.len() == 43
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_and_stored_hashed() {
        let a = issue();
        let b = issue();
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(is_well_formed(a.secret.expose_secret()));
        assert_eq!(a.hash, digest(a.secret.expose_secret()));
        assert!(!a.hash.contains(a.secret.expose_secret()));
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let a = issue();
        let b = issue();
        let token = csrf_token(&a.secret);
        assert!(csrf_matches(&a.secret, &token));
        assert!(!csrf_matches(&b.secret, &token));
        assert!(!csrf_matches(&a.secret, ""));
        assert!(!csrf_matches(&a.secret, &token[..10]));
        assert_ne!(token, a.hash);
        assert!(!token.contains(a.secret.expose_secret()));
    }
}

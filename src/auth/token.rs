//! API tokens: `pv_` + 32 random bytes (base64url). Only the SHA-256 digest is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "pv_";

/// A freshly issued token: the secret goes to the user once, the rest to the database.
pub struct IssuedToken {
    pub secret: SecretString,
    pub hash: String,
    /// Enough of the token for a user to recognise it in a list.
    pub display_prefix: String,
}

pub fn issue() -> IssuedToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let display_prefix = secret.chars().take(PREFIX.len() + 6).collect();
    IssuedToken {
        hash: digest(&secret),
        secret: SecretString::from(secret),
        display_prefix,
    }
}

/// SHA-256 hex digest; tokens carry 256 bits of entropy, so a slow hash adds nothing.
pub fn digest(token: &str) -> String {
    let out = Sha256::digest(token.as_bytes());
    out.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn matches(candidate: &SecretString, stored_hash: &str) -> bool {
    digest(candidate.expose_secret()) == stored_hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_unique_and_hashed() {
        let a = issue();
        let b = issue();
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(a.secret.expose_secret().starts_with(PREFIX));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(a.secret.expose_secret()));
        assert!(matches(&a.secret, &a.hash));
        assert!(!matches(&b.secret, &a.hash));
    }
}

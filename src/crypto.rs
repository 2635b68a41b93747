//! Encryption at rest of tenant Graph client secrets (XChaCha20-Poly1305, key from config).
//!
//! A ciphertext is bound to its tenant (associated data), so a secret copied onto another
//! tenant's row, or read with the wrong key, fails authentication instead of yielding garbage.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{AeadCore, XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::Settings;

const VERSION_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the encryption key is not valid: expected 32 bytes, base64-encoded ({0}); \
         generate one with `openssl rand -base64 32`"
    )]
    BadKey(&'static str),
    #[error("cannot read the encryption key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "a stored secret could not be decrypted: the configured encryption key is not the one \
         it was encrypted with (security.encryption_key / security.encryption_key_file)"
    )]
    WrongKey,
    #[error("a stored secret is not in a format this version understands")]
    Malformed,
}

/// The key that seals tenant secrets. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([REDACTED])")
    }
}

impl SecretBox {
    pub fn from_base64_key(key: &str) -> Result<Self, CryptoError> {
        let bytes = B64
            .decode(key.trim())
            .map_err(|_| CryptoError::BadKey("not base64"))?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey("wrong length"));
        }
        let cipher =
            XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey("length"))?;
        Ok(Self { cipher })
    }

    /// Loads the key named by the settings, creating the key file first when allowed.
    pub fn from_settings(settings: &Settings) -> Result<Self, CryptoError> {
        if let Some(key) = &settings.security.encryption_key {
            return Self::from_base64_key(key.expose_secret());
        }
        let Some(path) = settings.key_file() else {
            return Err(CryptoError::BadKey("no key configured"));
        };
        if !path.exists() && settings.security.create_key_file {
            create_key_file(path)?;
        }
        let text = fs::read_to_string(path).map_err(|e| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_base64_key(&text)
    }

    pub fn seal(&self, plaintext: &SecretString, context: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION_PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, CryptoError> {
        let body = sealed
            .strip_prefix(VERSION_PREFIX)
            .ok_or(CryptoError::Malformed)?;
        let bytes = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() <= NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::WrongKey)?;
        let text = String::from_utf8(plain).map_err(|_| CryptoError::Malformed)?;
        Ok(SecretString::from(text))
    }
}

/// Writes a fresh random key readable only by the owner.
fn create_key_file(path: &Path) -> Result<(), CryptoError> {
    let fail = |e: std::io::Error| CryptoError::KeyFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(fail)?;
    }
    let key = XChaCha20Poly1305::generate_key(&mut OsRng);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(B64.encode(key).as_bytes()).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "dGVzdC1rZXktZm9yLXBvbGljeXZhdWx0LXRlc3RzISE=";
    const KEY_B: &str = "YW5vdGhlci1rZXktZm9yLXBvbGljeXZhdWx0LXRlc3Q=";

    #[test]
    fn round_trip() {
        let boxed = SecretBox::from_base64_key(KEY_A).unwrap();
        let sealed = boxed.seal(&SecretString::from("s3cr3t".to_string()), "tenant:1");
        assert!(!sealed.contains("s3cr3t"));
        let opened = boxed.open(&sealed, "tenant:1").unwrap();
        assert_eq!(opened.expose_secret(), "s3cr3t");
    }

    #[test]
    fn wrong_key_is_a_clear_error() {
        let a = SecretBox::from_base64_key(KEY_A).unwrap();
        let b = SecretBox::from_base64_key(KEY_B).unwrap();
        let sealed = a.seal(&SecretString::from("s3cr3t".to_string()), "tenant:1");
        let err = b.open(&sealed, "tenant:1").unwrap_err();
        assert!(matches!(err, CryptoError::WrongKey));
        assert!(err.to_string().contains("encryption key"));
    }

    #[test]
    fn ciphertext_is_bound_to_its_tenant() {
        let a = SecretBox::from_base64_key(KEY_A).unwrap();
        let sealed = a.seal(&SecretString::from("s3cr3t".to_string()), "tenant:1");
        assert!(a.open(&sealed, "tenant:2").is_err());
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert!(SecretBox::from_base64_key("not base64 !!").is_err());
        assert!(SecretBox::from_base64_key("c2hvcnQ=").is_err());
        assert!(format!("{:?}", SecretBox::from_base64_key(KEY_A).unwrap()).contains("REDACTED"));
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let a = SecretBox::from_base64_key(KEY_A).unwrap();
        assert!(matches!(
            a.open("v1:AAAA", "t"),
            Err(CryptoError::Malformed)
        ));
        assert!(matches!(a.open("plain", "t"), Err(CryptoError::Malformed)));
    }
}

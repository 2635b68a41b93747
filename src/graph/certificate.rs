//! Certificate credentials: an app registration signs in with a client assertion (a JWT
//! signed with its certificate's private key) instead of a client secret.
//!
//! The assertion follows Entra's format (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>):
//! header `alg: PS256`, `typ: JWT`, `x5t#S256` (and the older `x5t`, SHA-1, for endpoints
//! that still look for it); claims `aud` (the token endpoint), `iss` = `sub` = the client
//! id, `jti`, `nbf`, `iat` and an `exp` ten minutes on.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PSS_SHA256, RsaKeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How long a client assertion is valid (Entra asks for 5 to 10 minutes).
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// Why a certificate credential was not accepted; the message is shown to the admin who
/// gave it and never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CertificateError(String);

fn bad(message: impl Into<String>) -> CertificateError {
    CertificateError(message.into())
}

/// A certificate with its private key, ready to sign client assertions. `Debug` shows the
/// thumbprint only.
#[derive(Clone)]
pub struct ClientCertificate {
    key: Arc<RsaKeyPair>,
    der: Vec<u8>,
    sha1: [u8; 20],
    sha256: [u8; 32],
    not_after: DateTime<Utc>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint())
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Reads PEM text holding the certificate (`BEGIN CERTIFICATE`) and its unencrypted RSA
    /// private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`), in either order, as
    /// `openssl req -x509 -newkey rsa:2048 -nodes` writes them. The key must belong to the
    /// certificate; an expired certificate is refused.
    pub fn from_pem(text: &str) -> Result<Self, CertificateError> {
        let cert = Self::parse(text)?;
        if cert.not_after <= Utc::now() {
            return Err(bad(format!(
                "the certificate expired on {}; upload a current one",
                cert.not_after.format("%Y-%m-%d")
            )));
        }
        Ok(cert)
    }

    /// [`ClientCertificate::from_pem`] without the expiry check: a stored credential is used
    /// as it is, and Entra says when it no longer counts.
    pub fn parse(text: &str) -> Result<Self, CertificateError> {
        let bytes = text.as_bytes();
        if text.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad(
                "the private key is encrypted with a passphrase; export it without one \
                 (openssl pkey -in key.pem -out plain.pem)",
            ));
        }
        let der = CertificateDer::from_pem_slice(bytes)
            .map_err(|_| bad("no certificate found: give the PEM text with a BEGIN CERTIFICATE block and the private key"))?;
        let key = match PrivateKeyDer::from_pem_slice(bytes) {
            Ok(PrivateKeyDer::Pkcs8(k)) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Pkcs1(k)) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            Ok(_) => {
                return Err(bad(
                    "the private key is not an RSA key; Entra signs client assertions with RSA \
                     (RS256/PS256)",
                ));
            }
            Err(_) => {
                return Err(bad(
                    "no private key found: add the certificate's private key (BEGIN PRIVATE KEY) \
                     to the PEM text",
                ));
            }
        }
        .map_err(|e| {
            bad(format!(
                "the private key is not usable: {e} (RSA, 2048 to 8192 bits)"
            ))
        })?;
        let parsed = der::parse_certificate(der.as_ref())
            .ok_or_else(|| bad("the certificate is not a valid X.509 certificate"))?;
        if parsed.rsa_public_key != key.public_key().as_ref() {
            return Err(bad(
                "the private key does not belong to the certificate; give the key it was made with",
            ));
        }
        let digest = |alg| ring::digest::digest(alg, der.as_ref());
        let mut sha1 = [0u8; 20];
        sha1.copy_from_slice(digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY).as_ref());
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest(&ring::digest::SHA256).as_ref());
        Ok(Self {
            key: Arc::new(key),
            der: der.as_ref().to_vec(),
            sha1,
            sha256,
            not_after: parsed.not_after,
        })
    }

    /// The SHA-1 thumbprint in upper-case hex, as the Entra portal lists certificates.
    pub fn thumbprint(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// When the certificate stops being valid.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// The certificate alone (no key), as PEM: what is uploaded to the app registration.
    pub fn certificate_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// A signed client assertion for `client_id` at the token endpoint `audience`.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, CertificateError> {
        let now = Utc::now().timestamp();
        let header = serde_json::json!({
            "alg": "PS256",
            "typ": "JWT",
            "x5t#S256": URL_SAFE_NO_PAD.encode(self.sha256),
            "x5t": URL_SAFE_NO_PAD.encode(self.sha1),
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PSS_SHA256,
                &SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| bad("signing the client assertion failed"))?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Just enough DER to read a certificate's validity and RSA public key.
mod der {
    use super::*;

    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const BIT_STRING: u8 = 0x03;
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    const VERSION: u8 = 0xA0;
    /// 1.2.840.113549.1.1.1, rsaEncryption.
    const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

    pub(super) struct Parsed<'a> {
        pub not_after: DateTime<Utc>,
        /// The `RSAPublicKey` DER inside the subject public key info.
        pub rsa_public_key: &'a [u8],
    }

    /// One element: (tag, contents, what follows it).
    fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }

    fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (t, contents, rest) = element(input)?;
        (t == tag).then_some((contents, rest))
    }

    pub(super) fn parse_certificate(der: &[u8]) -> Option<Parsed<'_>> {
        let (cert, _) = expect(der, SEQUENCE)?;
        let (tbs, _) = expect(cert, SEQUENCE)?;
        let mut rest = tbs;
        if rest.first() == Some(&VERSION) {
            rest = element(rest)?.2;
        }
        let (_serial, rest) = expect(rest, INTEGER)?;
        let (_signature, rest) = expect(rest, SEQUENCE)?;
        let (_issuer, rest) = expect(rest, SEQUENCE)?;
        let (validity, rest) = expect(rest, SEQUENCE)?;
        let (_subject, rest) = expect(rest, SEQUENCE)?;
        let (spki, _) = expect(rest, SEQUENCE)?;
        let (_, _not_before, after) = element(validity)?;
        let (tag, not_after, _) = element(after)?;
        let not_after = time(tag, not_after)?;
        let (algorithm, spki_rest) = expect(spki, SEQUENCE)?;
        let (oid, _) = expect(algorithm, 0x06)?;
        if oid != RSA_ENCRYPTION {
            return None;
        }
        let (bits, _) = expect(spki_rest, BIT_STRING)?;
        let (&unused, rsa_public_key) = bits.split_first()?;
        (unused == 0).then_some(Parsed {
            not_after,
            rsa_public_key,
        })
    }

    /// `YYMMDDHHMMSSZ` (UTCTime, years 1950–2049) or `YYYYMMDDHHMMSSZ` (GeneralizedTime).
    fn time(tag: u8, contents: &[u8]) -> Option<DateTime<Utc>> {
        let text = std::str::from_utf8(contents).ok()?;
        let digits = text.strip_suffix('Z')?;
        let (year, rest) = match tag {
            UTC_TIME if digits.len() == 12 => {
                let yy: i32 = digits[..2].parse().ok()?;
                (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
            }
            GENERALIZED_TIME if digits.len() == 14 => (digits[..4].parse().ok()?, &digits[4..]),
            _ => return None,
        };
        let num = |i: usize| rest.get(i..i + 2)?.parse::<u32>().ok();
        NaiveDate::from_ymd_opt(year, num(0)?, num(2)?)?
            .and_hms_opt(num(4)?, num(6)?, num(8)?)
            .map(|t| t.and_utc())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn lengths_in_long_form_and_truncated_input() {
            let long = [&[0x04, 0x81, 0x80][..], &[7u8; 0x80]].concat();
            let (tag, contents, rest) = element(&long).expect("long form");
            assert_eq!((tag, contents.len(), rest.len()), (0x04, 0x80, 0));
            assert!(element(&[0x04, 0x05, 1, 2]).is_none());
            assert!(element(&[0x04, 0x85, 1, 1, 1, 1, 1]).is_none());
        }

        #[test]
        fn both_time_forms() {
            let utc = time(UTC_TIME, b"491231235959Z").expect("utc time");
            assert_eq!(utc.to_rfc3339(), "2049-12-31T23:59:59+00:00");
            let old = time(UTC_TIME, b"500101000000Z").expect("utc time");
            assert_eq!(old.to_rfc3339(), "1950-01-01T00:00:00+00:00");
            let generalized = time(GENERALIZED_TIME, b"20610101120000Z").expect("generalized");
            assert_eq!(generalized.to_rfc3339(), "2061-01-01T12:00:00+00:00");
            assert!(time(UTC_TIME, b"4912312359Z").is_none());
            assert!(time(UTC_TIME, b"491331235959Z").is_none());
        }

        #[test]
        fn garbage_is_not_a_certificate() {
            assert!(parse_certificate(b"").is_none());
            assert!(parse_certificate(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_what_is_missing_without_key_material() {
        let no_cert = ClientCertificate::parse("hello").unwrap_err().to_string();
        assert!(no_cert.contains("no certificate found"), "{no_cert}");
        let encrypted = ClientCertificate::parse(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap_err()
        .to_string();
        assert!(encrypted.contains("passphrase"), "{encrypted}");
    }
}

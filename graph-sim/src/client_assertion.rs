//! Client assertions (`private_key_jwt`): the JWT a client signs with the private key of a
//! certificate registered on its app, sent instead of a secret. Validated as Entra documents
//! it (https://learn.microsoft.com/entra/identity-platform/certificate-credentials), failing
//! with the AADSTS codes Entra answers
//! (https://learn.microsoft.com/azure/developer/java/sdk/troubleshooting-authentication-service-principal).
//! Replayed `jti`s are not tracked.

use chrono::DateTime;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use serde_json::{Map, Value};

use crate::certificates::{Certificate, decode_b64, hex_upper};
use crate::store::graph_time;

/// The only `client_assertion_type` Entra takes.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Entra's tolerance for clocks that disagree, on `exp` and `nbf`.
const CLOCK_SKEW_SECS: i64 = 300;

const DOCS: &str = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";

/// What an assertion must match: the request's client id and tenant, the app's certificates.
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// Whether a tenant key from `aud` (`/{tenant}/oauth2/v2.0/token`) names the tenant the
    /// request was sent to.
    pub is_realm: &'a dyn Fn(&str) -> bool,
    pub certificates: &'a [Certificate],
    /// Unix seconds.
    pub now: i64,
}

/// Why Entra refuses an assertion (all `invalid_client`, 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("JWT token is invalid or malformed. [Reason - {0}]")]
    Malformed(&'static str),
    #[error(
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {docs} .",
        docs = DOCS
    )]
    ClientMismatch,
    #[error(
        "Client assertion audience claim does not match Realm issuer. Review the documentation at {docs} .",
        docs = DOCS
    )]
    Audience,
    #[error(
        "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {valid_from}, expiry time of assertion {expiry}. Review the documentation at {docs} .",
        docs = DOCS
    )]
    TimeRange {
        now: String,
        valid_from: String,
        expiry: String,
    },
    #[error(
        "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at {docs} .]",
        docs = DOCS
    )]
    KeyNotFound {
        thumbprint: String,
        client_id: String,
    },
    #[error(
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}'. Review the documentation at {docs} .]",
        docs = DOCS
    )]
    InvalidSignature { thumbprint: String },
}

impl AssertionError {
    /// The AADSTS code.
    pub fn code(&self) -> u32 {
        match self {
            Self::Malformed(_) => 50027,
            Self::ClientMismatch => 700021,
            Self::Audience => 700023,
            Self::TimeRange { .. } => 700024,
            Self::KeyNotFound { .. } | Self::InvalidSignature { .. } => 700027,
        }
    }
}

/// The signature algorithms Entra accepts on assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rs256,
    Ps256,
}

impl Alg {
    fn verifier(self) -> &'static dyn SignatureVerificationAlgorithm {
        match self {
            Self::Rs256 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            // A PSS signature by the plain rsaEncryption key certificates carry.
            Self::Ps256 => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        }
    }
}

/// The certificate an assertion's header names.
#[derive(Debug)]
struct KeyId {
    /// Decoded `x5t` (SHA-1 of the DER).
    sha1: Option<Vec<u8>>,
    /// `x5t#S256` as sent, and decoded.
    sha256: Option<(String, Vec<u8>)>,
}

impl KeyId {
    /// How Entra's message names the key: hex SHA-1 when `x5t` was sent, else `x5t#S256`.
    fn display(&self) -> String {
        match (&self.sha1, &self.sha256) {
            (Some(sha1), _) => hex_upper(sha1),
            (None, Some((sent, _))) => sent.clone(),
            (None, None) => String::new(),
        }
    }

    /// A certificate matching every thumbprint the header gives.
    fn find<'a>(&self, certificates: &'a [Certificate]) -> Option<&'a Certificate> {
        certificates.iter().find(|c| {
            self.sha1.as_deref().is_none_or(|t| c.has_sha1(t))
                && self.sha256.as_ref().is_none_or(|(_, t)| c.has_sha256(t))
        })
    }
}

/// A parsed (not yet trusted) assertion.
#[derive(Debug)]
struct Jwt<'a> {
    alg: Alg,
    key: KeyId,
    claims: Map<String, Value>,
    /// `header_b64.payload_b64`, the bytes the signature covers.
    signed: &'a str,
    signature: Vec<u8>,
}

/// Check an assertion against the request: shape, `iss`/`sub`, `aud`, lifetime, then the
/// signing certificate and the signature.
pub fn verify(assertion: &str, expected: &Expected<'_>) -> Result<(), AssertionError> {
    let jwt = parse(assertion)?;
    check_client(&jwt.claims, expected.client_id)?;
    check_audience(&jwt.claims, expected.is_realm)?;
    check_lifetime(&jwt.claims, expected.now)?;
    let Some(cert) = jwt.key.find(expected.certificates) else {
        return Err(AssertionError::KeyNotFound {
            thumbprint: jwt.key.display(),
            client_id: expected.client_id.to_string(),
        });
    };
    let invalid = || AssertionError::InvalidSignature {
        thumbprint: jwt.key.display(),
    };
    let der = CertificateDer::from(cert.der());
    let end_entity = webpki::EndEntityCert::try_from(&der).map_err(|_| invalid())?;
    end_entity
        .verify_signature(jwt.alg.verifier(), jwt.signed.as_bytes(), &jwt.signature)
        .map_err(|_| invalid())
}

fn parse(assertion: &str) -> Result<Jwt<'_>, AssertionError> {
    use AssertionError::Malformed;
    let mut parts = assertion.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed("a JWT has three base64url parts."));
    };
    let header = json_part(header).ok_or(Malformed("the header is not base64url JSON."))?;
    let claims = json_part(payload).ok_or(Malformed("the payload is not base64url JSON."))?;
    let signature = decode_b64(signature)
        .filter(|s| !s.is_empty())
        .ok_or(Malformed("the signature is missing or not base64url."))?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Alg::Rs256,
        Some("PS256") => Alg::Ps256,
        _ => return Err(Malformed("'alg' must be RS256 or PS256.")),
    };
    let thumbprint = |name: &str, len: usize| match header.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| Some((s.to_string(), decode_b64(s)?)))
            .filter(|(_, bytes)| bytes.len() == len)
            .map(Some)
            .ok_or(Malformed(
                "'x5t' or 'x5t#S256' is not a base64url thumbprint.",
            )),
    };
    let key = KeyId {
        sha1: thumbprint("x5t", 20)?.map(|(_, bytes)| bytes),
        sha256: thumbprint("x5t#S256", 32)?,
    };
    if key.sha1.is_none() && key.sha256.is_none() {
        return Err(Malformed(
            "the header names no certificate ('x5t' or 'x5t#S256').",
        ));
    }
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(Malformed("the 'jti' claim is missing."));
    }
    let signed = assertion.rsplit_once('.').map_or("", |(signed, _)| signed);
    Ok(Jwt {
        alg,
        key,
        claims,
        signed,
        signature,
    })
}

fn json_part(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&decode_b64(part)?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `iss` and `sub` are both the app's client id.
fn check_client(claims: &Map<String, Value>, client_id: &str) -> Result<(), AssertionError> {
    let is_client = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(client_id))
    };
    if is_client("iss") && is_client("sub") {
        Ok(())
    } else {
        Err(AssertionError::ClientMismatch)
    }
}

/// `aud` is this tenant's token endpoint: a string or a one-element array. Scheme and host
/// are not compared (the simulator does not know the URL clients reach it by).
fn check_audience(
    claims: &Map<String, Value>,
    is_realm: &dyn Fn(&str) -> bool,
) -> Result<(), AssertionError> {
    let aud = match claims.get("aud") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(items)) if items.len() == 1 => items[0].as_str(),
        _ => None,
    };
    match aud.and_then(audience_tenant) {
        Some(tenant) if is_realm(tenant) => Ok(()),
        _ => Err(AssertionError::Audience),
    }
}

/// The `{tenant}` of a URL whose path ends in `/{tenant}/oauth2/v2.0/token`.
fn audience_tenant(aud: &str) -> Option<&str> {
    let path = match aud.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => aud,
    };
    let path = path.split(['?', '#']).next()?;
    let prefix = path.strip_suffix("/oauth2/v2.0/token")?;
    let tenant = prefix.rsplit('/').next()?;
    (!tenant.is_empty()).then_some(tenant)
}

/// `exp` required and not past, `nbf` not ahead, each with Entra's five minutes of skew.
fn check_lifetime(claims: &Map<String, Value>, now: i64) -> Result<(), AssertionError> {
    let time = |name: &str| {
        let v = claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    };
    let (exp, nbf) = (time("exp"), time("nbf"));
    let expired = exp.is_none_or(|exp| exp.saturating_add(CLOCK_SKEW_SECS) <= now);
    let early = nbf.is_some_and(|nbf| nbf.saturating_sub(CLOCK_SKEW_SECS) > now);
    if !expired && !early {
        return Ok(());
    }
    let shown = |t: Option<i64>| {
        t.and_then(|t| DateTime::from_timestamp(t, 0))
            .map_or_else(|| "(none)".to_string(), graph_time)
    };
    Err(AssertionError::TimeRange {
        now: shown(Some(now)),
        valid_from: shown(nbf.or_else(|| time("iat"))),
        expiry: shown(exp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_the_tenant_token_endpoint_whatever_the_host() {
        let t = audience_tenant;
        assert_eq!(
            t("https://login.microsoftonline.com/contoso/oauth2/v2.0/token"),
            Some("contoso")
        );
        assert_eq!(
            t("http://127.0.0.1:8090/abc-id/oauth2/v2.0/token"),
            Some("abc-id")
        );
        assert_eq!(t("/abc-id/oauth2/v2.0/token"), Some("abc-id"));
        assert_eq!(
            t("https://login.microsoftonline.com/contoso/oauth2/token"),
            None
        );
        assert_eq!(
            t("https://login.microsoftonline.com/oauth2/v2.0/token"),
            None
        );
        assert_eq!(t("contoso"), None);
    }

    #[test]
    fn lifetime_allows_five_minutes_of_skew() {
        let claims = |exp: i64, nbf: i64| {
            serde_json::json!({"exp": exp, "nbf": nbf})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let now = 1_700_000_000;
        assert!(check_lifetime(&claims(now - 299, now - 600), now).is_ok());
        assert!(check_lifetime(&claims(now - 300, now - 600), now).is_err());
        assert!(check_lifetime(&claims(now + 600, now + 300), now).is_ok());
        assert!(check_lifetime(&claims(now + 600, now + 301), now).is_err());
        let no_exp = serde_json::Map::new();
        assert_eq!(
            check_lifetime(&no_exp, now).map_err(|e| e.code()),
            Err(700024)
        );
    }

    #[test]
    fn shape_errors_are_malformed() {
        let expected = Expected {
            client_id: "app",
            is_realm: &|_| true,
            certificates: &[],
            now: 0,
        };
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                verify(bad, &expected).map_err(|e| e.code()),
                Err(50027),
                "{bad}"
            );
        }
    }
}

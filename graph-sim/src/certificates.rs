//! Certificates registered on an app (Entra's key credentials): parsing them from PEM or
//! base64 DER, and the thumbprints a client assertion names its signing certificate by
//! (`x5t`, `x5t#S256`; https://learn.microsoft.com/entra/identity-platform/certificate-credentials).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::digest::{Digest, SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;

/// Clients differ on padding (and a few send the standard alphabet), so decoding accepts all.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// Decode base64url or base64, with or without padding.
pub(crate) fn decode_b64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE
        .decode(text)
        .or_else(|_| STANDARD.decode(text))
        .ok()
}

/// Base64url without padding, as JOSE headers carry thumbprints.
pub(crate) fn encode_b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Text that is not an X.509 certificate.
#[derive(Debug, thiserror::Error)]
#[error("not an X.509 certificate: {0}")]
pub struct InvalidCertificate(String);

/// An X.509 certificate (DER) with its SHA-1 and SHA-256 thumbprints.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    sha1: Digest,
    sha256: Digest,
}

/// How the admin API shows a certificate: the portal's hex thumbprint and the two JOSE
/// header values that name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thumbprints {
    /// Upper-case hex SHA-1, as the Entra portal lists it.
    pub thumbprint: String,
    pub x5t: String,
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

impl Certificate {
    /// Parse PEM (the first `CERTIFICATE` block) or base64 of the DER, as the portal's upload
    /// and Graph's `keyCredentials.key` take it.
    pub fn parse(text: &str) -> Result<Self, InvalidCertificate> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            let der = CertificateDer::from_pem_slice(text.as_bytes())
                .map_err(|e| InvalidCertificate(format!("no PEM CERTIFICATE block ({e})")))?;
            return Self::from_der(der.as_ref().to_vec());
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let der = decode_b64(&compact).ok_or_else(|| {
            InvalidCertificate("neither PEM nor base64 of a DER certificate".into())
        })?;
        Self::from_der(der)
    }

    /// A DER certificate that webpki can parse (X.509 v3).
    pub fn from_der(der: Vec<u8>) -> Result<Self, InvalidCertificate> {
        webpki::EndEntityCert::try_from(&CertificateDer::from(der.as_slice()))
            .map_err(|e| InvalidCertificate(format!("{e:?}")))?;
        Ok(Self {
            sha1: digest(&SHA1_FOR_LEGACY_USE_ONLY, &der),
            sha256: digest(&SHA256, &der),
            der,
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Is `sha1` (decoded `x5t`) this certificate's SHA-1 thumbprint?
    pub fn has_sha1(&self, sha1: &[u8]) -> bool {
        self.sha1.as_ref() == sha1
    }

    /// Is `sha256` (decoded `x5t#S256`) this certificate's SHA-256 thumbprint?
    pub fn has_sha256(&self, sha256: &[u8]) -> bool {
        self.sha256.as_ref() == sha256
    }

    pub fn thumbprints(&self) -> Thumbprints {
        Thumbprints {
            thumbprint: hex_upper(self.sha1.as_ref()),
            x5t: encode_b64url(self.sha1.as_ref()),
            x5t_s256: encode_b64url(self.sha256.as_ref()),
        }
    }
}

/// Add `cert` to an app's certificates unless it is already there. True when added.
pub fn register(certificates: &mut Vec<Certificate>, cert: Certificate) -> bool {
    if certificates.iter().any(|c| c.der == cert.der) {
        return false;
    }
    certificates.push(cert);
    true
}

/// Parse every certificate of a request body, naming the first bad one by position.
pub fn parse_all(texts: &[String]) -> Result<Vec<Certificate>, InvalidCertificate> {
    let mut certificates = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let cert = Certificate::parse(text)
            .map_err(|e| InvalidCertificate(format!("certificates[{i}]: {}", e.0)))?;
        register(&mut certificates, cert);
    }
    Ok(certificates)
}

/// Upper-case hex, as Entra prints thumbprints.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_no_certificate_is_refused() {
        assert!(Certificate::parse("hello").is_err());
        assert!(Certificate::parse("aGVsbG8=").is_err());
        assert!(
            Certificate::parse("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----").is_err()
        );
        assert!(Certificate::parse("").is_err());
    }

    #[test]
    fn thumbprints_are_upper_hex_and_unpadded_base64url() {
        assert_eq!(hex_upper(&[0x0a, 0xff, 0x10]), "0AFF10");
        assert_eq!(encode_b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_b64("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_b64("+/8="), Some(vec![0xfb, 0xff]));
    }
}

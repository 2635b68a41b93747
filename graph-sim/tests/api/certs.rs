//! Certificate credentials for tests: RSA keys and self-signed certificates made by the
//! `openssl` CLI at test time (never stored), and client assertions signed with them.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestSim, to_resp};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub struct TestCert {
    pub pem: String,
    pub der: Vec<u8>,
    key: RsaKeyPair,
    /// SHA-1 fingerprint as `openssl x509 -fingerprint` prints it, colons removed.
    pub openssl_sha1: String,
}

/// One of a few certificates generated once per test run.
pub fn cert(n: usize) -> &'static TestCert {
    static CERTS: OnceLock<Vec<TestCert>> = OnceLock::new();
    &CERTS.get_or_init(|| (0..3).map(generate).collect())[n]
}

fn generate(n: usize) -> TestCert {
    let dir = std::env::temp_dir().join(format!("graph-sim-certs-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key_path, cert_path) = (dir.join("key.pem"), dir.join("cert.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN=sim-test-{n}"),
        "-keyout",
        path(&key_path),
        "-out",
        path(&cert_path),
    ]);
    let fingerprint = openssl(&[
        "x509",
        "-in",
        path(&cert_path),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    let key_pem = std::fs::read(&key_path).unwrap();
    let pem = std::fs::read_to_string(&cert_path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let key_der = PrivatePkcs8KeyDer::from_pem_slice(&key_pem).expect("openssl writes PKCS#8");
    TestCert {
        der: CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec(),
        pem,
        key: RsaKeyPair::from_pkcs8(key_der.secret_pkcs8_der()).unwrap(),
        openssl_sha1: fingerprint
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .replace(':', "")
            .to_uppercase(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha1(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

impl TestCert {
    /// `x5t`: base64url SHA-1 of the DER.
    pub fn x5t(&self) -> String {
        b64url(&sha1(&self.der))
    }

    /// `x5t#S256`: base64url SHA-256 of the DER.
    pub fn x5t_s256(&self) -> String {
        b64url(&sha256(&self.der))
    }

    /// The header Entra documents today: PS256 naming the certificate by SHA-256.
    pub fn ps256_header(&self) -> Value {
        json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.x5t_s256()})
    }

    /// The older header MSAL still sends: RS256 naming the certificate by SHA-1.
    pub fn rs256_header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t()})
    }

    /// `header.claims` signed with this certificate's key (the header's `alg` picks the
    /// padding).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let padding: &dyn signature::RsaEncoding = match header["alg"].as_str() {
            Some("RS256") => &signature::RSA_PKCS1_SHA256,
            _ => &signature::RSA_PSS_SHA256,
        };
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(padding, &SystemRandom::new(), signed.as_bytes(), &mut sig)
            .unwrap();
        format!("{signed}.{}", b64url(&sig))
    }
}

/// Claims Entra accepts from `client_id` for the token endpoint of `tenant`.
pub fn claims(client_id: &str, tenant: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "aud": format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

impl TestSim {
    /// A token request authenticated by a client assertion.
    pub async fn assertion_token(
        &self,
        tenant_key: &str,
        client_id: &str,
        assertion: &str,
    ) -> Resp {
        self.token_form(
            tenant_key,
            &[
                ("client_id", client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
            ],
        )
        .await
    }

    /// A client-credentials token request with these extra form fields.
    pub async fn token_form(&self, tenant_key: &str, fields: &[(&str, &str)]) -> Resp {
        let mut form = vec![
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ];
        form.extend_from_slice(fields);
        let resp = self
            .http
            .post(format!("{}/{tenant_key}/oauth2/v2.0/token", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        to_resp(resp).await
    }
}

/// An Entra error answer: status, `error`, the AADSTS code, and its description.
pub fn assert_oauth_error(r: &Resp, status: u16, error: &str, code: u64) -> String {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    assert_eq!(r.body["error_codes"], json!([code]), "{}", r.body);
    let description = r.body["error_description"].as_str().unwrap().to_string();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    description
}

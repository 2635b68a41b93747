//! Outbound HTTP: one rustls (ring) crypto provider, installed once, for every client.

use std::sync::Once;
use std::time::Duration;

static PROVIDER: Once = Once::new();

/// Installs ring as the process-wide rustls provider (reqwest is built without one so only
/// a single TLS backend is compiled).
pub fn install_crypto_provider() {
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client with the product's user agent and bounded timeouts.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("PolicyVault/", env!("CARGO_PKG_VERSION")))
        .build()
}

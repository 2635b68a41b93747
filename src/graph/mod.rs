//! The Graph layer: the contract registry of supported Intune policy types, the client
//! (tokens, paging, retries) and the fleet-wide per-tenant rate limiter.
//!
//! - [`registry`]: one declarative entry per policy type; everything else is generic over it.
//! - [`normalize`]: stripping, canonical hashing, masked secrets, diffs.
//! - [`coverage`]: what a capture holds per type and what a restore will not write.
//! - [`client`]: [`GraphClient`] (reads + writes) and [`ReadOnlyGraph`] (reads only), built
//!   from a [`TenantConnection`].
//! - [`limiter`]: governor per process plus a Redis-held quota per tenant.
//! - [`token`]: client-credentials tokens, cached per tenant app.
//! - [`certificate`]: certificate credentials (signed client assertions).
//! - [`error`]: [`GraphError`], a stable code and a safe message; the local errors.

pub mod archive;
pub mod certificate;
pub mod client;
pub mod compare;
pub mod coverage;
pub mod drift;
pub mod error;
pub mod limiter;
pub mod normalize;
mod payload;
pub mod registry;
pub mod retry;
pub mod token;

pub use certificate::{CertificateError, ClientCertificate};
pub use client::{
    FirstPages, GraphClient, GraphMetrics, GraphOptions, GraphShared, ReadOnlyGraph,
    TenantConnection, WriteFence,
};
pub use error::{ErrorKind, GraphError, GraphSetupError, JsonBytesError};
pub use limiter::{Access, Limiter, LimiterOptions, Quota, QuotaOverrides};
pub use normalize::{FieldChange, Normalized};
pub use registry::{Contract, UnknownPolicyType};
pub use retry::RetryPolicy;
pub use token::{ClientCredential, TokenCache};

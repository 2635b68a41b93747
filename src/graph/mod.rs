//! The Graph layer: the contract registry of supported Intune policy types, the client
//! (tokens, paging, retries) and the fleet-wide per-tenant rate limiter.
pub mod registry;

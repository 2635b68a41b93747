//! graph-sim: a stateful simulator of the Microsoft Graph Intune surface and the Entra
//! token endpoint, for tests, benchmarks and demos. Embed it with [`spawn`] or run the
//! `graph-sim` binary.

/// `/_sim/` admin API: tenants, seeding, export, journal, stats, faults, reset; apps,
/// certificates and consents in `admin::apps`.
pub mod admin;
/// The Intune audit log graph-sim writes for the changes it accepts.
pub mod audit;
/// Entra token endpoint and bearer-token validation.
pub mod auth;
/// What every tenant has from its first day (built-in tag, default enrollments, roles).
pub mod baseline;
/// Certificates registered on apps: PEM/DER parsing and thumbprints.
pub mod certificates;
/// Client assertions (private_key_jwt): certificate credentials at the token endpoint.
pub mod client_assertion;
/// The registry of simulated collections (one declarative row each).
pub mod collections;
/// `SimConfig`: quotas, time scale, paging, token lifetime, data sources, shared app.
pub mod config;
/// The deterministic demo tenants and the built-in catalogues.
pub mod demo;
/// Injected faults per tenant.
pub mod faults;
/// Fixture directory loading (UTF-8/UTF-16, BOMs, annotations).
pub mod fixtures;
/// Graph request pipeline: auth, faults, throttling, journal, `$batch`, responses.
pub mod graph;
/// Graph resource semantics: routing, CRUD, listing, sub-resources, actions, catalogues.
pub mod handlers;
/// OData query options and filter evaluation.
pub mod odata;
/// One sample object per collection, shared by tests.
pub mod samples;
/// HTTP server, accept loop, `spawn` and shutdown.
pub mod server;
/// Tenants, objects, apps and consents, catalogues and object normalisation.
pub mod store;
/// Intune throttling windows.
pub mod throttle;

pub use config::{Quotas, SharedApp, SimConfig};
pub use server::{RunningSim, spawn};

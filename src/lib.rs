//! PolicyVault: capture, back up, preview and restore Microsoft Intune configuration for many
//! customer tenants, with every operation run in the background by a worker fleet.
//!
//! Start with `runs` (the orchestration protocol and `RunSpec`, the typed contract of every
//! run), `graph` (the Graph contract registry and client) and `web` (routes, the JSON API and
//! the web UI).
//!
//! Layers, imports pointing down only (`tests/layers.rs` checks it):
//! `commands`/`worker`/`startup` → `web` → `runs`/`jobs` → `graph`/`store`/`services` →
//! `domain`/`metrics`. `runs` knows neither `jobs` nor `web`; `domain` knows no database type.
//! Tenant-owned rows are reached only through a `store::TenantScope`, granted by a membership
//! check (web) or a run claim (worker).

/// Credentials: argon2id password hashes, API tokens, session ids and CSRF tokens, login
/// throttling.
pub mod auth;
/// The Redis connection: de-duplication keys, quotas, events, job queues.
pub mod broker;
/// Command-line definition (clap).
pub mod cli;
/// What each command does (`serve`, `worker`, `migrate`, `demo`, admin commands).
pub mod commands;
/// Encryption at rest of tenant client secrets.
pub mod crypto;
/// Validated newtypes and rules (no web or database types).
pub mod domain;
/// Graph contract registry, client and rate limiter.
pub mod graph;
/// Outbound HTTP clients and the TLS provider.
pub mod http;
/// One module per operation: capture, backup-set capture, restore, preview, re-run.
pub mod jobs;
/// Prometheus metrics: process-wide counters and the `/metrics` scrape.
pub mod metrics;
/// Run orchestration: start, claim, progress, finish, reaper, workers.
pub mod runs;
/// The connected services every process shares (settings, database, Redis, secret box).
pub mod services;
/// Layered configuration with `PV__SECTION__KEY` overrides.
pub mod settings;
/// Start-up of the web application and the shutdown signal.
pub mod startup;
/// Per-aggregate database queries and connection set-up.
pub mod store;
/// The tracing subscriber.
pub mod telemetry;
/// HTTP routes, one module per resource, declared in one route table with their access;
/// the OpenAPI document (`web::openapi`) is generated from that table, and the admin web UI
/// (`web::ui`: askama templates in `src/web/templates`, assets in `src/web/static`) lives
/// beside the JSON API.
pub mod web;
/// The worker process: queue consumers, reaper and health endpoint, handing claimed runs to
/// `jobs`.
pub mod worker;

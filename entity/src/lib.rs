//! SeaORM entities of the PolicyVault data model (design handbook, sections 4 and 5).
//!
//! One module per table. Every table except `users`, `api_tokens` and `sessions` is scoped
//! to a tenant. Ids are UUIDs chosen by the application, timestamps are UTC, JSON columns
//! hold `serde_json::Value`.
//! The `migration` crate owns the schema; these types describe it.

/// Text-backed enums with a closed set of values (`Role`, `RunOperation`, `RunStatus`, ...).
pub mod enums;
/// Short aliases (`Tenants`, `Runs`, ...) for every entity, plus the enums.
pub mod prelude;

/// Per-user API tokens; only a hash and a display prefix are stored.
pub mod api_tokens;
/// Append-only audit trail of a tenant (`restore.live.queued`, ...).
pub mod audit_events;
/// Versioned items of a backup set, one row per captured version of a Graph object.
pub mod backup_items;
/// Named, user-curated backup collections of a tenant with a policy-type filter.
pub mod backup_sets;
/// A tenant's baseline: the backup set it should match.
pub mod baselines;
/// Differences from the baseline an admin accepted for a tenant.
pub mod drift_exceptions;
/// What a capture found against its tenant's baseline.
pub mod drift_reports;
/// A fan-out's child run in one tenant.
pub mod fanout_runs;
/// One parent over ordinary runs in many tenants.
pub mod fanouts;
/// A user's role in a tenant (`viewer`, `operator`, `admin`).
pub mod memberships;
/// Which events notify a user, for which tenants.
pub mod notification_preferences;
/// Per-recipient notifications about runs.
pub mod notifications;
/// Source-tenant Graph object → target-tenant Graph object, written by restores.
pub mod object_mappings;
/// Who asked to cancel a run, and when.
pub mod run_cancellations;
/// One row per item a run acted on; run counts are derived from these.
pub mod run_items;
/// The Run Record: state, lease, attempts and counts of one background operation.
pub mod runs;
/// One row per schedule and fire time: the run that tick started.
pub mod schedule_ticks;
/// Recurring captures of a tenant on a cron expression in a time zone.
pub mod schedules;
/// Browser sessions; only a hash of the session id is stored.
pub mod sessions;
/// Items of a snapshot: one Graph object with its payload and assignments each.
pub mod snapshot_items;
/// Point-in-time copies of a tenant's supported Intune objects.
pub mod snapshots;
/// A tenant's overrides of the global retention settings.
pub mod tenant_retention;
/// Managed customer tenants: Graph endpoints, encrypted credentials and quotas.
pub mod tenants;
/// Uploaded archives waiting for (or read by) their import run.
pub mod uploads;
/// Global user accounts (email and password hash).
pub mod users;
/// The delivery log of outbound webhooks.
pub mod webhook_deliveries;
/// Outbound webhooks of a tenant.
pub mod webhooks;

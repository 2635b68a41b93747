//! What the side effects of a run's state change need to know about what surrounds the
//! run: its initiator's notification preferences and role, its cancel request, its
//! tenant's webhooks and its fan-outs. Most of these are usually absent, and asking for each
//! in turn cost a run half a dozen round trips; read here as columns of the statement that
//! makes the change (the claim, the settled finish), or in one statement of their own.

use entity::enums::{Role, RunStatus};
use sea_orm::{ConnectionTrait, QueryResult, Statement};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::store::StoreResult;
use crate::store::activity::Preferences;
use crate::store::placeholder;

/// What surrounds a run, as one statement read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surroundings {
    /// The initiator's notification preferences (the defaults when they stored none).
    pub preferences: Preferences,
    /// The initiator's role in the run's tenant, while both the account and the membership
    /// are active.
    pub initiator_role: Option<Role>,
    /// Someone asked to cancel the run.
    pub cancel_requested: bool,
    /// An enabled webhook of the run's tenant, or one for every tenant, exists (which events
    /// it takes is for the caller to check).
    pub webhooks: bool,
    /// The run is a child of a fan-out still running.
    pub open_fanouts: bool,
    /// A fan-out started the run (rather than joining it): the fan-out speaks for it.
    pub started_by_fanout: bool,
}

/// The select-list items of [`Surroundings`] for the run row named `run` (a table or alias
/// in scope), each a correlated subquery, so that PostgreSQL and SQLite alike can add them
/// to a `SELECT` or a `RETURNING` (their own aliases start with `s_`).
pub(super) fn columns(run: &str) -> String {
    format!(
        "(SELECT s_p.kinds FROM notification_preferences s_p WHERE s_p.user_id = {run}.initiator_id) AS s_pref_kinds, \
         (SELECT s_p.tenant_ids FROM notification_preferences s_p WHERE s_p.user_id = {run}.initiator_id) AS s_pref_tenants, \
         (SELECT s_m.role FROM memberships s_m JOIN users s_u ON s_u.id = s_m.user_id \
            WHERE s_m.tenant_id = {run}.tenant_id AND s_m.user_id = {run}.initiator_id AND s_u.disabled = FALSE) AS s_role, \
         EXISTS (SELECT 1 FROM run_cancellations s_c WHERE s_c.run_id = {run}.id) AS s_cancel, \
         EXISTS (SELECT 1 FROM webhooks s_h WHERE (s_h.tenant_id = {run}.tenant_id OR s_h.tenant_id IS NULL) \
            AND s_h.enabled = TRUE) AS s_webhooks, \
         EXISTS (SELECT 1 FROM fanout_runs s_fr JOIN fanouts s_f ON s_f.id = s_fr.fanout_id \
            WHERE s_fr.run_id = {run}.id AND s_f.status = '{running}') AS s_open_fanouts, \
         EXISTS (SELECT 1 FROM fanout_runs s_fr WHERE s_fr.run_id = {run}.id AND s_fr.joined = FALSE) AS s_fanout_started",
        running = RunStatus::Running.as_str(),
    )
}

/// The [`Surroundings`] in a row that has the [`columns`].
pub(super) fn from_row(row: &QueryResult) -> StoreResult<Surroundings> {
    let kinds: Option<Json> = row.try_get("", "s_pref_kinds")?;
    let tenant_ids: Option<Json> = row.try_get("", "s_pref_tenants")?;
    let role: Option<String> = row.try_get("", "s_role")?;
    Ok(Surroundings {
        preferences: Preferences::stored(kinds, tenant_ids),
        initiator_role: role.and_then(|r| r.parse().ok()),
        cancel_requested: row.try_get("", "s_cancel")?,
        webhooks: row.try_get("", "s_webhooks")?,
        open_fanouts: row.try_get("", "s_open_fanouts")?,
        started_by_fanout: row.try_get("", "s_fanout_started")?,
    })
}

/// What surrounds the run `run_id` now, in one statement; `None` when there is no such run.
pub async fn surroundings(
    db: &impl ConnectionTrait,
    run_id: Uuid,
) -> StoreResult<Option<Surroundings>> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT {} FROM runs r WHERE r.id = {}",
        columns("r"),
        placeholder(backend, 1)
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [run_id.into()],
        ))
        .await?;
    row.as_ref().map(from_row).transpose()
}

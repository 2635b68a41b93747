//! Starting a run inside an HTTP request: fast, de-duplicated, and never doing the work.

use entity::enums::RunOperation;
use entity::{runs, tenants};
use redis::AsyncCommands;
use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use super::lifecycle::{Orchestrator, active_key, operation_label, remembered_run};
use super::spec::RunSpec;
use crate::metrics;
use crate::store::activity::{self, NewAuditEvent, NewNotification};
use crate::store::runs::{self as run_store, NewRun, QueuedNotice, TenantState};
use crate::store::{StoreError, StoreResult, TenantScope, fanouts};

/// What to start. Authorization and input validation happened before this point.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The run's id, when the starter derives it (a schedule's tick): a second start with the
    /// same id answers with that run instead of starting another. `None`: a new id.
    pub run_id: Option<Uuid>,
    /// The tenant the run belongs to, as the initiator's membership check granted it.
    pub scope: TenantScope,
    pub initiator_id: Uuid,
    /// The operation and its parameters; target, parent and selection digest follow from it.
    pub spec: RunSpec,
    /// The fan-out this start is a child of: the run is its child in the scope's tenant, and
    /// the fan-out, not the run, notifies the initiator.
    pub fanout_id: Option<Uuid>,
}

/// The run a start answers with, and whether it already existed.
#[derive(Debug, Clone)]
pub struct Started {
    pub run: runs::Model,
    pub deduplicated: bool,
}

impl Orchestrator {
    /// Starts a run, or returns the identical run that is already queued or running.
    pub async fn start(&self, request: StartRequest) -> StoreResult<Started> {
        let operation = request.spec.operation().as_str();
        // Every line of the start carries the run's fields once, from this span; `run_id` is
        // filled in when it is known (ours, or the one we were de-duplicated to).
        let span = tracing::info_span!(
            "start_run",
            run_id = tracing::field::Empty,
            tenant_id = %request.scope.tenant_id(),
            operation,
        );
        let started = self.start_in_span(request).instrument(span).await?;
        if started.deduplicated {
            metrics::run_deduplicated(operation);
        } else {
            metrics::run_started(operation);
        }
        Ok(started)
    }

    async fn start_in_span(&self, request: StartRequest) -> StoreResult<Started> {
        if let Some(id) = request.run_id
            && let Some(existing) = run_store::get(&self.services.db, id).await?
        {
            record_run_id(existing.id);
            return Ok(Started {
                run: existing,
                deduplicated: true,
            });
        }
        let run_id = request.run_id.unwrap_or_else(Uuid::now_v7);
        let (_, target_id) = request.spec.target(request.scope.tenant_id());
        let digest = request.spec.selection_digest();
        let key = self.dedupe_key(
            request.scope.tenant_id(),
            request.spec.operation(),
            target_id,
            &digest,
        );
        // Fast path: Redis answers duplicates without touching the database's write path.
        if let Some(existing) = self.claim_dedupe_key(&key, run_id).await? {
            record_run_id(existing.id);
            tracing::debug!("start de-duplicated to the active run");
            return Ok(Started {
                run: existing,
                deduplicated: true,
            });
        }
        // Authority: the partial unique index admits one active run per key.
        for _ in 0..3 {
            match self.insert_queued(&request, run_id).await {
                Ok(run) => {
                    record_run_id(run.id);
                    self.offer(&run).await;
                    tracing::info!("run queued");
                    return Ok(Started {
                        run,
                        deduplicated: false,
                    });
                }
                Err(StoreError::Conflict { .. }) => {
                    let active = run_store::find_active(
                        &self.services.db,
                        &request.scope,
                        request.spec.operation(),
                        target_id,
                        &digest,
                    )
                    .await?;
                    if let Some(active) = active {
                        record_run_id(active.id);
                        tracing::debug!("start de-duplicated to the active run");
                        self.point_dedupe_key(&key, run_id, active.id).await;
                        return Ok(Started {
                            run: active,
                            deduplicated: true,
                        });
                    }
                    // The winner finished between our insert and our look-up: try again.
                }
                Err(other) => {
                    self.point_dedupe_key_away(&key, run_id).await;
                    return Err(other);
                }
            }
        }
        Err(StoreError::Conflict {
            constraint: "ux_runs_active".into(),
        })
    }

    /// `SET NX` the dedupe key to our new run id. Returns the existing active run when the
    /// key names one: as Redis remembers it when it does (one round trip, no database read),
    /// else as the database has it. A key naming a finished or missing run is stale: we take
    /// it over.
    async fn claim_dedupe_key(&self, key: &str, run_id: Uuid) -> StoreResult<Option<runs::Model>> {
        let ttl = self.services.settings.runs.dedupe_ttl_secs;
        let mut conn = self.services.redis.connection();
        let script = redis::Script::new(
            "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return {1} end return {0, redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or ''}",
        );
        let answer: redis::RedisResult<(i64, Option<String>, Option<String>)> = script
            .key(key)
            .key(active_key(key))
            .arg(run_id.to_string())
            .arg(ttl)
            .invoke_async(&mut conn)
            .await;
        let (holder, remembered) = match answer {
            Ok((1, _, _)) => return Ok(None),
            Ok((_, holder, remembered)) => (holder, remembered),
            Err(e) => {
                tracing::warn!(error = %e, "dedupe fast path unavailable; relying on the database");
                return Ok(None);
            }
        };
        let Some(holder) = holder.and_then(|h| Uuid::parse_str(&h).ok()) else {
            return Ok(None);
        };
        if let Some(run) = remembered.and_then(|v| remembered_run(&v, holder)) {
            return Ok(Some(run));
        }
        match run_store::get(&self.services.db, holder).await? {
            Some(run) if !run.status.is_terminal() => Ok(Some(run)),
            Some(_) => {
                // Stale key of a finished run: replace it (only if unchanged).
                let _: redis::RedisResult<()> = conn.set_ex(key, run_id.to_string(), ttl).await;
                Ok(None)
            }
            // Not committed yet (a concurrent start) or lost: the index decides.
            None => Ok(None),
        }
    }

    /// After losing to a concurrent start, make the key name the winner.
    async fn point_dedupe_key(&self, key: &str, ours: Uuid, winner: Uuid) {
        let ttl = self.services.settings.runs.dedupe_ttl_secs;
        let mut conn = self.services.redis.connection();
        let script = redis::Script::new(
            "local v = redis.call('GET', KEYS[1]) if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end return 1",
        );
        let _: redis::RedisResult<i64> = script
            .key(key)
            .arg(ours.to_string())
            .arg(winner.to_string())
            .arg(ttl)
            .invoke_async(&mut conn)
            .await;
    }

    async fn point_dedupe_key_away(&self, key: &str, ours: Uuid) {
        let mut conn = self.services.redis.connection();
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
        );
        let _: redis::RedisResult<i64> = script
            .key(key)
            .arg(ours.to_string())
            .invoke_async(&mut conn)
            .await;
    }

    /// The Run Record, the initiator's `queued` notification and (live restore) the audit
    /// event, all or nothing. A start that writes only those two — no fan-out, no audit — is
    /// one statement on PostgreSQL; the others are one transaction.
    async fn insert_queued(
        &self,
        request: &StartRequest,
        run_id: Uuid,
    ) -> StoreResult<runs::Model> {
        let spec = &request.spec;
        let (target_type, target_id) = spec.target(request.scope.tenant_id());
        let new = NewRun {
            id: run_id,
            tenant_id: request.scope.tenant_id(),
            operation: spec.operation(),
            target_type,
            target_id,
            selection_digest: spec.selection_digest(),
            initiator_id: request.initiator_id,
            parent_run_id: spec.parent_run_id(),
            params: spec.to_stored(),
            max_attempts: self.services.settings.runs.max_attempts,
        };
        let db = &self.services.db;
        let one_statement = db.get_database_backend() == DbBackend::Postgres
            && request.fanout_id.is_none()
            && !spec.operation().writes_to_tenant();
        if one_statement {
            let state = match spec.operation() {
                RunOperation::TenantPurge => TenantState::Disabled,
                _ => TenantState::Enabled,
            };
            let notice = queued_notice(spec.operation());
            if let Some(run) = run_store::insert_with_notice(db, new, state, notice).await? {
                return Ok(run);
            }
            // The tenant is gone or in the other state: say which.
            let tenant = crate::store::tenants::get(db, request.scope.tenant_id()).await?;
            refuse_for(spec.operation(), &tenant)?;
            return Err(StoreError::Refused(
                "the tenant changed while the run was starting; start it again".into(),
            ));
        }
        let txn = db.begin().await?;
        let tenant = crate::store::tenants::get(&txn, request.scope.tenant_id()).await?;
        refuse_for(spec.operation(), &tenant)?;
        let run = run_store::insert(&txn, new).await?;
        if let Some(fanout_id) = request.fanout_id {
            fanouts::add_child(&txn, fanout_id, &request.scope, run.id, false).await?;
        } else {
            let notice = queued_notice(run.operation);
            activity::notify_if_wanted(
                &txn,
                NewNotification {
                    user_id: run.initiator_id,
                    tenant_id: run.tenant_id,
                    run_id: Some(run.id),
                    fanout_id: None,
                    kind: "queued".into(),
                    title: notice.title,
                    body: notice.body,
                },
                &[],
            )
            .await?;
        }
        if run.operation.writes_to_tenant() {
            activity::audit(
                &txn,
                NewAuditEvent {
                    tenant_id: run.tenant_id,
                    actor_id: Some(run.initiator_id),
                    action: format!("{}.queued", super::audit_prefix(run.operation)),
                    run_id: Some(run.id),
                    details: json!({
                        "operation": run.operation.as_str(),
                        "target_type": run.target_type,
                        "target_id": run.target_id,
                        "parent_run_id": run.parent_run_id,
                        "selection_digest": run.selection_digest,
                        "params": run.params,
                        "fanout_id": request.fanout_id,
                    }),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(run)
    }
}

/// Why `operation` may not start on `tenant`, if it may not: a disabled tenant runs nothing
/// but its purge, and an enabled one is disabled before it is purged.
fn refuse_for(operation: RunOperation, tenant: &tenants::Model) -> StoreResult<()> {
    match (operation, crate::store::tenants::refusal(tenant)) {
        (RunOperation::TenantPurge, None) => Err(StoreError::Refused(
            "disable the tenant before purging its data".into(),
        )),
        (RunOperation::TenantPurge, Some(_)) | (_, None) => Ok(()),
        (_, Some(why)) => Err(StoreError::Refused(why)),
    }
}

/// The initiator's `queued` notification of a run of `operation`.
fn queued_notice(operation: RunOperation) -> QueuedNotice {
    let label = operation_label(operation);
    QueuedNotice {
        title: format!("{label} queued"),
        body: format!("{label} is queued and will start shortly."),
    }
}

/// The digest that tells two selections of one target apart: SHA-256 (hex) of the sorted,
/// de-duplicated item ids and any option that changes what the run does. `None` (the
/// whole target) is the empty digest.
pub fn selection_digest(item_ids: Option<&[Uuid]>, options: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let Some(ids) = item_ids else {
        return if options.is_empty() {
            String::new()
        } else {
            hex(&Sha256::digest(options.join("\n").as_bytes()))
        };
    };
    let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    ids.sort();
    ids.dedup();
    let mut text = ids.join(",");
    for option in options {
        text.push('\n');
        text.push_str(option);
    }
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn record_run_id(run_id: Uuid) {
    tracing::Span::current().record("run_id", tracing::field::display(run_id));
}

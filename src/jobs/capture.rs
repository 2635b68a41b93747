//! `capture_snapshot` and `backup_set_capture`: read every object of the chosen policy types
//! (reads only), normalize and hash it, and store it — as snapshot items, or as new backup
//! item versions when the content changed (marking objects that disappeared).

use std::collections::{HashMap, HashSet};

use chrono::SubsecRound;

use entity::enums::{ItemAction, Role, RunItemStatus};
use entity::{backup_items, backup_sets, snapshots};

use super::{OutageBreaker, client_for, is_fatal, item_key, safe, string_list};
use crate::graph::normalize::approx_len;
use crate::graph::registry::PolicyType;
use crate::graph::{Contract, ReadOnlyGraph, registry};
use crate::graph::{compare, drift};
use crate::runs::{ExecError, Execution, SafeError};
use crate::store::activity::{self, NewNotification};
use crate::store::content::{self, CapturedObject, SyncOutcome};
use crate::store::drift as drift_store;
use crate::store::runs::ItemResult;
use crate::store::{StoreError, accounts};

/// Where captured objects go.
enum Sink {
    Snapshot(snapshots::Model),
    BackupSet {
        set: backup_sets::Model,
        /// Latest items before this capture, by item key.
        previous: HashMap<String, backup_items::Model>,
    },
}

pub async fn capture_snapshot(
    execution: &Execution,
    types: &[PolicyType],
) -> Result<(), ExecError> {
    let run = &execution.run;
    let contracts = contracts(types);
    let keys: Vec<PolicyType> = contracts.iter().map(|c| c.policy_type()).collect();
    let snapshot = content::snapshot_for_run(
        &execution.services().db,
        execution.scope(),
        run.id,
        &keys,
        run.initiator_id,
        execution.is_fresh(),
    )
    .await?;
    let unread = capture(execution, &contracts, Sink::Snapshot(snapshot.clone())).await?;
    let db = &execution.services().db;
    let sealed = content::seal_capture(db, execution.scope(), &snapshot).await?;
    if let Some(previous) = sealed.previous {
        record_changes(execution, &snapshot, previous, &unread).await?;
    }
    if sealed.has_baseline {
        record_drift(execution, &snapshot, &unread).await?;
    }
    Ok(())
}

/// Stores what changed since `previous` (id, taken at), the tenant's previous capture of the
/// same types. Types this capture could not read are left out on both sides (their objects
/// did not go away).
async fn record_changes(
    execution: &Execution,
    snapshot: &snapshots::Model,
    (previous_id, previous_at): (uuid::Uuid, chrono::DateTime<chrono::Utc>),
    unread: &[&str],
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    let scope = execution.scope();
    let before = content::all_snapshot_items(db, scope, previous_id).await?;
    let after = content::all_snapshot_items(db, scope, snapshot.id).await?;
    let mut changes = compare::compare(
        &readable(&before, unread),
        &readable(&after, unread),
        &compare::Pairing::ById,
    );
    attribute(execution, previous_at, &mut changes).await;
    let changes = serde_json::to_value(&changes).unwrap_or_default();
    content::record_changes(db, scope, snapshot.id, previous_id, changes).await?;
    Ok(())
}

pub async fn capture_backup_set(
    execution: &Execution,
    backup_set_id: uuid::Uuid,
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    let set = content::backup_set(db, execution.scope(), backup_set_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ExecError::Failed(SafeError::new(
                "backup_set_missing",
                "the backup set no longer exists",
            )),
            other => other.into(),
        })?;
    // Stored by this or an earlier version: a type no longer registered cannot be read.
    let types = registry::parse_types(&string_list(&set.policy_types))
        .map_err(|e| ExecError::Failed(SafeError::new("invalid_policy_types", e.to_string())))?;
    let contracts = contracts(&types);
    let before = content::latest_backup_items(db, execution.scope(), set.id).await?;
    let previous = before
        .iter()
        .map(|item| (item_key(&item.policy_type, &item.source_id), item.clone()))
        .collect();
    let (set_id, since) = (set.id, set.last_captured_at);
    let unread = capture(execution, &contracts, Sink::BackupSet { set, previous }).await?;
    content::touch_backup_set(db, execution.scope(), set_id).await?;
    // The first capture fills the set; later ones say what they changed in it.
    if since.is_some() {
        let after = content::latest_backup_items(db, execution.scope(), set_id).await?;
        let mut changes = compare::compare(
            &held(&before, &unread),
            &held(&after, &unread),
            &compare::Pairing::ById,
        );
        if let Some(since) = since {
            attribute(execution, since, &mut changes).await;
        }
        let changes = serde_json::to_value(&changes).unwrap_or_default();
        content::record_backup_set_changes(
            db,
            execution.scope(),
            set_id,
            execution.run.id,
            since,
            changes,
        )
        .await?;
    }
    Ok(())
}

/// A backup set's items the diff engine compares: present in the tenant, of a type this
/// capture could read.
fn held<'a>(items: &'a [backup_items::Model], unread: &[&str]) -> Vec<compare::Captured<'a>> {
    items
        .iter()
        .filter(|i| i.missing_since.is_none() && !unread.contains(&i.policy_type.as_str()))
        .map(content::backup_item_as_captured)
        .collect()
}

/// Compares the capture with the tenant's baseline, if it has one, over the types both hold
/// (and this capture could read), stores the report, and tells the tenant's admins and the
/// run's initiator about drift the previous report did not have.
async fn record_drift(
    execution: &Execution,
    snapshot: &snapshots::Model,
    unread: &[&str],
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    let scope = execution.scope();
    let Some(source) = drift_store::baseline_source(db, scope).await? else {
        return Ok(());
    };
    let captured_types = string_list(&snapshot.policy_types);
    let mut baseline_types = string_list(&source.set.policy_types);
    if baseline_types.is_empty() {
        baseline_types = source.items.iter().map(|i| i.policy_type.clone()).collect();
    }
    let judged = |t: &str| {
        baseline_types.iter().any(|b| b == t)
            && (captured_types.is_empty() || captured_types.iter().any(|c| c == t))
            && !unread.contains(&t)
    };
    let tenant_items = content::all_snapshot_items(db, scope, snapshot.id).await?;
    let tenant: Vec<compare::Captured<'_>> = tenant_items
        .iter()
        .filter(|i| judged(&i.policy_type))
        .map(content::as_captured)
        .collect();
    let baseline: Vec<compare::Captured<'_>> = source
        .items
        .iter()
        .filter(|i| judged(&i.policy_type))
        .map(content::backup_item_as_captured)
        .collect();
    // A baseline of this tenant's own objects pairs them by id (a renamed policy is still
    // the same policy); another tenant's through the mappings restores recorded.
    let same_tenant = source.set_scope == *scope;
    let mapped = if same_tenant {
        Default::default()
    } else {
        content::mappings_between(db, &source.set_scope, scope).await?
    };
    let lookup = |policy_type: &str, id: &str| {
        if same_tenant {
            return Some(id.to_string());
        }
        mapped
            .get(&(policy_type.to_string(), id.to_string()))
            .cloned()
    };
    let exceptions = drift_store::exceptions(db, scope)
        .await?
        .into_iter()
        .map(|e| drift::ExceptionKey {
            policy_type: e.policy_type,
            graph_id: e.graph_id,
            path: e.path,
        })
        .collect();
    let report = drift::drift(&baseline, &tenant, &lookup, &exceptions);
    let (stored, previous) = drift_store::record_report(
        db,
        scope,
        drift_store::NewReport {
            snapshot_id: snapshot.id,
            backup_set_id: source.set.id,
            run_id: execution.run.id,
            drift: report,
        },
    )
    .await?;
    let before = previous
        .as_ref()
        .map(drift_store::entries)
        .unwrap_or_default();
    let now = drift_store::entries(&stored);
    let fresh = drift::new_entries(&before, &now);
    if !fresh.is_empty() {
        notify_drift(execution, &stored, fresh.len()).await?;
        let url = format!(
            "{}/tenants/{}/drift",
            execution
                .services()
                .settings
                .server
                .public_url
                .trim_end_matches('/'),
            scope.tenant_id()
        );
        let payload = serde_json::json!({
            "event": "drift",
            "tenant": {"id": scope.tenant_id()},
            "drift": {"score": stored.score, "missing": stored.missing, "extra": stored.extra,
                      "differing": stored.differing, "new_entries": fresh.len(), "url": url},
            "text": format!("New drift from the baseline: {} new difference(s), {:.0} % aligned. {url}",
                            fresh.len(), stored.score * 100.0),
            "sent_at": chrono::Utc::now(),
        });
        crate::store::webhooks::enqueue(
            db,
            scope.tenant_id(),
            Some(execution.run.id),
            "drift",
            &payload,
        )
        .await?;
    }
    Ok(())
}

/// One `drift` notification to each admin of the tenant and to the run's initiator.
async fn notify_drift(
    execution: &Execution,
    report: &entity::drift_reports::Model,
    fresh: usize,
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    let tenant_id = execution.run.tenant_id;
    let mut recipients: Vec<uuid::Uuid> = accounts::members_of(db, tenant_id)
        .await?
        .into_iter()
        .filter(|(_, role)| *role == Role::Admin)
        .map(|(u, _)| u.id)
        .collect();
    if !recipients.contains(&execution.run.initiator_id) {
        recipients.push(execution.run.initiator_id);
    }
    for user_id in recipients {
        activity::notify_if_wanted(
            db,
            NewNotification {
                user_id,
                tenant_id,
                run_id: Some(execution.run.id),
                fanout_id: None,
                kind: "drift".into(),
                title: "New drift from the baseline".into(),
                body: format!(
                    "{fresh} new difference(s) from the baseline; alignment {:.0} % ({} missing, {} differing, {} extra).",
                    report.score * 100.0,
                    report.missing,
                    report.differing,
                    report.extra
                ),
            },
            &[],
        )
        .await?;
    }
    Ok(())
}

/// The contracts to read, in restore order: every type when none is named.
fn contracts(types: &[PolicyType]) -> Vec<&'static Contract> {
    if types.is_empty() {
        return registry::all().iter().collect();
    }
    registry::in_restore_order(types)
        .into_iter()
        .map(PolicyType::contract)
        .collect()
}

/// Says who made each change, from Intune's audit log since `since` (the previous capture):
/// the actor of the object's latest event. The log is read only where something changed; a
/// tenant whose app may not read it keeps its changes, unattributed.
async fn attribute(
    execution: &Execution,
    since: chrono::DateTime<chrono::Utc>,
    changes: &mut [compare::ObjectChange],
) {
    if changes.is_empty() {
        return;
    }
    let client = match client_for(execution, execution.run.tenant_id).await {
        Ok(c) => c,
        Err(_) => return,
    };
    let at = |e: &serde_json::Value| {
        e.get("activityDateTime")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    // Intune's log may keep whole seconds: an event in the second of `since` counts.
    let since = since.trunc_subsecs(0);
    let filter = format!(
        "activityDateTime ge {}",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let events = match client
        .read_only()
        .list_filtered(registry::audit_events(), &filter, |e| {
            at(e).is_some_and(|t| t >= since)
        })
        .await
    {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(
                code = error.code(),
                "the audit log could not be read; changes stay unattributed"
            );
            return;
        }
    };
    // Resource id → (time, actor) of its latest event.
    let mut latest: HashMap<String, (chrono::DateTime<chrono::Utc>, String)> = HashMap::new();
    for event in &events {
        let (Some(when), Some(actor)) = (at(event), actor_of(event)) else {
            continue;
        };
        let ids = event
            .get("resources")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("resourceId").and_then(serde_json::Value::as_str));
        for id in ids {
            let entry = latest
                .entry(id.to_string())
                .or_insert((when, actor.clone()));
            if when >= entry.0 {
                *entry = (when, actor.clone());
            }
        }
    }
    for change in changes {
        // A contained object's id is `{parent}/{id}`; the log names the object itself.
        let own = change.graph_id.rsplit('/').next().unwrap_or_default();
        if let Some((_, actor)) = latest.get(own) {
            change.changed_by = Some(actor.clone());
        }
    }
}

/// The person (or app) behind an audit event.
fn actor_of(event: &serde_json::Value) -> Option<String> {
    let actor = event.get("actor")?;
    let field = |k: &str| {
        actor
            .get(k)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
    };
    field("userPrincipalName")
        .or_else(|| field("applicationDisplayName"))
        .or_else(|| field("servicePrincipalName"))
        .map(str::to_string)
        .or_else(|| field("applicationId").map(|id| format!("application {id}")))
}

/// The items of types this capture could read, as the diff engine takes them.
fn readable<'a>(
    items: &'a [entity::snapshot_items::Model],
    unread: &[&str],
) -> Vec<compare::Captured<'a>> {
    items
        .iter()
        .filter(|i| !unread.contains(&i.policy_type.as_str()))
        .map(content::as_captured)
        .collect()
}

/// Reads every type into `sink`; returns the types whose objects could not be read.
async fn capture(
    execution: &Execution,
    contracts: &[&'static Contract],
    sink: Sink,
) -> Result<Vec<&'static str>, ExecError> {
    let mut unread = Vec::new();
    let client = client_for(execution, execution.run.tenant_id).await?;
    let graph: ReadOnlyGraph = client.read_only();
    let done = execution.finished_items().await?;
    let mut breaker = OutageBreaker::new(execution);
    let mut pending = Pending::new();
    // Every type's first page in a few `$batch` round trips; the rest per type below.
    let mut firsts = graph.first_pages(contracts).await;
    for contract in contracts {
        execution.check_lease()?;
        let listed = if breaker.is_open() {
            Err(None)
        } else {
            let listed = graph.list_prefetched(contract, &mut firsts).await;
            breaker.observe(listed.as_ref().err());
            listed.map_err(Some)
        };
        let objects = match listed {
            Ok(objects) => objects,
            Err(Some(error)) if is_fatal(&error) => return Err(ExecError::Failed(safe(&error))),
            Err(error) => {
                // One type failing must not lose the others: record it and go on.
                let error = error.map(|e| safe(&e)).unwrap_or_else(|| breaker.error());
                pending.results.push(ItemResult {
                    status: RunItemStatus::Failed,
                    action: Some(ItemAction::List),
                    error_code: Some(error.code),
                    error_message: Some(error.message),
                    error_context: error.context,
                    ..ItemResult::succeeded(contract.key, contract.key, contract.label)
                });
                unread.push(contract.key);
                pending.flush_if_due(execution, &sink).await?;
                continue;
            }
        };
        let mut seen = HashSet::new();
        for n in objects {
            let Some(source_id) = n.source_id else {
                continue;
            };
            let key = item_key(contract.key, &source_id);
            seen.insert(key.clone());
            if done.contains(&key) {
                continue;
            }
            let result = ItemResult {
                result_graph_id: Some(source_id.clone()),
                ..ItemResult::succeeded(&key, contract.key, &n.display_name)
            };
            let object = CapturedObject {
                policy_type: contract.key.to_string(),
                source_id,
                display_name: n.display_name,
                payload: n.payload,
                assignments: n.assignments,
                content_hash: n.content_hash,
            };
            pending.push(result, object);
            pending.flush_if_due(execution, &sink).await?;
        }
        if let Sink::BackupSet { previous, .. } = &sink {
            mark_missing(execution, contract, previous, &seen, &done, &mut pending).await?;
        }
        pending.flush_if_due(execution, &sink).await?;
    }
    pending.flush(execution, &sink).await?;
    Ok(unread)
}

/// Captured objects and item results waiting to be stored and recorded together: a few
/// statements and one progress event per batch rather than several per object. A batch is
/// written once it holds [`FLUSH_ITEMS`] items, about [`FLUSH_BYTES`] of JSON (large
/// objects: a worker's memory grows with what its captures hold) or is [`FLUSH_EVERY`]
/// old, so progress still moves on a long capture; an attempt that dies before writing one
/// reads those objects again when the run resumes.
struct Pending {
    /// Objects to store, each with its result (its stored row's id filled in on storing).
    objects: Vec<(ItemResult, CapturedObject)>,
    /// Roughly how much JSON `objects` hold.
    bytes: usize,
    /// Results with nothing to store (a type that could not be read, a missing object).
    results: Vec<ItemResult>,
    since: std::time::Instant,
}

const FLUSH_ITEMS: usize = 200;
const FLUSH_BYTES: usize = 256 * 1024;
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl Pending {
    fn new() -> Self {
        Self {
            objects: Vec::new(),
            bytes: 0,
            results: Vec::new(),
            since: std::time::Instant::now(),
        }
    }

    fn push(&mut self, result: ItemResult, object: CapturedObject) {
        self.bytes += approx_len(&object.payload) + approx_len(&object.assignments);
        self.objects.push((result, object));
    }

    async fn flush_if_due(&mut self, execution: &Execution, sink: &Sink) -> Result<(), ExecError> {
        if self.objects.len() + self.results.len() >= FLUSH_ITEMS
            || self.bytes >= FLUSH_BYTES
            || self.since.elapsed() >= FLUSH_EVERY
        {
            self.flush(execution, sink).await?;
        }
        Ok(())
    }

    /// Stores the objects, then records every result.
    async fn flush(&mut self, execution: &Execution, sink: &Sink) -> Result<(), ExecError> {
        self.since = std::time::Instant::now();
        self.bytes = 0;
        let objects = std::mem::take(&mut self.objects);
        let mut results = std::mem::take(&mut self.results);
        let db = &execution.services().db;
        match sink {
            Sink::Snapshot(snapshot) => {
                let stored: Vec<(ItemResult, CapturedObject)> = objects
                    .into_iter()
                    .map(|(result, object)| {
                        let result = ItemResult {
                            action: Some(ItemAction::Captured),
                            ..result
                        };
                        (result, object)
                    })
                    .collect();
                let statuses: Vec<RunItemStatus> = (results.iter().map(|r| r.status))
                    .chain(stored.iter().map(|(r, _)| r.status))
                    .collect();
                return execution
                    .record_with(&statuses, |db| {
                        content::add_snapshot_items_recorded(
                            db,
                            snapshot,
                            &execution.run,
                            stored,
                            results,
                        )
                    })
                    .await;
            }
            Sink::BackupSet { set, .. } => {
                for (result, object) in objects {
                    let (outcome, item) =
                        content::sync_backup_item(db, set, &object, execution.run.id).await?;
                    let action = match outcome {
                        SyncOutcome::Added => ItemAction::Added,
                        SyncOutcome::NewVersion => ItemAction::NewVersion,
                        SyncOutcome::Unchanged => ItemAction::Unchanged,
                    };
                    results.push(ItemResult {
                        action: Some(action),
                        source_ref: Some(item.id),
                        ..result
                    });
                }
            }
        }
        execution.record_all(results).await
    }
}

/// Objects of this type in the set that the tenant no longer has: kept, marked missing.
async fn mark_missing(
    execution: &Execution,
    contract: &Contract,
    previous: &HashMap<String, backup_items::Model>,
    seen: &HashSet<String>,
    done: &HashSet<String>,
    pending: &mut Pending,
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    for (key, item) in previous {
        if item.policy_type != contract.key || seen.contains(key) || done.contains(key) {
            continue;
        }
        content::mark_backup_item_missing(db, execution.scope(), item.id).await?;
        pending.results.push(ItemResult {
            item_key: key.clone(),
            policy_type: item.policy_type.clone(),
            display_name: item.display_name.clone(),
            source_ref: Some(item.id),
            status: RunItemStatus::Skipped,
            action: Some(ItemAction::Missing),
            error_code: None,
            error_message: Some("no longer in the tenant; kept in the backup set".into()),
            error_context: None,
            match_kind: None,
            diff: None,
            result_graph_id: Some(item.source_id.clone()),
        });
    }
    Ok(())
}

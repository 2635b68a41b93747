//! What templates display, prepared in Rust: labels, status badges (text and symbol, never
//! colour alone), times and progress.

use chrono::{DateTime, Utc};
use entity::enums::{Role, RunOperation, RunStatus};
use entity::{runs, tenants};
use uuid::Uuid;

use crate::store::TenantScope;

pub fn operation_label(op: RunOperation) -> &'static str {
    crate::runs::lifecycle::operation_label(op)
}

/// A policy type's label, e.g. "Settings catalog policy" (the key itself if unknown).
pub fn policy_type_label(key: &str) -> String {
    crate::graph::registry::get(key).map_or_else(|| key.to_string(), |c| c.label.to_string())
}

/// An item's stored payload and assignments, pretty-printed for its "Show JSON" block.
pub fn item_json(payload: &serde_json::Value, assignments: &serde_json::Value) -> String {
    pretty(&serde_json::json!({"payload": payload, "assignments": assignments}))
}

pub fn run_path(tenant_id: Uuid, run_id: Uuid) -> String {
    format!("/tenants/{tenant_id}/runs/{run_id}")
}

/// `2026-11-27 03:10:05 UTC`.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `just now`, `5 min ago`, `3 h ago`, `12 days ago`.
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_string(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => match secs / 86400 {
            1 => "1 day ago".to_string(),
            days => format!("{days} days ago"),
        },
    }
}

pub fn opt_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "—".to_string())
}

/// `4.2 s`, `3 min 5 s`, `1 h 2 min`.
pub fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ms = (to - from).num_milliseconds().max(0);
    let secs = ms / 1000;
    if secs < 60 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// A status as a badge: a symbol and a word, with a colour only as a third cue.
#[derive(Debug, Clone)]
pub struct Badge {
    pub class: &'static str,
    pub symbol: &'static str,
    pub label: String,
}

impl Badge {
    pub fn run(status: RunStatus) -> Self {
        let (class, symbol) = match status {
            RunStatus::Queued => ("queued", "◷"),
            RunStatus::Running => ("running", "▶"),
            RunStatus::Succeeded => ("ok", "✓"),
            RunStatus::Failed => ("bad", "✗"),
            RunStatus::Partial => ("warn", "◐"),
            RunStatus::Canceled => ("muted", "■"),
        };
        Self {
            class,
            symbol,
            label: status.as_str().replace('_', " "),
        }
    }

    /// An item's status or action (`would_create`, `conflict`, …).
    pub fn word(word: &str) -> Self {
        let (class, symbol) = match word {
            "succeeded"
            | "created"
            | "updated"
            | "assignments_updated"
            | "captured"
            | "reverted"
            | "deleted"
            | "would_create" => ("ok", "✓"),
            "would_update" => ("warn", "✎"),
            "unchanged" | "skipped" | "skip" => ("muted", "="),
            "failed" | "conflict" | "not_attempted" => ("bad", "✗"),
            "running" => ("running", "▶"),
            "pending" => ("queued", "◷"),
            _ => ("muted", "•"),
        };
        Self {
            class,
            symbol,
            label: word.replace('_', " "),
        }
    }
}

/// Items done of total.
#[derive(Debug, Clone)]
pub struct Progress {
    pub done: i32,
    pub total: i32,
    pub percent: i32,
    /// False while the total is still growing (a capture discovers its items as it lists
    /// them): the bar then shows activity, not a fraction.
    pub known_total: bool,
    /// `12 of 40 items`, `20 items so far` or `counting items…`.
    pub text: String,
}

impl Progress {
    pub fn of(run: &runs::Model) -> Self {
        let done = run.succeeded_items + run.failed_items + run.skipped_items;
        let total = run.total_items.max(done);
        let active = !run.status.is_terminal();
        let known_total = !(active && done >= total);
        let percent = if total > 0 { done * 100 / total } else { 0 };
        let text = match (total, known_total) {
            (0, _) if active => "counting items…".to_string(),
            (0, _) => "no items".to_string(),
            (_, false) => format!("{done} items so far"),
            (_, true) => format!("{done} of {total} items"),
        };
        Self {
            done,
            total,
            percent,
            known_total,
            text,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TenantLink {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub can_operate: bool,
    pub can_admin: bool,
    /// Set while the tenant is disabled.
    pub disabled: bool,
    /// What the user's membership granted, for pages that read each tenant's runs.
    pub scope: TenantScope,
}

impl TenantLink {
    pub fn new(tenant: &tenants::Model, role: Role, scope: TenantScope) -> Self {
        Self {
            id: tenant.id,
            name: tenant.name.clone(),
            role: role.as_str().to_string(),
            can_operate: role.allows(Role::Operator),
            can_admin: role.allows(Role::Admin),
            disabled: tenant.disabled_at.is_some(),
            scope,
        }
    }
}

/// A run id as lists show it: the id's random tail (`…3f9a2c41`). Its head is a timestamp,
/// the same for runs started together, so it would not tell them apart.
pub fn short_id(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("…{}", &hex[hex.len() - 8..])
}

/// One run in a list.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: Uuid,
    pub short_id: String,
    pub url: String,
    pub operation: &'static str,
    pub badge: Badge,
    pub active: bool,
    pub queued_at: String,
    pub finished_at: String,
    pub took: String,
    pub progress: Progress,
    pub initiator: String,
    pub summary: String,
}

impl RunRow {
    pub fn new(run: &runs::Model, initiator: &str) -> Self {
        let took = match (run.started_at, run.finished_at) {
            (Some(start), Some(end)) => duration(start, end),
            (Some(start), None) => format!("{} so far", duration(start, Utc::now())),
            _ => "—".to_string(),
        };
        Self {
            id: run.id,
            short_id: short_id(run.id),
            url: run_path(run.tenant_id, run.id),
            operation: operation_label(run.operation),
            badge: Badge::run(run.status),
            active: !run.status.is_terminal(),
            queued_at: time(run.queued_at),
            finished_at: opt_time(run.finished_at),
            took,
            progress: Progress::of(run),
            initiator: initiator.to_string(),
            summary: run.summary.clone().unwrap_or_default(),
        }
    }
}

/// A run in the header's active-runs widget.
#[derive(Debug, Clone)]
pub struct ActiveRunRow {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub run: RunRow,
}

impl ActiveRunRow {
    pub fn new(run: &runs::Model, tenant_name: &str) -> Self {
        Self {
            tenant_id: run.tenant_id,
            tenant_name: tenant_name.to_string(),
            run: RunRow::new(run, ""),
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Pretty-printed JSON for a `<pre>` block.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            duration(t0, t0 + chrono::Duration::milliseconds(4200)),
            "4.2 s"
        );
        assert_eq!(
            duration(t0, t0 + chrono::Duration::seconds(185)),
            "3 min 5 s"
        );
        assert_eq!(
            duration(t0, t0 + chrono::Duration::seconds(3720)),
            "1 h 2 min"
        );
        assert_eq!(duration(t0 + chrono::Duration::seconds(1), t0), "0.0 s");
    }

    #[test]
    fn progress_says_so_when_the_total_is_still_growing() {
        let mut run = runs::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            operation: RunOperation::CaptureSnapshot,
            target_type: entity::enums::TargetType::Tenant,
            target_id: Uuid::nil(),
            selection_digest: String::new(),
            status: RunStatus::Running,
            initiator_id: Uuid::nil(),
            parent_run_id: None,
            params: serde_json::json!({}),
            attempt: 1,
            progress_attempt: 0,
            max_attempts: 3,
            lease_owner: None,
            lease_token: None,
            heartbeat_at: None,
            queued_at: Utc::now(),
            started_at: None,
            finished_at: None,
            deadline_at: None,
            total_items: 0,
            succeeded_items: 0,
            failed_items: 0,
            skipped_items: 0,
            created_items: 0,
            updated_items: 0,
            unchanged_items: 0,
            conflict_items: 0,
            deleted_items: 0,
            pre_restore_snapshot_id: None,
            error_code: None,
            error_context: None,
            summary: None,
            updated_at: Utc::now(),
        };
        assert_eq!(Progress::of(&run).text, "counting items…");
        (run.total_items, run.succeeded_items) = (20, 20);
        let p = Progress::of(&run);
        assert_eq!((p.text.as_str(), p.known_total), ("20 items so far", false));
        (run.total_items, run.succeeded_items, run.failed_items) = (40, 11, 1);
        let p = Progress::of(&run);
        assert_eq!((p.text.as_str(), p.percent), ("12 of 40 items", 30));
        run.status = RunStatus::Succeeded;
        (run.total_items, run.succeeded_items, run.failed_items) = (40, 40, 0);
        assert_eq!(Progress::of(&run).text, "40 of 40 items");
        run.total_items = 0;
        run.succeeded_items = 0;
        assert_eq!(Progress::of(&run).text, "no items");
    }

    #[test]
    fn badges_carry_words_not_only_colours() {
        let b = Badge::run(RunStatus::Partial);
        assert_eq!((b.symbol, b.label.as_str()), ("◐", "partial"));
        let b = Badge::word("would_update");
        assert_eq!(b.label, "would update");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}

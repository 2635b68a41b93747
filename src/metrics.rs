//! Prometheus metrics: the process-wide counters and histograms, rendered in the text
//! exposition format 0.0.4. A leaf: it knows no other module; the `/metrics` scrape, with
//! the gauges read at scrape time, is the web layer's (`web::health`).
//!
//! Hand-written rather than a client crate: every label set here is a small, fixed
//! vocabulary (operation, status, queue, outcome, class, action), so a few atomics and a
//! mutex-guarded map render exactly the 0.0.4 text format without another dependency.
//! Label values are never tenant names or ids (cardinality) and never secrets.
//!
//! Statics are process-wide on purpose: `policyvault all` runs web and worker in one process
//! and both scrapes then show the same counters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Run duration buckets, in seconds: runs take seconds (a small tenant) to an hour.
const DURATION_BUCKETS: [f64; 11] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

/// A counter family keyed by its label values (in the order of `labels`).
struct CounterVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Vec<&'static str>, u64>>,
}

impl CounterVec {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self {
            name,
            help,
            labels,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn inc(&self, values: &[&'static str]) {
        self.add(values, 1);
    }

    fn add(&self, values: &[&'static str], n: u64) {
        debug_assert_eq!(values.len(), self.labels.len());
        if let Ok(mut map) = self.values.lock() {
            *map.entry(values.to_vec()).or_default() += n;
        }
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        let Ok(map) = self.values.lock() else { return };
        for (values, n) in map.iter() {
            let _ = writeln!(out, "{}{} {n}", self.name, label_set(self.labels, values));
        }
    }
}

/// A counter without labels.
struct Counter {
    name: &'static str,
    help: &'static str,
    value: AtomicU64,
}

impl Counter {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            value: AtomicU64::new(0),
        }
    }

    fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        let _ = writeln!(out, "{} {}", self.name, self.value.load(Ordering::Relaxed));
    }
}

/// A counter of seconds, kept in nanoseconds so concurrent adds need no lock.
struct SecondsCounter {
    name: &'static str,
    help: &'static str,
    nanos: AtomicU64,
}

impl SecondsCounter {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            nanos: AtomicU64::new(0),
        }
    }

    fn add(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        let secs = self.nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{} {secs}", self.name);
    }
}

#[derive(Default)]
struct HistogramData {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// A histogram family with one label, on [`DURATION_BUCKETS`].
struct HistogramVec {
    name: &'static str,
    help: &'static str,
    label: &'static str,
    values: Mutex<BTreeMap<&'static str, HistogramData>>,
}

impl HistogramVec {
    const fn new(name: &'static str, help: &'static str, label: &'static str) -> Self {
        Self {
            name,
            help,
            label,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn observe(&self, value: &'static str, v: f64) {
        let v = v.max(0.0);
        let Ok(mut map) = self.values.lock() else {
            return;
        };
        let data = map.entry(value).or_default();
        let slot = DURATION_BUCKETS
            .iter()
            .position(|le| v <= *le)
            .unwrap_or(DURATION_BUCKETS.len());
        data.buckets[slot] += 1;
        data.sum += v;
        data.count += 1;
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        let Ok(map) = self.values.lock() else { return };
        let (name, label) = (self.name, self.label);
        for (value, data) in map.iter() {
            let value = escape(value);
            let mut cumulative = 0;
            for (i, n) in data.buckets.iter().enumerate() {
                cumulative += n;
                let le = DURATION_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), f64::to_string);
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{label}=\"{value}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(out, "{name}_sum{{{label}=\"{value}\"}} {}", data.sum);
            let _ = writeln!(out, "{name}_count{{{label}=\"{value}\"}} {}", data.count);
        }
    }
}

/// The `# HELP` and `# TYPE` lines of a family.
pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn label_set(names: &[&str], values: &[&str]) -> String {
    let pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

static RUNS_STARTED: CounterVec = CounterVec::new(
    "policyvault_runs_started_total",
    "Runs queued by a start (not counting de-duplicated starts).",
    &["operation"],
);
static RUNS_DEDUPLICATED: CounterVec = CounterVec::new(
    "policyvault_runs_deduplicated_total",
    "Starts answered with an identical run that was already queued or running.",
    &["operation"],
);
static RUNS_FINISHED: CounterVec = CounterVec::new(
    "policyvault_runs_finished_total",
    "Runs that reached a terminal state, by terminal status.",
    &["operation", "status"],
);
static RUN_DURATION: HistogramVec = HistogramVec::new(
    "policyvault_run_duration_seconds",
    "Time from a run's start (or queueing, if it never started) to its terminal state.",
    "operation",
);
static RUN_ITEMS: CounterVec = CounterVec::new(
    "policyvault_run_items_total",
    "Run items recorded, by outcome (item status).",
    &["outcome"],
);
static REAPER_ACTIONS: CounterVec = CounterVec::new(
    "policyvault_reaper_actions_total",
    "What the reaper did: timed_out, requeued, worker_lost, repushed.",
    &["action"],
);
static GRAPH_REQUESTS: CounterVec = CounterVec::new(
    "policyvault_graph_requests_total",
    "HTTP requests sent to Graph by answer class (2xx..5xx, or error for no answer).",
    &["class"],
);
static GRAPH_THROTTLED: Counter = Counter::new(
    "policyvault_graph_throttled_total",
    "429 answers received from Graph ($batch sub-responses count).",
);
static GRAPH_RETRIES: Counter = Counter::new(
    "policyvault_graph_retries_total",
    "Graph requests retried after a retryable failure.",
);
static GRAPH_LIMITER_WAIT: SecondsCounter = SecondsCounter::new(
    "policyvault_graph_limiter_wait_seconds_total",
    "Time spent waiting for admission by the fleet-wide Graph rate limiter.",
);
static GRAPH_BACKOFF: SecondsCounter = SecondsCounter::new(
    "policyvault_graph_backoff_seconds_total",
    "Time spent in backoff between Graph request attempts.",
);

/// A start queued a new run.
pub fn run_started(operation: &'static str) {
    RUNS_STARTED.inc(&[operation]);
}

/// A start was answered with an existing active run.
pub fn run_deduplicated(operation: &'static str) {
    RUNS_DEDUPLICATED.inc(&[operation]);
}

/// A run reached a terminal state after `duration`.
pub fn run_finished(operation: &'static str, status: &'static str, duration: Duration) {
    RUNS_FINISHED.inc(&[operation, status]);
    RUN_DURATION.observe(operation, duration.as_secs_f64());
}

/// An item of a run was recorded with this status.
pub fn run_item(outcome: &'static str) {
    RUN_ITEMS.inc(&[outcome]);
}

/// The reaper did `n` times `action`.
pub fn reaper_actions(action: &'static str, n: u32) {
    if n > 0 {
        REAPER_ACTIONS.add(&[action], u64::from(n));
    }
}

/// A Graph answer with this HTTP status, or `None` when no answer came (timeout, lost
/// connection).
pub fn graph_response(status: Option<u16>) {
    let class = match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => "error",
    };
    GRAPH_REQUESTS.inc(&[class]);
}

pub fn graph_throttled() {
    GRAPH_THROTTLED.add(1);
}

pub fn graph_retry() {
    GRAPH_RETRIES.add(1);
}

pub fn graph_limiter_wait(d: Duration) {
    GRAPH_LIMITER_WAIT.add(d);
}

pub fn graph_backoff(d: Duration) {
    GRAPH_BACKOFF.add(d);
}

/// The counters and histograms of this process in the text format.
pub fn render_counters() -> String {
    let mut out = String::new();
    RUNS_STARTED.render(&mut out);
    RUNS_DEDUPLICATED.render(&mut out);
    RUNS_FINISHED.render(&mut out);
    RUN_DURATION.render(&mut out);
    RUN_ITEMS.render(&mut out);
    REAPER_ACTIONS.render(&mut out);
    GRAPH_REQUESTS.render(&mut out);
    GRAPH_THROTTLED.render(&mut out);
    GRAPH_RETRIES.render(&mut out);
    GRAPH_LIMITER_WAIT.render(&mut out);
    GRAPH_BACKOFF.render(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_in_inf() {
        let h = HistogramVec::new("h_seconds", "help", "operation");
        h.observe("x", 0.5);
        h.observe("x", 20.0);
        h.observe("x", 1e6);
        let mut out = String::new();
        h.render(&mut out);
        assert!(
            out.contains("h_seconds_bucket{operation=\"x\",le=\"1\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("h_seconds_bucket{operation=\"x\",le=\"30\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("h_seconds_bucket{operation=\"x\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("h_seconds_count{operation=\"x\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("# TYPE h_seconds histogram\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            label_set(&["a", "b"], &["x\"y", "z\\"]),
            r#"{a="x\"y",b="z\\"}"#
        );
    }
}

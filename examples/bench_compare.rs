//! Benchmark of the diff engine (`graph::compare`): two captures of N settings-catalog
//! policies with S settings each (nested choice children included). The right side has its
//! settings in another order, a changed nested value in 10 % of the policies, 2 % of the
//! policies removed and 2 % added; it is compared in one tenant (by id) and across tenants
//! (by name). Pure CPU: no database, Redis or Graph.
//!
//! Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release --example bench_compare -- --objects 2000 --settings 20
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use policyvault::graph::compare::{self, Captured, ChangeKind, Pairing};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "The diff engine: two captures of N policies compared")]
struct Args {
    /// Policies on each side.
    #[arg(long, env = "PV_BENCH_OBJECTS", default_value_t = 2000)]
    objects: usize,
    /// Settings per policy (each with one nested child).
    #[arg(long, default_value_t = 20)]
    settings: usize,
    /// Timed repetitions (the best and the median are printed).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

fn setting(def: usize, value: usize, child: usize) -> Value {
    json!({"settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": format!("device_vendor_msft_policy_config_setting_{def:03}"),
        "choiceSettingValue": {"value": format!("device_vendor_msft_policy_config_setting_{def:03}_{value}"), "children": [{
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": format!("device_vendor_msft_policy_config_setting_{def:03}_child"),
            "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue", "value": child}}]}}})
}

fn policy(n: usize, settings: usize, changed: bool, reversed: bool) -> Value {
    let mut list: Vec<Value> = (0..settings)
        .map(|s| setting(s, 1, if changed && s == settings / 2 { 9 } else { 1 }))
        .collect();
    if reversed {
        list.reverse();
    }
    json!({"name": format!("Policy {n:05}"), "description": "benchmark", "platforms": "windows10",
        "technologies": "mdm", "roleScopeTagIds": ["0"], "settings": list})
}

struct Side {
    ids: Vec<String>,
    names: Vec<String>,
    payloads: Vec<Value>,
    assignments: Value,
}

impl Side {
    fn captured(&self) -> Vec<Captured<'_>> {
        (0..self.ids.len())
            .map(|i| Captured {
                policy_type: "configurationPolicies",
                graph_id: &self.ids[i],
                display_name: &self.names[i],
                payload: &self.payloads[i],
                assignments: &self.assignments,
            })
            .collect()
    }
}

fn side(args: &Args, right: bool) -> Side {
    let mut out = Side {
        ids: Vec::new(),
        names: Vec::new(),
        payloads: Vec::new(),
        assignments: json!([{"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}]),
    };
    let removed = args.objects / 50;
    for n in 0..args.objects {
        // The right side lacks the first 2 % and has 2 % new ones at the end.
        let id = if right { n + removed } else { n };
        let changed = right && id % 10 == 0;
        out.ids.push(format!("{id:08}-0000-4000-8000-000000000000"));
        out.names.push(format!("Policy {id:05}"));
        out.payloads.push(policy(id, args.settings, changed, right));
    }
    out
}

fn time(repeat: usize, mut f: impl FnMut() -> usize) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(repeat);
    let mut result = 0;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        result = f();
        times.push(started.elapsed());
    }
    times.sort();
    (times[0], times[times.len() / 2], result)
}

fn main() {
    let args = Args::parse();
    let (left, right) = (side(&args, false), side(&args, true));
    let (l, r) = (left.captured(), right.captured());
    let changes = compare::compare(&l, &r, &Pairing::ById);
    let count = |k: ChangeKind| changes.iter().filter(|c| c.change == k).count();
    println!(
        "== Diff engine: {} policies x {} settings (+ a nested child each) per side",
        args.objects, args.settings
    );
    println!(
        "   right side: settings reversed, 10 % with a changed nested value, 2 % removed, 2 % added"
    );
    println!(
        "   changes found: {} changed, {} added, {} removed",
        count(ChangeKind::Changed),
        count(ChangeKind::Added),
        count(ChangeKind::Removed)
    );
    let (best, median, n) = time(args.repeat, || {
        compare::compare(&l, &r, &Pairing::ById).len()
    });
    println!(
        "   one tenant (by id):      best {:>7.1} ms, median {:>7.1} ms ({n} changes)",
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3
    );
    let mapped = |_: &str, _: &str| None;
    let (best, median, n) = time(args.repeat, || {
        compare::compare(&l, &r, &Pairing::Across { mapped: &mapped }).len()
    });
    println!(
        "   across tenants (names):  best {:>7.1} ms, median {:>7.1} ms ({n} changes)",
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3
    );
    println!("   target: under 5,000 ms for 2,000 x 2,000 objects");
}

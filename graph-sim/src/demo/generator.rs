//! The seeded generator behind every demo value, and the per-tenant builder state.

use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::collections::{CollectionSpec, SingletonSpec, by_path};
use crate::store::graph_time;

fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(super) struct Gen {
    pub(super) rng: StdRng,
    base: DateTime<Utc>,
}

impl Gen {
    pub(super) fn new(seed: &str) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed_of(seed)),
            base: Utc
                .with_ymd_and_hms(2024, 3, 4, 8, 0, 0)
                .single()
                .unwrap_or_else(Utc::now),
        }
    }
    pub(super) fn guid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.r#gen())
            .into_uuid()
            .to_string()
    }
    pub(super) fn time(&mut self) -> String {
        let mins = self.rng.gen_range(0..60 * 24 * 400);
        graph_time(self.base + Duration::minutes(mins))
    }
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    pub(super) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.gen_range(lo..=hi)
    }
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).unwrap_or(&items[0])
    }
}

pub(super) fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

pub(super) fn title(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Per-tenant context for building objects.
pub(super) struct TenantGen {
    pub(super) g: Gen,
    pub(super) groups: Vec<String>,
    pub(super) filters: Vec<String>,
    pub(super) org: String,
    pub(super) objects: Vec<(&'static CollectionSpec, Value)>,
    pub(super) singletons: Vec<(&'static SingletonSpec, Map<String, Value>)>,
}

impl TenantGen {
    fn spec(path: &str) -> &'static CollectionSpec {
        by_path(path).unwrap_or(&crate::collections::COLLECTIONS[0])
    }

    pub(super) fn push(&mut self, path: &str, obj: Value) {
        self.objects.push((Self::spec(path), obj));
    }

    /// Sets properties of the singleton at `path` (a name from the singleton table).
    pub(super) fn set_singleton(&mut self, path: &str, value: Value) {
        if let (Some(spec), Value::Object(m)) = (crate::collections::singleton(path), value) {
            self.singletons.push((spec, m));
        }
    }

    /// 0–3 assignments to the tenant's groups (sometimes all devices/users, an exclusion, a
    /// filter).
    pub(super) fn assignments(
        &mut self,
        extra: impl Fn(&mut Gen) -> Map<String, Value>,
    ) -> Vec<Value> {
        let n = self.g.range(0, 3);
        let mut out = Vec::new();
        let mut used = Vec::new();
        for i in 0..n {
            let roll = self.g.range(0, 9);
            let target = if i == 0 && roll == 0 {
                json!({"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"})
            } else if i == 0 && roll == 1 {
                json!({"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"})
            } else {
                let grp = self.g.pick(&self.groups).clone();
                if used.contains(&grp) {
                    continue;
                }
                used.push(grp.clone());
                let ty = if i > 0 && roll < 2 {
                    "exclusionGroupAssignmentTarget"
                } else {
                    "groupAssignmentTarget"
                };
                json!({"@odata.type": format!("#microsoft.graph.{ty}"), "groupId": grp})
            };
            let mut target = target.as_object().cloned().unwrap_or_default();
            if !self.filters.is_empty()
                && self.g.chance(0.25)
                && !target["@odata.type"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("exclusion")
            {
                let f = self.g.pick(&self.filters).clone();
                target.insert("deviceAndAppManagementAssignmentFilterId".into(), json!(f));
                target.insert(
                    "deviceAndAppManagementAssignmentFilterType".into(),
                    json!("include"),
                );
            }
            let mut a = extra(&mut self.g);
            a.insert("target".into(), Value::Object(target));
            out.push(Value::Object(a));
        }
        out
    }

    pub(super) fn plain_assignments(&mut self) -> Vec<Value> {
        self.assignments(|_| Map::new())
    }
}

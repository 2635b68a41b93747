//! References between restored objects: a type's payload may name objects of the types its
//! contract lists in `references` (a conditional access policy's named locations, a settings
//! catalog policy's reusable settings, an app configuration's apps). Those are restored
//! first; before an item is decided, every string of its payload that is the source id of
//! such an object with a mapping in the target is rewritten to the target's id.

use std::collections::HashMap;

use serde_json::Value;

use super::claims::Context;
use super::decide::{Failure, store_failure};
use super::plan::SourceItem;
use crate::graph::Contract;
use crate::store::content;

/// The item with its references rewritten, or `None` when nothing changes (no references,
/// the same tenant, or no mapped object named).
pub(super) async fn rewrite(
    ctx: &Context<'_>,
    contract: &Contract,
    item: &SourceItem,
) -> Result<Option<SourceItem>, Failure> {
    if contract.references.is_empty() || ctx.plan.same_tenant() {
        return Ok(None);
    }
    let mut ids = Vec::new();
    guid_strings(&item.payload, &mut ids);
    ids.sort();
    ids.dedup();
    let mut targets: HashMap<String, String> = HashMap::new();
    for id in ids {
        for referenced in contract.references {
            let mapped = content::mapping(
                ctx.db(),
                &ctx.plan.source,
                referenced,
                &id,
                &ctx.plan.target,
            )
            .await
            .map_err(store_failure("object mapping"))?;
            if let Some(m) = mapped {
                targets.insert(id.clone(), m.target_graph_id);
                break;
            }
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let mut out = item.clone();
    replace(&mut out.payload, &targets);
    Ok(Some(out))
}

/// Every string of `v` that is a GUID (the ids Graph gives these objects).
fn guid_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| guid_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| guid_strings(x, out)),
        _ => {}
    }
}

fn replace(v: &mut Value, targets: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(t) = targets.get(s.as_str()) {
                *s = t.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace(x, targets)),
        Value::Object(m) => m.values_mut().for_each(|x| replace(x, targets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_mapped_ids_are_rewritten_wherever_they_sit() {
        let a = "11111111-1111-1111-1111-111111111111";
        let b = "22222222-2222-2222-2222-222222222222";
        let mut v = json!({"conditions": {"locations": {"excludeLocations": [a, b], "includeLocations": ["All"]}},
            "displayName": a, "nested": [{"id": a}]});
        let mut ids = Vec::new();
        guid_strings(&v, &mut ids);
        assert_eq!(ids.len(), 4);
        let targets = HashMap::from([(a.to_string(), "new".to_string())]);
        replace(&mut v, &targets);
        assert_eq!(
            v["conditions"]["locations"]["excludeLocations"],
            json!(["new", b])
        );
        assert_eq!(
            v["conditions"]["locations"]["includeLocations"],
            json!(["All"])
        );
        assert_eq!(v["nested"][0]["id"], "new");
    }
}

//! The deterministic demo tenants (contoso, fabrikam, northwind; ~190 objects each across
//! the supported collections, with the groups and users their assignments point at) and the built-in catalogues (intent templates, ADMX
//! definitions). Everything derives from fixed seeds, so ids, names and credentials are the
//! same on every start. The credentials are simulator-only.

mod catalogue;
mod families;
mod generator;

use serde_json::{Map, Value};

use crate::store::{Catalog, TenantCreds, TenantSeed};

pub use catalogue::templates;
use catalogue::{GpDef, gp_catalog};
use families::*;
use generator::{Gen, TenantGen, title};

pub const DEMO_TENANTS: &[&str] = &["contoso", "fabrikam", "northwind"];

/// The three demo tenants. Their ADMX definitions are added to `catalog`.
pub fn tenants(catalog: &mut Catalog) -> Vec<TenantSeed> {
    let gp = definitions(catalog);
    let templates = templates();
    DEMO_TENANTS
        .iter()
        .map(|name| tenant(name, &gp, &templates))
        .collect()
}

/// `n` estate tenants, `estate-0001` onwards, each generated like a demo tenant from a seed
/// of its own (the definitions they use are the demo tenants', added to `catalog`).
pub fn estate(catalog: &mut Catalog, n: usize) -> Vec<TenantSeed> {
    let gp = definitions(catalog);
    let templates = templates();
    (1..=n)
        .map(|i| tenant(&estate_name(i), &gp, &templates))
        .collect()
}

/// The name of estate tenant `i` (1-based).
pub fn estate_name(i: usize) -> String {
    format!("estate-{i:04}")
}

/// The ADMX definitions the generated tenants use, added to `catalog`.
fn definitions(catalog: &mut Catalog) -> Vec<GpDef> {
    let gp = gp_catalog();
    for d in &gp {
        if let Some(id) = d.def["id"].as_str() {
            catalog.definitions.insert(id.to_string(), d.def.clone());
        }
        for p in &d.presentations {
            if let Some(id) = p["id"].as_str() {
                catalog.presentations.insert(id.to_string(), p.clone());
            }
        }
    }
    gp
}

/// Simulator-only credentials of a demo tenant (stable across runs).
pub fn credentials(name: &str) -> TenantCreds {
    let mut g = Gen::new(&format!("creds:{name}"));
    let id = g.guid();
    let client_id = g.guid();
    let secret: String = (0..24).map(|_| format!("{:x}", g.range(0, 15))).collect();
    TenantCreds {
        id,
        name: name.to_string(),
        client_id,
        client_secret: format!("sim-{name}-{secret}"),
    }
}

fn tenant(name: &str, gp: &[GpDef], templates: &[Map<String, Value>]) -> TenantSeed {
    let mut g = Gen::new(&format!("tenant:{name}"));
    let groups = (0..10).map(|_| g.guid()).collect();
    let mut t = TenantGen {
        g,
        groups,
        filters: Vec::new(),
        org: title(name),
        objects: Vec::new(),
        singletons: Vec::new(),
    };
    directory(&mut t);
    filters(&mut t);
    scope_tags(&mut t);
    settings_catalog(&mut t);
    device_configurations(&mut t);
    compliance(&mut t);
    admin_templates(&mut t, gp);
    scripts(&mut t);
    autopilot(&mut t);
    update_profiles(&mut t);
    enrollment(&mut t);
    intents(&mut t, templates);
    app_configurations(&mut t);
    app_protection(&mut t);
    tenant_admin(&mut t);
    samples_for_the_rest(&mut t);
    TenantSeed {
        creds: credentials(name),
        objects: t.objects,
        singletons: t.singletons,
    }
}

/// One sample object (the shared one of `samples`) in every stored, writable collection the
/// hand-made families above leave empty: a collection added to the table is in the demo
/// tenants without more code.
fn samples_for_the_rest(t: &mut TenantGen) {
    use crate::collections::COLLECTIONS;
    for c in COLLECTIONS
        .iter()
        .filter(|c| c.storage.is_none() && !c.read_only)
    {
        if t.objects.iter().any(|(s, _)| s.path == c.path) {
            continue;
        }
        let name = format!("{} {}", t.org, title(c.base_type));
        if let Some(sample) = crate::samples::sample(c.path, &name) {
            t.push(c.path, sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::COLLECTIONS;

    #[test]
    fn demo_is_deterministic_and_covers_every_collection() {
        let mut c1 = Catalog::default();
        let mut c2 = Catalog::default();
        let a = tenants(&mut c1);
        let b = tenants(&mut c2);
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.creds.client_id, y.creds.client_id);
            assert_eq!(x.objects.len(), y.objects.len());
            assert_eq!(x.objects[10].1, y.objects[10].1);
            assert!(
                (180..=230).contains(&x.objects.len()),
                "{}",
                x.objects.len()
            );
            // Only the service (or Apple's enrollment program) fills these.
            const EXTERNAL: &[&str] = &[
                "deviceManagement/auditEvents",
                "deviceAppManagement/defaultManagedAppProtections",
                "deviceAppManagement/windowsInformationProtectionPolicies",
            ];
            for c in COLLECTIONS.iter().filter(|c| !EXTERNAL.contains(&c.path)) {
                assert!(
                    x.objects.iter().any(|(s, o)| s.home() == c.home()
                        && (c.storage.is_none() || c.admits(o.as_object().unwrap()))),
                    "{} missing {}",
                    x.creds.name,
                    c.path
                );
            }
        }
        assert_ne!(a[0].creds.client_id, a[1].creds.client_id);
        assert!(a[0].creds.client_secret.starts_with("sim-contoso-"));
    }
}

//! Demo builder: Administrative-template (ADMX) policies and their definition values.

use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::demo::catalogue::GpDef;
use crate::demo::generator::TenantGen;

pub(in crate::demo) fn admin_templates(t: &mut TenantGen, gp: &[GpDef]) {
    let names = [
        "ADMX - Microsoft Edge",
        "ADMX - Windows Update",
        "ADMX - OneDrive",
        "ADMX - Remote Desktop",
        "ADMX - Office",
        "ADMX - Security",
        "ADMX - Delivery Optimization",
        "ADMX - PowerShell logging",
    ];
    for name in names {
        let id = t.g.guid();
        let created = t.g.time();
        let n = t.g.range(2, 6) as usize;
        let mut idx: Vec<usize> = (0..gp.len()).collect();
        idx.shuffle(&mut t.g.rng);
        let dvs: Vec<Value> = idx
            .into_iter()
            .take(n)
            .map(|i| {
                let d = &gp[i];
                let pvs: Vec<Value> = d
                    .presentations
                    .iter()
                    .map(|p| {
                        let ty = p["@odata.type"].as_str().unwrap_or_default();
                        let (vt, value) = if ty.ends_with("DecimalTextBox") {
                            ("groupPolicyPresentationValueDecimal", json!(t.g.range(1, 50)))
                        } else if ty.ends_with("CheckBox") {
                            ("groupPolicyPresentationValueBoolean", json!(t.g.chance(0.5)))
                        } else if ty.ends_with("DropdownList") {
                            ("groupPolicyPresentationValueText", json!(t.g.range(0, 2).to_string()))
                        } else {
                            ("groupPolicyPresentationValueText", json!(format!("{}-value", t.org.to_lowercase())))
                        };
                        json!({"@odata.type": format!("#microsoft.graph.{vt}"), "id": t.g.guid(), "value": value,
                            "createdDateTime": created, "lastModifiedDateTime": created, "presentation": p})
                    })
                    .collect();
                json!({"id": t.g.guid(), "enabled": t.g.chance(0.85), "configurationType": "policy",
                    "createdDateTime": created, "lastModifiedDateTime": created,
                    "definition": d.def, "presentationValues": pvs})
            })
            .collect();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "roleScopeTagIds": ["0"],
            "policyConfigurationIngestionType": "builtIn",
            "definitionValues": dvs,
            "assignments": assignments,
        });
        t.push("deviceManagement/groupPolicyConfigurations", obj);
    }
}

//! Demo builder: Security intents created from the built-in templates.

use serde_json::{Map, Value, json};

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn intents(t: &mut TenantGen, templates: &[Map<String, Value>]) {
    let rows = [
        (0usize, "Windows security baseline"),
        (1, "Defender for Endpoint baseline"),
        (2, "Edge baseline"),
        (3, "Endpoint security - Antivirus"),
        (4, "Endpoint security - BitLocker"),
        (5, "Endpoint security - Firewall"),
    ];
    let defs = [
        (
            "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallBlockStatefulFTP",
            "boolean",
        ),
        (
            "deviceConfiguration--windows10EndpointProtectionConfiguration_bitLockerEncryptDevice",
            "boolean",
        ),
        (
            "deviceConfiguration--windows10GeneralConfiguration_defenderScanArchiveFiles",
            "boolean",
        ),
        (
            "deviceConfiguration--windows10GeneralConfiguration_defenderCloudBlockLevel",
            "string",
        ),
        (
            "deviceConfiguration--windows10GeneralConfiguration_defenderDaysBeforeDeletingQuarantinedMalware",
            "integer",
        ),
        (
            "deviceConfiguration--windows10EndpointProtectionConfiguration_smartScreenBlockOverrideForFiles",
            "boolean",
        ),
    ];
    for (ti, name) in rows {
        let template_id = templates
            .get(ti)
            .and_then(|t| t["id"].as_str())
            .unwrap_or_default()
            .to_string();
        let id = t.g.guid();
        let modified = t.g.time();
        let n = t.g.range(2, defs.len() as u64) as usize;
        let settings: Vec<Value> = defs
            .iter()
            .take(n)
            .map(|(def, kind)| {
                let sid = t.g.guid();
                match *kind {
                    "boolean" => {
                        let v = t.g.chance(0.7);
                        json!({"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance", "id": sid, "definitionId": def, "valueJson": v.to_string(), "value": v})
                    }
                    "integer" => {
                        let v = t.g.range(1, 90);
                        json!({"@odata.type": "#microsoft.graph.deviceManagementIntegerSettingInstance", "id": sid, "definitionId": def, "valueJson": v.to_string(), "value": v})
                    }
                    _ => json!({"@odata.type": "#microsoft.graph.deviceManagementStringSettingInstance", "id": sid, "definitionId": def, "valueJson": "\"high\"", "value": "high"}),
                }
            })
            .collect();
        let assignments = t.plain_assignments();
        let obj = json!({
            "@odata.type": "#microsoft.graph.deviceManagementIntent",
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "isAssigned": !assignments.is_empty(),
            "isMigratingToConfigurationPolicy": false,
            "lastModifiedDateTime": modified,
            "templateId": template_id,
            "roleScopeTagIds": ["0"],
            "settings": settings,
            "assignments": assignments,
        });
        t.push("deviceManagement/intents", obj);
    }
}

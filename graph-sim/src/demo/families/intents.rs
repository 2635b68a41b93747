//! Demo builder: Security intents created from the built-in templates.

use serde_json::{Map, Value, json};

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn intents(t: &mut TenantGen, templates: &[Map<String, Value>]) {
    // Template ids as Microsoft publishes them (see `catalogue::TEMPLATES`).
    let rows = [
        (
            "034ccd46-190c-4afc-adf1-ad7cc11262eb",
            "Windows security baseline",
        ),
        (
            "2209e067-9c8c-462e-9981-5a8c79165dcc",
            "Defender for Endpoint baseline",
        ),
        ("a8d6fa0e-1e66-455b-bb51-8ce0dde1559e", "Edge baseline"),
        (
            "b595dad1-920f-440e-ba12-22da622d5d92",
            "Endpoint security - Antivirus",
        ),
        (
            "d1174162-1dd2-4976-affc-6667049ab0ae",
            "Endpoint security - BitLocker",
        ),
        (
            "c53e5a9f-2eec-4175-98a1-2b3d38084b91",
            "Endpoint security - Firewall",
        ),
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
    for (wanted, name) in rows {
        let template_id = templates
            .iter()
            .find_map(|t| t["id"].as_str().filter(|id| *id == wanted))
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

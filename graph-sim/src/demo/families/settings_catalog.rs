//! Demo builder: Settings-catalog policies, each drawing its settings from the catalogue table.

use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::demo::catalogue::SETTINGS;
use crate::demo::generator::{Gen, TenantGen};

/// A setting instance for one catalogue row: an integer or a choice, drawn from `g`.
fn catalog_setting(g: &mut Gen, (area, stem, int): (&str, &str, bool)) -> Value {
    let def = format!("device_vendor_msft_policy_config_{area}_{stem}");
    if int {
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": def,
            "settingInstanceTemplateReference": null,
            "simpleSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                "settingValueTemplateReference": null,
                "value": g.range(1, 90),
            }
        }})
    } else {
        let v = if g.chance(0.7) { 1 } else { 0 };
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": def,
            "settingInstanceTemplateReference": null,
            "choiceSettingValue": {
                "settingValueTemplateReference": null,
                "value": format!("{def}_{v}"),
                "children": [],
            }
        }})
    }
}

pub(in crate::demo) fn settings_catalog(t: &mut TenantGen) {
    // (name, settings, platform, technologies, template family)
    let rows: &[(&str, usize, &str, &str, &str)] = &[
        (
            "Win - Security hardening (full)",
            60,
            "windows10",
            "mdm",
            "none",
        ),
        (
            "Win - Security baseline overrides",
            40,
            "windows10",
            "mdm",
            "none",
        ),
        (
            "Win - Defender Antivirus",
            30,
            "windows10",
            "mdm,microsoftSense",
            "endpointSecurityAntivirus",
        ),
        ("Win - Update and privacy", 26, "windows10", "mdm", "none"),
        ("Win - Edge browser", 9, "windows10", "mdm", "none"),
        ("Win - Device lock", 8, "windows10", "mdm", "none"),
        (
            "Win - Windows Update deadlines",
            10,
            "windows10",
            "mdm",
            "none",
        ),
        ("Win - Privacy", 4, "windows10", "mdm", "none"),
        (
            "Win - Local security options",
            5,
            "windows10",
            "mdm",
            "none",
        ),
        (
            "Win - Defender real-time protection",
            12,
            "windows10",
            "mdm,microsoftSense",
            "endpointSecurityAntivirus",
        ),
        (
            "Win - Defender scans",
            7,
            "windows10",
            "mdm,microsoftSense",
            "endpointSecurityAntivirus",
        ),
        ("Win - Network protection", 3, "windows10", "mdm", "none"),
        (
            "Win - Cloud protection",
            5,
            "windows10",
            "mdm,microsoftSense",
            "none",
        ),
        ("Win - Kiosk lockdown", 14, "windows10", "mdm", "none"),
        ("Win - Shared devices", 11, "windows10", "mdm", "none"),
        ("Win - Pilot ring settings", 6, "windows10", "mdm", "none"),
        ("Win - Finance department", 18, "windows10", "mdm", "none"),
        ("Win - Developers", 20, "windows10", "mdm", "none"),
        ("Win - Executives", 15, "windows10", "mdm", "none"),
        ("Win - Frontline workers", 13, "windows10", "mdm", "none"),
        ("Win - UAC", 2, "windows10", "mdm", "none"),
        ("Win - Password policy", 7, "windows10", "mdm", "none"),
        ("Win - SmartScreen", 3, "windows10", "mdm", "none"),
        ("Win - Catch-up scans", 2, "windows10", "mdm", "none"),
        ("Win - Legacy (unassigned)", 1, "windows10", "mdm", "none"),
        ("Win - Test policy O'Brien", 4, "windows10", "mdm", "none"),
    ];
    for (name, count, platform, tech, family) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let mut picks: Vec<usize> = (0..SETTINGS.len()).collect();
        if *count < SETTINGS.len() && *count != 60 {
            picks.shuffle(&mut t.g.rng);
        }
        let settings: Vec<Value> = picks
            .into_iter()
            .take(*count)
            .map(|i| catalog_setting(&mut t.g, SETTINGS[i]))
            .collect();
        let assignments = t.plain_assignments();
        let template = if *family == "none" {
            json!({"templateId": "", "templateFamily": "none", "templateDisplayName": null, "templateDisplayVersion": null})
        } else {
            json!({"templateId": "804339ad-1553-4478-a742-138fb5807418_1", "templateFamily": family, "templateDisplayName": "Microsoft Defender Antivirus", "templateDisplayVersion": "Version 1"})
        };
        let obj = json!({
            "id": id,
            "name": name,
            "description": format!("{} – {name}", t.org),
            "platforms": platform,
            "technologies": tech,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "creationSource": null,
            "roleScopeTagIds": ["0"],
            "templateReference": template,
            "priorityMetaData": null,
            "settings": settings,
            "assignments": assignments,
        });
        t.push("deviceManagement/configurationPolicies", obj);
    }
}

//! Demo builder: Windows Autopilot deployment profiles.

use serde_json::json;

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn autopilot(t: &mut TenantGen) {
    let rows = [
        (
            "azureADWindowsAutopilotDeploymentProfile",
            "Autopilot - User driven",
            "user",
        ),
        (
            "azureADWindowsAutopilotDeploymentProfile",
            "Autopilot - Self deploying",
            "shared",
        ),
        (
            "activeDirectoryWindowsAutopilotDeploymentProfile",
            "Autopilot - Hybrid join",
            "user",
        ),
        (
            "azureADWindowsAutopilotDeploymentProfile",
            "Autopilot - Kiosk",
            "shared",
        ),
    ];
    for (ty, name, mode) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "language": "os-default",
            "locale": "os-default",
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "deviceNameTemplate": format!("{}-%SERIAL%", &t.org.to_uppercase()[..3.min(t.org.len())]),
            "deviceType": "windowsPc",
            "enableWhiteGlove": true,
            "extractHardwareHash": true,
            "roleScopeTagIds": ["0"],
            "hardwareHashExtractionEnabled": true,
            "preprovisioningAllowed": true,
            "outOfBoxExperienceSettings": {"hidePrivacySettings": true, "hideEULA": true, "userType": if mode == "user" { "standard" } else { "administrator" }, "deviceUsageType": if mode == "user" { "singleUser" } else { "shared" }, "skipKeyboardSelectionPage": true, "hideEscapeLink": true},
            "enrollmentStatusScreenSettings": null,
            "assignments": assignments,
        });
        if ty.starts_with("activeDirectory")
            && let Some(o) = obj.as_object_mut()
        {
            o.insert(
                "hybridAzureADJoinSkipConnectivityCheck".into(),
                json!(false),
            );
        }
        t.push("deviceManagement/windowsAutopilotDeploymentProfiles", obj);
    }
}

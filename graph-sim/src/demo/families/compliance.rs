//! Demo builder: Compliance policies with their scheduled actions.

use serde_json::{Value, json};

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn compliance(t: &mut TenantGen) {
    let rows: Vec<(&str, &str, Value)> = vec![
        (
            "windows10CompliancePolicy",
            "Win - Compliance baseline",
            json!({"passwordRequired": true, "bitLockerEnabled": true, "secureBootEnabled": true, "osMinimumVersion": "10.0.19045"}),
        ),
        (
            "windows10CompliancePolicy",
            "Win - Defender health",
            json!({"defenderEnabled": true, "rtpEnabled": true, "antivirusRequired": true, "deviceThreatProtectionRequiredSecurityLevel": "medium"}),
        ),
        (
            "iosCompliancePolicy",
            "iOS - Compliance",
            json!({"passcodeRequired": true, "passcodeMinimumLength": 6, "securityBlockJailbrokenDevices": true, "osMinimumVersion": "16.0"}),
        ),
        (
            "macOSCompliancePolicy",
            "macOS - Compliance",
            json!({"passwordRequired": true, "storageRequireEncryption": true, "firewallEnabled": true}),
        ),
        (
            "androidWorkProfileCompliancePolicy",
            "Android - Work profile compliance",
            json!({"passwordRequired": true, "securityBlockJailbrokenDevices": true}),
        ),
        (
            "androidDeviceOwnerCompliancePolicy",
            "Android - Fully managed compliance",
            json!({"passwordRequired": true, "osMinimumVersion": "12"}),
        ),
        (
            "windows10CompliancePolicy",
            "Win - Kiosk compliance",
            json!({"passwordRequired": false, "bitLockerEnabled": true}),
        ),
        (
            "aospDeviceOwnerCompliancePolicy",
            "AOSP - Compliance",
            json!({"passwordRequired": true, "storageRequireEncryption": true}),
        ),
    ];
    for (ty, name, props) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let mut configs = vec![
            json!({"id": t.g.guid(), "gracePeriodHours": t.g.range(0, 2) * 24, "actionType": "block", "notificationTemplateId": "00000000-0000-0000-0000-000000000000", "notificationMessageCCList": []}),
        ];
        if t.g.chance(0.6) {
            configs.push(json!({"id": t.g.guid(), "gracePeriodHours": 0, "actionType": "notification", "notificationTemplateId": t.g.guid(), "notificationMessageCCList": []}));
        }
        if t.g.chance(0.3) {
            configs.push(json!({"id": t.g.guid(), "gracePeriodHours": 720, "actionType": "retire", "notificationTemplateId": "00000000-0000-0000-0000-000000000000", "notificationMessageCCList": []}));
        }
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "version": t.g.range(1, 5),
            "roleScopeTagIds": ["0"],
            "scheduledActionsForRule": [{"id": t.g.guid(), "ruleName": "PasswordRequired", "scheduledActionConfigurations": configs}],
            "assignments": assignments,
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceManagement/deviceCompliancePolicies", obj);
    }
}

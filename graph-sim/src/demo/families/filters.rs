//! Demo builder: Assignment filters, one per platform rule.

use serde_json::json;

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn filters(t: &mut TenantGen) {
    let rows = [
        (
            "Corporate Windows devices",
            "windows10AndLater",
            "(device.deviceOwnership -eq \"Corporate\")",
        ),
        (
            "Surface devices",
            "windows10AndLater",
            "(device.manufacturer -eq \"Microsoft Corporation\")",
        ),
        (
            "Windows 11 only",
            "windows10AndLater",
            "(device.osVersion -startsWith \"10.0.22\")",
        ),
        (
            "Virtual machines",
            "windows10AndLater",
            "(device.model -contains \"Virtual\")",
        ),
        (
            "Corporate iPhones",
            "iOS",
            "(device.deviceOwnership -eq \"Corporate\") and (device.model -startsWith \"iPhone\")",
        ),
        (
            "Android Enterprise fully managed",
            "androidForWork",
            "(device.enrollmentProfileName -eq \"Fully managed\")",
        ),
        (
            "macOS laptops",
            "macOS",
            "(device.model -contains \"MacBook\")",
        ),
        (
            "Kiosk devices",
            "windows10AndLater",
            "(device.deviceName -startsWith \"KIOSK-\")",
        ),
    ];
    for (name, platform, rule) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        t.filters.push(id.clone());
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} device filter", t.org),
            "platform": platform,
            "rule": rule,
            "assignmentFilterManagementType": "devices",
            "roleScopeTags": ["0"],
            "payloads": [],
            "createdDateTime": created,
            "lastModifiedDateTime": created,
        });
        t.push("deviceManagement/assignmentFilters", obj);
    }
}

//! Demo builder: App protection policies.

use serde_json::{Map, Value, json};

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn app_protection(t: &mut TenantGen) {
    let rows: Vec<(&str, &str, Value)> = vec![
        (
            "iosManagedAppProtection",
            "iOS - App protection (Level 2)",
            json!({"pinRequired": true, "minimumPinLength": 6, "dataBackupBlocked": true, "allowedOutboundDataTransferDestinations": "managedApps"}),
        ),
        (
            "iosManagedAppProtection",
            "iOS - App protection (Level 3)",
            json!({"pinRequired": true, "minimumPinLength": 8, "dataBackupBlocked": true, "allowedOutboundClipboardSharingLevel": "managedAppsWithPasteIn"}),
        ),
        (
            "iosManagedAppProtection",
            "iOS - Frontline (shared)",
            json!({"pinRequired": false, "dataBackupBlocked": true}),
        ),
        (
            "iosManagedAppProtection",
            "iOS - BYOD baseline",
            json!({"pinRequired": true, "minimumPinLength": 4}),
        ),
        (
            "androidManagedAppProtection",
            "Android - App protection (Level 2)",
            json!({"pinRequired": true, "minimumPinLength": 6, "screenCaptureBlocked": true}),
        ),
        (
            "androidManagedAppProtection",
            "Android - App protection (Level 3)",
            json!({"pinRequired": true, "minimumPinLength": 8, "screenCaptureBlocked": true, "encryptAppData": true}),
        ),
        (
            "androidManagedAppProtection",
            "Android - Frontline",
            json!({"pinRequired": false, "screenCaptureBlocked": true}),
        ),
        (
            "androidManagedAppProtection",
            "Android - BYOD baseline",
            json!({"pinRequired": true, "minimumPinLength": 4}),
        ),
        (
            "windowsManagedAppProtection",
            "Windows - Edge app protection",
            json!({"printBlocked": true, "allowedOutboundDataTransferDestinations": "allApps"}),
        ),
        (
            "targetedManagedAppConfiguration",
            "Managed apps - Outlook settings",
            json!({"customSettings": [{"name": "com.microsoft.outlook.Mail.FocusedInbox", "value": "false"}], "appGroupType": "selectedPublicApps"}),
        ),
        (
            "targetedManagedAppConfiguration",
            "Managed apps - Edge settings",
            json!({"customSettings": [{"name": "com.microsoft.intune.mam.managedbrowser.homepage", "value": "https://intranet.example.test"}], "appGroupType": "selectedPublicApps"}),
        ),
        (
            "mdmWindowsInformationProtectionPolicy",
            "WIP - Corporate data",
            json!({"enforcementLevel": "encryptAndAuditOnly", "enterpriseDomain": "example.test"}),
        ),
    ];
    let apps = [
        ("com.microsoft.office.outlook", "android"),
        ("com.microsoft.teams", "android"),
        ("com.microsoft.Office.Outlook", "ios"),
        ("com.microsoft.skype.teams", "ios"),
        ("com.microsoft.msedge", "ios"),
    ];
    for (ty, name, props) in rows {
        let id = format!("T_{}", t.g.guid());
        let created = t.g.time();
        let platform = if ty.starts_with("ios") {
            "ios"
        } else if ty.starts_with("android") {
            "android"
        } else {
            ""
        };
        let targeted: Vec<Value> = apps
            .iter()
            .filter(|(_, p)| *p == platform)
            .map(|(bundle, p)| {
                let (kind, key) = if *p == "ios" { ("iosMobileAppIdentifier", "bundleId") } else { ("androidMobileAppIdentifier", "packageId") };
                json!({"id": format!("{bundle}.{p}"), "version": format!("{}", t.g.range(1000, 9999)),
                    "mobileAppIdentifier": {"@odata.type": format!("#microsoft.graph.{kind}"), key: bundle}})
            })
            .collect();
        let assignments = t.assignments(|_| Map::new());
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "roleScopeTagIds": ["0"],
            "isAssigned": !assignments.is_empty(),
            "apps": targeted,
            "assignments": assignments,
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceAppManagement/managedAppPolicies", obj);
    }
}

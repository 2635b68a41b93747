//! Demo builder: Windows quality, feature and driver update profiles.

use serde_json::json;

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn update_profiles(t: &mut TenantGen) {
    for (name, version) in [
        (
            "Feature update - Windows 11 23H2",
            "Windows 11, version 23H2",
        ),
        (
            "Feature update - Windows 11 24H2",
            "Windows 11, version 24H2",
        ),
        (
            "Feature update - Windows 10 22H2",
            "Windows 10, version 22H2",
        ),
        ("Feature update - Pilot", "Windows 11, version 24H2"),
    ] {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id, "displayName": name, "description": format!("{} – {name}", t.org),
            "featureUpdateVersion": version, "roleScopeTagIds": ["0"],
            "deployableContentDisplayName": version, "endOfSupportDate": "2026-11-10T00:00:00Z",
            "installLatestWindows10OnWindows11IneligibleDevice": false, "installFeatureUpdatesOptional": false,
            "rolloutSettings": {"offerStartDateTimeInUTC": null, "offerEndDateTimeInUTC": null, "offerIntervalInDays": null},
            "createdDateTime": created, "lastModifiedDateTime": created,
            "assignments": assignments,
        });
        t.push("deviceManagement/windowsFeatureUpdateProfiles", obj);
    }
    for (name, release) in [
        ("Expedite - 2024-05 security update", "2024-05-14T00:00:00Z"),
        ("Expedite - 2024-08 security update", "2024-08-13T00:00:00Z"),
        ("Expedite - 2024-11 security update", "2024-11-12T00:00:00Z"),
    ] {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id, "displayName": name, "description": format!("{} – {name}", t.org),
            "roleScopeTagIds": ["0"], "releaseDateDisplayText": release,
            "expeditedUpdateSettings": {"qualityUpdateRelease": release, "daysUntilForcedReboot": t.g.range(0, 2)},
            "deployableContentDisplayName": format!("Security update {release}"),
            "createdDateTime": created, "lastModifiedDateTime": created,
            "assignments": assignments,
        });
        t.push("deviceManagement/windowsQualityUpdateProfiles", obj);
    }
    for (name, approval) in [
        ("Drivers - Automatic", "automatic"),
        ("Drivers - Manual approval", "manual"),
        ("Drivers - Pilot", "automatic"),
    ] {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "id": id, "displayName": name, "description": format!("{} – {name}", t.org),
            "approvalType": approval, "roleScopeTagIds": ["0"],
            "deviceReporting": 0, "newUpdates": 0, "inventorySyncStatus": {"lastSuccessfulSyncDateTime": created, "driverInventorySyncState": "success"},
            "createdDateTime": created, "lastModifiedDateTime": created,
            "assignments": assignments,
        });
        if approval == "automatic"
            && let Some(o) = obj.as_object_mut()
        {
            o.insert("deploymentDeferralInDays".into(), json!(t.g.range(0, 14)));
        }
        t.push("deviceManagement/windowsDriverUpdateProfiles", obj);
    }
}

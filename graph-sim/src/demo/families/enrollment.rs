//! Demo builder: Enrollment configurations, including the built-in defaults.

use serde_json::{Value, json};

use crate::collections::ALL_LICENSED_USERS_ID;

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn enrollment(t: &mut TenantGen) {
    let tenant_prefix = t.g.guid();
    let defaults: Vec<(&str, &str, &str, Value)> = vec![
        (
            "DefaultLimit",
            "deviceEnrollmentLimitConfiguration",
            "All users and all devices",
            json!({"limit": 15}),
        ),
        (
            "DefaultPlatformRestrictions",
            "deviceEnrollmentPlatformRestrictionsConfiguration",
            "All users and all devices",
            json!({"windowsRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false}, "iosRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": true}}),
        ),
        (
            "DefaultWindowsHelloForBusiness",
            "deviceEnrollmentWindowsHelloForBusinessConfiguration",
            "All users and all devices",
            json!({"state": "enabled", "pinMinimumLength": 6, "securityDeviceRequired": true}),
        ),
        (
            "DefaultWindows10EnrollmentCompletionPageConfiguration",
            "windows10EnrollmentCompletionPageConfiguration",
            "All users and all devices",
            json!({"showInstallationProgress": true, "blockDeviceSetupRetryByUser": false, "installProgressTimeoutInMinutes": 60}),
        ),
    ];
    for (suffix, ty, name, props) in defaults {
        let created = t.g.time();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": format!("{tenant_prefix}_{suffix}"),
            "displayName": name,
            "description": "This is the default enrollment configuration applied with the lowest priority to all users and all devices regardless of group membership.",
            "priority": 0,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "version": 1,
            "roleScopeTagIds": ["0"],
            "deviceEnrollmentConfigurationType": suffix.trim_start_matches("Default"),
            "assignments": [{"id": format!("{tenant_prefix}_{suffix}_{ALL_LICENSED_USERS_ID}"), "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}],
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceManagement/deviceEnrollmentConfigurations", obj);
    }
    let custom: Vec<(&str, &str, Value)> = vec![
        (
            "deviceEnrollmentLimitConfiguration",
            "Enrollment limit - Executives",
            json!({"limit": 10}),
        ),
        (
            "deviceEnrollmentPlatformRestrictionConfiguration",
            "Block personal Android",
            json!({"platformType": "android", "platformRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": true}}),
        ),
        (
            "windows10EnrollmentCompletionPageConfiguration",
            "ESP - Autopilot devices",
            json!({"showInstallationProgress": true, "blockDeviceSetupRetryByUser": true, "installProgressTimeoutInMinutes": 90, "selectedMobileAppIds": []}),
        ),
        (
            "windows10EnrollmentCompletionPageConfiguration",
            "ESP - Kiosk",
            json!({"showInstallationProgress": false, "installProgressTimeoutInMinutes": 30}),
        ),
        (
            "deviceEnrollmentWindowsHelloForBusinessConfiguration",
            "Windows Hello - Pilot",
            json!({"state": "enabled", "pinMinimumLength": 8}),
        ),
    ];
    for (i, (ty, name, props)) in custom.into_iter().enumerate() {
        let id = format!(
            "{}_{}",
            t.g.guid(),
            ty.trim_start_matches("deviceEnrollment")
        );
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "priority": i + 1,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "version": 1,
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceManagement/deviceEnrollmentConfigurations", obj);
    }
}

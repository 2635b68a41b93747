//! Demo builder: Enrollment configurations, including the built-in defaults.

use serde_json::{Value, json};

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn enrollment(t: &mut TenantGen) {
    let tenant_prefix = t.g.guid();
    // The service defaults every tenant has, tuned the way an MSP would.
    for mut obj in crate::baseline::default_enrollments(&tenant_prefix) {
        let created = t.g.time();
        if let Some(o) = obj.as_object_mut() {
            o.insert("createdDateTime".into(), json!(created));
            o.insert("lastModifiedDateTime".into(), json!(created));
            o.insert("version".into(), json!(1));
            let ty = o["@odata.type"].as_str().unwrap_or_default().to_string();
            if ty.ends_with("LimitConfiguration") {
                o.insert("limit".into(), json!(15));
            } else if ty.ends_with("WindowsHelloForBusinessConfiguration") {
                o.insert("state".into(), json!("enabled"));
                o.insert("securityDeviceRequired".into(), json!(true));
            } else if ty.ends_with("CompletionPageConfiguration") {
                o.insert("showInstallationProgress".into(), json!(true));
                o.insert("blockDeviceSetupRetryByUser".into(), json!(false));
            }
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

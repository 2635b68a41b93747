//! What every Intune tenant has from its first day, whoever creates it (demo, fixtures or
//! `PUT /_sim/tenants/{id}`): the built-in scope tag `0` "Default", the service-default
//! enrollment configurations (priority 0) and the built-in Intune role definitions.

use serde_json::{Value, json};

use crate::collections::{ALL_LICENSED_USERS_ID, CollectionSpec, by_path};
use crate::fixtures::stable_guid;

const SCOPE_TAGS: &str = "deviceManagement/roleScopeTags";
const ENROLLMENTS: &str = "deviceManagement/deviceEnrollmentConfigurations";
const ROLES: &str = "deviceManagement/roleDefinitions";

/// The service defaults: id suffix, type, `deviceEnrollmentConfigurationType`, settings.
/// (resources/intune-onboarding-deviceenrollmentconfiguration; ids are `{tenant}_{suffix}`.)
const DEFAULT_ENROLLMENTS: &[(&str, &str, &str, &str)] = &[
    (
        "DefaultLimit",
        "deviceEnrollmentLimitConfiguration",
        "limit",
        r#"{"limit": 5}"#,
    ),
    (
        "DefaultPlatformRestrictions",
        "deviceEnrollmentPlatformRestrictionsConfiguration",
        "platformRestrictions",
        r#"{"iosRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []},
            "windowsRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []},
            "windowsMobileRestriction": {"platformBlocked": true, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []},
            "androidRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []},
            "androidForWorkRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []},
            "macRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []},
            "macOSRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false, "osMinimumVersion": null, "osMaximumVersion": null, "blockedManufacturers": [], "blockedSkus": []}}"#,
    ),
    (
        "DefaultWindowsHelloForBusiness",
        "deviceEnrollmentWindowsHelloForBusinessConfiguration",
        "windowsHelloForBusiness",
        r#"{"state": "notConfigured", "pinMinimumLength": 6, "pinMaximumLength": 127, "pinUppercaseCharactersUsage": "disallowed", "pinLowercaseCharactersUsage": "disallowed", "pinSpecialCharactersUsage": "disallowed", "securityDeviceRequired": false, "unlockWithBiometricsEnabled": true, "remotePassportEnabled": true, "pinPreviousBlockCount": 0, "pinExpirationInDays": 0, "enhancedBiometricsState": "notConfigured", "securityKeyForSignIn": "notConfigured", "enhancedSignInSecurity": 0}"#,
    ),
    (
        "DefaultWindows10EnrollmentCompletionPageConfiguration",
        "windows10EnrollmentCompletionPageConfiguration",
        "windows10EnrollmentCompletionPageConfiguration",
        r#"{"showInstallationProgress": false, "blockDeviceSetupRetryByUser": true, "allowDeviceResetOnInstallFailure": false, "allowLogCollectionOnInstallFailure": false, "customErrorMessage": null, "installProgressTimeoutInMinutes": 60, "allowDeviceUseOnInstallFailure": false, "selectedMobileAppIds": [], "trackInstallProgressForAutopilotOnly": false, "disableUserStatusTrackingAfterFirstUser": false}"#,
    ),
];

/// The built-in Intune roles (ids are the same in every tenant) with a few of their
/// permissions.
const BUILT_IN_ROLES: &[(&str, &str, &str, &[&str])] = &[
    (
        "0bd113fe-6be5-400c-a28f-ae5553f9c0be",
        "Policy and Profile manager",
        "Policy and Profile Manager manages compliance policy, configuration policy, Apple enrollment, corporate device identifiers, DEP, and Terms and Conditions.",
        &[
            "Microsoft.Intune_DeviceConfigurations_Create",
            "Microsoft.Intune_DeviceConfigurations_Read",
            "Microsoft.Intune_DeviceConfigurations_Update",
            "Microsoft.Intune_DeviceConfigurations_Delete",
            "Microsoft.Intune_DeviceConfigurations_Assign",
            "Microsoft.Intune_DeviceCompliancePolices_Create",
            "Microsoft.Intune_DeviceCompliancePolices_Read",
        ],
    ),
    (
        "2f9f4f7e-2d13-427b-adf2-361a1eef7ae8",
        "School Administrator",
        "School Administrators manage apps and settings for their groups. They can take remote actions on devices, including remotely locking them, restarting them, and retiring them from management.",
        &[
            "Microsoft.Intune_MobileApps_Read",
            "Microsoft.Intune_MobileApps_Assign",
            "Microsoft.Intune_ManagedDevices_Read",
            "Microsoft.Intune_RemoteTasks_RemoteLock",
        ],
    ),
    (
        "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e",
        "Help Desk Operator",
        "Help Desk Operators perform remote tasks on users and devices, and can assign applications or policies to users or devices.",
        &[
            "Microsoft.Intune_ManagedDevices_Read",
            "Microsoft.Intune_RemoteTasks_RemoteLock",
            "Microsoft.Intune_RemoteTasks_Reboot",
            "Microsoft.Intune_MobileApps_Assign",
        ],
    ),
    (
        "c1d9fcbb-cba5-40b0-bf6b-527006585f4b",
        "Application Manager",
        "Application Manager manages mobile and managed applications, can read device information and can view device configuration profiles.",
        &[
            "Microsoft.Intune_MobileApps_Create",
            "Microsoft.Intune_MobileApps_Read",
            "Microsoft.Intune_MobileApps_Update",
            "Microsoft.Intune_MobileApps_Delete",
            "Microsoft.Intune_MobileApps_Assign",
        ],
    ),
    (
        "c56d53a2-73d0-4502-b6bd-4a9d3dba28d5",
        "Endpoint Security Manager",
        "Manages security and compliance features such as security baselines, device compliance, conditional access, and Microsoft Defender for Endpoint.",
        &[
            "Microsoft.Intune_SecurityBaselines_Create",
            "Microsoft.Intune_SecurityBaselines_Read",
            "Microsoft.Intune_SecurityBaselines_Update",
            "Microsoft.Intune_SecurityBaselines_Assign",
        ],
    ),
    (
        "fa1d7878-e8cb-41a1-8254-0142355c9f84",
        "Read Only Operator",
        "Read Only Operators can view user, device, enrollment, configuration, and application information but cannot make changes to Intune.",
        &[
            "Microsoft.Intune_DeviceConfigurations_Read",
            "Microsoft.Intune_ManagedDevices_Read",
            "Microsoft.Intune_MobileApps_Read",
        ],
    ),
    (
        "fb2603eb-3c87-4be3-8b5b-d58a5b4a0bc0",
        "Intune Role Administrator",
        "Intune Role Administrator manages custom Intune roles and adds assignments for built-in Intune roles. It is the only Intune role that can assign permissions to Administrators.",
        &[
            "Microsoft.Intune_Roles_Create",
            "Microsoft.Intune_Roles_Read",
            "Microsoft.Intune_Roles_Update",
            "Microsoft.Intune_Roles_Delete",
            "Microsoft.Intune_Roles_Assign",
        ],
    ),
];

fn spec(path: &str) -> Option<&'static CollectionSpec> {
    by_path(path)
}

/// The prefix Intune puts before a default enrollment configuration's suffix: the tenant id
/// when it is a GUID, else a stable GUID derived from it.
pub fn enrollment_prefix(tenant_id: &str) -> String {
    if uuid::Uuid::parse_str(tenant_id).is_ok() {
        tenant_id.to_ascii_lowercase()
    } else {
        stable_guid(&format!("tenant:{tenant_id}"))
    }
}

/// The service-default enrollment configurations, ids `{prefix}_{suffix}`.
pub fn default_enrollments(prefix: &str) -> Vec<Value> {
    DEFAULT_ENROLLMENTS
        .iter()
        .map(|(suffix, ty, config_type, props)| {
            let mut obj = json!({
                "@odata.type": format!("#microsoft.graph.{ty}"),
                "id": format!("{prefix}_{suffix}"),
                "displayName": "All users and all devices",
                "description": "This is the default enrollment configuration applied with the lowest priority to all users and all devices regardless of group membership.",
                "priority": 0,
                "roleScopeTagIds": ["0"],
                "deviceEnrollmentConfigurationType": format!("default{}{}", config_type[..1].to_ascii_uppercase(), &config_type[1..]),
                "assignments": [{
                    "id": format!("{prefix}_{suffix}_{ALL_LICENSED_USERS_ID}"),
                    "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"},
                }],
            });
            if let (Some(o), Ok(Value::Object(p))) =
                (obj.as_object_mut(), serde_json::from_str::<Value>(props))
            {
                o.extend(p);
            }
            obj
        })
        .collect()
}

/// The built-in scope tag.
pub fn default_scope_tag() -> Value {
    json!({"id": "0", "displayName": "Default", "description": "Built-in default scope tag", "isBuiltIn": true})
}

/// The built-in role definitions.
pub fn built_in_roles() -> Vec<Value> {
    BUILT_IN_ROLES
        .iter()
        .map(|(id, name, description, actions)| {
            let permissions = json!([{
                "actions": [],
                "resourceActions": [{"allowedResourceActions": actions, "notAllowedResourceActions": []}],
            }]);
            json!({
                "@odata.type": "#microsoft.graph.deviceAndAppManagementRoleDefinition",
                "id": id,
                "displayName": name,
                "description": description,
                "isBuiltIn": true,
                "isBuiltInRoleDefinition": true,
                "roleScopeTagIds": ["0"],
                "permissions": permissions,
                "rolePermissions": permissions,
            })
        })
        .collect()
}

/// Every baseline object of a tenant.
pub fn objects(tenant_id: &str) -> Vec<(&'static CollectionSpec, Value)> {
    let mut out = Vec::new();
    if let Some(s) = spec(SCOPE_TAGS) {
        out.push((s, default_scope_tag()));
    }
    if let Some(s) = spec(ENROLLMENTS) {
        out.extend(
            default_enrollments(&enrollment_prefix(tenant_id))
                .into_iter()
                .map(|o| (s, o)),
        );
    }
    if let Some(s) = spec(ROLES) {
        out.extend(built_in_roles().into_iter().map(|o| (s, o)));
    }
    out
}

/// Whether `candidate` (a baseline object) is already present among `existing` objects of
/// the same collection: the scope tag and roles by id, a default enrollment configuration by
/// its `_Default...` suffix (exports carry their own tenant's prefix).
pub fn already_has(existing: &[&Value], candidate: &Value) -> bool {
    let id = candidate["id"].as_str().unwrap_or_default();
    let suffix = id.split_once('_').map(|(_, s)| s);
    existing.iter().any(|o| {
        let oid = o["id"].as_str().unwrap_or_default();
        oid.eq_ignore_ascii_case(id)
            || suffix.is_some_and(|s| {
                oid.to_ascii_lowercase()
                    .ends_with(&format!("_{}", s.to_ascii_lowercase()))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_baseline_has_the_default_tag_enrollments_and_roles() {
        let objs = objects("11111111-2222-3333-4444-555555555555");
        let by = |p: &str| objs.iter().filter(|(s, _)| s.path == p).count();
        assert_eq!(by(SCOPE_TAGS), 1);
        assert_eq!(by(ENROLLMENTS), 4);
        assert_eq!(by(ROLES), 7);
        let limit = &objs.iter().find(|(s, _)| s.path == ENROLLMENTS).unwrap().1;
        assert_eq!(
            limit["id"],
            "11111111-2222-3333-4444-555555555555_DefaultLimit"
        );
        assert_eq!(limit["deviceEnrollmentConfigurationType"], "defaultLimit");
        let other_prefix = json!({"id": "abc_DefaultLimit"});
        assert!(already_has(&[&other_prefix], limit));
        assert!(!already_has(&[&json!({"id": "abc_Limit"})], limit));
    }
}

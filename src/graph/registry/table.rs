//! The registry's declarative table: one entry per supported policy type, in restore order,
//! built from a few shared defaults (`plain`, `sub`, `reference`, `assign_with`).

use super::graph_types as types;
use super::{
    ApiVersion, AssignMethod, Assignments, Contract, CreateMethod, Fetch, Guarded, Shape,
    SubResource, UpdateMethod,
};

const fn sub(name: &'static str, fetch: Fetch) -> SubResource {
    SubResource {
        name,
        fetch,
        reference: false,
        write_inline: false,
        sort_key: None,
        strip: &[],
        children: &[],
        bind: None,
        top: None,
    }
}

const fn reference(name: &'static str) -> SubResource {
    SubResource {
        reference: true,
        ..sub(name, Fetch::Expand)
    }
}

/// A settings-catalog policy's settings (configuration and compliance), read by path 999 a
/// page (Graph's default page is 25; 999 is what peers read), written inline.
const CATALOG_SETTINGS: SubResource = SubResource {
    write_inline: true,
    sort_key: Some("settingInstance/settingDefinitionId"),
    strip: &["settingDefinitions"],
    top: Some(999),
    ..sub("settings", Fetch::Path)
};

/// The apps an app protection or managed-app configuration policy targets, sent inline.
const MANAGED_APPS: &[SubResource] = &[SubResource {
    write_inline: true,
    sort_key: Some("mobileAppIdentifier"),
    ..sub("apps", Fetch::Expand)
}];

const ASSIGN: Option<Assignments> = Some(Assignments {
    fetch: Fetch::Expand,
    method: AssignMethod::Action {
        payload_key: "assignments",
    },
});

const fn assign_with(payload_key: &'static str) -> Option<Assignments> {
    Some(Assignments {
        fetch: Fetch::Expand,
        method: AssignMethod::Action { payload_key },
    })
}

/// A plain collection: POST, PATCH, `/assign {assignments}`, scope tags, `displayName`.
const fn plain(key: &'static str, label: &'static str, collection: &'static str) -> Contract {
    Contract {
        key,
        aliases: &[],
        label,
        collection,
        api_version: ApiVersion::Beta,
        per_item_get: false,
        sub_resources: &[],
        strip: &[],
        keep: &[],
        update_omit: &[],
        match_key: "displayName",
        implicit_type: None,
        create: CreateMethod::Post,
        update: UpdateMethod::Patch,
        assignments: ASSIGN,
        scope_tags: true,
        builtin_ids: &[],
        default_id_mark: None,
        guarded: None,
        references: &[],
        read_only: None,
        content_not_restorable: &[],
        odata_types: &[],
        excludes: &[],
        shape: Shape::Collection,
        same_tenant_only: None,
    }
}

/// One object per tenant captured for the record (`GET {path}` answers the object).
const fn record_singleton(
    key: &'static str,
    label: &'static str,
    path: &'static str,
    reason: &'static str,
) -> Contract {
    Contract {
        shape: Shape::Singleton,
        ..record(key, label, path, reason)
    }
}

/// Configuration captured for the record that no Graph API writes: no assignments, no scope
/// tags, never restored.
const fn record(
    key: &'static str,
    label: &'static str,
    collection: &'static str,
    reason: &'static str,
) -> Contract {
    Contract {
        assignments: None,
        scope_tags: false,
        read_only: Some(reason),
        ..plain(key, label, collection)
    }
}

/// Intune's audit log (resources/intune-auditing-auditevent): read by captures to say who
/// changed what, never captured or restored itself, so not in [`CONTRACTS`].
pub(super) static AUDIT_EVENTS: Contract = Contract {
    assignments: None,
    scope_tags: false,
    read_only: Some("the audit log is written by Intune"),
    ..plain(
        "auditEvents",
        "Intune audit log",
        "deviceManagement/auditEvents",
    )
};

pub(super) static CONTRACTS: &[Contract] = &[
    Contract {
        aliases: &["scopeTags"],
        assignments: Some(Assignments {
            fetch: Fetch::Path,
            method: AssignMethod::Action {
                payload_key: "assignments",
            },
        }),
        scope_tags: false,
        strip: &["isBuiltIn"],
        builtin_ids: &["0"],
        ..plain(
            "roleScopeTags",
            "Scope tags",
            "deviceManagement/roleScopeTags",
        )
    },
    Contract {
        aliases: &["filters"],
        assignments: None,
        scope_tags: false,
        ..plain(
            "assignmentFilters",
            "Assignment filters",
            "deviceManagement/assignmentFilters",
        )
    },
    Contract {
        aliases: &["deviceCategory"],
        assignments: None,
        ..plain(
            "deviceCategories",
            "Device categories",
            "deviceManagement/deviceCategories",
        )
    },
    Contract {
        aliases: &["reusableSettings"],
        assignments: None,
        scope_tags: false,
        strip: &["referencingConfigurationPolicyCount"],
        implicit_type: Some("#microsoft.graph.deviceManagementReusablePolicySetting"),
        ..plain(
            "reusablePolicySettings",
            "Reusable settings (settings catalog)",
            "deviceManagement/reusablePolicySettings",
        )
    },
    Contract {
        aliases: &["customRoles", "intuneRoles"],
        assignments: None,
        strip: &["isBuiltIn", "isBuiltInRoleDefinition"],
        // The built-in Intune roles: the same ids in every tenant.
        builtin_ids: &[
            "0bd113fe-6be5-400c-a28f-ae5553f9c0be",
            "2f9f4f7e-2d13-427b-adf2-361a1eef7ae8",
            "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e",
            "c1d9fcbb-cba5-40b0-bf6b-527006585f4b",
            "c56d53a2-73d0-4502-b6bd-4a9d3dba28d5",
            "fa1d7878-e8cb-41a1-8254-0142355c9f84",
            "fb2603eb-3c87-4be3-8b5b-d58a5b4a0bc0",
        ],
        ..plain(
            "roleDefinitions",
            "Intune roles (custom)",
            "deviceManagement/roleDefinitions",
        )
    },
    // resources/intune-rbac-deviceandappmanagementroleassignment: created with
    // `roleDefinition@odata.bind`; members and scope are groups of the tenant.
    Contract {
        aliases: &["intuneRoleAssignments"],
        assignments: None,
        sub_resources: &[SubResource {
            bind: Some("deviceManagement/roleDefinitions"),
            ..reference("roleDefinition")
        }],
        references: &["roleDefinitions"],
        same_tenant_only: Some(
            "a role assignment's members and scope are groups of the tenant it was captured from",
        ),
        ..plain(
            "roleAssignments",
            "Intune role assignments",
            "deviceManagement/roleAssignments",
        )
    },
    Contract {
        aliases: &["conditionalAccessNamedLocations"],
        assignments: None,
        scope_tags: false,
        odata_types: types::NAMED_LOCATIONS,
        ..plain(
            "namedLocations",
            "Named locations (conditional access)",
            "identity/conditionalAccess/namedLocations",
        )
    },
    Contract {
        aliases: &["conditionalAccessPolicies", "conditionalAccess"],
        assignments: None,
        scope_tags: false,
        implicit_type: Some("#microsoft.graph.conditionalAccessPolicy"),
        strip: &["templateId", "deletedDateTime"],
        references: &["namedLocations"],
        // Restored report-only unless the restore asks to keep the captured state.
        guarded: Some(Guarded {
            property: "state",
            from: "enabled",
            to: "enabledForReportingButNotEnforced",
        }),
        ..plain(
            "policies",
            "Conditional access policies",
            "identity/conditionalAccess/policies",
        )
    },
    Contract {
        aliases: &["settingsCatalog"],
        sub_resources: &[CATALOG_SETTINGS],
        strip: &["settingCount", "creationSource", "priorityMetaData"],
        references: &["reusablePolicySettings"],
        match_key: "name",
        implicit_type: Some("#microsoft.graph.deviceManagementConfigurationPolicy"),
        update: UpdateMethod::Put,
        ..plain(
            "configurationPolicies",
            "Settings catalog",
            "deviceManagement/configurationPolicies",
        )
    },
    Contract {
        odata_types: types::DEVICE_CONFIGURATIONS,
        ..plain(
            "deviceConfigurations",
            "Device configuration profiles",
            "deviceManagement/deviceConfigurations",
        )
    },
    // Before the compliance policies whose actions name them.
    Contract {
        aliases: &["notificationTemplates"],
        assignments: None,
        sub_resources: &[SubResource {
            sort_key: Some("locale"),
            ..sub("localizedNotificationMessages", Fetch::Expand)
        }],
        create: CreateMethod::PostThenChildren {
            sub_resource: "localizedNotificationMessages",
        },
        update: UpdateMethod::PatchThenChildren {
            sub_resource: "localizedNotificationMessages",
            key: "locale",
        },
        ..plain(
            "notificationMessageTemplates",
            "Compliance notification templates",
            "deviceManagement/notificationMessageTemplates",
        )
    },
    Contract {
        aliases: &["compliance"],
        // A scheduled action's `notificationTemplateId`.
        references: &["notificationMessageTemplates"],
        sub_resources: &[SubResource {
            write_inline: true,
            sort_key: Some("ruleName"),
            children: &[sub("scheduledActionConfigurations", Fetch::Expand)],
            ..sub("scheduledActionsForRule", Fetch::Expand)
        }],
        update: UpdateMethod::PatchThenAction {
            sub_resource: "scheduledActionsForRule",
            action: "scheduleActionsForRules",
            param: "deviceComplianceScheduledActionForRules",
        },
        odata_types: types::DEVICE_COMPLIANCE_POLICIES,
        ..plain(
            "deviceCompliancePolicies",
            "Compliance policies",
            "deviceManagement/deviceCompliancePolicies",
        )
    },
    Contract {
        aliases: &["settingsCatalogCompliance"],
        sub_resources: &[
            CATALOG_SETTINGS,
            SubResource {
                write_inline: true,
                sort_key: Some("ruleName"),
                children: &[sub("scheduledActionConfigurations", Fetch::Expand)],
                ..sub("scheduledActionsForRule", Fetch::Expand)
            },
        ],
        strip: &["settingCount", "creationSource", "priorityMetaData"],
        references: &["reusablePolicySettings"],
        match_key: "name",
        implicit_type: Some("#microsoft.graph.deviceManagementCompliancePolicy"),
        update: UpdateMethod::Put,
        ..plain(
            "compliancePolicies",
            "Compliance policies (settings catalog)",
            "deviceManagement/compliancePolicies",
        )
    },
    Contract {
        aliases: &["adminTemplates", "administrativeTemplates"],
        sub_resources: &[SubResource {
            sort_key: Some("definition/id"),
            children: &[
                reference("definition"),
                SubResource {
                    sort_key: Some("presentation/id"),
                    children: &[reference("presentation")],
                    ..sub("presentationValues", Fetch::Path)
                },
            ],
            ..sub("definitionValues", Fetch::Path)
        }],
        create: CreateMethod::PostThenDefinitionValues,
        update: UpdateMethod::PatchThenDefinitionValues,
        ..plain(
            "groupPolicyConfigurations",
            "Administrative templates",
            "deviceManagement/groupPolicyConfigurations",
        )
    },
    Contract {
        aliases: &["powershellScripts", "windowsScripts"],
        per_item_get: true,
        assignments: assign_with("deviceManagementScriptAssignments"),
        ..plain(
            "deviceManagementScripts",
            "Windows PowerShell scripts",
            "deviceManagement/deviceManagementScripts",
        )
    },
    Contract {
        aliases: &["shellScripts", "macosScripts"],
        per_item_get: true,
        assignments: assign_with("deviceManagementScriptAssignments"),
        ..plain(
            "deviceShellScripts",
            "macOS shell scripts",
            "deviceManagement/deviceShellScripts",
        )
    },
    Contract {
        aliases: &["remediations", "proactiveRemediations"],
        per_item_get: true,
        assignments: assign_with("deviceHealthScriptAssignments"),
        strip: &["highestAvailableVersion"],
        ..plain(
            "deviceHealthScripts",
            "Remediation scripts",
            "deviceManagement/deviceHealthScripts",
        )
    },
    Contract {
        aliases: &["customComplianceScripts"],
        per_item_get: true,
        assignments: assign_with("deviceHealthScriptAssignments"),
        ..plain(
            "deviceComplianceScripts",
            "Custom compliance scripts",
            "deviceManagement/deviceComplianceScripts",
        )
    },
    Contract {
        aliases: &["customAttributeScripts", "macosCustomAttributes"],
        per_item_get: true,
        assignments: assign_with("deviceManagementScriptAssignments"),
        ..plain(
            "deviceCustomAttributeShellScripts",
            "macOS custom attribute scripts",
            "deviceManagement/deviceCustomAttributeShellScripts",
        )
    },
    Contract {
        aliases: &["autopilotProfiles"],
        assignments: Some(Assignments {
            fetch: Fetch::Path,
            method: AssignMethod::PostEach,
        }),
        odata_types: types::AUTOPILOT_PROFILES,
        ..plain(
            "windowsAutopilotDeploymentProfiles",
            "Autopilot deployment profiles",
            "deviceManagement/windowsAutopilotDeploymentProfiles",
        )
    },
    Contract {
        aliases: &["featureUpdates"],
        strip: &["deployableContentDisplayName", "endOfSupportDate"],
        ..plain(
            "windowsFeatureUpdateProfiles",
            "Windows feature update profiles",
            "deviceManagement/windowsFeatureUpdateProfiles",
        )
    },
    Contract {
        aliases: &["qualityUpdates"],
        strip: &["releaseDateDisplayName", "deployableContentDisplayName"],
        ..plain(
            "windowsQualityUpdateProfiles",
            "Windows quality update profiles",
            "deviceManagement/windowsQualityUpdateProfiles",
        )
    },
    Contract {
        aliases: &["driverUpdates"],
        strip: &["newUpdates", "deviceReporting", "inventorySyncStatus"],
        ..plain(
            "windowsDriverUpdateProfiles",
            "Windows driver update profiles",
            "deviceManagement/windowsDriverUpdateProfiles",
        )
    },
    Contract {
        aliases: &["enrollmentConfigurations", "enrollmentRestrictions"],
        assignments: assign_with("enrollmentConfigurationAssignments"),
        default_id_mark: Some("_Default"),
        odata_types: types::ENROLLMENT_CONFIGURATIONS,
        ..plain(
            "deviceEnrollmentConfigurations",
            "Enrollment configurations",
            "deviceManagement/deviceEnrollmentConfigurations",
        )
    },
    Contract {
        aliases: &["securityBaselines", "endpointSecurityIntents"],
        sub_resources: &[SubResource {
            sort_key: Some("definitionId"),
            ..sub("settings", Fetch::Path)
        }],
        strip: &["isMigratingToConfigurationPolicy"],
        update_omit: &["templateId"],
        create: CreateMethod::CreateInstance {
            template_property: "templateId",
            settings_param: "settingsDelta",
        },
        update: UpdateMethod::PatchThenAction {
            sub_resource: "settings",
            action: "updateSettings",
            param: "settings",
        },
        ..plain(
            "intents",
            "Intents (endpoint security, baselines)",
            "deviceManagement/intents",
        )
    },
    // resources/intune-apps-mobileappcategory
    Contract {
        aliases: &["appCategories"],
        assignments: None,
        scope_tags: false,
        ..plain(
            "mobileAppCategories",
            "App categories",
            "deviceAppManagement/mobileAppCategories",
        )
    },
    // Before the app configuration and protection policies that name apps.
    Contract {
        aliases: &["apps", "applications"],
        assignments: assign_with("mobileAppAssignments"),
        // A managed app's `version` is the app's, not the service's.
        keep: &["version"],
        strip: &[
            "publishingState",
            "uploadState",
            "dependentAppCount",
            "supersedingAppCount",
            "supersededAppCount",
        ],
        // resources/intune-apps-mobilelobapp: a package uploaded to Intune is never read back.
        content_not_restorable: &[
            "androidLobApp",
            "iosLobApp",
            "macOSDmgApp",
            "macOSLobApp",
            "macOSPkgApp",
            "managedAndroidLobApp",
            "managedIOSLobApp",
            "win32CatalogApp",
            "win32LobApp",
            "windowsAppX",
            "windowsMobileMSI",
            "windowsPhone81AppX",
            "windowsPhone81AppXBundle",
            "windowsPhoneXAP",
            "windowsUniversalAppX",
        ],
        odata_types: types::MOBILE_APPS,
        ..plain(
            "mobileApps",
            "Apps (metadata and assignments)",
            "deviceAppManagement/mobileApps",
        )
    },
    Contract {
        aliases: &["appConfigurations", "appConfigurationPolicies"],
        // `targetedMobileApps` names apps by id.
        references: &["mobileApps"],
        odata_types: types::MOBILE_APP_CONFIGURATIONS,
        ..plain(
            "mobileAppConfigurations",
            "App configuration policies (managed devices)",
            "deviceAppManagement/mobileAppConfigurations",
        )
    },
    Contract {
        aliases: &["appProtectionPolicies", "managedAppProtection"],
        sub_resources: MANAGED_APPS,
        strip: &["deployedAppCount", "isAssigned"],
        odata_types: types::MANAGED_APP_POLICIES,
        // Their own type below.
        excludes: &["targetedManagedAppConfiguration"],
        ..plain(
            "managedAppPolicies",
            "App protection policies",
            "deviceAppManagement/managedAppPolicies",
        )
    },
    // resources/intune-mam-targetedmanagedappconfiguration
    Contract {
        aliases: &["appConfigurationsManagedApps", "managedAppConfigurations"],
        sub_resources: MANAGED_APPS,
        strip: &["deployedAppCount", "isAssigned"],
        ..plain(
            "targetedManagedAppConfigurations",
            "App configuration policies (managed apps)",
            "deviceAppManagement/targetedManagedAppConfigurations",
        )
    },
    Contract {
        aliases: &["termsOfUse"],
        assignments: Some(Assignments {
            fetch: Fetch::Path,
            method: AssignMethod::PostEach,
        }),
        ..plain(
            "termsAndConditions",
            "Terms and conditions",
            "deviceManagement/termsAndConditions",
        )
    },
    Contract {
        aliases: &["branding", "companyPortalBranding"],
        match_key: "profileName",
        strip: &["isDefaultProfile"],
        ..plain(
            "intuneBrandingProfiles",
            "Company Portal branding",
            "deviceManagement/intuneBrandingProfiles",
        )
    },
    Contract {
        aliases: &["biosConfigurations"],
        per_item_get: true,
        assignments: assign_with("hardwareConfigurationAssignments"),
        ..plain(
            "hardwareConfigurations",
            "BIOS configurations",
            "deviceManagement/hardwareConfigurations",
        )
    },
    Contract {
        aliases: &[
            "cloudPcProvisioningPolicies",
            "windows365ProvisioningPolicies",
        ],
        scope_tags: false,
        implicit_type: Some("#microsoft.graph.cloudPcProvisioningPolicy"),
        ..plain(
            "provisioningPolicies",
            "Windows 365 provisioning policies",
            "deviceManagement/virtualEndpoint/provisioningPolicies",
        )
    },
    Contract {
        aliases: &["cloudPcUserSettings", "windows365UserSettings"],
        scope_tags: false,
        implicit_type: Some("#microsoft.graph.cloudPcUserSetting"),
        ..plain(
            "userSettings",
            "Windows 365 user settings",
            "deviceManagement/virtualEndpoint/userSettings",
        )
    },
    Contract {
        strip: &[
            "lastSyncDateTime",
            "lastSyncStatus",
            "state",
            "expirationDateTime",
        ],
        ..record(
            "vppTokens",
            "Apple VPP tokens (record only)",
            "deviceAppManagement/vppTokens",
            "a VPP token is uploaded from Apple Business Manager; Graph cannot create one",
        )
    },
    Contract {
        strip: &["lastHeartbeatDateTime", "partnerState"],
        ..record(
            "complianceManagementPartners",
            "Compliance partners (record only)",
            "deviceManagement/complianceManagementPartners",
            "a compliance partner is connected from the partner's own console",
        )
    },
    Contract {
        strip: &["lastHeartbeatDateTime", "partnerState"],
        ..record(
            "deviceManagementPartners",
            "Device management partners (record only)",
            "deviceManagement/deviceManagementPartners",
            "a device management partner is connected from the partner's own console",
        )
    },
    Contract {
        strip: &["lastConnectionDateTime", "onboardingStatus"],
        ..record(
            "remoteAssistancePartners",
            "Remote assistance partners (record only)",
            "deviceManagement/remoteAssistancePartners",
            "a remote assistance partner is onboarded through the partner's consent flow",
        )
    },
    // resources/intune-enrollment-deponboardingsetting
    Contract {
        match_key: "tokenName",
        strip: &[
            // Its own type, and devices.
            "enrollmentProfiles",
            "importedAppleDeviceIdentities",
            "lastSuccessfulSyncDateTime",
            "lastSyncTriggeredDateTime",
            "lastSyncErrorCode",
            "syncedDeviceCount",
        ],
        scope_tags: true,
        ..record(
            "depOnboardingSettings",
            "Apple enrollment program tokens (record only)",
            "deviceManagement/depOnboardingSettings",
            "an enrollment program token is downloaded from Apple Business Manager and uploaded in the Intune admin center",
        )
    },
    // resources/intune-enrollment-enrollmentprofile: below each token.
    Contract {
        aliases: &["depEnrollmentProfiles", "appleEnrollmentProfiles"],
        assignments: None,
        scope_tags: false,
        shape: Shape::Contained {
            parent: "deviceManagement/depOnboardingSettings",
        },
        same_tenant_only: Some(
            "an enrollment profile belongs to the Apple enrollment program token of the tenant it was captured from",
        ),
        ..plain(
            "enrollmentProfiles",
            "Apple enrollment program profiles",
            "deviceManagement/depOnboardingSettings/{id}/enrollmentProfiles",
        )
    },
    // api/intune-devices-applepushnotificationcertificate-get
    record_singleton(
        "applePushNotificationCertificate",
        "Apple MDM push certificate (record only)",
        "deviceManagement/applePushNotificationCertificate",
        "the push certificate is created at Apple's push certificates portal and uploaded in the Intune admin center",
    ),
    // api/intune-androidforwork-androidmanagedstoreaccountenterprisesettings-get
    record_singleton(
        "androidManagedStoreAccountEnterpriseSettings",
        "Managed Google Play binding (record only)",
        "deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        "managed Google Play is bound by signing in to Google from the Intune admin center",
    ),
    // resources/intune-deviceconfig-devicemanagementsettings: a property of `deviceManagement`.
    record_singleton(
        "settings",
        "Tenant-wide Intune settings (record only)",
        "deviceManagement/settings",
        "tenant-wide settings are set once per tenant in the Intune admin center",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::registry::{all, get};

    /// Every collection DESIGN section 6 lists.
    const DESIGN_COLLECTIONS: &[&str] = &[
        "deviceManagement/deviceConfigurations",
        "deviceManagement/deviceCompliancePolicies",
        "deviceManagement/configurationPolicies",
        "deviceManagement/groupPolicyConfigurations",
        "deviceManagement/deviceManagementScripts",
        "deviceManagement/deviceShellScripts",
        "deviceManagement/deviceHealthScripts",
        "deviceManagement/windowsAutopilotDeploymentProfiles",
        "deviceManagement/assignmentFilters",
        "deviceManagement/roleScopeTags",
        "deviceManagement/windowsFeatureUpdateProfiles",
        "deviceManagement/windowsQualityUpdateProfiles",
        "deviceManagement/windowsDriverUpdateProfiles",
        "deviceManagement/deviceEnrollmentConfigurations",
        "deviceManagement/intents",
        "deviceAppManagement/mobileAppConfigurations",
        "deviceAppManagement/managedAppPolicies",
    ];

    /// Added for coverage (issue "Back up everything an MSP configures").
    const COVERAGE_COLLECTIONS: &[&str] = &[
        "deviceManagement/deviceCategories",
        "deviceManagement/reusablePolicySettings",
        "deviceManagement/roleDefinitions",
        "identity/conditionalAccess/namedLocations",
        "identity/conditionalAccess/policies",
        "deviceManagement/compliancePolicies",
        "deviceManagement/deviceComplianceScripts",
        "deviceManagement/deviceCustomAttributeShellScripts",
        "deviceManagement/termsAndConditions",
        "deviceManagement/intuneBrandingProfiles",
        "deviceManagement/hardwareConfigurations",
        "deviceManagement/virtualEndpoint/provisioningPolicies",
        "deviceManagement/virtualEndpoint/userSettings",
        "deviceAppManagement/mobileApps",
        "deviceManagement/notificationMessageTemplates",
        "deviceAppManagement/vppTokens",
        "deviceManagement/complianceManagementPartners",
        "deviceManagement/deviceManagementPartners",
        "deviceManagement/remoteAssistancePartners",
        "deviceManagement/roleAssignments",
        "deviceAppManagement/targetedManagedAppConfigurations",
        "deviceManagement/depOnboardingSettings",
        "deviceManagement/depOnboardingSettings/{id}/enrollmentProfiles",
        "deviceManagement/applePushNotificationCertificate",
        "deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        "deviceManagement/settings",
        "deviceAppManagement/mobileAppCategories",
    ];

    #[test]
    fn every_design_collection_is_registered_once() {
        for path in DESIGN_COLLECTIONS.iter().chain(COVERAGE_COLLECTIONS) {
            let n = all().iter().filter(|c| c.collection == *path).count();
            assert_eq!(n, 1, "{path}");
        }
        let mut paths: Vec<&str> = all().iter().map(|c| c.collection).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), all().len(), "one entry per collection");
        assert!(all().len() >= 34, "{}", all().len());
    }

    #[test]
    fn shapes_address_their_objects() {
        let profiles = get("enrollmentProfiles").unwrap();
        assert_eq!(
            profiles.locate("tok/p1"),
            Some((
                "deviceManagement/depOnboardingSettings/tok/enrollmentProfiles".to_string(),
                "p1"
            ))
        );
        assert_eq!(profiles.locate("p1"), None);
        assert_eq!(profiles.parent_id("tok/p1"), Some("tok"));
        assert_eq!(get("deviceConfigurations").unwrap().parent_id("a/b"), None);
        for c in all() {
            if c.contained().is_some() {
                // Objects below a parent are read in its listing, one level deep.
                assert!(!c.per_item_get, "{}", c.key);
                assert!(c.assignments.is_none(), "{}", c.key);
                assert!(c.sub_resources.iter().all(|s| s.fetch == Fetch::Expand));
                assert!(c.same_tenant_only.is_some(), "{}", c.key);
            }
            if c.shape == Shape::Singleton {
                assert!(c.read_only.is_some(), "{}", c.key);
            }
        }
        let policies = get("managedAppPolicies").unwrap();
        let targeted =
            serde_json::json!({"@odata.type": "#microsoft.graph.targetedManagedAppConfiguration"});
        assert!(policies.excluded(&targeted));
        assert_eq!(policies.unknown_odata_type(&targeted), None);
        assert!(get("targetedManagedAppConfigurations").is_some());
    }

    #[test]
    fn keys_and_aliases_are_unique_and_keys_are_last_segments() {
        let mut names: Vec<String> = Vec::new();
        for c in all() {
            assert_eq!(Some(c.key), c.collection.rsplit('/').next(), "{}", c.key);
            assert_eq!(c.api_version, ApiVersion::Beta);
            for n in std::iter::once(c.key).chain(c.aliases.iter().copied()) {
                let lower = n.to_ascii_lowercase();
                assert!(!names.contains(&lower), "duplicate name {n}");
                names.push(lower);
            }
        }
    }

    #[test]
    fn expands_match_graph_facts() {
        let compliance = get("deviceCompliancePolicies").unwrap();
        assert_eq!(
            compliance.expand().as_deref(),
            Some("assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)")
        );
        let gp = get("adminTemplates").unwrap();
        let dv = gp.sub_resource("definitionValues").unwrap();
        assert_eq!(dv.fetch, Fetch::Path);
        assert_eq!(dv.path_query().as_deref(), Some("$expand=definition"));
        let pv = dv
            .children
            .iter()
            .find(|c| c.name == "presentationValues")
            .unwrap();
        assert_eq!(pv.path_query().as_deref(), Some("$expand=presentation"));
        let catalog = get("settingsCatalog").unwrap();
        assert_eq!(catalog.expand().as_deref(), Some("assignments"));
        assert_eq!(catalog.sub_resource("settings").unwrap().fetch, Fetch::Path);
        assert_eq!(
            catalog
                .sub_resource("settings")
                .unwrap()
                .path_query()
                .as_deref(),
            Some("$top=999")
        );
        assert_eq!(get("roleScopeTags").unwrap().expand(), None);
        assert_eq!(get("assignmentFilters").unwrap().expand(), None);
    }

    #[test]
    fn methods_match_graph_facts() {
        let m = |k: &str| get(k).unwrap();
        assert_eq!(m("configurationPolicies").update, UpdateMethod::Put);
        assert_eq!(m("configurationPolicies").match_key, "name");
        assert_eq!(
            m("groupPolicyConfigurations").update,
            UpdateMethod::PatchThenDefinitionValues
        );
        assert!(matches!(
            m("intents").create,
            CreateMethod::CreateInstance { .. }
        ));
        assert_eq!(m("intents").update.name(), "updateSettings");
        assert_eq!(m("deviceConfigurations").update, UpdateMethod::Patch);
        let key = |k: &str| match m(k).assignments.map(|a| a.method) {
            Some(AssignMethod::Action { payload_key }) => payload_key,
            Some(AssignMethod::PostEach) => "post-each",
            None => "none",
        };
        assert_eq!(
            key("deviceManagementScripts"),
            "deviceManagementScriptAssignments"
        );
        assert_eq!(
            key("deviceShellScripts"),
            "deviceManagementScriptAssignments"
        );
        assert_eq!(key("deviceHealthScripts"), "deviceHealthScriptAssignments");
        assert_eq!(
            key("deviceEnrollmentConfigurations"),
            "enrollmentConfigurationAssignments"
        );
        assert_eq!(key("deviceConfigurations"), "assignments");
        assert_eq!(key("windowsAutopilotDeploymentProfiles"), "post-each");
        assert_eq!(key("assignmentFilters"), "none");
        for k in [
            "deviceManagementScripts",
            "deviceShellScripts",
            "deviceHealthScripts",
        ] {
            assert!(m(k).per_item_get, "{k}");
        }
        assert!(m("roleScopeTags").is_builtin("0"));
        assert!(!m("roleScopeTags").is_builtin("1"));
        assert!(!m("roleScopeTags").scope_tags);
    }
}

//! Every simulated collection and singleton, one row each. Order is the export order.
//!
//! Sources per row are the Graph reference pages named in the comments
//! (learn.microsoft.com/graph/api/...); derived-type lists live in `types.rs`.

use super::types;
use super::{
    AssignReply, AssignSpec, CollectionSpec, Fill, Kind, Nav, Paging, SingletonSpec, Stamps,
    VersionKind, coll, nav, nav_one, nav_rw,
};

const ASSIGNMENTS: Nav = nav("assignments", &[]);
const ONLY_ASSIGNMENTS: &[Nav] = &[ASSIGNMENTS];
const PROTECTION_NAVS: &[Nav] = &[ASSIGNMENTS, nav("apps", &[])];
const WIP_NAVS: &[Nav] = &[
    ASSIGNMENTS,
    nav_rw("protectedAppLockerFiles"),
    nav_rw("exemptAppLockerFiles"),
];
const SCRIPT_ASSIGN: Option<AssignSpec> = Some(AssignSpec {
    payload_key: "deviceManagementScriptAssignments",
    other_keys: &["deviceManagementScriptGroupAssignments"],
    reply: AssignReply::NoContent,
});

const fn assign(payload_key: &'static str, reply: AssignReply) -> Option<AssignSpec> {
    Some(AssignSpec {
        payload_key,
        other_keys: &[],
        reply,
    })
}

/// The settings-catalog family (`configurationPolicies`, `compliancePolicies`).
const CATALOG_SERVER_SET: &[(&str, Fill)] = &[
    ("creationSource", Fill::Json("null")),
    ("priorityMetaData", Fill::Json("null")),
];

const CATALOG_SETTINGS: Nav = nav("settings", &[nav("settingDefinitions", &[])]);
const SCHEDULED_ACTIONS: Nav = nav(
    "scheduledActionsForRule",
    &[nav("scheduledActionConfigurations", &[])],
);

/// A settings-catalog set (`configurationPolicies`, `compliancePolicies`): keyed by `name`,
/// no `@odata.type` in answers, 25 settings a page, PUT replaces.
const fn settings_catalog(
    path: &'static str,
    base_type: &'static str,
    navs: &'static [Nav],
) -> CollectionSpec {
    CollectionSpec {
        emit_type: false,
        key: "name",
        put: true,
        paging: Paging::Small,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "deviceManagementConfigurationPolicyAssignment",
        navs,
        scope_tags: true,
        is_assigned: true,
        kind: Kind::SettingsCatalog,
        server_set: CATALOG_SERVER_SET,
        ..coll(path, base_type)
    }
}

/// App protection and app configuration policies (a view of `managedAppPolicies` per type):
/// `resources/intune-mam-iosmanagedappprotection` and siblings.
const fn protection_view(path: &'static str, base_type: &'static str) -> CollectionSpec {
    CollectionSpec {
        storage: Some("deviceAppManagement/managedAppPolicies"),
        v1: true,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "targetedManagedAppPolicyAssignment",
        navs: PROTECTION_NAVS,
        version: VersionKind::Str,
        scope_tags: true,
        is_assigned: true,
        server_set: &[("deployedAppCount", Fill::CountOf("apps"))],
        ..coll(path, base_type)
    }
}

pub static COLLECTIONS: &[CollectionSpec] = &[
    // resources/intune-deviceconfigv2-devicemanagementconfigurationpolicy
    settings_catalog(
        "deviceManagement/configurationPolicies",
        "deviceManagementConfigurationPolicy",
        &[ASSIGNMENTS, CATALOG_SETTINGS],
    ),
    // resources/intune-deviceconfigv2-devicemanagementcompliancepolicy
    settings_catalog(
        "deviceManagement/compliancePolicies",
        "deviceManagementCompliancePolicy",
        &[ASSIGNMENTS, CATALOG_SETTINGS, SCHEDULED_ACTIONS],
    ),
    // resources/intune-deviceconfig-deviceconfiguration
    CollectionSpec {
        abstract_base: true,
        derived: types::DEVICE_CONFIGURATIONS,
        v1: true,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "deviceConfigurationAssignment",
        navs: ONLY_ASSIGNMENTS,
        version: VersionKind::Int,
        scope_tags: true,
        server_set: &[("supportsScopeTags", Fill::Json("true"))],
        ..coll(
            "deviceManagement/deviceConfigurations",
            "deviceConfiguration",
        )
    },
    // resources/intune-deviceconfig-devicecompliancepolicy
    CollectionSpec {
        abstract_base: true,
        derived: types::DEVICE_COMPLIANCE_POLICIES,
        v1: true,
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "deviceCompliancePolicyAssignment",
        navs: &[ASSIGNMENTS, SCHEDULED_ACTIONS],
        version: VersionKind::Int,
        scope_tags: true,
        kind: Kind::Compliance,
        ..coll(
            "deviceManagement/deviceCompliancePolicies",
            "deviceCompliancePolicy",
        )
    },
    // resources/intune-grouppolicy-grouppolicyconfiguration
    CollectionSpec {
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "groupPolicyConfigurationAssignment",
        navs: &[
            ASSIGNMENTS,
            nav(
                "definitionValues",
                &[
                    nav_one("definition"),
                    nav("presentationValues", &[nav_one("presentation")]),
                ],
            ),
        ],
        scope_tags: true,
        kind: Kind::AdminTemplate,
        server_set: &[("policyConfigurationIngestionType", Fill::IngestionType)],
        ..coll(
            "deviceManagement/groupPolicyConfigurations",
            "groupPolicyConfiguration",
        )
    },
    // resources/intune-shared-devicemanagementscript
    CollectionSpec {
        assign: SCRIPT_ASSIGN,
        assignment_type: "deviceManagementScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["scriptContent"],
        scope_tags: true,
        ..coll(
            "deviceManagement/deviceManagementScripts",
            "deviceManagementScript",
        )
    },
    // resources/intune-devices-deviceshellscript
    CollectionSpec {
        assign: SCRIPT_ASSIGN,
        assignment_type: "deviceManagementScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["scriptContent"],
        scope_tags: true,
        ..coll("deviceManagement/deviceShellScripts", "deviceShellScript")
    },
    // resources/intune-devices-devicecustomattributeshellscript
    CollectionSpec {
        assign: SCRIPT_ASSIGN,
        assignment_type: "deviceManagementScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["scriptContent"],
        scope_tags: true,
        ..coll(
            "deviceManagement/deviceCustomAttributeShellScripts",
            "deviceCustomAttributeShellScript",
        )
    },
    // resources/intune-devices-devicehealthscript
    CollectionSpec {
        assign: assign("deviceHealthScriptAssignments", AssignReply::NoContent),
        assignment_type: "deviceHealthScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["detectionScriptContent", "remediationScriptContent"],
        scope_tags: true,
        server_set: &[
            ("isGlobalScript", Fill::Json("false")),
            ("highestAvailableVersion", Fill::Json("null")),
            (
                "deviceHealthScriptType",
                Fill::Json("\"deviceHealthScript\""),
            ),
            ("version", Fill::Json("\"1\"")),
        ],
        ..coll("deviceManagement/deviceHealthScripts", "deviceHealthScript")
    },
    // resources/intune-devices-devicecompliancescript
    CollectionSpec {
        assign: assign("deviceHealthScriptAssignments", AssignReply::NoContent),
        assignment_type: "deviceHealthScriptAssignment",
        assignment_id_sep: ":",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["detectionScriptContent"],
        scope_tags: true,
        server_set: &[("version", Fill::Json("\"1\""))],
        ..coll(
            "deviceManagement/deviceComplianceScripts",
            "deviceComplianceScript",
        )
    },
    // resources/intune-enrollment-windowsautopilotdeploymentprofile
    CollectionSpec {
        abstract_base: true,
        derived: types::AUTOPILOT_PROFILES,
        assign: Some(AssignSpec {
            payload_key: "deviceIds",
            other_keys: &[],
            reply: AssignReply::DeviceIds,
        }),
        assignment_type: "windowsAutopilotDeploymentProfileAssignment",
        navs: ONLY_ASSIGNMENTS,
        scope_tags: true,
        ..coll(
            "deviceManagement/windowsAutopilotDeploymentProfiles",
            "windowsAutopilotDeploymentProfile",
        )
    },
    // resources/intune-policyset-deviceandappmanagementassignmentfilter
    CollectionSpec {
        derived: &["payloadCompatibleAssignmentFilter"],
        ..coll(
            "deviceManagement/assignmentFilters",
            "deviceAndAppManagementAssignmentFilter",
        )
    },
    // resources/intune-rbac-rolescopetag
    CollectionSpec {
        assign: assign("assignments", AssignReply::Collection),
        assignment_type: "roleScopeTagAutoAssignment",
        navs: ONLY_ASSIGNMENTS,
        kind: Kind::ScopeTag,
        stamps: Stamps::None,
        server_set: &[("isBuiltIn", Fill::Json("false"))],
        ..coll("deviceManagement/roleScopeTags", "roleScopeTag")
    },
    // resources/intune-softwareupdate-windowsfeatureupdateprofile
    CollectionSpec {
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "windowsFeatureUpdateProfileAssignment",
        navs: ONLY_ASSIGNMENTS,
        scope_tags: true,
        server_set: &[
            (
                "deployableContentDisplayName",
                Fill::CopyOf("featureUpdateVersion"),
            ),
            ("endOfSupportDate", Fill::EndOfSupport),
        ],
        ..coll(
            "deviceManagement/windowsFeatureUpdateProfiles",
            "windowsFeatureUpdateProfile",
        )
    },
    // resources/intune-softwareupdate-windowsqualityupdateprofile
    CollectionSpec {
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "windowsQualityUpdateProfileAssignment",
        navs: ONLY_ASSIGNMENTS,
        scope_tags: true,
        server_set: &[
            ("releaseDateDisplayName", Fill::QualityRelease),
            ("deployableContentDisplayName", Fill::QualityContent),
        ],
        ..coll(
            "deviceManagement/windowsQualityUpdateProfiles",
            "windowsQualityUpdateProfile",
        )
    },
    // resources/intune-softwareupdate-windowsdriverupdateprofile
    CollectionSpec {
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "windowsDriverUpdateProfileAssignment",
        navs: ONLY_ASSIGNMENTS,
        scope_tags: true,
        server_set: &[
            ("newUpdates", Fill::Json("0")),
            ("deviceReporting", Fill::Json("0")),
            (
                "inventorySyncStatus",
                Fill::Json(
                    r#"{"lastSuccessfulSyncDateTime":"0001-01-01T00:00:00Z","driverInventorySyncState":"pending"}"#,
                ),
            ),
        ],
        ..coll(
            "deviceManagement/windowsDriverUpdateProfiles",
            "windowsDriverUpdateProfile",
        )
    },
    // resources/intune-onboarding-deviceenrollmentconfiguration
    CollectionSpec {
        abstract_base: true,
        derived: types::ENROLLMENT_CONFIGURATIONS,
        v1: true,
        assign: assign("enrollmentConfigurationAssignments", AssignReply::NoContent),
        assignment_type: "enrollmentConfigurationAssignment",
        navs: ONLY_ASSIGNMENTS,
        version: VersionKind::Int,
        scope_tags: true,
        kind: Kind::Enrollment,
        ..coll(
            "deviceManagement/deviceEnrollmentConfigurations",
            "deviceEnrollmentConfiguration",
        )
    },
    // resources/intune-deviceintent-devicemanagementintent
    CollectionSpec {
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "deviceManagementIntentAssignment",
        navs: &[
            ASSIGNMENTS,
            nav("settings", &[]),
            nav("categories", &[nav("settings", &[])]),
        ],
        scope_tags: true,
        is_assigned: true,
        kind: Kind::Intent,
        stamps: Stamps::ModifiedOnly,
        server_set: &[("isMigratingToConfigurationPolicy", Fill::Json("false"))],
        ..coll("deviceManagement/intents", "deviceManagementIntent")
    },
    // resources/intune-deviceconfigv2-devicemanagementreusablepolicysetting
    CollectionSpec {
        emit_type: false,
        version: VersionKind::Int,
        server_set: &[("referencingConfigurationPolicyCount", Fill::Json("0"))],
        ..coll(
            "deviceManagement/reusablePolicySettings",
            "deviceManagementReusablePolicySetting",
        )
    },
    // resources/intune-shared-devicecategory
    CollectionSpec {
        v1: true,
        scope_tags: true,
        stamps: Stamps::None,
        ..coll("deviceManagement/deviceCategories", "deviceCategory")
    },
    // resources/intune-notification-notificationmessagetemplate
    CollectionSpec {
        v1: true,
        navs: &[nav_rw("localizedNotificationMessages")],
        scope_tags: true,
        stamps: Stamps::ModifiedOnly,
        ..coll(
            "deviceManagement/notificationMessageTemplates",
            "notificationMessageTemplate",
        )
    },
    // resources/intune-shared-termsandconditions
    CollectionSpec {
        v1: true,
        assign: None,
        navs: &[nav("assignments", &[]), nav("acceptanceStatuses", &[])],
        version: VersionKind::Int,
        scope_tags: true,
        ..coll("deviceManagement/termsAndConditions", "termsAndConditions")
    },
    // resources/intune-wip-intunebrandingprofile
    CollectionSpec {
        key: "profileName",
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "intuneBrandingProfileAssignment",
        navs: ONLY_ASSIGNMENTS,
        scope_tags: true,
        server_set: &[("isDefaultProfile", Fill::Json("false"))],
        ..coll(
            "deviceManagement/intuneBrandingProfiles",
            "intuneBrandingProfile",
        )
    },
    // resources/intune-deviceconfig-hardwareconfiguration (BIOS configurations)
    CollectionSpec {
        assign: assign("hardwareConfigurationAssignments", AssignReply::NoContent),
        assignment_type: "hardwareConfigurationAssignment",
        navs: ONLY_ASSIGNMENTS,
        list_omits: &["configurationFileContent"],
        version: VersionKind::Int,
        scope_tags: true,
        ..coll(
            "deviceManagement/hardwareConfigurations",
            "hardwareConfiguration",
        )
    },
    // resources/cloudpcprovisioningpolicy
    CollectionSpec {
        emit_type: false,
        v1: true,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "cloudPcProvisioningPolicyAssignment",
        navs: ONLY_ASSIGNMENTS,
        stamps: Stamps::None,
        ..coll(
            "deviceManagement/virtualEndpoint/provisioningPolicies",
            "cloudPcProvisioningPolicy",
        )
    },
    // resources/cloudpcusersetting
    CollectionSpec {
        emit_type: false,
        v1: true,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "cloudPcUserSettingAssignment",
        navs: ONLY_ASSIGNMENTS,
        ..coll(
            "deviceManagement/virtualEndpoint/userSettings",
            "cloudPcUserSetting",
        )
    },
    // resources/intune-rbac-roledefinition (built-ins are `deviceAndAppManagementRoleDefinition`)
    CollectionSpec {
        derived: &["deviceAndAppManagementRoleDefinition"],
        v1: true,
        navs: &[nav_rw("roleAssignments")],
        scope_tags: true,
        kind: Kind::RoleDefinition,
        stamps: Stamps::None,
        server_set: &[
            ("isBuiltIn", Fill::Json("false")),
            ("isBuiltInRoleDefinition", Fill::Json("false")),
        ],
        ..coll("deviceManagement/roleDefinitions", "roleDefinition")
    },
    // resources/intune-rbac-deviceandappmanagementroleassignment
    CollectionSpec {
        derived: &["roleAssignment"],
        v1: true,
        navs: &[nav_one("roleDefinition"), nav("roleScopeTags", &[])],
        scope_tags: true,
        stamps: Stamps::None,
        ..coll(
            "deviceManagement/roleAssignments",
            "deviceAndAppManagementRoleAssignment",
        )
    },
    // resources/intune-enrollment-deponboardingsetting
    CollectionSpec {
        key: "tokenName",
        navs: &[
            nav_rw("enrollmentProfiles"),
            nav_rw("importedAppleDeviceIdentities"),
        ],
        scope_tags: true,
        stamps: Stamps::ModifiedOnly,
        ..coll(
            "deviceManagement/depOnboardingSettings",
            "depOnboardingSetting",
        )
    },
    // resources/intune-onboarding-compliancemanagementpartner
    CollectionSpec {
        v1: true,
        stamps: Stamps::None,
        ..coll(
            "deviceManagement/complianceManagementPartners",
            "complianceManagementPartner",
        )
    },
    // resources/intune-onboarding-devicemanagementpartner
    CollectionSpec {
        v1: true,
        stamps: Stamps::None,
        ..coll(
            "deviceManagement/deviceManagementPartners",
            "deviceManagementPartner",
        )
    },
    // resources/intune-remoteassistance-remoteassistancepartner
    CollectionSpec {
        v1: true,
        stamps: Stamps::None,
        ..coll(
            "deviceManagement/remoteAssistancePartners",
            "remoteAssistancePartner",
        )
    },
    // resources/intune-auditing-auditevent: written by the service for every change it makes.
    CollectionSpec {
        v1: true,
        stamps: Stamps::None,
        read_only: true,
        ..coll("deviceManagement/auditEvents", "auditEvent")
    },
    // resources/intune-apps-mobileappconfiguration (managedDeviceMobileAppConfiguration)
    CollectionSpec {
        abstract_base: true,
        derived: types::MOBILE_APP_CONFIGURATIONS,
        v1: true,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "managedDeviceMobileAppConfigurationAssignment",
        navs: ONLY_ASSIGNMENTS,
        version: VersionKind::Int,
        scope_tags: true,
        ..coll(
            "deviceAppManagement/mobileAppConfigurations",
            "managedDeviceMobileAppConfiguration",
        )
    },
    // resources/intune-mam-managedapppolicy: every app protection and configuration policy.
    CollectionSpec {
        abstract_base: true,
        derived: types::MANAGED_APP_POLICIES,
        v1: true,
        assign: assign("assignments", AssignReply::NoContent),
        assignment_type: "targetedManagedAppPolicyAssignment",
        navs: PROTECTION_NAVS,
        version: VersionKind::Str,
        scope_tags: true,
        is_assigned: true,
        server_set: &[("deployedAppCount", Fill::CountOf("apps"))],
        ..coll("deviceAppManagement/managedAppPolicies", "managedAppPolicy")
    },
    protection_view(
        "deviceAppManagement/iosManagedAppProtections",
        "iosManagedAppProtection",
    ),
    protection_view(
        "deviceAppManagement/androidManagedAppProtections",
        "androidManagedAppProtection",
    ),
    protection_view(
        "deviceAppManagement/windowsManagedAppProtections",
        "windowsManagedAppProtection",
    ),
    // The tenant-wide defaults: apps, no assignments.
    CollectionSpec {
        assign: None,
        assignment_type: "",
        navs: &[nav("apps", &[])],
        is_assigned: false,
        ..protection_view(
            "deviceAppManagement/defaultManagedAppProtections",
            "defaultManagedAppProtection",
        )
    },
    // Windows Information Protection: AppLocker files instead of apps.
    CollectionSpec {
        navs: WIP_NAVS,
        server_set: &[],
        ..protection_view(
            "deviceAppManagement/mdmWindowsInformationProtectionPolicies",
            "mdmWindowsInformationProtectionPolicy",
        )
    },
    CollectionSpec {
        navs: WIP_NAVS,
        server_set: &[],
        ..protection_view(
            "deviceAppManagement/windowsInformationProtectionPolicies",
            "windowsInformationProtectionPolicy",
        )
    },
    protection_view(
        "deviceAppManagement/targetedManagedAppConfigurations",
        "targetedManagedAppConfiguration",
    ),
    // resources/intune-apps-mobileapp
    CollectionSpec {
        abstract_base: true,
        derived: types::MOBILE_APPS,
        v1: true,
        assign: assign("mobileAppAssignments", AssignReply::NoContent),
        assignment_type: "mobileAppAssignment",
        navs: &[
            ASSIGNMENTS,
            nav("categories", &[]),
            nav("relationships", &[]),
        ],
        list_omits: &[],
        scope_tags: true,
        is_assigned: true,
        server_set: &[
            ("publishingState", Fill::Publishing),
            ("uploadState", Fill::UploadState),
            ("dependentAppCount", Fill::Json("0")),
            ("supersedingAppCount", Fill::Json("0")),
            ("supersededAppCount", Fill::Json("0")),
        ],
        ..coll("deviceAppManagement/mobileApps", "mobileApp")
    },
    // resources/intune-apps-mobileappcategory
    CollectionSpec {
        v1: true,
        stamps: Stamps::ModifiedOnly,
        ..coll(
            "deviceAppManagement/mobileAppCategories",
            "mobileAppCategory",
        )
    },
    // resources/intune-onboarding-vpptoken
    CollectionSpec {
        v1: true,
        key: "displayName",
        scope_tags: true,
        stamps: Stamps::ModifiedOnly,
        ..coll("deviceAppManagement/vppTokens", "vppToken")
    },
    // resources/conditionalaccesspolicy
    CollectionSpec {
        emit_type: false,
        v1: true,
        stamps: Stamps::CreatedModifiedShort,
        server_set: &[("templateId", Fill::Json("null"))],
        ..coll(
            "identity/conditionalAccess/policies",
            "conditionalAccessPolicy",
        )
    },
    // resources/namedlocation
    CollectionSpec {
        abstract_base: true,
        derived: types::NAMED_LOCATIONS,
        v1: true,
        stamps: Stamps::CreatedModifiedShort,
        ..coll("identity/conditionalAccess/namedLocations", "namedLocation")
    },
    // resources/group
    CollectionSpec {
        emit_type: false,
        v1: true,
        stamps: Stamps::CreatedOnly,
        server_set: &[
            ("deletedDateTime", Fill::Json("null")),
            ("renewedDateTime", Fill::Json("null")),
            ("securityIdentifier", Fill::Json("null")),
        ],
        ..coll("groups", "group")
    },
    // resources/user
    CollectionSpec {
        emit_type: false,
        v1: true,
        stamps: Stamps::CreatedOnly,
        ..coll("users", "user")
    },
];

/// Single-valued entities every tenant has.
pub static SINGLETONS: &[SingletonSpec] = &[
    // resources/intune-deviceconfig-devicemanagementsettings: a complex property of
    // `deviceManagement`, addressable as a property path.
    SingletonSpec {
        path: "deviceManagement/settings",
        type_name: "deviceManagementSettings",
        v1: true,
        entity: false,
        initial: r#"{"deviceComplianceCheckinThresholdDays":30,"isScheduledActionEnabled":true,"secureByDefault":false,"enhancedJailBreak":false,"deviceInactivityBeforeRetirementInDay":0,"derivedCredentialProvider":"notConfigured","derivedCredentialUrl":null,"androidDeviceAdministratorEnrollmentEnabled":false,"ignoreDevicesForUnsupportedSettingsEnabled":false,"enableLogCollection":true,"enableAutopilotDiagnostics":true,"enableEnhancedTroubleshootingExperience":false,"enableDeviceGroupMembershipReport":false,"m365AppDiagnosticsEnabled":false}"#,
    },
    // api/intune-devices-applepushnotificationcertificate-get
    SingletonSpec {
        path: "deviceManagement/applePushNotificationCertificate",
        type_name: "applePushNotificationCertificate",
        v1: true,
        entity: true,
        initial: r#"{"appleIdentifier":null,"topicIdentifier":null,"lastModifiedDateTime":"0001-01-01T00:00:00Z","expirationDateTime":"0001-01-01T00:00:00Z","certificateUploadStatus":null,"certificateUploadFailureReason":null,"certificateSerialNumber":null,"certificate":null}"#,
    },
    // api/intune-androidforwork-androidmanagedstoreaccountenterprisesettings-get
    SingletonSpec {
        path: "deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        type_name: "androidManagedStoreAccountEnterpriseSettings",
        v1: false,
        entity: true,
        initial: r#"{"bindStatus":"notBound","lastAppSyncDateTime":"0001-01-01T00:00:00Z","lastAppSyncStatus":"success","ownerUserPrincipalName":null,"ownerOrganizationName":null,"lastModifiedDateTime":"0001-01-01T00:00:00Z","enrollmentTarget":"none","targetGroupIds":[],"deviceOwnerManagementEnabled":false,"androidDeviceOwnerFullyManagedEnrollmentEnabled":false,"managedGooglePlayInitialScopeTagIds":[],"companyCodes":[]}"#,
    },
];

//! Demo builder: the rest of what an MSP configures in a tenant: settings-catalog compliance,
//! compliance and custom-attribute scripts, reusable settings, device categories, notification
//! templates, terms and conditions, a custom role, conditional access and named locations,
//! apps, Company Portal branding, BIOS configurations and Windows 365 policies.

use serde_json::json;

use crate::demo::generator::{TenantGen, b64};

pub(in crate::demo) fn tenant_admin(t: &mut TenantGen) {
    compliance_catalog(t);
    scripts(t);
    reusable_settings(t);
    categories_and_notifications(t);
    terms_and_roles(t);
    conditional_access(t);
    apps(t);
    branding_bios_and_cloud_pcs(t);
    connections(t);
}

/// What the tenant is connected to: Apple push and VPP, managed Google Play and partner
/// services.
fn connections(t: &mut TenantGen) {
    let expires = t.g.time();
    let domain = format!("{}.example.test", t.org.to_ascii_lowercase());
    let (apns_id, topic, store_id) = (t.g.guid(), t.g.guid(), t.g.guid());
    let serial = t.g.range(1 << 20, 1 << 30);
    t.set_singleton(
        "deviceManagement/applePushNotificationCertificate",
        json!({
            "id": apns_id,
            "appleIdentifier": format!("mdm@{domain}"),
            "topicIdentifier": format!("com.apple.mgmt.External.{topic}"),
            "lastModifiedDateTime": expires,
            "expirationDateTime": expires,
            "certificateUploadStatus": "succeeded",
            "certificateSerialNumber": format!("{serial:016X}"),
        }),
    );
    t.set_singleton(
        "deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        json!({
            "id": store_id,
            "bindStatus": "bound",
            "lastAppSyncDateTime": expires,
            "ownerUserPrincipalName": format!("android@{domain}"),
            "ownerOrganizationName": t.org,
            "lastModifiedDateTime": expires,
            "enrollmentTarget": "all",
            "deviceOwnerManagementEnabled": true,
            "androidDeviceOwnerFullyManagedEnrollmentEnabled": true,
        }),
    );
    // An Apple Business Manager (DEP) token with its enrollment profiles.
    let (ios, mac) = (t.g.guid(), t.g.guid());
    t.push(
        "deviceManagement/depOnboardingSettings",
        json!({
            "tokenName": format!("{} ABM", t.org),
            "appleIdentifier": format!("abm@{domain}"),
            "tokenType": "dep",
            "tokenExpirationDateTime": expires,
            "lastSuccessfulSyncDateTime": expires,
            "lastSyncTriggeredDateTime": expires,
            "lastSyncErrorCode": 0,
            "syncedDeviceCount": 42,
            "shareTokenWithSchoolDataSyncService": false,
            "dataSharingConsentGranted": true,
            "roleScopeTagIds": ["0"],
            "enrollmentProfiles": [
                {
                    "@odata.type": "#microsoft.graph.depIOSEnrollmentProfile",
                    "id": ios,
                    "displayName": "iPhone - corporate supervised",
                    "description": format!("{} corporate iPhones", t.org),
                    "requiresUserAuthentication": true,
                    "configurationEndpointUrl": "https://appleconfigurator2.manage.microsoft.com/MDMServiceConfig?id=sim",
                    "enableAuthenticationViaCompanyPortal": false,
                    "requireCompanyPortalOnSetupAssistantEnrolledDevices": false,
                    "isDefault": true,
                    "supervisedModeEnabled": true,
                    "supportDepartment": format!("{} IT", t.org),
                    "supportPhoneNumber": "+1 555 0100",
                    "isMandatory": true,
                    "locationDisabled": false,
                    "profileRemovalDisabled": true,
                    "restoreBlocked": false,
                    "appleIdDisabled": true,
                    "termsAndConditionsDisabled": true,
                    "touchIdDisabled": false,
                    "applePayDisabled": true,
                    "siriDisabled": false,
                    "diagnosticsDisabled": true,
                    "passCodeDisabled": false,
                    "deviceNameTemplate": "{{SERIAL}}",
                    "enableSharedIPad": false,
                },
                {
                    "@odata.type": "#microsoft.graph.depMacOSEnrollmentProfile",
                    "id": mac,
                    "displayName": "Mac - corporate",
                    "description": format!("{} corporate Macs", t.org),
                    "requiresUserAuthentication": true,
                    "configurationEndpointUrl": "https://appleconfigurator2.manage.microsoft.com/MDMServiceConfig?id=sim",
                    "enableAuthenticationViaCompanyPortal": false,
                    "requireCompanyPortalOnSetupAssistantEnrolledDevices": false,
                    "isDefault": false,
                    "supervisedModeEnabled": true,
                    "supportDepartment": format!("{} IT", t.org),
                    "supportPhoneNumber": "+1 555 0100",
                    "isMandatory": true,
                    "locationDisabled": false,
                    "profileRemovalDisabled": true,
                    "restoreBlocked": false,
                    "appleIdDisabled": false,
                    "termsAndConditionsDisabled": false,
                    "touchIdDisabled": false,
                    "applePayDisabled": false,
                    "siriDisabled": false,
                    "diagnosticsDisabled": false,
                    "fileVaultDisabled": false,
                    "iCloudDiagnosticsDisabled": true,
                    "registrationDisabled": false,
                },
            ],
        }),
    );
    t.set_singleton(
        "deviceManagement/settings",
        json!({"deviceComplianceCheckinThresholdDays": 14, "secureByDefault": true}),
    );
    t.push(
        "deviceAppManagement/vppTokens",
        json!({
            "displayName": format!("{} VPP", t.org),
            "organizationName": t.org,
            "vppTokenAccountType": "business",
            "appleId": format!("vpp@{}.example.test", t.org.to_ascii_lowercase()),
            "expirationDateTime": expires,
            "lastSyncDateTime": expires,
            "state": "valid",
            "countryOrRegion": "us",
            "automaticallyUpdateApps": true,
            "roleScopeTagIds": ["0"],
        }),
    );
    t.push(
        "deviceManagement/complianceManagementPartners",
        json!({"displayName": "Jamf Pro", "partnerState": "enabled", "macOsOnboarded": true,
            "windowsOnboarded": false, "androidOnboarded": false, "iosOnboarded": false,
            "lastHeartbeatDateTime": expires, "macOsEnrollmentAssignments": []}),
    );
    t.push(
        "deviceManagement/deviceManagementPartners",
        json!({"displayName": "Jamf Pro", "partnerAppType": "multiTenantApp", "partnerState": "enabled",
            "isConfigured": true, "lastHeartbeatDateTime": expires, "groupsRequiringPartnerEnrollment": []}),
    );
    t.push(
        "deviceManagement/remoteAssistancePartners",
        json!({"displayName": "TeamViewer", "onboardingUrl": "https://www.teamviewer.com/intune",
            "onboardingStatus": "onboarded", "lastConnectionDateTime": expires}),
    );
}

fn branding_bios_and_cloud_pcs(t: &mut TenantGen) {
    let assignments = t.plain_assignments();
    t.push(
        "deviceManagement/intuneBrandingProfiles",
        json!({
            "profileName": format!("{} branding", t.org),
            "profileDescription": "Company Portal branding",
            "displayName": format!("{} IT", t.org),
            "contactITName": "Service desk",
            "contactITPhoneNumber": "+1 555 0100",
            "contactITEmailAddress": "servicedesk@example.test",
            "showLogo": true,
            "showDisplayNameNextToLogo": true,
            "themeColor": {"r": 0, "g": 120, "b": 212},
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        }),
    );
    let assignments = t.plain_assignments();
    t.push(
        "deviceManagement/hardwareConfigurations",
        json!({
            "displayName": "Dell BIOS - secure boot",
            "description": format!("{} – BIOS settings", t.org),
            "hardwareConfigurationFormat": "dell",
            "fileName": "secureboot.cctk",
            "configurationFileContent": b64("[cctk]\nSecureBoot=Enabled\n"),
            "perDevicePasswordDisabled": false,
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        }),
    );
    let assignments = t.plain_assignments();
    t.push(
        "deviceManagement/virtualEndpoint/provisioningPolicies",
        json!({
            "displayName": "Cloud PC - Windows 11 Enterprise",
            "description": format!("{} – Cloud PCs", t.org),
            "imageId": "microsoftwindowsdesktop_windows-ent-cpc_win11-23h2-ent-cpc-m365",
            "imageDisplayName": "Windows 11 Enterprise + Microsoft 365 Apps 23H2",
            "imageType": "gallery",
            "provisioningType": "dedicated",
            "enableSingleSignOn": true,
            "domainJoinConfigurations": [{"domainJoinType": "azureADJoin", "type": "azureADJoin", "regionName": "automatic", "regionGroup": "usEast"}],
            "windowsSetting": {"locale": "en-US"},
            "assignments": assignments,
        }),
    );
    let assignments = t.plain_assignments();
    t.push(
        "deviceManagement/virtualEndpoint/userSettings",
        json!({
            "displayName": "Cloud PC users - standard",
            "localAdminEnabled": false,
            "resetEnabled": true,
            "restorePointSetting": {"frequencyType": "default", "userRestoreEnabled": true},
            "assignments": assignments,
        }),
    );
}

fn compliance_catalog(t: &mut TenantGen) {
    for (name, platform, def, value) in [
        (
            "Linux - Distribution and encryption",
            "linux",
            "linux_distribution_alloweddistros",
            "linux_distribution_alloweddistros_item_$type_ubuntu",
        ),
        (
            "Windows - Custom compliance",
            "windows10",
            "windows10_compliance_customcompliance_required",
            "windows10_compliance_customcompliance_required_true",
        ),
    ] {
        let assignments = t.plain_assignments();
        let instance = json!({
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": def,
            "choiceSettingValue": {"value": value, "children": []},
        });
        t.push(
            "deviceManagement/compliancePolicies",
            json!({
                "name": name,
                "description": format!("{} – {name}", t.org),
                "platforms": platform,
                "technologies": if platform == "linux" { "linuxMdm" } else { "mdm" },
                "roleScopeTagIds": ["0"],
                "settings": [{"settingInstance": instance}],
                "scheduledActionsForRule": [{
                    "ruleName": null,
                    "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 0, "notificationTemplateId": "", "notificationMessageCCList": []}],
                }],
                "assignments": assignments,
            }),
        );
    }
}

fn scripts(t: &mut TenantGen) {
    let assignments = t.plain_assignments();
    t.push(
        "deviceManagement/deviceComplianceScripts",
        json!({
            "displayName": "Custom compliance - BIOS password set",
            "description": format!("{} – BIOS password check", t.org),
            "publisher": t.org,
            "runAsAccount": "system",
            "enforceSignatureCheck": false,
            "runAs32Bit": false,
            "detectionScriptContent": b64("$hash = @{ BiosPasswordSet = $true }\nreturn $hash | ConvertTo-Json -Compress\n"),
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        }),
    );
    let assignments = t.plain_assignments();
    t.push(
        "deviceManagement/deviceCustomAttributeShellScripts",
        json!({
            "displayName": "macOS - FileVault status",
            "description": format!("{} – FileVault attribute", t.org),
            "customAttributeName": "FileVaultStatus",
            "customAttributeType": "string",
            "runAsAccount": "system",
            "fileName": "filevault.sh",
            "scriptContent": b64("#!/bin/sh\nfdesetup status\n"),
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        }),
    );
}

fn reusable_settings(t: &mut TenantGen) {
    let def = "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}";
    t.push(
        "deviceManagement/reusablePolicySettings",
        json!({
            "displayName": "Branch office address ranges",
            "description": format!("{} – firewall address ranges", t.org),
            "settingDefinitionId": def,
            "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
                "settingDefinitionId": def,
                "settingInstanceTemplateReference": null,
                "groupSettingCollectionValue": [],
            },
        }),
    );
}

fn categories_and_notifications(t: &mut TenantGen) {
    for name in ["Corporate", "Kiosk", "Shared", "BYOD"] {
        t.push(
            "deviceManagement/deviceCategories",
            json!({"displayName": name, "description": format!("{} – {name} devices", t.org), "roleScopeTagIds": ["0"]}),
        );
    }
    let id = t.g.guid();
    // The first compliance policy notifies with this template before it blocks.
    if let Some((_, policy)) = t
        .objects
        .iter_mut()
        .find(|(spec, _)| spec.path == "deviceManagement/deviceCompliancePolicies")
        && let Some(configs) =
            policy["scheduledActionsForRule"][0]["scheduledActionConfigurations"].as_array_mut()
    {
        configs.push(json!({"actionType": "notification", "gracePeriodHours": 24,
            "notificationTemplateId": id, "notificationMessageCCList": []}));
    }
    t.push(
        "deviceManagement/notificationMessageTemplates",
        json!({
            "id": id,
            "displayName": "Non-compliant device notice",
            "description": format!("{} – compliance e-mail", t.org),
            "defaultLocale": "en-us",
            "brandingOptions": "includeCompanyLogo,includeCompanyName,includeContactInformation",
            "roleScopeTagIds": ["0"],
            "localizedNotificationMessages": [{
                "id": format!("{id}_en-us"),
                "locale": "en-us",
                "subject": "Your device is not compliant",
                "messageTemplate": "Please update your device to keep access to company resources.",
                "isDefault": true,
            }],
        }),
    );
}

fn terms_and_roles(t: &mut TenantGen) {
    t.push(
        "deviceManagement/termsAndConditions",
        json!({
            "displayName": "Acceptable use",
            "description": format!("{} – acceptable use", t.org),
            "title": format!("{} acceptable use policy", t.org),
            "bodyText": "By enrolling this device you accept the acceptable use policy.",
            "acceptanceStatement": "I accept",
            "roleScopeTagIds": ["0"],
        }),
    );
    let role = t.g.guid();
    t.push(
        "deviceManagement/roleDefinitions",
        json!({
            "@odata.type": "#microsoft.graph.deviceAndAppManagementRoleDefinition",
            "id": role,
            "displayName": "MSP - Tier 1 support",
            "description": format!("{} – read devices, sync and restart", t.org),
            "roleScopeTagIds": ["0"],
            "rolePermissions": [{"actions": [], "resourceActions": [{"allowedResourceActions": [
                "Microsoft.Intune_ManagedDevices_Read",
                "Microsoft.Intune_RemoteTasks_SyncDevice",
                "Microsoft.Intune_RemoteTasks_Reboot",
            ], "notAllowedResourceActions": []}]}],
        }),
    );
    let member = t.groups[8].clone();
    t.push(
        "deviceManagement/roleAssignments",
        json!({
            "displayName": "Tier 1 - all devices",
            "description": "",
            "scopeMembers": [],
            "scopeType": "allDevices",
            "resourceScopes": [],
            "members": [member],
            "roleScopeTagIds": ["0"],
            "roleDefinition": {"id": role},
        }),
    );
}

fn conditional_access(t: &mut TenantGen) {
    let office = t.g.guid();
    t.push(
        "identity/conditionalAccess/namedLocations",
        json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": office,
            "displayName": "Head office",
            "isTrusted": true,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}],
        }),
    );
    t.push(
        "identity/conditionalAccess/namedLocations",
        json!({
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "Blocked countries",
            "countriesAndRegions": ["KP", "IR"],
            "includeUnknownCountriesAndRegions": false,
            "countryLookupMethod": "clientIpAddress",
        }),
    );
    let excluded = t.groups[4].clone();
    for (name, state, grant) in [
        ("CA001 - Require MFA for admins", "enabled", "mfa"),
        (
            "CA002 - Require compliant device",
            "enabledForReportingButNotEnforced",
            "compliantDevice",
        ),
    ] {
        t.push(
            "identity/conditionalAccess/policies",
            json!({
                "displayName": name,
                "state": state,
                "conditions": {
                    "clientAppTypes": ["all"],
                    "applications": {"includeApplications": ["All"], "excludeApplications": []},
                    "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [excluded]},
                    "locations": {"includeLocations": ["All"], "excludeLocations": [office]},
                },
                "grantControls": {"operator": "OR", "builtInControls": [grant], "customAuthenticationFactors": [], "termsOfUse": []},
                "sessionControls": null,
            }),
        );
    }
}

fn apps(t: &mut TenantGen) {
    let rows = [
        json!({"@odata.type": "#microsoft.graph.webApp", "displayName": "Intranet", "publisher": t.org, "appUrl": "https://intranet.example.test", "useManagedBrowser": false}),
        json!({"@odata.type": "#microsoft.graph.officeSuiteApp", "displayName": "Microsoft 365 Apps for Windows 10 and later", "publisher": "Microsoft", "productIds": ["o365ProPlusRetail"], "updateChannel": "current", "officePlatformArchitecture": "x64", "localesToInstall": ["en-us"]}),
        json!({"@odata.type": "#microsoft.graph.winGetApp", "displayName": "Company Portal", "publisher": "Microsoft Corporation", "packageIdentifier": "9WZDNCRFJ3PZ", "installExperience": {"runAsAccount": "user"}}),
        json!({"@odata.type": "#microsoft.graph.iosStoreApp", "displayName": "Microsoft Authenticator", "publisher": "Microsoft Corporation", "bundleId": "com.microsoft.azureauthenticator", "appStoreUrl": "https://apps.apple.com/app/id983156458", "applicableDeviceType": {"iPad": true, "iPhoneAndIPod": true}, "minimumSupportedOperatingSystem": {"v15_0": true}}),
        json!({"@odata.type": "#microsoft.graph.managedIOSStoreApp", "displayName": "Microsoft Outlook", "publisher": "Microsoft Corporation", "appAvailability": "global", "version": "4.2", "bundleId": "com.microsoft.Office.Outlook", "appStoreUrl": "https://apps.apple.com/app/id951937596"}),
        json!({"@odata.type": "#microsoft.graph.win32LobApp", "displayName": "7-Zip 23.01", "publisher": "Igor Pavlov", "fileName": "7zip.intunewin", "setupFilePath": "7z2301-x64.msi", "installCommandLine": "msiexec /i 7z2301-x64.msi /qn", "uninstallCommandLine": "msiexec /x {23170F69-40C1-2702-2301-000001000000} /qn", "size": 1572864, "committedContentVersion": "1", "rules": [], "installExperience": {"runAsAccount": "system", "deviceRestartBehavior": "suppress"}}),
    ];
    for app in rows {
        let assignments = t.assignments(|_| {
            let mut m = serde_json::Map::new();
            m.insert("intent".into(), json!("required"));
            m
        });
        let mut app = app;
        if let Some(o) = app.as_object_mut() {
            o.insert(
                "description".into(),
                json!(format!("{} – deployed app", t.org)),
            );
            o.insert("roleScopeTagIds".into(), json!(["0"]));
            o.insert("assignments".into(), json!(assignments));
        }
        t.push("deviceAppManagement/mobileApps", app);
    }
}

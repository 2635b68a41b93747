//! One sample object per collection: the smallest realistic body Graph accepts for a create
//! there, named as the caller asks. graph-sim's contract tests, PolicyVault's round-trip
//! tests and anyone adding a collection share these, so a new collection is one row in the
//! table, its types and one sample here.

use serde_json::{Value, json};

/// A body Graph accepts for a create in `collection` (its path below the version), with its
/// display-name property set to `name`; `None` for a collection only the service writes.
pub fn sample(collection: &str, name: &str) -> Option<Value> {
    let body = match collection {
        "deviceManagement/configurationPolicies" => json!({
            "name": name, "platforms": "windows10", "technologies": "mdm",
            "settings": [{"@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting", "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                "settingDefinitionId": "device_vendor_msft_policy_config_defender_allowarchivescanning",
                "choiceSettingValue": {"value": "device_vendor_msft_policy_config_defender_allowarchivescanning_1", "children": []}}}]
        }),
        "deviceManagement/deviceConfigurations" => {
            json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": name, "passwordRequired": true})
        }
        "deviceManagement/deviceCompliancePolicies" => {
            json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": name, "passwordRequired": true,
            "scheduledActionsForRule": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 0}]}]})
        }
        "deviceManagement/groupPolicyConfigurations" => {
            json!({"displayName": name, "description": "d"})
        }
        "deviceManagement/deviceManagementScripts" => {
            json!({"@odata.type": "#microsoft.graph.deviceManagementScript", "displayName": name, "scriptContent": "V3JpdGUtSG9zdCAnaGkn", "runAsAccount": "system", "fileName": "a.ps1"})
        }
        "deviceManagement/deviceShellScripts" => {
            json!({"displayName": name, "scriptContent": "ZWNobyBoaQ==", "runAsAccount": "system", "fileName": "a.sh"})
        }
        "deviceManagement/deviceHealthScripts" => {
            json!({"displayName": name, "publisher": "me", "detectionScriptContent": "ZXhpdCAw", "remediationScriptContent": "ZXhpdCAw"})
        }
        "deviceManagement/windowsAutopilotDeploymentProfiles" => {
            json!({"@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile", "displayName": name, "deviceNameTemplate": "X-%SERIAL%"})
        }
        "deviceManagement/assignmentFilters" => {
            json!({"displayName": name, "platform": "windows10AndLater", "rule": "(device.model -eq \"x\")"})
        }
        "deviceManagement/roleScopeTags" => json!({"displayName": name, "description": "tag"}),
        "deviceManagement/windowsFeatureUpdateProfiles" => {
            json!({"displayName": name, "featureUpdateVersion": "Windows 11, version 24H2"})
        }
        "deviceManagement/windowsQualityUpdateProfiles" => {
            json!({"displayName": name, "expeditedUpdateSettings": {"qualityUpdateRelease": "2024-05-14T00:00:00Z", "daysUntilForcedReboot": 1}})
        }
        "deviceManagement/windowsDriverUpdateProfiles" => {
            json!({"displayName": name, "approvalType": "manual"})
        }
        "deviceManagement/deviceEnrollmentConfigurations" => {
            json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": name, "limit": 5})
        }
        "deviceManagement/intents" => json!({"displayName": name, "templateId": "t"}),
        "deviceAppManagement/mobileAppConfigurations" => {
            json!({"@odata.type": "#microsoft.graph.iosMobileAppConfiguration", "displayName": name, "targetedMobileApps": []})
        }
        "deviceAppManagement/managedAppPolicies" => {
            json!({"@odata.type": "#microsoft.graph.iosManagedAppProtection", "displayName": name, "pinRequired": true})
        }
        "deviceManagement/compliancePolicies" => json!({
            "name": name, "platforms": "linux", "technologies": "linuxMdm",
            "settings": [{"settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                "settingDefinitionId": "linux_distribution_alloweddistros",
                "choiceSettingValue": {"value": "linux_distribution_alloweddistros_item_$type_ubuntu", "children": []}}}],
            "scheduledActionsForRule": [{"ruleName": null, "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 0}]}]
        }),
        "deviceManagement/deviceComplianceScripts" => {
            json!({"displayName": name, "publisher": "me", "detectionScriptContent": "ZXhpdCAw", "runAsAccount": "system"})
        }
        "deviceManagement/deviceCustomAttributeShellScripts" => {
            json!({"displayName": name, "customAttributeName": "A", "customAttributeType": "string", "scriptContent": "ZWNobyBoaQ==", "runAsAccount": "system", "fileName": "a.sh"})
        }
        "deviceManagement/reusablePolicySettings" => {
            json!({"displayName": name, "settingDefinitionId": "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}",
                "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
                    "settingDefinitionId": "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}", "groupSettingCollectionValue": []}})
        }
        "deviceManagement/deviceCategories" => json!({"displayName": name, "description": "c"}),
        "deviceManagement/notificationMessageTemplates" => {
            json!({"displayName": name, "defaultLocale": "en-us", "brandingOptions": "includeCompanyLogo",
                "localizedNotificationMessages": [
                    {"locale": "en-us", "subject": "Action needed", "messageTemplate": "Update your device.", "isDefault": true},
                    {"locale": "de-de", "subject": "Aktion erforderlich", "messageTemplate": "Bitte aktualisieren.", "isDefault": false}]})
        }
        "deviceManagement/termsAndConditions" => {
            json!({"displayName": name, "title": "T", "bodyText": "B", "acceptanceStatement": "A"})
        }
        "deviceManagement/roleDefinitions" => {
            json!({"@odata.type": "#microsoft.graph.deviceAndAppManagementRoleDefinition", "displayName": name,
                "rolePermissions": [{"resourceActions": [{"allowedResourceActions": ["Microsoft.Intune_ManagedDevices_Read"]}]}]})
        }
        "deviceManagement/roleAssignments" => {
            json!({"displayName": name, "members": [], "scopeType": "allDevices", "resourceScopes": [],
                // The built-in Help Desk Operator role.
                "roleDefinition": {"id": "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e"}})
        }
        "deviceManagement/depOnboardingSettings" => {
            json!({"tokenName": name, "appleIdentifier": "a@example.test"})
        }
        // Contained in each token (`.../depOnboardingSettings/{id}/enrollmentProfiles`).
        "deviceManagement/depOnboardingSettings/enrollmentProfiles" => {
            json!({"@odata.type": "#microsoft.graph.depIOSEnrollmentProfile", "displayName": name,
                "requiresUserAuthentication": true, "supervisedModeEnabled": true, "isDefault": false})
        }
        "deviceManagement/complianceManagementPartners"
        | "deviceManagement/deviceManagementPartners"
        | "deviceManagement/remoteAssistancePartners" => json!({"displayName": name}),
        "deviceManagement/intuneBrandingProfiles" => {
            json!({"profileName": name, "displayName": "Contoso IT", "showLogo": true})
        }
        "deviceManagement/hardwareConfigurations" => json!({"displayName": name,
            "hardwareConfigurationFormat": "dell", "configurationFileContent": "QmlvcyBzZXR0aW5ncw==", "fileName": "bios.cctk"}),
        "deviceManagement/virtualEndpoint/provisioningPolicies" => json!({"displayName": name,
            "imageId": "microsoftwindowsdesktop_windows-ent-cpc_win11-23h2-ent-cpc", "imageType": "gallery",
            "provisioningType": "dedicated", "domainJoinConfigurations": [{"domainJoinType": "azureADJoin", "type": "azureADJoin"}]}),
        "deviceManagement/virtualEndpoint/userSettings" => {
            json!({"displayName": name, "localAdminEnabled": false, "resetEnabled": true})
        }
        "deviceAppManagement/mobileApps" => {
            json!({"@odata.type": "#microsoft.graph.webApp", "displayName": name, "publisher": "me", "appUrl": "https://example.test"})
        }
        "deviceAppManagement/mobileAppCategories" => json!({"displayName": name}),
        "deviceAppManagement/vppTokens" => {
            json!({"displayName": name, "appleId": "a@example.test"})
        }
        "deviceAppManagement/iosManagedAppProtections"
        | "deviceAppManagement/androidManagedAppProtections"
        | "deviceAppManagement/windowsManagedAppProtections"
        | "deviceAppManagement/defaultManagedAppProtections"
        | "deviceAppManagement/mdmWindowsInformationProtectionPolicies"
        | "deviceAppManagement/windowsInformationProtectionPolicies"
        | "deviceAppManagement/targetedManagedAppConfigurations" => json!({"displayName": name}),
        "identity/conditionalAccess/policies" => json!({"displayName": name, "state": "disabled",
            "conditions": {"applications": {"includeApplications": ["None"]}, "users": {"includeUsers": ["None"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
        "identity/conditionalAccess/namedLocations" => {
            json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": name,
            "isTrusted": false, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]})
        }
        "groups" => {
            json!({"displayName": name, "mailEnabled": false, "mailNickname": "g", "securityEnabled": true})
        }
        "users" => {
            json!({"displayName": name, "accountEnabled": true, "mailNickname": "u", "userPrincipalName": "u@example.test",
            "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "generated-only-for-tests"}})
        }
        _ => return None,
    };
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::COLLECTIONS;

    #[test]
    fn every_writable_collection_has_a_sample_carrying_its_name() {
        for c in COLLECTIONS.iter().filter(|c| !c.read_only) {
            let s = sample(c.path, "Sample").unwrap_or_else(|| panic!("no sample for {}", c.path));
            assert_eq!(s[c.key], "Sample", "{}", c.path);
        }
        assert!(sample("deviceManagement/auditEvents", "x").is_none());
    }
}

//! Demo builder: Device configuration profiles across platforms.

use serde_json::{Value, json};

use crate::demo::generator::{TenantGen, b64};

pub(in crate::demo) fn device_configurations(t: &mut TenantGen) {
    let rows: Vec<(&str, &str, Value)> = vec![
        (
            "windows10GeneralConfiguration",
            "Win - General restrictions",
            json!({"passwordRequired": true, "passwordMinimumLength": 12, "cameraBlocked": false, "storageBlockRemovableStorage": false, "defenderRequireRealTimeMonitoring": true}),
        ),
        (
            "windows10EndpointProtectionConfiguration",
            "Win - Endpoint protection",
            json!({"firewallBlockStatefulFTP": true, "applicationGuardEnabled": false, "bitLockerEncryptDevice": true, "smartScreenEnableInShell": true}),
        ),
        (
            "windows10CustomConfiguration",
            "Win - Custom OMA-URI",
            json!({"omaSettings": [{"@odata.type": "#microsoft.graph.omaSettingInteger", "displayName": "Disable consumer features", "omaUri": "./Device/Vendor/MSFT/Policy/Config/Experience/AllowWindowsConsumerFeatures", "value": 0}]}),
        ),
        (
            "windowsHealthMonitoringConfiguration",
            "Win - Endpoint analytics",
            json!({"allowDeviceHealthMonitoring": "enabled", "configDeviceHealthMonitoringScope": "bootPerformance,windowsUpdates"}),
        ),
        (
            "windowsDeliveryOptimizationConfiguration",
            "Win - Delivery optimization",
            json!({"deliveryOptimizationMode": "httpWithPeeringNat", "minimumDiskSizeAllowedToPeerInGigabytes": 32}),
        ),
        (
            "windowsIdentityProtectionConfiguration",
            "Win - Windows Hello",
            json!({"useSecurityKeyForSignin": true, "pinMinimumLength": 6, "windowsHelloForBusinessBlocked": false}),
        ),
        (
            "windows10VpnConfiguration",
            "Win - Always On VPN",
            json!({"connectionName": "Corp VPN", "connectionType": "windows10Ikev2", "servers": [{"address": "vpn.example.test", "description": "Primary", "isDefaultServer": true}]}),
        ),
        (
            "windowsWifiConfiguration",
            "Win - Corporate Wi-Fi",
            json!({"ssid": "CORP", "connectAutomatically": true, "wifiSecurityType": "wpa2Personal"}),
        ),
        (
            "editionUpgradeConfiguration",
            "Win - Edition upgrade",
            json!({"licenseType": "productKey", "targetEdition": "windows10Enterprise", "productKey": "#####-#####-#####-#####-#####"}),
        ),
        (
            "sharedPCConfiguration",
            "Win - Shared PC",
            json!({"accountManagerPolicy": {"accountDeletionPolicy": "diskSpaceThreshold", "cacheAccountsAboveDiskFreePercentage": 50}, "allowedAccounts": "guest,domain"}),
        ),
        (
            "windowsUpdateForBusinessConfiguration",
            "Win - Update ring Broad",
            json!({"deliveryOptimizationMode": "httpOnly", "qualityUpdatesDeferralPeriodInDays": 7, "featureUpdatesDeferralPeriodInDays": 30, "automaticUpdateMode": "autoInstallAtMaintenanceTime"}),
        ),
        (
            "windowsUpdateForBusinessConfiguration",
            "Win - Update ring Pilot",
            json!({"deliveryOptimizationMode": "httpOnly", "qualityUpdatesDeferralPeriodInDays": 0, "featureUpdatesDeferralPeriodInDays": 0, "automaticUpdateMode": "autoInstallAndRebootAtMaintenanceTime"}),
        ),
        (
            "iosGeneralDeviceConfiguration",
            "iOS - Device restrictions",
            json!({"passcodeRequired": true, "passcodeMinimumLength": 6, "cameraBlocked": false, "iCloudBlockBackup": true}),
        ),
        (
            "iosDeviceFeaturesConfiguration",
            "iOS - Home screen layout",
            json!({"assetTagTemplate": "Property of {}", "lockScreenFootnote": "If found call IT"}),
        ),
        (
            "macOSGeneralDeviceConfiguration",
            "macOS - Restrictions",
            json!({"passwordRequired": true, "passwordMinimumLength": 10, "airDropBlocked": true}),
        ),
        (
            "macOSCustomConfiguration",
            "macOS - Custom profile",
            json!({"payloadName": "Custom", "payloadFileName": "custom.mobileconfig", "payload": b64("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict/></plist>")}),
        ),
        (
            "androidWorkProfileGeneralDeviceConfiguration",
            "Android - Work profile",
            json!({"passwordRequired": true, "workProfileBlockScreenCapture": true}),
        ),
        (
            "androidDeviceOwnerGeneralDeviceConfiguration",
            "Android - Fully managed",
            json!({"passwordRequireUnlock": "daily", "screenCaptureBlocked": true, "factoryResetBlocked": true}),
        ),
    ];
    for (ty, name, props) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "version": t.g.range(1, 9),
            "roleScopeTagIds": ["0"],
            "supportsScopeTags": true,
            "deviceManagementApplicabilityRuleOsEdition": null,
            "assignments": assignments,
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceManagement/deviceConfigurations", obj);
    }
}

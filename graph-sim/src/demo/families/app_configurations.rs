//! Demo builder: App configuration policies (managed devices and managed apps).

use serde_json::json;

use crate::demo::generator::{TenantGen, b64};

pub(in crate::demo) fn app_configurations(t: &mut TenantGen) {
    let ios = [
        (
            "Outlook - org accounts only",
            "com.microsoft.Office.Outlook",
        ),
        ("Teams - managed config", "com.microsoft.skype.teams"),
        ("Edge - managed bookmarks", "com.microsoft.msedge"),
        ("OneDrive - restrict accounts", "com.microsoft.skydrive"),
        ("Company Portal - enrollment", "com.microsoft.CompanyPortal"),
        (
            "Authenticator - number matching",
            "com.microsoft.azureauthenticator",
        ),
    ];
    for (name, bundle) in ios {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "@odata.type": "#microsoft.graph.iosMobileAppConfiguration",
            "id": id, "displayName": format!("iOS - {name}"), "description": format!("{} – {name}", t.org),
            "targetedMobileApps": [t.g.guid()], "roleScopeTagIds": ["0"],
            "createdDateTime": created, "lastModifiedDateTime": created, "version": 1,
            "encodedSettingXml": null,
            "settings": [
                {"appConfigKey": "IntuneMAMAllowedAccountsOnly", "appConfigKeyType": "stringType", "appConfigKeyValue": "Enabled"},
                {"appConfigKey": "IntuneMAMUPN", "appConfigKeyType": "stringType", "appConfigKeyValue": "{{userprincipalname}}"},
                {"appConfigKey": "bundle", "appConfigKeyType": "stringType", "appConfigKeyValue": bundle},
            ],
            "assignments": assignments,
        });
        t.push("deviceAppManagement/mobileAppConfigurations", obj);
    }
    let android = [
        (
            "Outlook - org accounts only",
            "com.microsoft.office.outlook",
        ),
        ("Teams - managed config", "com.microsoft.teams"),
        ("Edge - managed bookmarks", "com.microsoft.emmx"),
        ("Chrome - homepage", "com.android.chrome"),
        ("Zebra - kiosk settings", "com.zebra.mdna.els"),
        ("Managed Home Screen", "com.microsoft.launcher.enterprise"),
    ];
    for (name, package) in android {
        let id = t.g.guid();
        let created = t.g.time();
        let payload = json!({"kind": "androidenterprise#managedConfiguration", "productId": format!("app:{package}"), "managedProperty": [{"key": "com.microsoft.intune.mam.AllowedAccountUPNs", "valueString": "{{userprincipalname}}"}]});
        let assignments = t.plain_assignments();
        let obj = json!({
            "@odata.type": "#microsoft.graph.androidManagedStoreAppConfiguration",
            "id": id, "displayName": format!("Android - {name}"), "description": format!("{} – {name}", t.org),
            "targetedMobileApps": [t.g.guid()], "roleScopeTagIds": ["0"],
            "createdDateTime": created, "lastModifiedDateTime": created, "version": 1,
            "packageId": format!("app:{package}"),
            "payloadJson": b64(&payload.to_string()),
            "profileApplicability": "default",
            "connectedAppsEnabled": false,
            "permissionActions": [],
            "appSupportsOemConfig": false,
            "assignments": assignments,
        });
        t.push("deviceAppManagement/mobileAppConfigurations", obj);
    }
}

//! Static demo catalogues: intent templates, the ADMX definitions with their presentations,
//! and the settings-catalog settings demo policies draw from.

use serde_json::{Map, Value, json};

use crate::fixtures::stable_guid;

use super::generator::Gen;

/// One intent template as Microsoft publishes it.
struct Template {
    id: &'static str,
    name: &'static str,
    /// `templateType`.
    kind: &'static str,
    /// `templateSubtype` (Graph's own spelling, `endpointDetectionReponse` included).
    subtype: &'static str,
    platform: &'static str,
    version: Option<&'static str>,
    published: Option<&'static str>,
}

/// The intent templates (security baselines and endpoint-security templates) with the ids
/// Microsoft gives them in every tenant, as real exports and `GET deviceManagement/templates`
/// answers show them. Where no source showed a value it is null.
const TEMPLATES: &[Template] = &[
    Template {
        id: "034ccd46-190c-4afc-adf1-ad7cc11262eb",
        name: "MDM Security Baseline for Windows 10 and later for November 2021",
        kind: "securityBaseline",
        subtype: "none",
        platform: "windows10AndLater",
        version: Some("November 2021"),
        published: Some("2021-10-22T00:00:00Z"),
    },
    Template {
        id: "c04a010a-e7c5-44b1-a814-88df6f053f16",
        name: "MDM Security Baseline for Windows 10 and later for Decemeber 2020",
        kind: "securityBaseline",
        subtype: "none",
        platform: "windows10AndLater",
        version: Some("December 2020"),
        published: None,
    },
    Template {
        id: "cef15778-c3b9-4d53-a00a-042929f0aad0",
        name: "Windows 365 Security Baseline",
        kind: "cloudPC",
        subtype: "none",
        platform: "windows10AndLater",
        version: Some("November 2021"),
        published: Some("2021-10-21T00:00:00Z"),
    },
    Template {
        id: "54dd8d4d-f159-4da0-9d8f-40f44aef5608",
        name: "Email",
        kind: "deviceConfigurationForOffice365",
        subtype: "none",
        platform: "windows10AndLater",
        version: Some("Version 1"),
        published: Some("2001-01-01T00:00:00Z"),
    },
    Template {
        id: "2209e067-9c8c-462e-9981-5a8c79165dcc",
        name: "Microsoft Defender for Endpoint baseline",
        kind: "advancedThreatProtectionSecurityBaseline",
        subtype: "none",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "a8d6fa0e-1e66-455b-bb51-8ce0dde1559e",
        name: "Microsoft Edge baseline",
        kind: "microsoftEdgeSecurityBaseline",
        subtype: "none",
        platform: "windows10AndLater",
        version: Some("September 2020 (Edge version 85 and later)"),
        published: None,
    },
    Template {
        id: "4356d05c-a4ab-4a07-9ece-739f7c792910",
        name: "Windows Firewall rules",
        kind: "securityTemplate",
        subtype: "firewall",
        platform: "windows10AndLater",
        version: Some("2006"),
        published: Some("2020-03-11T00:00:00Z"),
    },
    Template {
        id: "c53e5a9f-2eec-4175-98a1-2b3d38084b91",
        name: "Microsoft Defender Firewall",
        kind: "securityTemplate",
        subtype: "firewall",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "5340aa10-47a8-4e67-893f-690984e4d5da",
        name: "macOS firewall",
        kind: "securityTemplate",
        subtype: "firewall",
        platform: "macOS",
        version: None,
        published: None,
    },
    Template {
        id: "4b219836-f2b1-46c6-954d-4cd2f4128676",
        name: "Microsoft Defender Firewall Rules",
        kind: "securityTemplate",
        subtype: "firewall",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "d1174162-1dd2-4976-affc-6667049ab0ae",
        name: "BitLocker",
        kind: "securityTemplate",
        subtype: "diskEncryption",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "2b595bcc-ef65-42ce-a0e3-67389ae50b8e",
        name: "BitLocker",
        kind: "securityTemplate",
        subtype: "diskEncryption",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "a239407c-698d-4ef8-b314-e3ae409204b8",
        name: "FileVault",
        kind: "securityTemplate",
        subtype: "diskEncryption",
        platform: "macOS",
        version: None,
        published: None,
    },
    Template {
        id: "b595dad1-920f-440e-ba12-22da622d5d92",
        name: "Microsoft Defender Antivirus",
        kind: "securityTemplate",
        subtype: "antivirus",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "ccef13ea-d0a2-49b5-9a8a-5e397faeb9e4",
        name: "Microsoft Defender Antivirus",
        kind: "securityTemplate",
        subtype: "antivirus",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "da332b88-bd29-4def-a442-e0993ed08e24",
        name: "Windows Security experience",
        kind: "securityTemplate",
        subtype: "antivirus",
        platform: "windows10AndLater",
        version: Some("2005"),
        published: None,
    },
    Template {
        id: "8227e75a-da4d-4f8f-8566-9a080cb43961",
        name: "Windows Security experience",
        kind: "securityTemplate",
        subtype: "antivirus",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "0e237410-1367-4844-bd7f-15fb0f08943b",
        name: "Attack surface reduction rules",
        kind: "securityTemplate",
        subtype: "attackSurfaceReduction",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "4648b50e-d3ef-4ba0-848e-b0ef561b3aa5",
        name: "Device control",
        kind: "securityTemplate",
        subtype: "attackSurfaceReduction",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "63be6324-e3c9-4c97-948a-e7f4b96f0f20",
        name: "Application control",
        kind: "securityTemplate",
        subtype: "attackSurfaceReduction",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "e44c2ca3-2f9a-400a-a113-6cc88efd773d",
        name: "Endpoint detection and response",
        kind: "securityTemplate",
        subtype: "endpointDetectionReponse",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
    Template {
        id: "0f2b5d70-d4e9-4156-8c16-1397eb6c54a5",
        name: "Account protection (Preview)",
        kind: "securityTemplate",
        subtype: "accountProtection",
        platform: "windows10AndLater",
        version: None,
        published: None,
    },
];

/// Intent templates (Microsoft-owned, the same in every tenant).
pub fn templates() -> Vec<Map<String, Value>> {
    TEMPLATES
        .iter()
        .map(|t| {
            let odata = match t.kind {
                "securityBaseline"
                | "advancedThreatProtectionSecurityBaseline"
                | "microsoftEdgeSecurityBaseline"
                | "cloudPC" => "#microsoft.graph.securityBaselineTemplate",
                _ => "#microsoft.graph.deviceManagementTemplate",
            };
            let v = json!({
                "@odata.type": odata,
                "id": t.id,
                "displayName": t.name,
                "description": t.name,
                "versionInfo": t.version,
                "isDeprecated": false,
                "intentCount": 0,
                "templateType": t.kind,
                "platformType": t.platform,
                "templateSubtype": t.subtype,
                "publishedDateTime": t.published,
            });
            v.as_object().cloned().unwrap_or_default()
        })
        .collect()
}

pub(super) struct GpDef {
    pub(super) def: Value,
    pub(super) presentations: Vec<Value>,
}

/// The ADMX definitions demo policies use, with their presentations.
pub(super) fn gp_catalog() -> Vec<GpDef> {
    let mut g = Gen::new("gp-catalog");
    type Row<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);
    let rows: &[Row] = &[
        (
            "Allow Microsoft Edge to run in the background",
            "\\Microsoft Edge",
            "machine",
            &[],
        ),
        (
            "Configure the list of force-installed extensions",
            "\\Microsoft Edge\\Extensions",
            "machine",
            &[("text", "Extension IDs to install silently")],
        ),
        (
            "Set the default home page",
            "\\Microsoft Edge\\Startup",
            "user",
            &[("text", "Home page URL")],
        ),
        (
            "Configure Automatic Updates",
            "\\Windows Components\\Windows Update",
            "machine",
            &[
                ("dropdown", "Configure automatic updating"),
                ("decimal", "Scheduled install day"),
            ],
        ),
        (
            "Turn off Autoplay",
            "\\Windows Components\\AutoPlay Policies",
            "machine",
            &[("dropdown", "Turn off Autoplay on")],
        ),
        (
            "Prevent access to registry editing tools",
            "\\System",
            "user",
            &[("checkbox", "Disable regedit from running silently")],
        ),
        (
            "Do not display the lock screen",
            "\\Control Panel\\Personalization",
            "machine",
            &[],
        ),
        (
            "Set time limit for disconnected sessions",
            "\\Windows Components\\Remote Desktop Services",
            "machine",
            &[("dropdown", "End a disconnected session")],
        ),
        (
            "Require a password when a computer wakes (plugged in)",
            "\\System\\Power Management\\Sleep Settings",
            "machine",
            &[],
        ),
        (
            "Enable OneDrive Files On-Demand",
            "\\OneDrive",
            "machine",
            &[],
        ),
        (
            "Silently move Windows known folders to OneDrive",
            "\\OneDrive",
            "machine",
            &[
                ("text", "Tenant ID"),
                (
                    "checkbox",
                    "Show notification to users after folders have been redirected",
                ),
            ],
        ),
        (
            "Block all consumer Microsoft account user authentication",
            "\\Windows Components\\Microsoft account",
            "machine",
            &[],
        ),
        (
            "Configure Windows Defender SmartScreen",
            "\\Windows Components\\File Explorer",
            "machine",
            &[("dropdown", "Pick one of the following settings")],
        ),
        (
            "Limit Delivery Optimization background bandwidth",
            "\\Windows Components\\Delivery Optimization",
            "machine",
            &[(
                "decimal",
                "Maximum background download bandwidth (percentage)",
            )],
        ),
        (
            "Turn on PowerShell Script Block Logging",
            "\\Windows Components\\Windows PowerShell",
            "machine",
            &[(
                "checkbox",
                "Log script block invocation start / stop events",
            )],
        ),
        (
            "Disable the Office Start screen",
            "\\Microsoft Office 2016\\Miscellaneous",
            "user",
            &[],
        ),
    ];
    rows.iter()
        .map(|(name, cat, class, pres)| {
            let id = g.guid();
            let t = g.time();
            let presentations: Vec<Value> = pres
                .iter()
                .map(|(kind, label)| {
                    let pid = g.guid();
                    match *kind {
                        "text" => json!({"@odata.type": "#microsoft.graph.groupPolicyPresentationTextBox", "id": pid, "label": label, "lastModifiedDateTime": t, "defaultValue": "", "required": true, "maxLength": 1023}),
                        "decimal" => json!({"@odata.type": "#microsoft.graph.groupPolicyPresentationDecimalTextBox", "id": pid, "label": label, "lastModifiedDateTime": t, "defaultValue": 0, "required": true, "minValue": 0, "maxValue": 100, "spin": true, "spinStep": 1}),
                        "checkbox" => json!({"@odata.type": "#microsoft.graph.groupPolicyPresentationCheckBox", "id": pid, "label": label, "lastModifiedDateTime": t, "defaultChecked": false}),
                        _ => json!({"@odata.type": "#microsoft.graph.groupPolicyPresentationDropdownList", "id": pid, "label": label, "lastModifiedDateTime": t, "required": true,
                            "defaultItem": {"displayName": "Enabled", "value": "1"},
                            "items": [{"displayName": "Disabled", "value": "0"}, {"displayName": "Enabled", "value": "1"}, {"displayName": "Audit", "value": "2"}]}),
                    }
                })
                .collect();
            let def = json!({
                "id": id,
                "displayName": name,
                "explainText": format!("This policy setting controls: {name}."),
                "categoryPath": cat,
                "classType": class,
                "policyType": "admxBacked",
                "supportedOn": "At least Windows 10",
                "hasRelatedDefinitions": false,
                "version": "1.0",
                "minDeviceCspVersion": "10.0",
                "minUserCspVersion": "10.0",
                "groupPolicyCategoryId": stable_guid(&format!("gp-category:{cat}")),
                "lastModifiedDateTime": t,
            });
            GpDef { def, presentations }
        })
        .collect()
}

/// (area, stem, integer?) of settings-catalog settings the demo policies draw from.
pub(super) const SETTINGS: &[(&str, &str, bool)] = &[
    ("defender", "allowarchivescanning", false),
    ("defender", "allowbehaviormonitoring", false),
    ("defender", "allowcloudprotection", false),
    ("defender", "allowemailscanning", false),
    ("defender", "allowfullscanonmappednetworkdrives", false),
    ("defender", "allowfullscanremovabledrivescanning", false),
    ("defender", "allowintrusionpreventionsystem", false),
    ("defender", "allowioavprotection", false),
    ("defender", "allowrealtimemonitoring", false),
    ("defender", "allowscanningnetworkfiles", false),
    ("defender", "allowscriptscanning", false),
    ("defender", "allowuseruiaccess", false),
    ("defender", "avgcpuloadfactor", true),
    ("defender", "checkforsignaturesbeforerunningscan", false),
    ("defender", "cloudblocklevel", false),
    ("defender", "cloudextendedtimeout", true),
    ("defender", "daystoretaincleanedmalware", true),
    ("defender", "disablecatchupfullscan", false),
    ("defender", "disablecatchupquickscan", false),
    ("defender", "enablelowcpupriority", false),
    ("defender", "enablenetworkprotection", false),
    ("defender", "puaprotection", false),
    ("defender", "realtimescandirection", false),
    ("defender", "scanparameter", false),
    ("defender", "schedulequickscantime", true),
    ("defender", "schedulescanday", false),
    ("defender", "schedulescantime", true),
    ("defender", "signatureupdateinterval", true),
    ("defender", "submitsamplesconsent", false),
    ("defender", "allowonaccessprotection", false),
    ("browser", "allowautofill", false),
    ("browser", "allowcookies", false),
    ("browser", "allowdonottrack", false),
    ("browser", "allowpasswordmanager", false),
    ("browser", "allowpopups", false),
    ("browser", "allowsearchsuggestionsinaddressbar", false),
    ("browser", "allowsmartscreen", false),
    ("browser", "preventsmartscreenpromptoverride", false),
    ("browser", "preventsmartscreenpromptoverrideforfiles", false),
    ("devicelock", "devicepasswordenabled", false),
    ("devicelock", "alphanumericdevicepasswordrequired", false),
    ("devicelock", "devicepasswordexpiration", true),
    ("devicelock", "devicepasswordhistory", true),
    ("devicelock", "mindevicepasswordlength", true),
    ("devicelock", "maxinactivitytimedevicelock", true),
    ("devicelock", "maxdevicepasswordfailedattempts", true),
    ("devicelock", "mindevicepasswordcomplexcharacters", true),
    ("update", "activehoursstart", true),
    ("update", "activehoursend", true),
    ("update", "allowautoupdate", false),
    ("update", "allowmuupdateservice", false),
    ("update", "deferfeatureupdatesperiodindays", true),
    ("update", "deferqualityupdatesperiodindays", true),
    ("update", "pausefeatureupdates", false),
    ("update", "configuredeadlineforfeatureupdates", true),
    ("update", "configuredeadlineforqualityupdates", true),
    ("update", "configuredeadlinegraceperiod", true),
    ("privacy", "letappsaccesscamera", false),
    ("privacy", "letappsaccesslocation", false),
    ("privacy", "letappsaccessmicrophone", false),
    ("privacy", "disableadvertisingid", false),
    (
        "localpoliciessecurityoptions",
        "accounts_limitlocalaccountuseofblankpasswordstoconsolelogononly",
        false,
    ),
    (
        "localpoliciessecurityoptions",
        "interactivelogon_donotdisplaylastsignedin",
        false,
    ),
    (
        "localpoliciessecurityoptions",
        "useraccountcontrol_behavioroftheelevationpromptforadministrators",
        false,
    ),
    (
        "localpoliciessecurityoptions",
        "useraccountcontrol_runalladministratorsinadminapprovalmode",
        false,
    ),
    (
        "localpoliciessecurityoptions",
        "networksecurity_lanmanagerauthenticationlevel",
        false,
    ),
];

//! Static demo catalogues: intent templates, the ADMX definitions with their presentations,
//! and the settings-catalog settings demo policies draw from.

use serde_json::{Map, Value, json};

use crate::fixtures::stable_guid;

use super::generator::Gen;

/// Intent templates (Microsoft-owned, the same in every tenant).
pub fn templates() -> Vec<Map<String, Value>> {
    let rows = [
        (
            "Security Baseline for Windows 10 and later",
            "securityBaseline",
            "none",
            "23H2",
        ),
        (
            "Microsoft Defender for Endpoint Security Baseline",
            "advancedThreatProtectionSecurityBaseline",
            "none",
            "6",
        ),
        (
            "Microsoft Edge Baseline",
            "microsoftEdgeSecurityBaseline",
            "none",
            "117",
        ),
        (
            "Microsoft Defender Antivirus",
            "securityTemplate",
            "antivirus",
            "1",
        ),
        ("BitLocker", "securityTemplate", "diskEncryption", "1"),
        (
            "Microsoft Defender Firewall",
            "securityTemplate",
            "firewall",
            "1",
        ),
        (
            "Attack surface reduction rules",
            "securityTemplate",
            "attackSurfaceReduction",
            "1",
        ),
        (
            "Account protection",
            "securityTemplate",
            "accountProtection",
            "1",
        ),
    ];
    rows.iter()
        .map(|(name, ty, sub, ver)| {
            let v = json!({
                "@odata.type": if *ty == "securityTemplate" { "#microsoft.graph.deviceManagementTemplate" } else { "#microsoft.graph.securityBaselineTemplate" },
                "id": stable_guid(&format!("template:{name}")),
                "displayName": name,
                "description": format!("{name} (simulated template)"),
                "versionInfo": ver,
                "isDeprecated": false,
                "intentCount": 0,
                "templateType": ty,
                "platformType": "windows10AndLater",
                "templateSubtype": sub,
                "publishedDateTime": "2023-10-01T00:00:00Z",
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

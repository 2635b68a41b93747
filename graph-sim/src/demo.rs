//! The deterministic demo tenants (contoso, fabrikam, northwind; ~150 objects each across
//! every supported collection) and the built-in catalogues (intent templates, ADMX
//! definitions). Everything derives from fixed seeds, so ids, names and credentials are the
//! same on every start. The credentials are simulator-only.

use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::collections::{ALL_DEVICES_ID, ALL_LICENSED_USERS_ID, CollectionSpec, by_path};
use crate::fixtures::stable_guid;
use crate::store::{Catalog, TenantCreds, TenantSeed, graph_time};

pub const DEMO_TENANTS: &[&str] = &["contoso", "fabrikam", "northwind"];

fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

struct Gen {
    rng: StdRng,
    base: DateTime<Utc>,
}

impl Gen {
    fn new(seed: &str) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed_of(seed)),
            base: Utc
                .with_ymd_and_hms(2024, 3, 4, 8, 0, 0)
                .single()
                .unwrap_or_else(Utc::now),
        }
    }
    fn guid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.r#gen())
            .into_uuid()
            .to_string()
    }
    fn time(&mut self) -> String {
        let mins = self.rng.gen_range(0..60 * 24 * 400);
        graph_time(self.base + Duration::minutes(mins))
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.gen_range(lo..=hi)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).unwrap_or(&items[0])
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

fn title(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

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

struct GpDef {
    def: Value,
    presentations: Vec<Value>,
}

/// The ADMX definitions demo policies use, with their presentations.
fn gp_catalog() -> Vec<GpDef> {
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
const SETTINGS: &[(&str, &str, bool)] = &[
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

fn catalog_setting(g: &mut Gen, (area, stem, int): (&str, &str, bool)) -> Value {
    let def = format!("device_vendor_msft_policy_config_{area}_{stem}");
    if int {
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": def,
            "settingInstanceTemplateReference": null,
            "simpleSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                "settingValueTemplateReference": null,
                "value": g.range(1, 90),
            }
        }})
    } else {
        let v = if g.chance(0.7) { 1 } else { 0 };
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": def,
            "settingInstanceTemplateReference": null,
            "choiceSettingValue": {
                "settingValueTemplateReference": null,
                "value": format!("{def}_{v}"),
                "children": [],
            }
        }})
    }
}

/// Per-tenant context for building objects.
struct TenantGen {
    g: Gen,
    groups: Vec<String>,
    filters: Vec<String>,
    org: String,
    objects: Vec<(&'static CollectionSpec, Value)>,
}

impl TenantGen {
    fn spec(path: &str) -> &'static CollectionSpec {
        by_path(path).unwrap_or(&crate::collections::COLLECTIONS[0])
    }

    fn push(&mut self, path: &str, obj: Value) {
        self.objects.push((Self::spec(path), obj));
    }

    /// 0–3 assignments to the tenant's groups (sometimes all devices/users, an exclusion, a
    /// filter).
    fn assignments(&mut self, extra: impl Fn(&mut Gen) -> Map<String, Value>) -> Vec<Value> {
        let n = self.g.range(0, 3);
        let mut out = Vec::new();
        let mut used = Vec::new();
        for i in 0..n {
            let roll = self.g.range(0, 9);
            let target = if i == 0 && roll == 0 {
                json!({"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"})
            } else if i == 0 && roll == 1 {
                json!({"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"})
            } else {
                let grp = self.g.pick(&self.groups).clone();
                if used.contains(&grp) {
                    continue;
                }
                used.push(grp.clone());
                let ty = if i > 0 && roll < 2 {
                    "exclusionGroupAssignmentTarget"
                } else {
                    "groupAssignmentTarget"
                };
                json!({"@odata.type": format!("#microsoft.graph.{ty}"), "groupId": grp})
            };
            let mut target = target.as_object().cloned().unwrap_or_default();
            if !self.filters.is_empty()
                && self.g.chance(0.25)
                && !target["@odata.type"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("exclusion")
            {
                let f = self.g.pick(&self.filters).clone();
                target.insert("deviceAndAppManagementAssignmentFilterId".into(), json!(f));
                target.insert(
                    "deviceAndAppManagementAssignmentFilterType".into(),
                    json!("include"),
                );
            }
            let mut a = extra(&mut self.g);
            a.insert("target".into(), Value::Object(target));
            out.push(Value::Object(a));
        }
        out
    }

    fn plain_assignments(&mut self) -> Vec<Value> {
        self.assignments(|_| Map::new())
    }
}

/// The three demo tenants. Their ADMX definitions are added to `catalog`.
pub fn tenants(catalog: &mut Catalog) -> Vec<TenantSeed> {
    let gp = gp_catalog();
    for d in &gp {
        if let Some(id) = d.def["id"].as_str() {
            catalog.definitions.insert(id.to_string(), d.def.clone());
        }
        for p in &d.presentations {
            if let Some(id) = p["id"].as_str() {
                catalog.presentations.insert(id.to_string(), p.clone());
            }
        }
    }
    let templates = templates();
    DEMO_TENANTS
        .iter()
        .map(|name| tenant(name, &gp, &templates))
        .collect()
}

/// Simulator-only credentials of a demo tenant (stable across runs).
pub fn credentials(name: &str) -> TenantCreds {
    let mut g = Gen::new(&format!("creds:{name}"));
    let id = g.guid();
    let client_id = g.guid();
    let secret: String = (0..24).map(|_| format!("{:x}", g.range(0, 15))).collect();
    TenantCreds {
        id,
        name: name.to_string(),
        client_id,
        client_secret: format!("sim-{name}-{secret}"),
    }
}

fn tenant(name: &str, gp: &[GpDef], templates: &[Map<String, Value>]) -> TenantSeed {
    let mut g = Gen::new(&format!("tenant:{name}"));
    let groups = (0..10).map(|_| g.guid()).collect();
    let mut t = TenantGen {
        g,
        groups,
        filters: Vec::new(),
        org: title(name),
        objects: Vec::new(),
    };
    filters(&mut t);
    scope_tags(&mut t);
    settings_catalog(&mut t);
    device_configurations(&mut t);
    compliance(&mut t);
    admin_templates(&mut t, gp);
    scripts(&mut t);
    autopilot(&mut t);
    update_profiles(&mut t);
    enrollment(&mut t);
    intents(&mut t, templates);
    app_configurations(&mut t);
    app_protection(&mut t);
    TenantSeed {
        creds: credentials(name),
        objects: t.objects,
    }
}

fn scope_tags(t: &mut TenantGen) {
    t.push("deviceManagement/roleScopeTags", json!({"id": "0", "displayName": "Default", "description": "Built-in default scope tag", "isBuiltIn": true}));
    for (i, name) in [
        "Helpdesk",
        "EMEA",
        "North America",
        "Kiosk devices",
        "Finance",
        "APAC",
        "Retail stores",
        "Executives",
        "Field engineers",
        "Contractors",
        "Lab devices",
    ]
    .iter()
    .enumerate()
    {
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": (i + 1).to_string(),
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "isBuiltIn": false,
            "assignments": assignments,
        });
        t.push("deviceManagement/roleScopeTags", obj);
    }
}

fn filters(t: &mut TenantGen) {
    let rows = [
        (
            "Corporate Windows devices",
            "windows10AndLater",
            "(device.deviceOwnership -eq \"Corporate\")",
        ),
        (
            "Surface devices",
            "windows10AndLater",
            "(device.manufacturer -eq \"Microsoft Corporation\")",
        ),
        (
            "Windows 11 only",
            "windows10AndLater",
            "(device.osVersion -startsWith \"10.0.22\")",
        ),
        (
            "Virtual machines",
            "windows10AndLater",
            "(device.model -contains \"Virtual\")",
        ),
        (
            "Corporate iPhones",
            "iOS",
            "(device.deviceOwnership -eq \"Corporate\") and (device.model -startsWith \"iPhone\")",
        ),
        (
            "Android Enterprise fully managed",
            "androidForWork",
            "(device.enrollmentProfileName -eq \"Fully managed\")",
        ),
        (
            "macOS laptops",
            "macOS",
            "(device.model -contains \"MacBook\")",
        ),
        (
            "Kiosk devices",
            "windows10AndLater",
            "(device.deviceName -startsWith \"KIOSK-\")",
        ),
    ];
    for (name, platform, rule) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        t.filters.push(id.clone());
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} device filter", t.org),
            "platform": platform,
            "rule": rule,
            "assignmentFilterManagementType": "devices",
            "roleScopeTags": ["0"],
            "payloads": [],
            "createdDateTime": created,
            "lastModifiedDateTime": created,
        });
        t.push("deviceManagement/assignmentFilters", obj);
    }
}

fn settings_catalog(t: &mut TenantGen) {
    // (name, settings, platform, technologies, template family)
    let rows: &[(&str, usize, &str, &str, &str)] = &[
        (
            "Win - Security hardening (full)",
            60,
            "windows10",
            "mdm",
            "none",
        ),
        (
            "Win - Security baseline overrides",
            40,
            "windows10",
            "mdm",
            "none",
        ),
        (
            "Win - Defender Antivirus",
            30,
            "windows10",
            "mdm,microsoftSense",
            "endpointSecurityAntivirus",
        ),
        ("Win - Update and privacy", 26, "windows10", "mdm", "none"),
        ("Win - Edge browser", 9, "windows10", "mdm", "none"),
        ("Win - Device lock", 8, "windows10", "mdm", "none"),
        (
            "Win - Windows Update deadlines",
            10,
            "windows10",
            "mdm",
            "none",
        ),
        ("Win - Privacy", 4, "windows10", "mdm", "none"),
        (
            "Win - Local security options",
            5,
            "windows10",
            "mdm",
            "none",
        ),
        (
            "Win - Defender real-time protection",
            12,
            "windows10",
            "mdm,microsoftSense",
            "endpointSecurityAntivirus",
        ),
        (
            "Win - Defender scans",
            7,
            "windows10",
            "mdm,microsoftSense",
            "endpointSecurityAntivirus",
        ),
        ("Win - Network protection", 3, "windows10", "mdm", "none"),
        (
            "Win - Cloud protection",
            5,
            "windows10",
            "mdm,microsoftSense",
            "none",
        ),
        ("Win - Kiosk lockdown", 14, "windows10", "mdm", "none"),
        ("Win - Shared devices", 11, "windows10", "mdm", "none"),
        ("Win - Pilot ring settings", 6, "windows10", "mdm", "none"),
        ("Win - Finance department", 18, "windows10", "mdm", "none"),
        ("Win - Developers", 20, "windows10", "mdm", "none"),
        ("Win - Executives", 15, "windows10", "mdm", "none"),
        ("Win - Frontline workers", 13, "windows10", "mdm", "none"),
        ("Win - UAC", 2, "windows10", "mdm", "none"),
        ("Win - Password policy", 7, "windows10", "mdm", "none"),
        ("Win - SmartScreen", 3, "windows10", "mdm", "none"),
        ("Win - Catch-up scans", 2, "windows10", "mdm", "none"),
        ("Win - Legacy (unassigned)", 1, "windows10", "mdm", "none"),
        ("Win - Test policy O'Brien", 4, "windows10", "mdm", "none"),
    ];
    for (name, count, platform, tech, family) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let mut picks: Vec<usize> = (0..SETTINGS.len()).collect();
        if *count < SETTINGS.len() && *count != 60 {
            picks.shuffle(&mut t.g.rng);
        }
        let settings: Vec<Value> = picks
            .into_iter()
            .take(*count)
            .map(|i| catalog_setting(&mut t.g, SETTINGS[i]))
            .collect();
        let assignments = t.plain_assignments();
        let template = if *family == "none" {
            json!({"templateId": "", "templateFamily": "none", "templateDisplayName": null, "templateDisplayVersion": null})
        } else {
            json!({"templateId": "804339ad-1553-4478-a742-138fb5807418_1", "templateFamily": family, "templateDisplayName": "Microsoft Defender Antivirus", "templateDisplayVersion": "Version 1"})
        };
        let obj = json!({
            "id": id,
            "name": name,
            "description": format!("{} – {name}", t.org),
            "platforms": platform,
            "technologies": tech,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "creationSource": null,
            "roleScopeTagIds": ["0"],
            "templateReference": template,
            "priorityMetaData": null,
            "settings": settings,
            "assignments": assignments,
        });
        t.push("deviceManagement/configurationPolicies", obj);
    }
}

fn device_configurations(t: &mut TenantGen) {
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

fn compliance(t: &mut TenantGen) {
    let rows: Vec<(&str, &str, Value)> = vec![
        (
            "windows10CompliancePolicy",
            "Win - Compliance baseline",
            json!({"passwordRequired": true, "bitLockerEnabled": true, "secureBootEnabled": true, "osMinimumVersion": "10.0.19045"}),
        ),
        (
            "windows10CompliancePolicy",
            "Win - Defender health",
            json!({"defenderEnabled": true, "rtpEnabled": true, "antivirusRequired": true, "deviceThreatProtectionRequiredSecurityLevel": "medium"}),
        ),
        (
            "iosCompliancePolicy",
            "iOS - Compliance",
            json!({"passcodeRequired": true, "passcodeMinimumLength": 6, "securityBlockJailbrokenDevices": true, "osMinimumVersion": "16.0"}),
        ),
        (
            "macOSCompliancePolicy",
            "macOS - Compliance",
            json!({"passwordRequired": true, "storageRequireEncryption": true, "firewallEnabled": true}),
        ),
        (
            "androidWorkProfileCompliancePolicy",
            "Android - Work profile compliance",
            json!({"passwordRequired": true, "securityBlockJailbrokenDevices": true}),
        ),
        (
            "androidDeviceOwnerCompliancePolicy",
            "Android - Fully managed compliance",
            json!({"passwordRequired": true, "osMinimumVersion": "12"}),
        ),
        (
            "windows10CompliancePolicy",
            "Win - Kiosk compliance",
            json!({"passwordRequired": false, "bitLockerEnabled": true}),
        ),
        (
            "aospDeviceOwnerCompliancePolicy",
            "AOSP - Compliance",
            json!({"passwordRequired": true, "storageRequireEncryption": true}),
        ),
    ];
    for (ty, name, props) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let mut configs = vec![
            json!({"id": t.g.guid(), "gracePeriodHours": t.g.range(0, 2) * 24, "actionType": "block", "notificationTemplateId": "00000000-0000-0000-0000-000000000000", "notificationMessageCCList": []}),
        ];
        if t.g.chance(0.6) {
            configs.push(json!({"id": t.g.guid(), "gracePeriodHours": 0, "actionType": "notification", "notificationTemplateId": t.g.guid(), "notificationMessageCCList": []}));
        }
        if t.g.chance(0.3) {
            configs.push(json!({"id": t.g.guid(), "gracePeriodHours": 720, "actionType": "retire", "notificationTemplateId": "00000000-0000-0000-0000-000000000000", "notificationMessageCCList": []}));
        }
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "version": t.g.range(1, 5),
            "roleScopeTagIds": ["0"],
            "scheduledActionsForRule": [{"id": t.g.guid(), "ruleName": "PasswordRequired", "scheduledActionConfigurations": configs}],
            "assignments": assignments,
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceManagement/deviceCompliancePolicies", obj);
    }
}

fn admin_templates(t: &mut TenantGen, gp: &[GpDef]) {
    let names = [
        "ADMX - Microsoft Edge",
        "ADMX - Windows Update",
        "ADMX - OneDrive",
        "ADMX - Remote Desktop",
        "ADMX - Office",
        "ADMX - Security",
        "ADMX - Delivery Optimization",
        "ADMX - PowerShell logging",
    ];
    for name in names {
        let id = t.g.guid();
        let created = t.g.time();
        let n = t.g.range(2, 6) as usize;
        let mut idx: Vec<usize> = (0..gp.len()).collect();
        idx.shuffle(&mut t.g.rng);
        let dvs: Vec<Value> = idx
            .into_iter()
            .take(n)
            .map(|i| {
                let d = &gp[i];
                let pvs: Vec<Value> = d
                    .presentations
                    .iter()
                    .map(|p| {
                        let ty = p["@odata.type"].as_str().unwrap_or_default();
                        let (vt, value) = if ty.ends_with("DecimalTextBox") {
                            ("groupPolicyPresentationValueDecimal", json!(t.g.range(1, 50)))
                        } else if ty.ends_with("CheckBox") {
                            ("groupPolicyPresentationValueBoolean", json!(t.g.chance(0.5)))
                        } else if ty.ends_with("DropdownList") {
                            ("groupPolicyPresentationValueText", json!(t.g.range(0, 2).to_string()))
                        } else {
                            ("groupPolicyPresentationValueText", json!(format!("{}-value", t.org.to_lowercase())))
                        };
                        json!({"@odata.type": format!("#microsoft.graph.{vt}"), "id": t.g.guid(), "value": value,
                            "createdDateTime": created, "lastModifiedDateTime": created, "presentation": p})
                    })
                    .collect();
                json!({"id": t.g.guid(), "enabled": t.g.chance(0.85), "configurationType": "policy",
                    "createdDateTime": created, "lastModifiedDateTime": created,
                    "definition": d.def, "presentationValues": pvs})
            })
            .collect();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "roleScopeTagIds": ["0"],
            "policyConfigurationIngestionType": "builtIn",
            "definitionValues": dvs,
            "assignments": assignments,
        });
        t.push("deviceManagement/groupPolicyConfigurations", obj);
    }
}

fn scripts(t: &mut TenantGen) {
    let ps = [
        (
            "Set time zone",
            "Set-TimeZone -Id 'W. Europe Standard Time'\n",
        ),
        (
            "Remove consumer apps",
            "Get-AppxPackage *xbox* | Remove-AppxPackage -ErrorAction SilentlyContinue\n",
        ),
        (
            "Configure power plan",
            "powercfg /setactive SCHEME_BALANCED\n",
        ),
        (
            "Map network drives",
            "New-PSDrive -Name H -PSProvider FileSystem -Root \\\\files\\home -Persist\n",
        ),
        (
            "Enable BitLocker recovery escrow",
            "BackupToAAD-BitLockerKeyProtector -MountPoint $env:SystemDrive -KeyProtectorId ((Get-BitLockerVolume -MountPoint $env:SystemDrive).KeyProtector | Where-Object KeyProtectorType -eq 'RecoveryPassword').KeyProtectorId\n",
        ),
        (
            "Set OEM information",
            "Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\OEMInformation' -Name Manufacturer -Value 'ORG'\n",
        ),
        (
            "Disable Fast Startup",
            "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Power' -Name HiberbootEnabled -Value 0\n",
        ),
        (
            "Install fonts",
            "Copy-Item .\\fonts\\*.ttf C:\\Windows\\Fonts\\\n",
        ),
    ];
    for (name, body) in ps {
        let id = t.g.guid();
        let created = t.g.time();
        let content = body.replace("ORG", &t.org);
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "scriptContent": b64(&content),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "runAsAccount": if t.g.chance(0.7) { "system" } else { "user" },
            "enforceSignatureCheck": false,
            "fileName": format!("{}.ps1", name.to_lowercase().replace(' ', "-")),
            "roleScopeTagIds": ["0"],
            "runAs32Bit": false,
            "assignments": assignments,
        });
        t.push("deviceManagement/deviceManagementScripts", obj);
    }
    let sh = [
        (
            "Set hostname",
            "#!/bin/zsh\nscutil --set HostName \"$(ioreg -l | awk '/IOPlatformSerialNumber/ {print $4}' | tr -d '\"')\"\n",
        ),
        (
            "Install Rosetta",
            "#!/bin/bash\n/usr/sbin/softwareupdate --install-rosetta --agree-to-license\n",
        ),
        (
            "Dock layout",
            "#!/bin/zsh\ndefaults write com.apple.dock persistent-apps -array\nkillall Dock\n",
        ),
        (
            "Enable firewall stealth mode",
            "#!/bin/bash\n/usr/libexec/ApplicationFirewall/socketfilterfw --setstealthmode on\n",
        ),
        ("Report disk usage", "#!/bin/bash\ndf -h / | tail -1\n"),
    ];
    for (name, body) in sh {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "scriptContent": b64(body),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "runAsAccount": "system",
            "fileName": format!("{}.sh", name.to_lowercase().replace(' ', "-")),
            "roleScopeTagIds": ["0"],
            "executionFrequency": "P1D",
            "retryCount": 3,
            "blockExecutionNotifications": true,
            "assignments": assignments,
        });
        t.push("deviceManagement/deviceShellScripts", obj);
    }
    let health = [
        (
            "Restart stopped Print Spooler",
            "if ((Get-Service Spooler).Status -ne 'Running') { exit 1 } else { exit 0 }\n",
            "Start-Service Spooler\n",
        ),
        (
            "Clear temp files",
            "if ((Get-ChildItem $env:TEMP -Recurse | Measure-Object Length -Sum).Sum -gt 1GB) { exit 1 }; exit 0\n",
            "Remove-Item $env:TEMP\\* -Recurse -Force -ErrorAction SilentlyContinue\n",
        ),
        (
            "Detect stale Group Policy cache",
            "exit 0\n",
            "gpupdate /force\n",
        ),
        (
            "Update stale Defender signatures",
            "if ((Get-MpComputerStatus).AntivirusSignatureAge -gt 3) { exit 1 }; exit 0\n",
            "Update-MpSignature\n",
        ),
        (
            "Reset Windows Update components",
            "exit 0\n",
            "net stop wuauserv; net start wuauserv\n",
        ),
        (
            "Enforce high-performance power plan",
            "exit 1\n",
            "powercfg /setactive SCHEME_MIN\n",
        ),
    ];
    for (name, detect, remediate) in health {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.assignments(|g| {
            let mut m = Map::new();
            m.insert("runRemediationScript".into(), json!(true));
            m.insert("runSchedule".into(), json!({"@odata.type": "#microsoft.graph.deviceHealthScriptDailySchedule", "interval": 1, "useUtc": false, "time": format!("{:02}:00:00", g.range(0, 23))}));
            m
        });
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "publisher": format!("{} IT", t.org),
            "version": "1.0",
            "runAs32Bit": false,
            "runAsAccount": "system",
            "enforceSignatureCheck": false,
            "detectionScriptContent": b64(detect),
            "remediationScriptContent": b64(remediate),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "isGlobalScript": false,
            "highestAvailableVersion": null,
            "deviceHealthScriptType": "deviceHealthScript",
            "detectionScriptParameters": [],
            "remediationScriptParameters": [],
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        });
        t.push("deviceManagement/deviceHealthScripts", obj);
    }
}

fn autopilot(t: &mut TenantGen) {
    let rows = [
        (
            "azureADWindowsAutopilotDeploymentProfile",
            "Autopilot - User driven",
            "user",
        ),
        (
            "azureADWindowsAutopilotDeploymentProfile",
            "Autopilot - Self deploying",
            "shared",
        ),
        (
            "activeDirectoryWindowsAutopilotDeploymentProfile",
            "Autopilot - Hybrid join",
            "user",
        ),
        (
            "azureADWindowsAutopilotDeploymentProfile",
            "Autopilot - Kiosk",
            "shared",
        ),
    ];
    for (ty, name, mode) in rows {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "language": "os-default",
            "locale": "os-default",
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "deviceNameTemplate": format!("{}-%SERIAL%", &t.org.to_uppercase()[..3.min(t.org.len())]),
            "deviceType": "windowsPc",
            "enableWhiteGlove": true,
            "extractHardwareHash": true,
            "roleScopeTagIds": ["0"],
            "hardwareHashExtractionEnabled": true,
            "preprovisioningAllowed": true,
            "outOfBoxExperienceSettings": {"hidePrivacySettings": true, "hideEULA": true, "userType": if mode == "user" { "standard" } else { "administrator" }, "deviceUsageType": if mode == "user" { "singleUser" } else { "shared" }, "skipKeyboardSelectionPage": true, "hideEscapeLink": true},
            "enrollmentStatusScreenSettings": null,
            "assignments": assignments,
        });
        if ty.starts_with("activeDirectory")
            && let Some(o) = obj.as_object_mut()
        {
            o.insert(
                "hybridAzureADJoinSkipConnectivityCheck".into(),
                json!(false),
            );
        }
        t.push("deviceManagement/windowsAutopilotDeploymentProfiles", obj);
    }
}

fn update_profiles(t: &mut TenantGen) {
    for (name, version) in [
        (
            "Feature update - Windows 11 23H2",
            "Windows 11, version 23H2",
        ),
        (
            "Feature update - Windows 11 24H2",
            "Windows 11, version 24H2",
        ),
        (
            "Feature update - Windows 10 22H2",
            "Windows 10, version 22H2",
        ),
        ("Feature update - Pilot", "Windows 11, version 24H2"),
    ] {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id, "displayName": name, "description": format!("{} – {name}", t.org),
            "featureUpdateVersion": version, "roleScopeTagIds": ["0"],
            "deployableContentDisplayName": version, "endOfSupportDate": "2026-11-10T00:00:00Z",
            "installLatestWindows10OnWindows11IneligibleDevice": false, "installFeatureUpdatesOptional": false,
            "rolloutSettings": {"offerStartDateTimeInUTC": null, "offerEndDateTimeInUTC": null, "offerIntervalInDays": null},
            "createdDateTime": created, "lastModifiedDateTime": created,
            "assignments": assignments,
        });
        t.push("deviceManagement/windowsFeatureUpdateProfiles", obj);
    }
    for (name, release) in [
        ("Expedite - 2024-05 security update", "2024-05-14T00:00:00Z"),
        ("Expedite - 2024-08 security update", "2024-08-13T00:00:00Z"),
        ("Expedite - 2024-11 security update", "2024-11-12T00:00:00Z"),
    ] {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id, "displayName": name, "description": format!("{} – {name}", t.org),
            "roleScopeTagIds": ["0"], "releaseDateDisplayText": release,
            "expeditedUpdateSettings": {"qualityUpdateRelease": release, "daysUntilForcedReboot": t.g.range(0, 2)},
            "deployableContentDisplayName": format!("Security update {release}"),
            "createdDateTime": created, "lastModifiedDateTime": created,
            "assignments": assignments,
        });
        t.push("deviceManagement/windowsQualityUpdateProfiles", obj);
    }
    for (name, approval) in [
        ("Drivers - Automatic", "automatic"),
        ("Drivers - Manual approval", "manual"),
        ("Drivers - Pilot", "automatic"),
    ] {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let mut obj = json!({
            "id": id, "displayName": name, "description": format!("{} – {name}", t.org),
            "approvalType": approval, "roleScopeTagIds": ["0"],
            "deviceReporting": 0, "newUpdates": 0, "inventorySyncStatus": {"lastSuccessfulSyncDateTime": created, "driverInventorySyncState": "success"},
            "createdDateTime": created, "lastModifiedDateTime": created,
            "assignments": assignments,
        });
        if approval == "automatic"
            && let Some(o) = obj.as_object_mut()
        {
            o.insert("deploymentDeferralInDays".into(), json!(t.g.range(0, 14)));
        }
        t.push("deviceManagement/windowsDriverUpdateProfiles", obj);
    }
}

fn enrollment(t: &mut TenantGen) {
    let tenant_prefix = t.g.guid();
    let defaults: Vec<(&str, &str, &str, Value)> = vec![
        (
            "DefaultLimit",
            "deviceEnrollmentLimitConfiguration",
            "All users and all devices",
            json!({"limit": 15}),
        ),
        (
            "DefaultPlatformRestrictions",
            "deviceEnrollmentPlatformRestrictionsConfiguration",
            "All users and all devices",
            json!({"windowsRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": false}, "iosRestriction": {"platformBlocked": false, "personalDeviceEnrollmentBlocked": true}}),
        ),
        (
            "DefaultWindowsHelloForBusiness",
            "deviceEnrollmentWindowsHelloForBusinessConfiguration",
            "All users and all devices",
            json!({"state": "enabled", "pinMinimumLength": 6, "securityDeviceRequired": true}),
        ),
        (
            "DefaultWindows10EnrollmentCompletionPageConfiguration",
            "windows10EnrollmentCompletionPageConfiguration",
            "All users and all devices",
            json!({"showInstallationProgress": true, "blockDeviceSetupRetryByUser": false, "installProgressTimeoutInMinutes": 60}),
        ),
    ];
    for (suffix, ty, name, props) in defaults {
        let created = t.g.time();
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": format!("{tenant_prefix}_{suffix}"),
            "displayName": name,
            "description": "This is the default enrollment configuration applied with the lowest priority to all users and all devices regardless of group membership.",
            "priority": 0,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "version": 1,
            "roleScopeTagIds": ["0"],
            "deviceEnrollmentConfigurationType": suffix.trim_start_matches("Default"),
            "assignments": [{"id": format!("{tenant_prefix}_{suffix}_{ALL_LICENSED_USERS_ID}"), "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}],
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
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

fn intents(t: &mut TenantGen, templates: &[Map<String, Value>]) {
    let rows = [
        (0usize, "Windows security baseline"),
        (1, "Defender for Endpoint baseline"),
        (2, "Edge baseline"),
        (3, "Endpoint security - Antivirus"),
        (4, "Endpoint security - BitLocker"),
        (5, "Endpoint security - Firewall"),
    ];
    let defs = [
        (
            "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallBlockStatefulFTP",
            "boolean",
        ),
        (
            "deviceConfiguration--windows10EndpointProtectionConfiguration_bitLockerEncryptDevice",
            "boolean",
        ),
        (
            "deviceConfiguration--windows10GeneralConfiguration_defenderScanArchiveFiles",
            "boolean",
        ),
        (
            "deviceConfiguration--windows10GeneralConfiguration_defenderCloudBlockLevel",
            "string",
        ),
        (
            "deviceConfiguration--windows10GeneralConfiguration_defenderDaysBeforeDeletingQuarantinedMalware",
            "integer",
        ),
        (
            "deviceConfiguration--windows10EndpointProtectionConfiguration_smartScreenBlockOverrideForFiles",
            "boolean",
        ),
    ];
    for (ti, name) in rows {
        let template_id = templates
            .get(ti)
            .and_then(|t| t["id"].as_str())
            .unwrap_or_default()
            .to_string();
        let id = t.g.guid();
        let modified = t.g.time();
        let n = t.g.range(2, defs.len() as u64) as usize;
        let settings: Vec<Value> = defs
            .iter()
            .take(n)
            .map(|(def, kind)| {
                let sid = t.g.guid();
                match *kind {
                    "boolean" => {
                        let v = t.g.chance(0.7);
                        json!({"@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance", "id": sid, "definitionId": def, "valueJson": v.to_string(), "value": v})
                    }
                    "integer" => {
                        let v = t.g.range(1, 90);
                        json!({"@odata.type": "#microsoft.graph.deviceManagementIntegerSettingInstance", "id": sid, "definitionId": def, "valueJson": v.to_string(), "value": v})
                    }
                    _ => json!({"@odata.type": "#microsoft.graph.deviceManagementStringSettingInstance", "id": sid, "definitionId": def, "valueJson": "\"high\"", "value": "high"}),
                }
            })
            .collect();
        let assignments = t.plain_assignments();
        let obj = json!({
            "@odata.type": "#microsoft.graph.deviceManagementIntent",
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "isAssigned": !assignments.is_empty(),
            "isMigratingToConfigurationPolicy": false,
            "lastModifiedDateTime": modified,
            "templateId": template_id,
            "roleScopeTagIds": ["0"],
            "settings": settings,
            "assignments": assignments,
        });
        t.push("deviceManagement/intents", obj);
    }
}

fn app_configurations(t: &mut TenantGen) {
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

fn app_protection(t: &mut TenantGen) {
    let rows: Vec<(&str, &str, Value)> = vec![
        (
            "iosManagedAppProtection",
            "iOS - App protection (Level 2)",
            json!({"pinRequired": true, "minimumPinLength": 6, "dataBackupBlocked": true, "allowedOutboundDataTransferDestinations": "managedApps"}),
        ),
        (
            "iosManagedAppProtection",
            "iOS - App protection (Level 3)",
            json!({"pinRequired": true, "minimumPinLength": 8, "dataBackupBlocked": true, "allowedOutboundClipboardSharingLevel": "managedAppsWithPasteIn"}),
        ),
        (
            "iosManagedAppProtection",
            "iOS - Frontline (shared)",
            json!({"pinRequired": false, "dataBackupBlocked": true}),
        ),
        (
            "iosManagedAppProtection",
            "iOS - BYOD baseline",
            json!({"pinRequired": true, "minimumPinLength": 4}),
        ),
        (
            "androidManagedAppProtection",
            "Android - App protection (Level 2)",
            json!({"pinRequired": true, "minimumPinLength": 6, "screenCaptureBlocked": true}),
        ),
        (
            "androidManagedAppProtection",
            "Android - App protection (Level 3)",
            json!({"pinRequired": true, "minimumPinLength": 8, "screenCaptureBlocked": true, "encryptAppData": true}),
        ),
        (
            "androidManagedAppProtection",
            "Android - Frontline",
            json!({"pinRequired": false, "screenCaptureBlocked": true}),
        ),
        (
            "androidManagedAppProtection",
            "Android - BYOD baseline",
            json!({"pinRequired": true, "minimumPinLength": 4}),
        ),
        (
            "windowsManagedAppProtection",
            "Windows - Edge app protection",
            json!({"printBlocked": true, "allowedOutboundDataTransferDestinations": "allApps"}),
        ),
        (
            "targetedManagedAppConfiguration",
            "Managed apps - Outlook settings",
            json!({"customSettings": [{"name": "com.microsoft.outlook.Mail.FocusedInbox", "value": "false"}], "appGroupType": "selectedPublicApps"}),
        ),
        (
            "targetedManagedAppConfiguration",
            "Managed apps - Edge settings",
            json!({"customSettings": [{"name": "com.microsoft.intune.mam.managedbrowser.homepage", "value": "https://intranet.example.test"}], "appGroupType": "selectedPublicApps"}),
        ),
        (
            "mdmWindowsInformationProtectionPolicy",
            "WIP - Corporate data",
            json!({"enforcementLevel": "encryptAndAuditOnly", "enterpriseDomain": "example.test"}),
        ),
    ];
    let apps = [
        ("com.microsoft.office.outlook", "android"),
        ("com.microsoft.teams", "android"),
        ("com.microsoft.Office.Outlook", "ios"),
        ("com.microsoft.skype.teams", "ios"),
        ("com.microsoft.msedge", "ios"),
    ];
    for (ty, name, props) in rows {
        let id = format!("T_{}", t.g.guid());
        let created = t.g.time();
        let platform = if ty.starts_with("ios") {
            "ios"
        } else if ty.starts_with("android") {
            "android"
        } else {
            ""
        };
        let targeted: Vec<Value> = apps
            .iter()
            .filter(|(_, p)| *p == platform)
            .map(|(bundle, p)| {
                let (kind, key) = if *p == "ios" { ("iosMobileAppIdentifier", "bundleId") } else { ("androidMobileAppIdentifier", "packageId") };
                json!({"id": format!("{bundle}.{p}"), "version": format!("{}", t.g.range(1000, 9999)),
                    "mobileAppIdentifier": {"@odata.type": format!("#microsoft.graph.{kind}"), key: bundle}})
            })
            .collect();
        let assignments = t.assignments(|_| Map::new());
        let mut obj = json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "roleScopeTagIds": ["0"],
            "isAssigned": !assignments.is_empty(),
            "apps": targeted,
            "assignments": assignments,
        });
        if let (Some(o), Some(p)) = (obj.as_object_mut(), props.as_object()) {
            o.extend(p.clone());
        }
        t.push("deviceAppManagement/managedAppPolicies", obj);
    }
    let _ = ALL_DEVICES_ID;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::COLLECTIONS;

    #[test]
    fn demo_is_deterministic_and_covers_every_collection() {
        let mut c1 = Catalog::default();
        let mut c2 = Catalog::default();
        let a = tenants(&mut c1);
        let b = tenants(&mut c2);
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.creds.client_id, y.creds.client_id);
            assert_eq!(x.objects.len(), y.objects.len());
            assert_eq!(x.objects[10].1, y.objects[10].1);
            assert!(
                (150..=180).contains(&x.objects.len()),
                "{}",
                x.objects.len()
            );
            for c in COLLECTIONS {
                assert!(
                    x.objects.iter().any(|(s, _)| s.path == c.path),
                    "{} missing {}",
                    x.creds.name,
                    c.path
                );
            }
        }
        assert_ne!(a[0].creds.client_id, a[1].creds.client_id);
        assert!(a[0].creds.client_secret.starts_with("sim-contoso-"));
    }
}

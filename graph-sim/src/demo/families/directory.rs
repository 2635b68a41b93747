//! Demo builder: the directory (`groups`, `users`) that assignments point at.

use serde_json::json;

use crate::demo::generator::TenantGen;

/// Names of the tenant's ten groups, in the order of `TenantGen::groups`.
const GROUPS: &[(&str, Option<&str>)] = &[
    (
        "All Windows devices",
        Some("(device.deviceOSType -eq \"Windows\")"),
    ),
    (
        "Autopilot devices",
        Some("(device.devicePhysicalIDs -any (_ -startsWith \"[ZTDid]\"))"),
    ),
    ("Pilot users", None),
    ("Finance users", None),
    ("Executives", None),
    (
        "Kiosk devices",
        Some("(device.displayName -startsWith \"KIOSK-\")"),
    ),
    (
        "iOS corporate devices",
        Some("(device.deviceOSType -eq \"iPhone\") and (device.deviceOwnership -eq \"Company\")"),
    ),
    ("Android BYOD users", None),
    ("Helpdesk staff", None),
    ("Contractors", None),
];

const USERS: &[(&str, &str, &str)] = &[
    ("Adele", "Vance", "Retail Manager"),
    ("Alex", "Wilber", "Marketing Assistant"),
    ("Diego", "Siciliani", "HR Manager"),
    ("Megan", "Bowen", "Marketing Manager"),
    ("Lynne", "Robbins", "Planner"),
    ("Nestor", "Wilke", "Director"),
];

pub(in crate::demo) fn directory(t: &mut TenantGen) {
    let domain = format!("{}.onmicrosoft.com", t.org.to_ascii_lowercase());
    let ids = t.groups.clone();
    for (id, (name, rule)) in ids.iter().zip(GROUPS) {
        let created = t.g.time();
        let nickname: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "mailEnabled": false,
            "mailNickname": nickname.to_ascii_lowercase(),
            "securityEnabled": true,
            "groupTypes": if rule.is_some() { json!(["DynamicMembership"]) } else { json!([]) },
            "membershipRule": rule,
            "membershipRuleProcessingState": if rule.is_some() { json!("On") } else { json!(null) },
            "mail": null,
            "visibility": null,
            "isAssignableToRole": null,
            "createdDateTime": created,
        });
        t.push("groups", obj);
    }
    for (given, surname, title) in USERS {
        let id = t.g.guid();
        let created = t.g.time();
        let upn = format!(
            "{}.{}@{domain}",
            given.to_ascii_lowercase(),
            surname.to_ascii_lowercase()
        );
        t.push(
            "users",
            json!({
                "id": id,
                "displayName": format!("{given} {surname}"),
                "givenName": given,
                "surname": surname,
                "jobTitle": title,
                "mail": upn,
                "userPrincipalName": upn,
                "accountEnabled": true,
                "usageLocation": "US",
                "createdDateTime": created,
            }),
        );
    }
}

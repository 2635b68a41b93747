//! Demo builder: Role scope tags: the built-in `0` plus named tags.

use serde_json::json;

use crate::demo::generator::TenantGen;

pub(in crate::demo) fn scope_tags(t: &mut TenantGen) {
    t.push(
        "deviceManagement/roleScopeTags",
        crate::baseline::default_scope_tag(),
    );
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

//! Export and import: a backup set downloaded as a zip, imported into another tenant as a new
//! backup set, restored there, and equal to the original; folders of Intune JSON exports as
//! other tools write them, with every unreadable file a failed item with its reason.

use std::io::{Read, Write};

use super::*;

/// A `multipart/form-data` body of `fields` (name, file name, bytes), and its content type.
pub fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("pv-test-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, filename, bytes) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/zip\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    app: &TestApp,
    user: &TestUser,
    tenant: &TestTenant,
    fields: &[(&str, Option<&str>, &[u8])],
) -> reqwest::Response {
    use secrecy::ExposeSecret;
    let (content_type, body) = multipart(fields);
    app.http
        .post(app.url(&format!("/tenants/{}/imports", tenant.id)))
        .bearer_auth(user.token.expose_secret())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        zip.start_file(*path, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn utf16le_with_mark(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[tokio::test]
async fn export_import_into_another_tenant_restore_and_compare_equal() {
    let app = spawn_app_with(demo_app()).await;
    let source = register_demo_tenant(&app, "contoso").await;
    let target = app.add_tenant("Customer C").await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &source, Role::Admin).await;
    app.grant(&admin, &target, Role::Admin).await;
    let created = app
        .post(
            &admin,
            &format!("/tenants/{}/backup-sets", source.id),
            json!({"name": "Portable", "policy_types": ["assignmentFilters", "deviceManagementScripts", "deviceCompliancePolicies"], "capture": true}),
        )
        .await;
    let created: Value = created.json().await.unwrap();
    let set_id = created["backup_set"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(
            &admin,
            source.id,
            created["run"]["id"].as_str().unwrap(),
            WAIT,
        )
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let original = app
        .get_json(
            &admin,
            &format!(
                "/tenants/{}/backup-sets/{set_id}/items?limit=200",
                source.id
            ),
        )
        .await["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(original.len() >= 5, "{original:?}");

    // The export: a manifest and one readable file per object.
    let response = app
        .get(
            &admin,
            &format!("/tenants/{}/backup-sets/{set_id}/export", source.id),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"contoso_Portable.zip\"")
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut manifest = String::new();
    archive
        .by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["format"], "policyvault-export");
    assert_eq!(manifest["kind"], "backup_set");
    assert_eq!(
        manifest["objects"].as_array().unwrap().len(),
        original.len()
    );
    assert_eq!(archive.len(), original.len() + 1);
    let first = &manifest["objects"][0];
    let file = first["file"].as_str().unwrap();
    assert!(file.starts_with(&format!(
        "objects/{}/",
        first["policy_type"].as_str().unwrap()
    )));
    let mut object = String::new();
    archive
        .by_name(file)
        .unwrap()
        .read_to_string(&mut object)
        .unwrap();
    let object: Value = serde_json::from_str(&object).unwrap();
    assert_eq!(object["id"], first["graph_id"]);
    assert!(object["assignments"].is_array());

    // Imported into the other tenant: one item per file, all succeeded.
    let r = upload(
        &app,
        &admin,
        &target,
        &[
            ("name", None, b"From contoso"),
            ("file", Some("contoso.zip"), &bytes),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 202);
    let started: Value = r.json().await.unwrap();
    assert_eq!(started["run"]["operation"], "import");
    let imported_set = started["backup_set_id"].as_str().unwrap().to_string();
    assert_eq!(started["run"]["target_id"], imported_set.as_str());
    let import_id = started["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&admin, target.id, &import_id, WAIT)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["succeeded"], original.len());
    let set = app
        .get_json(
            &admin,
            &format!("/tenants/{}/backup-sets/{imported_set}", target.id),
        )
        .await;
    assert_eq!(set["backup_set"]["name"], "From contoso");
    let imported = app
        .get_json(
            &admin,
            &format!(
                "/tenants/{}/backup-sets/{imported_set}/items?limit=200",
                target.id
            ),
        )
        .await["items"]
        .as_array()
        .unwrap()
        .clone();
    let hashes = |items: &[Value]| {
        let mut h: Vec<(String, String)> = items
            .iter()
            .map(|i| {
                (
                    i["source_id"].as_str().unwrap().to_string(),
                    i["content_hash"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        h.sort();
        h
    };
    assert_eq!(
        hashes(&imported),
        hashes(&original),
        "the import holds the same content"
    );

    // Restored there, and compared with the original: nothing differs.
    let restore_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/restores", target.id),
        json!({"source": {"backup_set_id": imported_set}, "mode": "live", "confirm": target.name}),
    )
    .await;
    let restore = app
        .wait_for_terminal(&admin, target.id, &restore_id, WAIT)
        .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let compare_id = start(
        &app,
        &admin,
        &format!("/tenants/{}/comparisons", target.id),
        json!({"left": {"backup_set_id": set_id}, "right": {"live": true}}),
    )
    .await;
    let compare = app
        .wait_for_terminal(&admin, target.id, &compare_id, WAIT)
        .await;
    assert_eq!(compare["status"], "succeeded", "{compare}");
    let items = all_items(&app, &admin, &target, &compare_id).await;
    let differing: Vec<&Value> = items.iter().filter(|i| i["change"] != "added").collect();
    assert!(differing.is_empty(), "{differing:#?}");

    // A snapshot exports too.
    let (capture_id, _) = capture(&app, &admin, &source).await;
    let snapshot = snapshot_of_run(&app, &admin, &source, &capture_id).await;
    let r = app
        .get(
            &admin,
            &format!(
                "/tenants/{}/snapshots/{}/export",
                source.id,
                snapshot["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let archive =
        zip::ZipArchive::new(std::io::Cursor::new(r.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(
        archive.len() as u64,
        snapshot["item_count"].as_u64().unwrap() + 1
    );
    // Another tenant's export is not found.
    let r = app
        .get(
            &admin,
            &format!(
                "/tenants/{}/snapshots/{}/export",
                target.id,
                snapshot["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn a_folder_of_exports_from_other_tools_imports_with_every_bad_file_reported() {
    let app = spawn_app_with(AppOptions {
        settings: vec![("imports.max_upload_bytes".into(), "200000".into())],
        ..demo_app()
    })
    .await;
    let tenant = app.add_tenant("Customer D").await;
    let operator = app.add_user("operator@example.com").await;
    app.grant(&operator, &tenant, Role::Operator).await;
    let profile = json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/deviceConfigurations/$entity",
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "id": "0b0c6b1e-0000-4000-8000-000000000001",
        "displayName": "Windows – Zürich baseline",
        "createdDateTime": "2026-01-01T00:00:00Z",
        "version": 3,
        "cameraBlocked": true,
        "assignments": [{"id": "x", "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}]
    });
    let catalog = json!({"id": "c1", "name": "Edge settings", "platforms": "windows10", "technologies": "mdm",
        "settings": [{"settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": "device_vendor_msft_policy_config_edge_x", "choiceSettingValue": {"value": "x_1", "children": []}}}]});
    let filter = json!({"id": "f1", "displayName": "Surface devices", "platform": "windows10AndLater", "rule": "(device.model -startsWith \"Surface\")"});
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(filter.to_string().as_bytes());
    let duplicate = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "id": "0b0c6b1e-0000-4000-8000-000000000001", "displayName": "Copy of the baseline"});
    let zip = zip_of(&[
        (
            "Export/Device Configuration/Zürich baseline.json",
            utf16le_with_mark(&profile.to_string()),
        ),
        (
            "Export/Settings Catalog/Edge settings.json",
            catalog.to_string().into_bytes(),
        ),
        ("Export/Assignment Filters/Surface devices.json", bom),
        (
            // Read after the first file with this id (paths are read in order).
            "Export/Device Configuration/Ümlaut copy.json",
            duplicate.to_string().into_bytes(),
        ),
        (
            "Export/Users/someone.json",
            br##"{"@odata.type": "#microsoft.graph.user", "displayName": "Someone"}"##.to_vec(),
        ),
        (
            "Export/Device Configuration/broken.json",
            b"{\"displayName\": ".to_vec(),
        ),
        ("Export/README.md", b"Exported with a tool".to_vec()),
        // Assignments in files of their own, beside their object (one tool's layout).
        (
            "Export/Device Compliance Policies/Require PIN.json",
            json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "id": "p1",
                   "displayName": "Require PIN", "passwordRequired": true})
            .to_string()
            .into_bytes(),
        ),
        (
            "Export/Device Compliance Policies/Assignments/Require PIN.json",
            json!([{"id": "p1_g1", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}])
                .to_string()
                .into_bytes(),
        ),
        (
            "Export/Device Compliance Policies/Assignments/Deleted policy.json",
            b"[]".to_vec(),
        ),
    ]);
    let r = upload(
        &app,
        &operator,
        &tenant,
        &[("file", Some("tool-export.zip"), &zip)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 202);
    let started: Value = r.json().await.unwrap();
    let run_id = started["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&operator, tenant.id, &run_id, WAIT)
        .await;
    assert_eq!(run["status"], "partial", "{run}");
    assert_eq!(run["counts"]["total"], 10);
    assert_eq!(run["counts"]["succeeded"], 5);
    assert_eq!(run["counts"]["failed"], 4);
    assert_eq!(run["counts"]["skipped"], 1);
    let items = all_items(&app, &operator, &tenant, &run_id).await;
    let by_file = |suffix: &str| {
        items
            .iter()
            .find(|i| i["item_key"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}: {items:#?}"))
            .clone()
    };
    assert_eq!(
        by_file("Zürich baseline.json")["policy_type"],
        "deviceConfigurations"
    );
    assert_eq!(
        by_file("Edge settings.json")["policy_type"],
        "configurationPolicies"
    );
    assert_eq!(
        by_file("Surface devices.json")["policy_type"],
        "assignmentFilters"
    );
    assert_eq!(by_file("Ümlaut copy.json")["error_code"], "duplicate_id");
    assert!(
        by_file("Ümlaut copy.json")["error_message"]
            .as_str()
            .unwrap()
            .contains("Zürich baseline.json")
    );
    assert_eq!(by_file("someone.json")["error_code"], "unsupported_type");
    assert_eq!(by_file("broken.json")["error_code"], "invalid_json");
    assert_eq!(by_file("README.md")["status"], "skipped");
    assert_eq!(
        by_file("Policies/Require PIN.json")["policy_type"],
        "deviceCompliancePolicies"
    );
    assert_eq!(
        by_file("Assignments/Require PIN.json")["status"],
        "succeeded"
    );
    assert_eq!(
        by_file("Deleted policy.json")["error_code"],
        "assignments_without_object"
    );
    let set_id = started["backup_set_id"].as_str().unwrap();
    let set = app
        .get_json(
            &operator,
            &format!("/tenants/{}/backup-sets/{set_id}", tenant.id),
        )
        .await;
    let types: Vec<&str> = set["backup_set"]["policy_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let mut sorted = types.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "assignmentFilters",
            "configurationPolicies",
            "deviceCompliancePolicies",
            "deviceConfigurations"
        ]
    );
    let items = app
        .get_json(
            &operator,
            &format!(
                "/tenants/{}/backup-sets/{set_id}/items?payload=true",
                tenant.id
            ),
        )
        .await;
    let baseline = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["policy_type"] == "deviceConfigurations")
        .unwrap();
    let pin = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["policy_type"] == "deviceCompliancePolicies")
        .unwrap();
    assert_eq!(pin["assignments"][0]["target"]["groupId"], "g1", "{pin}");
    // Read-only fields are gone, assignments kept without their ids.
    assert!(
        baseline["payload"].get("createdDateTime").is_none(),
        "{baseline}"
    );
    assert_eq!(baseline["display_name"], "Windows – Zürich baseline");

    // Bad uploads are the caller's mistake, said as such.
    let r = upload(&app, &operator, &tenant, &[("name", None, b"No file")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let big = vec![b'P'; 300_000];
    let r = upload(&app, &operator, &tenant, &[("file", Some("big.zip"), &big)]).await;
    assert_eq!(r.status().as_u16(), 413);
    let r = upload(&app, &operator, &tenant, &[("other", None, b"x")]).await;
    assert_eq!(r.status().as_u16(), 422);
    // Not a zip: the run fails with the reason.
    let r = upload(
        &app,
        &operator,
        &tenant,
        &[("file", Some("notes.txt"), b"hello")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 202);
    let started: Value = r.json().await.unwrap();
    let run = app
        .wait_for_terminal(
            &operator,
            tenant.id,
            started["run"]["id"].as_str().unwrap(),
            WAIT,
        )
        .await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error_code"], "unreadable_archive");
    // A viewer may not import.
    let viewer = app.add_user("viewer@example.com").await;
    app.grant(&viewer, &tenant, Role::Viewer).await;
    let r = upload(
        &app,
        &viewer,
        &tenant,
        &[("file", Some("tool-export.zip"), &zip)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    app.shutdown().await;
}

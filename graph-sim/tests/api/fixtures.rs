use std::path::{Path, PathBuf};

use graph_sim::SimConfig;
use serde_json::json;

use crate::helpers::*;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "graph-sim-{tag}-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn utf16le_bom(s: &str) -> Vec<u8> {
    [0xFF, 0xFE]
        .into_iter()
        .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
        .collect()
}

#[tokio::test]
async fn loads_utf8_bom_and_utf16_fixtures_with_annotations() {
    let dir = temp_dir("fixtures");
    let t = dir.join("contoso");
    write(&t.join("tenant.json"), br#"{"name": "contoso-fixture", "client_id": "fixture-app", "client_secret": "fixture-secret"}"#);
    // UTF-8 with BOM, full metadata, no id.
    let policy = json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/configurationPolicies/$entity",
        "name": "Baseline – é", "platforms": "windows10", "technologies": "mdm",
        "settings": (0..30).map(|i| json!({"id": i.to_string(), "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance", "settingDefinitionId": format!("s{i}")}})).collect::<Vec<_>>(),
        "assignments@odata.context": "x",
        "assignments": []
    });
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(serde_json::to_vec_pretty(&policy).unwrap());
    write(
        &t.join("deviceManagement/configurationPolicies/baseline.json"),
        &bom,
    );
    // UTF-16LE with BOM; definitionValues as a single object.
    let admx = json!({
        "@odata.type": "#microsoft.graph.groupPolicyConfiguration", "id": "11111111-aaaa-bbbb-cccc-000000000001", "displayName": "ADMX ü",
        "definitionValues": {"enabled": true, "definition": {"id": "def-1", "displayName": "Some policy"},
            "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "v", "presentation": {"@odata.type": "#microsoft.graph.groupPolicyPresentationTextBox", "id": "pres-1", "label": "L"}}]}
    });
    write(
        &t.join("deviceManagement/groupPolicyConfigurations/admx.json"),
        &utf16le_bom(&admx.to_string()),
    );
    // Plain UTF-8 in deviceAppManagement.
    write(&t.join("deviceAppManagement/managedAppPolicies/ios.json"), json!({"@odata.type": "#microsoft.graph.iosManagedAppProtection", "displayName": "iOS MAM"}).to_string().as_bytes());
    // A second tenant without tenant.json gets generated credentials.
    write(
        &dir.join("fabrikam/deviceManagement/roleScopeTags/tag.json"),
        br#"{"displayName": "Tag"}"#,
    );
    // Unsupported collections are skipped.
    write(
        &t.join("deviceManagement/mobileApps/app.json"),
        br#"{"displayName": "App"}"#,
    );

    let s = spawn_with(SimConfig {
        fixtures: Some(dir.clone()),
        ..SimConfig::default()
    })
    .await;
    let tenants = s.tenants().await;
    assert_eq!(tenants.len(), 2);
    let c = tenants
        .iter()
        .find(|t| t["name"] == "contoso-fixture")
        .unwrap();
    assert_eq!(c["client_id"], "fixture-app");
    let f = tenants.iter().find(|t| t["name"] == "fabrikam").unwrap();
    assert!(f["client_id"].as_str().unwrap().len() == 36);
    let tok = s.token(c).await;
    let list = s
        .get(&tok, "/beta/deviceManagement/configurationPolicies")
        .await;
    let p = &list.body["value"][0];
    assert_eq!(p["name"], "Baseline – é");
    assert_eq!(p["settingCount"], 30);
    let (settings, pages) = s
        .get_all(
            &tok,
            &format!(
                "/beta/deviceManagement/configurationPolicies/{}/settings",
                p["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!((settings.len(), pages), (30, 2));
    let gp = s.get(&tok, "/beta/deviceManagement/groupPolicyConfigurations/11111111-aaaa-bbbb-cccc-000000000001/definitionValues?$expand=definition").await;
    assert_eq!(
        gp.body["value"][0]["definition"]["displayName"],
        "Some policy"
    );
    let mam = s
        .get(&tok, "/beta/deviceAppManagement/managedAppPolicies")
        .await;
    assert_eq!(mam.body["value"][0]["displayName"], "iOS MAM");
    // Fixture definitions join the ADMX catalogue.
    let def = s
        .get(&tok, "/beta/deviceManagement/groupPolicyDefinitions/def-1")
        .await;
    assert_eq!(def.status, 200);
    s.sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn bad_fixture_files_fail_start_up_naming_the_file() {
    for (name, bytes) in [
        ("broken.json", b"{\"displayName\": ".to_vec()),
        ("badutf16.json", vec![0xFF, 0xFE, 0x00, 0xD8, 0x7B]),
        ("number.json", b"42".to_vec()),
    ] {
        let dir = temp_dir("bad");
        write(
            &dir.join("contoso/deviceManagement/roleScopeTags")
                .join(name),
            &bytes,
        );
        let err = match graph_sim::spawn(
            SimConfig {
                fixtures: Some(dir.clone()),
                ..SimConfig::default()
            },
            local(),
        )
        .await
        {
            Ok(_) => panic!("{name} should fail"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains(name), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
    let missing = graph_sim::spawn(
        SimConfig {
            fixtures: Some("/definitely/not/here".into()),
            ..SimConfig::default()
        },
        local(),
    )
    .await;
    assert!(missing.is_err());
}

/// Real exports often hold the same object twice (a re-export, a copy in another folder):
/// loading says so, and `fresh_ids` loads both as distinct objects.
#[tokio::test]
async fn fixtures_sharing_an_id_are_reported_and_can_load_under_fresh_ids() {
    let dir = temp_dir("dups");
    let t = dir.join("dups");
    let obj = |name: &str| {
        serde_json::to_vec(&json!({"id": "22222222-aaaa-bbbb-cccc-000000000001", "displayName": name, "@odata.type": "#microsoft.graph.windows10GeneralConfiguration"}))
            .unwrap()
    };
    write(
        &t.join("deviceManagement/deviceConfigurations/a.json"),
        &obj("First"),
    );
    write(
        &t.join("deviceManagement/deviceConfigurations/b.json"),
        &obj("Second"),
    );
    write(
        &t.join("deviceManagement/deviceCategories/c.json"),
        br#"{"displayName": "Corporate"}"#,
    );
    let loaded = graph_sim::fixtures::load_dir(&dir, false).unwrap();
    let report = &loaded[0].1;
    assert_eq!(report.duplicate_ids, 1);
    assert_eq!(report.renamed, 0);
    assert_eq!(
        report
            .per_collection
            .get("deviceManagement/deviceConfigurations"),
        Some(&2)
    );
    assert_eq!(
        report
            .per_collection
            .get("deviceManagement/deviceCategories"),
        Some(&1)
    );
    assert!(report.to_string().contains("--fresh-ids"), "{report}");

    for (fresh, expected) in [(false, 1), (true, 2)] {
        let s = spawn_with(SimConfig {
            fixtures: Some(dir.clone()),
            fresh_ids: fresh,
            ..SimConfig::default()
        })
        .await;
        let (_, tok) = s.demo_token("dups").await;
        let (configs, _) = s
            .get_all(&tok, "/beta/deviceManagement/deviceConfigurations")
            .await;
        assert_eq!(configs.len(), expected, "fresh_ids {fresh}");
        // A fixture tenant is a real tenant too: the baseline is added where it is missing.
        let (tags, _) = s
            .get_all(&tok, "/beta/deviceManagement/roleScopeTags")
            .await;
        assert_eq!(tags.len(), 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

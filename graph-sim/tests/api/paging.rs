use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn sixty_setting_policy_comes_back_whole_through_settings_next_links() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    let list = s.get(&tok, "/beta/deviceManagement/configurationPolicies?$filter=name%20eq%20'Win%20-%20Security%20hardening%20(full)'").await;
    let p = &list.body["value"][0];
    assert_eq!(p["settingCount"], 60);
    let id = p["id"].as_str().unwrap();
    let first = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/configurationPolicies/{id}/settings"),
        )
        .await;
    assert_eq!(
        first.body["value"].as_array().unwrap().len(),
        25,
        "25 per page, like Graph"
    );
    let next = first.body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!(
            "{}/beta/deviceManagement/configurationPolicies/{id}/settings?",
            s.base
        )),
        "{next}"
    );
    assert!(next.contains("$skiptoken="));
    let (all, pages) = s
        .get_all(
            &tok,
            &format!("/beta/deviceManagement/configurationPolicies/{id}/settings"),
        )
        .await;
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 60);
    let ids: Vec<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..60).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected);
    // `$top` raises the page up to Graph's maximum: the whole policy in one page, as backup
    // tools ask for it (`/settings?$top=1000`).
    let big = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/configurationPolicies/{id}/settings?$top=1000"),
        )
        .await;
    assert_eq!(big.body["value"].as_array().unwrap().len(), 60);
    assert!(big.body.get("@odata.nextLink").is_none());
    // $expand=settings on the policy returns them all at once.
    let expanded = s
        .get(
            &tok,
            &format!("/beta/deviceManagement/configurationPolicies/{id}?$expand=settings"),
        )
        .await;
    assert_eq!(expanded.body["settings"].as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn configuration_policies_page_at_25_and_keep_query_options() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("fabrikam").await;
    let r = s
        .get(&tok, "/beta/deviceManagement/configurationPolicies")
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 25);
    let (all, pages) = s
        .get_all(&tok, "/beta/deviceManagement/configurationPolicies")
        .await;
    assert_eq!((all.len(), pages), (26, 2));
    let mut ids: Vec<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 26, "no item twice");
    // nextLink carries $select/$filter along and uses the host the client used.
    let r = s.get(&tok, "/beta/deviceManagement/configurationPolicies?$select=name,id&$top=10&$filter=startswith(name,'Win')").await;
    let next = r.body["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&s.base), "{next}");
    assert!(
        next.contains("$select=name,id") && next.contains("$top=10") && next.contains("$filter="),
        "{next}"
    );
    let page = &r.body["value"][0];
    assert!(
        page.get("platforms").is_none() && page.get("name").is_some() && page.get("id").is_some()
    );
    let (filtered, pages) = s
        .get_all(
            &tok,
            "/beta/deviceManagement/configurationPolicies?$top=10&$filter=startswith(name,'Win')",
        )
        .await;
    assert_eq!((filtered.len(), pages), (26, 3));
    // $count
    let counted = s
        .get(
            &tok,
            "/beta/deviceManagement/configurationPolicies?$count=true",
        )
        .await;
    assert_eq!(counted.body["@odata.count"], 26);
}

#[tokio::test]
async fn other_collections_page_at_100_by_default_and_honour_top() {
    let s = spawn_with(graph_sim::SimConfig {
        throttle: false,
        ..graph_sim::SimConfig::default()
    })
    .await;
    let tok = s.empty_tenant("many").await;
    for i in 0..130 {
        let r = s
            .post(
                &tok,
                "/beta/deviceManagement/assignmentFilters",
                minimal_body("deviceManagement/assignmentFilters", &format!("F{i:03}")),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let r = s
        .get(&tok, "/beta/deviceManagement/assignmentFilters")
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 100);
    let (all, pages) = s
        .get_all(&tok, "/beta/deviceManagement/assignmentFilters?$top=50")
        .await;
    assert_eq!((all.len(), pages), (130, 3));
    let ordered = s
        .get(
            &tok,
            "/beta/deviceManagement/assignmentFilters?$orderby=displayName%20desc&$top=1",
        )
        .await;
    assert_eq!(ordered.body["value"][0]["displayName"], "F129");
}

#[tokio::test]
async fn filters_match_display_name_and_escaped_quotes() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("northwind").await;
    let r = s.get(&tok, "/beta/deviceManagement/configurationPolicies?$filter=name%20eq%20'Win%20-%20Test%20policy%20O''Brien'").await;
    let v = r.body["value"].as_array().unwrap();
    assert_eq!(v.len(), 1, "{}", r.body);
    assert_eq!(v[0]["name"], "Win - Test policy O'Brien");
    let r = s.get(&tok, "/beta/deviceManagement/deviceConfigurations?$filter=displayName eq 'Win - Corporate Wi-Fi'").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let none = s
        .get(
            &tok,
            "/beta/deviceManagement/deviceConfigurations?$filter=displayName%20eq%20'nope'",
        )
        .await;
    assert_eq!(none.body["value"], Value::Array(vec![]));
    assert!(none.body.get("@odata.nextLink").is_none());
    let tech = s.get(&tok, "/beta/deviceManagement/configurationPolicies?$filter=technologies%20has%20'microsoftSense'").await;
    assert!(tech.body["value"].as_array().unwrap().len() >= 3);
}

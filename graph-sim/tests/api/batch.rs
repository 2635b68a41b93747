use graph_sim::{Quotas, SimConfig};
use serde_json::{Value, json};
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn batch_runs_sub_requests_with_their_own_status_and_journal() {
    let s = spawn_demo().await;
    let tok = s.empty_tenant("batch").await;
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/deviceManagement/deviceConfigurations", "headers": {"Content-Type": "application/json"},
         "body": minimal_body("deviceManagement/deviceConfigurations", "From batch")},
        {"id": "2", "method": "GET", "url": "/deviceManagement/deviceConfigurations?$filter=displayName eq 'From batch'", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "deviceManagement/deviceConfigurations/00000000-0000-0000-0000-000000000000"},
        {"id": "4", "method": "POST", "url": "/deviceManagement/deviceConfigurations", "body": {"displayName": "untyped"}},
        {"id": "5", "method": "GET", "url": "/deviceManagement/deviceConfigurations", "dependsOn": ["4"]}
    ]});
    let r = s.post(&tok, "/beta/$batch", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let responses = r.body["responses"].as_array().unwrap();
    let by_id = |id: &str| responses.iter().find(|x| x["id"] == id).unwrap().clone();
    assert_eq!(by_id("1")["status"], 201);
    assert!(
        by_id("1")["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(by_id("1")["body"]["displayName"], "From batch");
    assert_eq!(by_id("2")["status"], 200);
    assert_eq!(by_id("2")["body"]["value"].as_array().unwrap().len(), 1);
    assert_eq!(by_id("3")["status"], 404);
    assert_eq!(by_id("3")["body"]["error"]["code"], "ResourceNotFound");
    assert_eq!(by_id("4")["status"], 400);
    assert_eq!(by_id("5")["status"], 424);

    let tenants = s.tenants().await;
    let t = tenants.iter().find(|t| t["name"] == "batch").unwrap();
    let journal = s.journal(t["id"].as_str().unwrap()).await;
    let statuses: Vec<(String, u64)> = journal
        .iter()
        .map(|j| {
            (
                j["path"].as_str().unwrap().to_string(),
                j["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (
                "/beta/deviceManagement/deviceConfigurations".to_string(),
                201
            ),
            (
                "/beta/deviceManagement/deviceConfigurations".to_string(),
                400
            ),
        ]
    );
    let stats = s.stats(t["id"].as_str().unwrap()).await;
    assert_eq!(
        stats["requests"], 4,
        "sub-requests count one by one (424 never ran)"
    );
    assert_eq!(stats["round_trips"], 1, "the envelope is one HTTP request");
}

#[tokio::test]
async fn batch_limits_and_malformed_payloads() {
    let s = spawn_demo().await;
    let (_, tok) = s.demo_token("contoso").await;
    let reqs: Vec<Value> = (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/deviceManagement/roleScopeTags"})).collect();
    assert_graph_error(
        &s.post(&tok, "/beta/$batch", json!({"requests": reqs}))
            .await,
        400,
        "BadRequest",
    );
    let reqs: Vec<Value> = (0..20).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/deviceManagement/roleScopeTags"})).collect();
    let ok = s
        .post(&tok, "/beta/$batch", json!({"requests": reqs}))
        .await;
    assert_eq!(ok.body["responses"].as_array().unwrap().len(), 20);
    assert_graph_error(
        &s.post(&tok, "/beta/$batch", json!({"nope": []})).await,
        400,
        "BadRequest",
    );
    assert_graph_error(
        &s.post(
            &tok,
            "/beta/$batch",
            json!({"requests": [{"id": "1", "method": "GET"}]}),
        )
        .await,
        400,
        "BadRequest",
    );
    assert_graph_error(&s.post(&tok, "/beta/$batch", json!({"requests": [{"id": "1", "method": "GET", "url": "/x"}, {"id": "1", "method": "GET", "url": "/x"}]})).await, 400, "BadRequest");
    let abs = s.post(&tok, "/beta/$batch", json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/beta/deviceManagement/roleScopeTags"}]})).await;
    assert_eq!(abs.body["responses"][0]["status"], 400);
}

#[tokio::test]
async fn batch_sub_requests_count_against_throttling() {
    let s = spawn_with(SimConfig {
        demo: true,
        time_scale: 20.0,
        quotas: Quotas {
            requests_per_window: 5,
            window: Duration::from_secs(20),
            ..Quotas::default()
        },
        ..SimConfig::default()
    })
    .await;
    let (_, tok) = s.demo_token("contoso").await;
    let reqs: Vec<Value> = (0..8).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/deviceManagement/roleScopeTags"})).collect();
    let r = s
        .post(&tok, "/beta/$batch", json!({"requests": reqs}))
        .await;
    let responses = r.body["responses"].as_array().unwrap();
    let ok = responses.iter().filter(|x| x["status"] == 200).count();
    let throttled: Vec<&Value> = responses.iter().filter(|x| x["status"] == 429).collect();
    assert_eq!((ok, throttled.len()), (5, 3));
    assert!(throttled[0]["headers"]["Retry-After"].is_string());
    assert_eq!(throttled[0]["body"]["error"]["code"], "TooManyRequests");
}

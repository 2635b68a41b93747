use std::time::{Duration, Instant};

use graph_sim::{Quotas, SimConfig};

use crate::helpers::*;

fn config(requests: u32, writes: u32, omit: bool) -> SimConfig {
    SimConfig {
        demo: true,
        time_scale: 10.0, // 20 s window → 2 s
        omit_retry_after: omit,
        quotas: Quotas {
            requests_per_window: requests,
            writes_per_window: writes,
            ..Quotas::default()
        },
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn admits_the_quota_per_window_then_429_with_retry_after() {
    let s = spawn_with(config(10, 100, false)).await;
    let (t, tok) = s.demo_token("contoso").await;
    let mut admitted = 0;
    let mut throttled = Vec::new();
    let started = Instant::now();
    for _ in 0..25 {
        let r = s.get(&tok, "/beta/deviceManagement/roleScopeTags").await;
        match r.status.as_u16() {
            200 => admitted += 1,
            429 => throttled.push(r),
            other => panic!("unexpected {other}"),
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(1800),
        "the burst must fit in one window ({elapsed:?})"
    );
    assert!((9..=11).contains(&admitted), "admitted {admitted}");
    assert_eq!(admitted + throttled.len(), 25);
    for r in &throttled {
        assert_graph_error(r, 429, "TooManyRequests");
        let ra: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            (1..=2).contains(&ra),
            "Retry-After: the scaled remaining window, rounded up: {ra}"
        );
    }
    let stats = s.stats(t["id"].as_str().unwrap()).await;
    assert_eq!(
        stats["throttled"].as_u64().unwrap() as usize,
        throttled.len()
    );
    assert_eq!(stats["requests"], 25);
    // After the window, requests are admitted again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/roleScopeTags")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn writes_have_their_own_lower_quota() {
    let s = spawn_with(config(100, 3, false)).await;
    let tok = s.empty_tenant("writes").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = s
            .post(
                &tok,
                "/beta/deviceManagement/roleScopeTags",
                minimal_body("deviceManagement/roleScopeTags", &format!("t{i}")),
            )
            .await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, vec![201, 201, 201, 429, 429, 429]);
    // Reads still pass while writes are throttled.
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/roleScopeTags")
            .await
            .status,
        200
    );
    let t = s.tenant("writes").await;
    let journal = s.journal(t["id"].as_str().unwrap()).await;
    assert_eq!(
        journal.iter().filter(|j| j["status"] == 429).count(),
        3,
        "throttled writes are journaled with 429"
    );
    let stats = s.stats(t["id"].as_str().unwrap()).await;
    assert_eq!(stats["writes"], 3);
}

#[tokio::test]
async fn retry_after_can_be_omitted_and_throttling_disabled() {
    let s = spawn_with(config(1, 100, true)).await;
    let (_, tok) = s.demo_token("contoso").await;
    assert_eq!(
        s.get(&tok, "/beta/deviceManagement/roleScopeTags")
            .await
            .status,
        200
    );
    let r = s.get(&tok, "/beta/deviceManagement/roleScopeTags").await;
    assert_eq!(r.status, 429);
    assert!(r.headers.get("retry-after").is_none());

    let s = spawn_with(SimConfig {
        throttle: false,
        ..config(1, 1, false)
    })
    .await;
    let (_, tok) = s.demo_token("contoso").await;
    for _ in 0..5 {
        assert_eq!(
            s.get(&tok, "/beta/deviceManagement/roleScopeTags")
                .await
                .status,
            200
        );
    }
}

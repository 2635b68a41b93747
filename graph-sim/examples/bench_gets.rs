//! Throughput benchmark: the simulator on a single-threaded runtime (one core), hammered with
//! authenticated GETs over keep-alive connections from another runtime.
//!
//! `cargo run --release -p graph-sim --example bench_gets -- [SECONDS] [CONCURRENCY]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use graph_sim::SimConfig;
use serde_json::Value;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);

    // The simulator gets its own thread and a current-thread runtime: one core.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let config = SimConfig {
                demo: true,
                throttle: false,
                ..SimConfig::default()
            };
            let sim = graph_sim::spawn(config, "127.0.0.1:0".parse()?).await?;
            addr_tx.send(sim.base_url())?;
            let _ = stop_rx.await;
            sim.shutdown().await;
            anyhow::Ok(())
        })
    });
    let base = addr_rx.recv()?;

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (count, mut latencies, elapsed) = client_rt.block_on(async move {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency * 2)
            .build()?;
        let tenants: Value = http
            .get(format!("{base}/_sim/tenants"))
            .send()
            .await?
            .json()
            .await?;
        let t = &tenants[0];
        let token: Value = http
            .post(format!(
                "{base}/{}/oauth2/v2.0/token",
                t["id"].as_str().unwrap_or_default()
            ))
            .form(&[
                ("client_id", t["client_id"].as_str().unwrap_or_default()),
                (
                    "client_secret",
                    t["client_secret"].as_str().unwrap_or_default(),
                ),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await?
            .json()
            .await?;
        let token = token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let list: Value = http
            .get(format!("{base}/beta/deviceManagement/deviceConfigurations"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let id = list["value"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let url = Arc::new(format!(
            "{base}/beta/deviceManagement/deviceConfigurations/{id}"
        ));
        let token = Arc::new(token);
        let done = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (http, url, token, done) = (http.clone(), url.clone(), token.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    let r = http
                        .get(url.as_str())
                        .bearer_auth(token.as_str())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            lat.push(t0.elapsed());
                        }
                        Ok(r) => eprintln!("unexpected status {}", r.status()),
                        Err(e) => eprintln!("request failed: {e}"),
                    }
                }
                lat
            }));
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        done.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        let elapsed = started.elapsed();
        anyhow::Ok((all.len(), all, elapsed))
    })?;
    let _ = stop_tx.send(());
    let _ = server.join();

    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "graph-sim bench_gets: {count} GETs in {:.2} s over {concurrency} keep-alive connections",
        elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} requests/s (server on one core)",
        count as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency p50: {:.3} ms, p99: {:.3} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    Ok(())
}

//! Open-loop load generator for the simulator (a benchmark, not a test).
//!
//! Sends a fixed request rate of a read-heavy operator-like mix and reports
//! latency percentiles measured from each request's *scheduled* start, so a
//! stalled server cannot hide its queueing delay (no coordinated omission).
//!
//! ```text
//! cargo run --release -p grafana-cloud-simulator --bin grafana-cloud-simulator -- \
//!     --listen 127.0.0.1:18080 --org bench=bench-token &
//! cargo run --release -p grafana-cloud-simulator --example load -- \
//!     --base-url http://127.0.0.1:18080/api --org bench --token bench-token --rate 2000 --seconds 20
//! ```
//! Without `--base-url` it starts an in-process simulator.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use grafana_cloud_simulator::Simulator;
use serde_json::json;
use tokio::{sync::Semaphore, time::MissedTickBehavior};

struct Args {
    base_url: Option<String>,
    org: String,
    token: String,
    rate: u64,
    seconds: u64,
    stacks: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        base_url: None,
        org: "bench".into(),
        token: "bench-token".into(),
        rate: 2000,
        seconds: 20,
        stacks: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--base-url" => args.base_url = Some(value),
            "--org" => args.org = value,
            "--token" => args.token = value,
            "--rate" => args.rate = value.parse().unwrap(),
            "--seconds" => args.seconds = value.parse().unwrap(),
            "--stacks" => args.stacks = value.parse().unwrap(),
            _ => panic!("unknown flag {flag}"),
        }
    }
    args
}

/// The request mix, in percent: what a reconciling operator mostly does.
fn pick(n: u64, slug: &str, org: &str) -> (reqwest::Method, String) {
    use reqwest::Method;
    match n % 100 {
        0..45 => (Method::GET, format!("/instances/{slug}")),
        45..70 => (Method::GET, format!("/instances/{slug}/readiness")),
        70..85 => (Method::GET, format!("/instances/{slug}/datasources")),
        85..93 => (Method::GET, format!("/orgs/{org}/instances")),
        93..98 => (Method::GET, format!("/orgs/{org}/api-keys")),
        _ => (Method::POST, format!("/instances/{slug}/restart")),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let (_sim, base) = match &args.base_url {
        Some(url) => (None, url.clone()),
        None => {
            let sim = Simulator::builder()
                .org(&args.org, &args.token)
                .start()
                .await
                .unwrap();
            let base = sim.base_url();
            (Some(sim), base)
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let run = std::process::id();
    let slugs: Vec<String> = (0..args.stacks).map(|i| format!("load{run}x{i}")).collect();
    for slug in &slugs {
        let status = client
            .post(format!("{base}/instances"))
            .bearer_auth(&args.token)
            .json(&json!({ "name": slug, "slug": slug }))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "creating {slug}: {status}");
    }

    let total = args.rate * args.seconds;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(Mutex::new(0u64));
    let in_flight = Arc::new(Semaphore::new(2048));
    let period =
        Duration::try_from_secs_f64(1.0 / args.rate as f64).unwrap_or(Duration::from_secs(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = ticker.tick().await.into_std();
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        let (method, path) = pick(
            n * 37 + n / 100,
            &slugs[n as usize % slugs.len()],
            &args.org,
        );
        let request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&args.token);
        let (latencies, errors) = (latencies.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let ok = match request.send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            let elapsed = scheduled.elapsed();
            if ok {
                latencies.lock().unwrap().push(elapsed);
            } else {
                *errors.lock().unwrap() += 1;
            }
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let wall = started.elapsed();
    let mut sorted = latencies.lock().unwrap().clone();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "requests={} errors={} seconds={:.2} achieved_rps={:.0} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p99.9_ms={:.3} max_ms={:.3}",
        sorted.len(),
        errors.lock().unwrap(),
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        ms(percentile(&sorted, 50.0)),
        ms(percentile(&sorted, 90.0)),
        ms(percentile(&sorted, 99.0)),
        ms(percentile(&sorted, 99.9)),
        ms(sorted.last().copied().unwrap_or_default()),
    );
}

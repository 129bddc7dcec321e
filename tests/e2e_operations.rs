//! Operations end to end (SPEC §6, issue "Operations"): leader election failover, metrics,
//! the API budget in steady state and under a 429 storm.

#![allow(clippy::unwrap_used)]

mod e2e;

use std::time::{Duration, Instant};

use e2e::{Env, Options, is_ready, logged_addr};
use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use grafana_cloud_simulator::Fault;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

fn key(name: &str) -> GrafanaCloudApiKey {
    e2e::resource("GrafanaCloudApiKey", name, json!({"role": "Viewer"}))
}

fn stack(name: &str, slug: &str) -> GrafanaStack {
    e2e::resource("GrafanaStack", name, json!({"slug": slug}))
}

async fn all_ready(env: &Env, api: &Api<GrafanaStack>, count: usize) {
    env.eventually_async(&format!("{count} stacks Ready"), || async {
        let list = api.list(&ListParams::default()).await.unwrap();
        list.items.len() == count && list.items.iter().all(is_ready)
    })
    .await;
}

const LEASE: &[&str] = &[
    "--leader-elect",
    "--leader-election-namespace",
    "default",
    "--leader-election-lease-duration",
    "4s",
];

/// Two replicas: exactly one reconciles; killing it hands over within the lease time, and
/// resources keep converging without duplicate creates.
#[tokio::test]
async fn failover_hands_leadership_over_within_the_lease() {
    let env = Env::start_with(Options {
        operator: false,
        ..Options::default()
    })
    .await;
    let ns = env.namespace("ha").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    let (mut leader, standby) = env.leader_and_standby(LEASE).await;

    api.create(&PostParams::default(), &stack("first", "hafirst"))
        .await
        .unwrap();
    env.wait_for(&api, "first", "Ready", is_ready).await;
    assert!(
        !standby.read_log().contains("became the leader"),
        "two leaders at once"
    );
    assert!(
        !standby.read_log().contains("grafana.com request"),
        "the standby called grafana.com"
    );

    leader.kill().unwrap();
    let killed = Instant::now();
    env.eventually("the standby takes over", || {
        standby.read_log().contains("became the leader")
    })
    .await;
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(4 + 3),
        "failover took {took:?}, longer than the lease and a margin"
    );

    api.create(&PostParams::default(), &stack("second", "hasecond"))
        .await
        .unwrap();
    env.wait_for(&api, "second", "Ready after failover", is_ready)
        .await;
    assert_eq!(
        env.sim.control().count("POST", "/api/instances"),
        2,
        "a stack was created twice"
    );
    env.assert_no_token_leaked().await;
}

/// `/metrics` carries the families SPEC §6 names, with fixed label sets and no token.
#[tokio::test]
async fn metrics_describe_reconciles_requests_and_readiness() {
    let env = Env::start().await;
    let ns = env.namespace("observed").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    api.create(&PostParams::default(), &stack("seen", "seenstack"))
        .await
        .unwrap();
    let broken: GrafanaStack = serde_json::from_value(json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1", "kind": "GrafanaStack",
        "metadata": {"name": "broken"},
        "spec": {"slug": "brokenstack", "credentials": {"secretName": "missing"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &broken).await.unwrap();
    env.wait_for(&api, "seen", "Ready", is_ready).await;

    let text = env.scrape_metrics().await;
    for expected in [
        r#"grafana_cloud_operator_reconciles_total{kind="GrafanaStack"}"#,
        r#"grafana_cloud_operator_reconcile_failures_total{kind="GrafanaStack",category="credentials"}"#,
        r#"grafana_cloud_operator_reconcile_duration_seconds_count{kind="GrafanaStack"}"#,
        r#"grafana_cloud_operator_grafana_requests_total{endpoint="/instances",method="POST",status="200"}"#,
        r#"grafana_cloud_operator_grafana_requests_total{endpoint="/orgs/{org}/instances",method="GET",status="200"}"#,
        r#"grafana_cloud_operator_grafana_request_duration_seconds_count{endpoint="/instances",method="POST"}"#,
        r#"grafana_cloud_operator_ready_resources{kind="GrafanaStack"} 1"#,
        "grafana_cloud_operator_leader 1",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(!text.contains(e2e::ORG_TOKEN));
    assert!(
        !text.contains("seenstack"),
        "a resource name leaked into a label value"
    );
}

/// Every watch and request of the operator shares one HTTP/2 connection to the API server,
/// where HTTP/1.1 held one connection per watch and per request in flight.
#[tokio::test]
async fn watches_and_requests_share_one_connection_to_the_api_server() {
    let env = Env::start().await;
    let ns = env.namespace("multiplexed").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    for i in 0..3 {
        api.create(
            &PostParams::default(),
            &stack(&format!("s{i}"), &format!("multiplexed{i}")),
        )
        .await
        .unwrap();
    }
    all_ready(&env, &api, 3).await;
    assert_eq!(
        env.operator_connections_to_api_server(),
        1,
        "the operator's watches and requests did not share one connection"
    );
}

/// 200 converged resources in one org cost about one list call per resync interval, not one
/// call per resource.
#[tokio::test]
async fn steady_state_calls_scale_with_orgs_not_resources() {
    const COUNT: usize = 200;
    let interval = Duration::from_secs(4);
    let env = Env::start_with(Options {
        resync_interval: "4s",
        readiness_delay: Duration::from_millis(100),
        extra_args: [
            "--api-rate-limit",
            "400",
            "--api-burst",
            "400",
            "--concurrency",
            "16",
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    })
    .await;
    let ns = env.namespace("many").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    for i in 0..COUNT {
        api.create(
            &PostParams::default(),
            &stack(&format!("s{i}"), &format!("many{i}")),
        )
        .await
        .unwrap();
    }
    all_ready(&env, &api, COUNT).await;
    // Let the post-convergence reconciles settle.
    tokio::time::sleep(interval * 2).await;

    let intervals = 3;
    let window = env.requests_during(interval * intervals).await;
    let lists = window
        .iter()
        .filter(|r| r.template.as_deref() == Some("/api/orgs/{org}/instances"))
        .count();
    let others = window.len() - lists;
    let per_interval = window.len() as f64 / f64::from(intervals);
    eprintln!(
        "steady state: {} calls in {intervals} intervals ({lists} lists, {others} others)",
        window.len()
    );
    assert!(
        lists <= intervals as usize + 1,
        "{lists} list calls in {intervals} intervals"
    );
    assert!(
        others == 0,
        "per-resource calls in steady state: {window:#?}"
    );
    assert!(
        per_interval <= 2.0,
        "{per_interval} calls per interval for {COUNT} resources"
    );
}

/// One namespace's burst does not hold up another's resource: with 60 keys of one org
/// queued behind its budget (2 calls a second), a key created afterwards in a namespace of
/// another org is Ready while most of the burst still waits.
#[tokio::test]
async fn a_burst_in_one_namespace_does_not_hold_up_another() {
    const BURST: usize = 60;
    let env = Env::start_with(Options {
        extra_args: [
            "--api-rate-limit",
            "2",
            "--api-burst",
            "2",
            "--concurrency",
            "2",
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    })
    .await;
    let busy = env.namespace("busy").await;
    let calm = env.other_org_namespace("calm").await;

    let busy_keys: Api<GrafanaCloudApiKey> = env.api(&busy);
    for i in 0..BURST {
        busy_keys
            .create(&PostParams::default(), &key(&format!("k{i}")))
            .await
            .unwrap();
    }
    let ready_in_burst = || async {
        let list = busy_keys.list(&ListParams::default()).await.unwrap();
        list.items.iter().filter(|k| is_ready(*k)).count()
    };
    env.eventually_async("step 1: the burst's first keys are Ready", || async {
        ready_in_burst().await >= 2
    })
    .await;

    let calm_keys: Api<GrafanaCloudApiKey> = env.api(&calm);
    calm_keys
        .create(&PostParams::default(), &key("calm"))
        .await
        .unwrap();
    env.wait_for(
        &calm_keys,
        "calm",
        "step 2: the other namespace's key is Ready",
        is_ready,
    )
    .await;
    let done = ready_in_burst().await;
    eprintln!("the other namespace's key was Ready after {done} of the burst's {BURST} keys");
    assert!(
        done < BURST / 3,
        "step 3: the other namespace's key waited for the burst: {done} of its {BURST} keys \
         were Ready first"
    );
}

/// Under a storm of 429s the per-org bucket still bounds the request rate, and everything
/// converges once the storm passes.
#[tokio::test]
async fn the_token_bucket_holds_under_a_429_storm() {
    let env = Env::start_with(Options {
        readiness_delay: Duration::from_millis(100),
        extra_args: ["--api-rate-limit", "5", "--api-burst", "5"]
            .map(String::from)
            .to_vec(),
        ..Options::default()
    })
    .await;
    let ns = env.namespace("storm").await;
    env.sim.control().inject(Fault::rate_limit(1).times(40));
    let api: Api<GrafanaStack> = env.api(&ns);
    for i in 0..10 {
        api.create(
            &PostParams::default(),
            &stack(&format!("s{i}"), &format!("storm{i}")),
        )
        .await
        .unwrap();
    }
    all_ready(&env, &api, 10).await;

    let times: Vec<Timestamp> = env
        .sim
        .control()
        .requests()
        .iter()
        .map(|r| r.at.parse().unwrap())
        .collect();
    let busiest = times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start).as_secs_f64() < 1.0)
                .count()
        })
        .max()
        .unwrap_or(0);
    // A full bucket (5) plus one second of refill (5), and one for rounding at the edges.
    assert!(
        busiest <= 11,
        "{busiest} requests within one second under a 5/s budget"
    );
    assert!(
        env.sim
            .control()
            .requests()
            .iter()
            .filter(|r| r.status == Some(429))
            .count()
            >= 40
    );
}

/// Health endpoints answer, the log level changes without a restart, and SIGTERM drains and
/// exits 0.
#[tokio::test]
async fn health_log_level_and_graceful_shutdown() {
    let env = Env::start_with(Options {
        operator: false,
        ..Options::default()
    })
    .await;
    let ns = env.namespace("lifecycle").await;
    let mut operator = env.spawn_operator("solo", &[]);
    let api: Api<GrafanaStack> = env.api(&ns);
    api.create(&PostParams::default(), &stack("one", "lifecycleone"))
        .await
        .unwrap();
    env.wait_for(&api, "one", "Ready", is_ready).await;

    let health = logged_addr(&operator.read_log(), "health_addr").expect("health address logged");
    let http = reqwest::Client::new();
    for path in ["healthz", "readyz"] {
        let answer = http
            .get(format!("http://{health}/{path}"))
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "/{path} answered {}",
            answer.status()
        );
    }
    let set = http
        .put(format!("http://{health}/log-level"))
        .body("trace")
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    let bad = http
        .put(format!("http://{health}/log-level"))
        .body("[[nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    api.create(&PostParams::default(), &stack("two", "lifecycletwo"))
        .await
        .unwrap();
    env.wait_for(&api, "two", "Ready", is_ready).await;
    assert!(
        operator.read_log().contains(r#""level":"TRACE""#),
        "the new log level did not apply"
    );

    let started = Instant::now();
    let status = operator.terminate(Duration::from_secs(30)).await.unwrap();
    assert!(status.success(), "SIGTERM exit status: {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        operator
            .read_log()
            .contains("draining in-flight reconciles")
    );
}

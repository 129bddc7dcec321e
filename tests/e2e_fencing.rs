//! Leader fencing end to end: a leader that is paused past its lease (as a long GC pause, a
//! frozen node or a cut-off network would) changes nothing at grafana.com when it wakes up,
//! while the standby that took over keeps every key in its Secret.

#![allow(clippy::unwrap_used)]

mod e2e;
#[path = "e2e_apikey/support.rs"]
#[allow(dead_code)]
mod support;

use std::{process::Command, time::Duration};

use e2e::{Env, ORG, Options, is_ready};
use grafana_cloud_operator::crd::GrafanaCloudApiKey;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use support::{KEYS, data, key, live_org_token};
use testenv::ChildProcess;

/// Leader election with a short lease, and a request budget of one call a second, so that
/// the leader's creates queue up in the budget, one step away from grafana.com.
const ARGS: &[&str] = &[
    "--leader-elect",
    "--leader-election-namespace",
    "default",
    "--leader-election-lease-duration",
    "4s",
    "--api-rate-limit",
    "1",
    "--api-burst",
    "1",
];

fn signal(process: &ChildProcess, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), process.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

/// Steps: the leader is paused while its creates wait for the budget → the standby takes over and
/// converges every key → the old leader resumes, notices, and sends no create or delete;
/// every Secret holds the one live key of its name.
#[tokio::test]
async fn a_leader_paused_past_its_lease_changes_nothing_when_it_resumes() {
    let env = Env::start_with(Options {
        operator: false,
        ..Options::default()
    })
    .await;
    let ns = env.namespace("fenced").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    let (leader, standby) = env.leader_and_standby(ARGS).await;

    let names: Vec<String> = (0..6).map(|i| format!("key-{i}")).collect();
    for name in &names {
        api.create(
            &PostParams::default(),
            &key(name, json!({"role": "Viewer"})),
        )
        .await
        .unwrap();
    }
    env.eventually("step 2: the leader has started creating keys", || {
        env.sim.control().count("POST", KEYS) >= 1
    })
    .await;
    signal(&leader, "STOP");

    env.eventually("step 3: the standby takes over", || {
        standby.read_log().contains("became the leader")
    })
    .await;
    env.eventually_async("step 3: the standby converges every key", || async {
        let list = api.list(&ListParams::default()).await.unwrap();
        list.items.len() == names.len() && list.items.iter().all(is_ready)
    })
    .await;

    let before = env.sim.control().requests().len();
    signal(&leader, "CONT");
    env.eventually(
        "step 4: the resumed replica notices it no longer leads",
        || {
            let log = leader.read_log();
            log.contains("the lease ran out without a renewal") || log.contains("lost leadership")
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes: Vec<String> = env
        .sim
        .control()
        .requests()
        .into_iter()
        .skip(before)
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        writes.is_empty(),
        "step 4: grafana.com writes after the old leader resumed: {writes:?}"
    );

    let secrets: Api<Secret> = env.api(&ns);
    for name in &names {
        let secret = secrets.get(name).await.unwrap();
        let remote = format!("fenced-{name}");
        assert_eq!(
            data(&secret, "token"),
            live_org_token(&env, &remote),
            "step 5: Secret {name} holds the one live key of its name"
        );
    }
    assert_eq!(
        env.sim.control().org_keys(ORG).len(),
        names.len(),
        "step 5: exactly one live key per resource"
    );
    env.assert_no_token_leaked().await;
}

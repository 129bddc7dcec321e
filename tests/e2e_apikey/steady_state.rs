//! Org keys share one list call per organisation and resync interval, both while they are
//! created and once they converge: the request budget does not grow with the number of keys.

use std::time::Duration;

use grafana_cloud_operator::crd::GrafanaCloudApiKey;
use kube::{Api, api::PostParams};
use serde_json::json;

use super::{
    KEYS,
    e2e::{Env, Options},
    is_ready, key,
};

const COUNT: usize = 20;

#[tokio::test]
async fn converged_org_keys_cost_one_list_call_per_interval() {
    let env = Env::start_with(Options {
        resync_interval: "4s",
        ..Options::default()
    })
    .await;
    let ns = env.namespace("many-keys").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    for i in 0..COUNT {
        api.create(
            &PostParams::default(),
            &key(&format!("k{i}"), json!({"role": "Viewer"})),
        )
        .await
        .unwrap();
    }
    for i in 0..COUNT {
        env.wait_for(&api, &format!("k{i}"), "Ready", is_ready)
            .await;
    }
    // Creating them shared the organisation's list too: no list per key.
    let lists = env.sim.control().count("GET", KEYS);
    assert!(
        lists < COUNT as u64 / 2,
        "{lists} list calls to create {COUNT} keys"
    );
    // Let the reconciles that echo the last Secret writes settle.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let intervals = 3;
    let window = env
        .requests_during(Duration::from_secs(4) * intervals)
        .await;
    let lists = window
        .iter()
        .filter(|r| r.method == "GET" && r.template.as_deref() == Some(KEYS))
        .count();
    assert_eq!(
        window.len(),
        lists,
        "only list calls in steady state: {window:#?}"
    );
    assert!(
        lists <= intervals as usize + 1,
        "{lists} list calls for {COUNT} keys in {intervals} intervals"
    );
    assert_eq!(env.sim.control().count("POST", KEYS), COUNT as u64);
    env.assert_no_token_leaked().await;
}

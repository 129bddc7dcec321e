//! An org key with a name someone else already uses is never touched, even when the
//! operator's shared key list is too old to show it (SPEC §7.1).

use std::time::Duration;

use grafana_cloud_operator::crd::GrafanaCloudApiKey;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use serde_json::json;

use super::{
    KEY, KEYS,
    e2e::{Env, ORG},
    has_reason, is_ready, key,
};

#[tokio::test]
async fn a_same_named_key_made_by_hand_is_a_conflict_and_stays() {
    let env = Env::start().await;
    let ns = env.namespace("team-k").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    // A first key fills the organisation's shared key list.
    api.create(
        &PostParams::default(),
        &key("first", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    env.wait_for(&api, "first", "Ready", is_ready).await;

    // Someone creates a key by hand; the shared list does not know it yet.
    let body = json!({"name": "handmade", "role": "Admin"});
    env.by_hand(
        "create a key by hand",
        &format!("/orgs/{ORG}/api-keys"),
        body,
    )
    .await;
    api.create(
        &PostParams::default(),
        &key("second", json!({"role": "Viewer", "name": "handmade"})),
    )
    .await
    .unwrap();
    let obj = env
        .wait_for(&api, "second", "KeyConflict", has_reason("KeyConflict"))
        .await;
    assert_eq!(
        obj.status.unwrap().key_name,
        None,
        "the name is not claimed as this resource's key"
    );
    env.wait_for_event("a KeyConflict event", &ns, "KeyConflict", None)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Deleting the resource leaves the hand-made key alone.
    api.delete("second", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("resource gone", || async {
        api.get_opt("second").await.unwrap().is_none()
    })
    .await;
    let handmade: Vec<_> = env
        .sim
        .control()
        .org_keys(ORG)
        .into_iter()
        .filter(|k| k.name == "handmade")
        .collect();
    assert_eq!(handmade.len(), 1);
    assert_eq!(handmade[0].role, "Admin");
    assert_eq!(env.sim.control().count("DELETE", KEY), 0);
    // One create for "first", the hand-made one, and the refused attempt.
    assert_eq!(env.sim.control().count("POST", KEYS), 3);
    env.assert_no_token_leaked().await;
}

/// Many conflicts at once, each resource's own status writes racing the watch cache: not one
/// hand-made key is deleted or replaced, and every resource stays in KeyConflict.
#[tokio::test]
async fn many_conflicts_at_once_never_touch_the_hand_made_keys() {
    const COUNT: usize = 8;
    let env = Env::start().await;
    let ns = env.namespace("team-m").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    api.create(
        &PostParams::default(),
        &key("filler", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    env.wait_for(&api, "filler", "Ready", is_ready).await;

    for i in 0..COUNT {
        let body = json!({"name": format!("manual-{i}"), "role": "Admin"});
        env.by_hand(
            "create a key by hand",
            &format!("/orgs/{ORG}/api-keys"),
            body,
        )
        .await;
    }
    for i in 0..COUNT {
        api.create(
            &PostParams::default(),
            &key(
                &format!("taker-{i}"),
                json!({"role": "Viewer", "name": format!("manual-{i}")}),
            ),
        )
        .await
        .unwrap();
    }
    for i in 0..COUNT {
        env.wait_for(
            &api,
            &format!("taker-{i}"),
            "KeyConflict",
            has_reason("KeyConflict"),
        )
        .await;
    }
    // Give every resource a few more passes to go wrong in.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..COUNT {
        let obj = api.get(&format!("taker-{i}")).await.unwrap();
        assert!(
            has_reason("KeyConflict")(&obj),
            "taker-{i}: {:?}",
            obj.status
        );
    }
    assert_eq!(env.sim.control().count("DELETE", KEY), 0);
    let manual: Vec<_> = env
        .sim
        .control()
        .org_keys(ORG)
        .into_iter()
        .filter(|k| k.name.starts_with("manual-"))
        .collect();
    assert_eq!(manual.len(), COUNT);
    assert!(manual.iter().all(|k| k.role == "Admin"));
    env.assert_no_token_leaked().await;
}

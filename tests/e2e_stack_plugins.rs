//! A stack's plugins end to end, with the real operator binary against a real kube-apiserver
//! and the simulator: install, upgrade and remove what the spec asks for, leave a plugin
//! installed by hand alone, refuse an unknown plugin without a retry loop, and read nothing
//! in steady state.

#![allow(clippy::unwrap_used)]

mod e2e;

use e2e::{Env, Options, has_reason, is_ready, ready_message};
use grafana_cloud_operator::crd::{GrafanaStack, PluginStatus};
use grafana_cloud_simulator::templates::{CONNECTIONS, PLUGINS};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

fn installed(env: &Env, slug: &str) -> Vec<(String, String)> {
    env.sim
        .control()
        .plugins(slug)
        .into_iter()
        .map(|p| (p.slug, p.version))
        .collect()
}

fn recorded(stack: &GrafanaStack) -> Vec<PluginStatus> {
    stack
        .status
        .as_ref()
        .map(|s| s.plugins.clone())
        .unwrap_or_default()
}

fn has(list: &[(String, String)], slug: &str, version: &str) -> bool {
    list.iter().any(|(s, v)| s == slug && v == version)
}

async fn set_plugins(api: &Api<GrafanaStack>, plugins: serde_json::Value) {
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"plugins": plugins}})),
    )
    .await
    .unwrap();
}

async fn install_by_hand(env: &Env, stack: &str, plugin: &str, version: &str) {
    let body = json!({"plugin": plugin, "version": version});
    let what = format!("install {plugin} by hand");
    env.by_hand(&what, &format!("/instances/{stack}/plugins"), body)
        .await;
}

#[tokio::test]
async fn plugins_follow_the_spec_and_a_plugin_installed_by_hand_stays_untouched() {
    let env = Env::start_with(Options {
        resync_interval: "2s",
        ..Options::default()
    })
    .await;
    let ns = env.namespace("plugins").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    let slug = "pluggedmain";
    let stack: GrafanaStack = e2e::resource(
        "GrafanaStack",
        "main",
        json!({"slug": slug, "plugins": [
            {"slug": "grafana-clock-panel", "version": "2.1.3"},
            {"slug": "grafana-polystat-panel"},
        ]}),
    );
    api.create(&PostParams::default(), &stack).await.unwrap();
    let ready = env
        .wait_for(&api, "main", "step 1: installed, then Ready", |s| {
            is_ready(s) && recorded(s).iter().all(|p| p.version.is_some()) && recorded(s).len() == 2
        })
        .await;
    let now = installed(&env, slug);
    assert!(
        has(&now, "grafana-clock-panel", "2.1.3"),
        "step 1: pinned version: {now:?}"
    );
    assert!(
        has(&now, "grafana-polystat-panel", "2.1.13"),
        "step 1: latest: {now:?}"
    );
    assert!(
        recorded(&ready).iter().all(|p| p.managed),
        "step 1: both recorded as ours"
    );

    // A plugin installed by hand, one of them also named in the spec at another version.
    install_by_hand(&env, slug, "grafana-piechart-panel", "1.6.2").await;
    install_by_hand(&env, slug, "grafana-github-datasource", "1.5.0").await;
    let by_hand = env.sim.control().plugins(slug);
    set_plugins(
        &api,
        json!([
            {"slug": "grafana-clock-panel", "version": "2.1.8"},
            {"slug": "grafana-polystat-panel"},
            {"slug": "grafana-github-datasource", "version": "2.0.1"},
        ]),
    )
    .await;
    let upgraded = env
        .wait_for(&api, "main", "step 2: upgraded", |s| {
            is_ready(s)
                && recorded(s).iter().any(|p| {
                    p.slug == "grafana-clock-panel" && p.version.as_deref() == Some("2.1.8")
                })
        })
        .await;
    assert!(
        has(&installed(&env, slug), "grafana-clock-panel", "2.1.8"),
        "step 2"
    );
    let github = recorded(&upgraded)
        .into_iter()
        .find(|p| p.slug == "grafana-github-datasource")
        .unwrap();
    assert!(
        !github.managed,
        "step 2: the hand-installed plugin is not ours"
    );
    assert_eq!(
        github.version.as_deref(),
        Some("1.5.0"),
        "step 2: left at its version"
    );
    assert!(
        ready_message(&upgraded)
            .contains("grafana-github-datasource 1.5.0 was installed by someone else"),
        "step 2: the Ready message says so: {}",
        ready_message(&upgraded)
    );

    // Steady state: passes happen, and no plugin or connection is read.
    let lists =
        || env.sim.control().count("GET", PLUGINS) + env.sim.control().count("GET", CONNECTIONS);
    let before = (lists(), env.passes(&ns, "main"));
    env.next_pass(
        "step 3: a pass after the upgrade",
        &ns,
        "main",
        before.1 + 2,
    )
    .await;
    assert_eq!(
        lists(),
        before.0,
        "step 3: steady state reads no plugins or connections"
    );

    // Out of the spec: ours goes, the hand-installed ones stay exactly as they were.
    set_plugins(
        &api,
        json!([{"slug": "grafana-clock-panel", "version": "2.1.8"}]),
    )
    .await;
    env.wait_for(&api, "main", "step 4: removed from status", |s| {
        is_ready(s) && recorded(s).len() == 1
    })
    .await;
    let after = installed(&env, slug);
    assert!(
        !after.iter().any(|(s, _)| s == "grafana-polystat-panel"),
        "step 4: ours removed: {after:?}"
    );
    let untouched: Vec<_> = env
        .sim
        .control()
        .plugins(slug)
        .into_iter()
        .filter(|p| p.slug != "grafana-clock-panel")
        .collect();
    let hand: Vec<_> = by_hand
        .into_iter()
        .filter(|p| p.slug != "grafana-clock-panel" && p.slug != "grafana-polystat-panel")
        .collect();
    assert_eq!(
        untouched, hand,
        "step 4: plugins installed by hand are untouched"
    );

    // An unknown plugin: InvalidSpec naming it, and no retry loop.
    let sibling: GrafanaStack =
        e2e::resource("GrafanaStack", "sibling", json!({"slug": "pluggedsib"}));
    api.create(&PostParams::default(), &sibling).await.unwrap();
    env.wait_for(
        &api,
        "sibling",
        "step 5: a sibling stack is Ready",
        is_ready,
    )
    .await;
    set_plugins(
        &api,
        json!([{"slug": "grafana-clock-panel", "version": "2.1.8"}, {"slug": "no-such-panel"}]),
    )
    .await;
    let refused = env
        .wait_for(
            &api,
            "main",
            "step 5: InvalidSpec",
            has_reason("InvalidSpec"),
        )
        .await;
    assert!(
        ready_message(&refused).contains("no-such-panel"),
        "step 5: the message names the plugin: {}",
        ready_message(&refused)
    );
    let installs = || env.sim.control().count("POST", PLUGINS);
    let sibling_passes = env.passes(&ns, "sibling");
    env.next_pass(
        "step 5: the sibling resyncs",
        &ns,
        "sibling",
        sibling_passes + 1,
    )
    .await;
    let settled = installs();
    env.next_pass(
        "step 5: the sibling resyncs again",
        &ns,
        "sibling",
        sibling_passes + 3,
    )
    .await;
    assert_eq!(
        installs(),
        settled,
        "step 5: an unknown plugin is not retried in a loop"
    );
    env.assert_no_token_leaked().await;
}

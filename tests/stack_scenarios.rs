//! A stack's plugins and connections through the stack controller's real `apply` and
//! `cleanup`, against the grafana.com simulator over real HTTP and an in-memory API server:
//! lost answers, failed reads, and what steady state costs. `tests/e2e_stack_plugins.rs` and
//! `tests/e2e_stack_protection.rs` run the lifecycles through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/memory_cluster.rs"]
mod memory_cluster;

use std::time::Duration;

use captured_logs::logs;
use grafana_cloud_operator::{
    controller::conditions::is_ready,
    crd::{GrafanaStack, GrafanaStackStatus, PluginStatus},
};
use grafana_cloud_simulator::{
    Fault,
    templates::{
        CONNECTIONS, DATASOURCES, INSTANCE, INSTANCES, ORG_INSTANCES, PLUGIN, PLUGINS, READINESS,
    },
};
use in_process::{ADMIN_TOKEN, CREDENTIALS, World, reason, world};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;

const SLUG: &str = "teamaplug";

async fn env() -> World {
    logs();
    world(Duration::from_secs(300), |sim| sim).await
}

fn spec(plugins: serde_json::Value) -> serde_json::Value {
    json!({"slug": SLUG, "plugins": plugins, "credentials": {"secretName": CREDENTIALS}})
}

fn status(env: &World) -> GrafanaStackStatus {
    env.get::<GrafanaStack>("main").status.unwrap_or_default()
}

fn plugins(env: &World) -> Vec<PluginStatus> {
    status(env).plugins
}

/// Applies until Ready, at most 20 passes.
async fn until_ready(env: &World) {
    for _ in 0..20 {
        let _ = env.apply::<GrafanaStack>("main").await;
        if is_ready(&status(env).conditions) {
            return;
        }
    }
    panic!(
        "the stack did not become Ready: {:?}",
        status(env).conditions
    );
}

#[tokio::test]
async fn a_lost_install_answer_installs_once_and_the_plugin_stays_ours() {
    let env = env().await;
    env.sim
        .control()
        .inject(Fault::error_after(502).on("POST", PLUGINS).times(1));
    env.put::<GrafanaStack>("main", spec(json!([{"slug": "grafana-clock-panel"}])));
    until_ready(&env).await;
    let installed = env.sim.control().plugins(SLUG);
    assert_eq!(installed.len(), 1, "exactly one install: {installed:?}");
    assert_eq!(
        plugins(&env),
        vec![PluginStatus {
            slug: "grafana-clock-panel".into(),
            version: Some("2.1.8".into()),
            managed: true,
        }],
        "the plugin whose answer was lost is recorded as ours"
    );

    // Ours, so it goes when it leaves the spec.
    env.put::<GrafanaStack>("main", spec(json!([])));
    env.apply::<GrafanaStack>("main").await.unwrap();
    assert!(env.sim.control().plugins(SLUG).is_empty(), "removed");
    assert!(plugins(&env).is_empty());
    assert_eq!(env.sim.control().count("DELETE", PLUGIN), 1);
    let logged = logs().text();
    assert!(!logged.is_empty(), "the passes logged something");
    assert!(
        !logged.contains(ADMIN_TOKEN),
        "the grafana.com token never reaches the logs"
    );
}

#[tokio::test]
async fn a_failed_connections_read_costs_one_pass_then_status_has_them() {
    let env = env().await;
    env.sim
        .control()
        .inject(Fault::error_before(400).on("GET", CONNECTIONS).times(1));
    env.put::<GrafanaStack>("main", spec(json!([])));
    until_ready(&env).await;
    let connections = status(&env).connections.expect("connections in status");
    assert!(
        connections
            .otlp_http_url
            .is_some_and(|u| u.starts_with("https://otlp-gateway-")),
    );
    assert_eq!(
        env.sim.control().count("GET", PLUGINS),
        0,
        "no plugins asked for, none read"
    );
}

#[tokio::test]
async fn steady_state_reads_plugins_and_connections_once_per_inventory_interval() {
    let env = env().await;
    env.put::<GrafanaStack>(
        "main",
        spec(json!([{"slug": "grafana-polystat-panel", "version": "2.1.4"}])),
    );
    until_ready(&env).await;
    let reads = || {
        let c = env.sim.control();
        (c.count("GET", PLUGINS), c.count("GET", CONNECTIONS))
    };
    let after_ready = reads();
    assert_eq!(after_ready, (1, 1), "read once when the stack became Ready");
    for _ in 0..3 {
        env.apply::<GrafanaStack>("main").await.unwrap();
    }
    assert_eq!(reads(), after_ready, "steady passes read neither");

    // An inventory interval later, one read of each; nothing written when nothing changed.
    let mut stack: GrafanaStack = env.get("main");
    let earlier = Timestamp::now() - SignedDuration::from_secs(301);
    stack.status.as_mut().unwrap().inventory_checked_at = Some(earlier.to_string());
    env.cluster.put(&stack);
    let updates = env.sim.control().count("POST", INSTANCE);
    env.apply::<GrafanaStack>("main").await.unwrap();
    assert_eq!(reads(), (2, 2), "read again after the interval");
    assert_eq!(
        env.sim.control().count("POST", PLUGINS),
        1,
        "no second install"
    );
    assert_eq!(
        env.sim.control().count("POST", INSTANCE),
        updates,
        "no stack update"
    );
    assert_eq!(reason(&status(&env).conditions), "Ready");
}

#[tokio::test]
async fn a_new_stack_costs_its_create_its_polls_and_what_ready_needs() {
    logs();
    let env = world(Duration::from_secs(300), |sim| {
        sim.readiness_delay(Duration::from_millis(300))
    })
    .await;
    for (name, slug) in [("main", SLUG), ("second", "teamasecond")] {
        env.put::<GrafanaStack>(
            name,
            json!({"slug": slug, "credentials": {"secretName": CREDENTIALS}}),
        );
    }
    for name in ["main", "second"] {
        env.apply::<GrafanaStack>(name).await.unwrap();
    }
    let c = env.sim.control();
    assert_eq!(c.count("POST", INSTANCES), 2, "the first passes create");
    assert_eq!(
        c.count("GET", READINESS),
        0,
        "the pass that creates a stack waits for the first poll instead of asking at once"
    );
    let mut polls_done = false;
    for _ in 0..40 {
        for name in ["main", "second"] {
            let _ = env.apply::<GrafanaStack>(name).await;
        }
        let ready = ["main", "second"].iter().all(|n| {
            env.get::<GrafanaStack>(n)
                .status
                .is_some_and(|s| is_ready(&s.conditions))
        });
        if ready {
            polls_done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(polls_done, "both stacks became Ready");
    let c = env.sim.control();
    assert_eq!(
        c.count("GET", INSTANCE),
        0,
        "no read of its own before or after the create"
    );
    assert_eq!(
        c.count("GET", ORG_INSTANCES),
        1,
        "one shared list stands in for the reads before the creates"
    );
    assert_eq!(c.count("POST", INSTANCES), 2, "one create each");
    assert_eq!(
        c.count("POST", INSTANCE),
        2,
        "one update each: protection, whose answer is the read"
    );
    assert_eq!(
        c.count("GET", DATASOURCES),
        2,
        "data sources read once each, when Ready"
    );
    assert_eq!(
        c.count("GET", CONNECTIONS),
        2,
        "connections read once each, when Ready"
    );
    assert!(
        c.count("GET", READINESS) >= 4,
        "readiness was polled while provisioning"
    );
    assert!(c.stack(SLUG).unwrap().delete_protection);
}

//! Plugins on stacks: install (the latest when no version is given), change the version,
//! remove; 404 for an unknown plugin or version, 409 for a second install; delete
//! protection on the stack; faults on the plugin and connections routes; every body in the OpenAPI shapes.
#![allow(clippy::unwrap_used)]

mod support;

use grafana_cloud_simulator::{Fault, templates};
use reqwest::StatusCode;
use serde_json::json;
use support::{
    ACME_TOKEN, Api, OTHER_TOKEN,
    checker::{Checker, Spec},
    openapi,
};

#[tokio::test]
async fn plugins_install_change_and_remove_as_grafana_com_does() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("plugged").await;

    let latest = acme
        .post(
            "/instances/plugged/plugins",
            json!({"plugin": "grafana-clock-panel"}),
        )
        .await;
    assert_eq!(latest.status, StatusCode::OK, "{}", latest.body);
    assert_eq!(
        latest.body["version"], "2.1.8",
        "no version means the latest"
    );
    assert_eq!(latest.body["pluginSlug"], "grafana-clock-panel");

    let pinned = acme
        .post(
            "/instances/plugged/plugins",
            json!({"plugin": "grafana-polystat-panel", "version": "2.1.4"}),
        )
        .await;
    assert_eq!(pinned.body["version"], "2.1.4");
    assert_eq!(pinned.body["latestVersion"], "2.1.13");

    let again = acme
        .post(
            "/instances/plugged/plugins",
            json!({"plugin": "grafana-clock-panel"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a second install");
    for (body, what) in [
        (json!({"plugin": "no-such-panel"}), "unknown plugin"),
        (
            json!({"plugin": "grafana-piechart-panel", "version": "9.9.9"}),
            "unknown version",
        ),
    ] {
        let reply = acme.post("/instances/plugged/plugins", body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{what}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "NotFound", "{what}");
    }

    let changed = acme
        .post(
            "/instances/plugged/plugins/grafana-polystat-panel",
            json!({"version": "2.1.13"}),
        )
        .await;
    assert_eq!(changed.body["version"], "2.1.13");
    let listed = acme.get("/instances/plugged/plugins").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        acme.get("/instances/plugged/plugins/grafana-polystat-panel")
            .await
            .body["version"],
        "2.1.13"
    );

    sim.control().publish_plugin("grafana-clock-panel", "2.2.0");
    let clock = acme
        .get("/instances/plugged/plugins/grafana-clock-panel")
        .await;
    assert_eq!(clock.body["version"], "2.1.8");
    assert_eq!(
        clock.body["latestVersion"], "2.2.0",
        "a new release is seen"
    );

    let removed = acme
        .delete("/instances/plugged/plugins/grafana-clock-panel")
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    let twice = acme
        .delete("/instances/plugged/plugins/grafana-clock-panel")
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    let views = sim.control().plugins("plugged");
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].slug, "grafana-polystat-panel");

    let other = Api::new(&sim, OTHER_TOKEN);
    let foreign = other.get("/instances/plugged/plugins").await;
    assert_ne!(foreign.status, StatusCode::OK, "another org's stack");
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_the_plugin_routes() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("faulty").await;
    sim.control().inject(
        Fault::error_after(502)
            .on("POST", templates::PLUGINS)
            .times(1),
    );
    let lost = acme
        .post(
            "/instances/faulty/plugins",
            json!({"plugin": "grafana-clock-panel"}),
        )
        .await;
    assert_eq!(lost.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        sim.control().plugins("faulty").len(),
        1,
        "errorAfter commits the install"
    );
    sim.control().inject(
        Fault::error_before(503)
            .on("DELETE", templates::PLUGIN)
            .times(1),
    );
    let refused = acme
        .delete("/instances/faulty/plugins/grafana-clock-panel")
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        sim.control().plugins("faulty").len(),
        1,
        "errorBefore does not act"
    );
    assert_eq!(sim.control().count("DELETE", templates::PLUGIN), 1);
    sim.control().inject(
        Fault::error_before(503)
            .on("GET", templates::CONNECTIONS)
            .times(1),
    );
    let connections = "/instances/faulty/connections";
    assert_eq!(
        acme.get(connections).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        acme.get(connections).await.status,
        StatusCode::OK,
        "once only"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn protection_is_set_by_update_and_refuses_a_delete_until_lifted() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let created = acme.create_stack("guarded").await;
    assert_eq!(created["deleteProtection"], false, "off unless asked for");
    let on = acme
        .post("/instances/guarded", json!({"deleteProtection": true}))
        .await;
    assert_eq!(on.body["deleteProtection"], true);
    let refused = acme.delete("/instances/guarded").await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.message().contains("delete protection"),
        "{}",
        refused.message()
    );
    acme.post("/instances/guarded", json!({"deleteProtection": false}))
        .await;
    assert_eq!(
        acme.delete("/instances/guarded").await.status,
        StatusCode::OK
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn plugin_bodies_match_the_openapi_spec() {
    let Some(specs) = openapi::load() else { return };
    let mut c = Checker { specs, checked: 0 };
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("conformp").await;
    let list = "/instances/{instanceId}/plugins";
    let item = "/instances/{instanceId}/plugins/{pluginSlugOrId}";
    use Spec::Current;
    let body = json!({"plugin": "grafana-clock-panel", "version": "2.1.3"});
    c.spec_response(
        Current,
        list,
        "post",
        &acme.post("/instances/conformp/plugins", body.clone()).await,
    );
    c.spec_response(
        Current,
        list,
        "post",
        &acme.post("/instances/conformp/plugins", body).await,
    );
    c.spec_response(
        Current,
        list,
        "post",
        &acme
            .post("/instances/conformp/plugins", json!({"plugin": "nope"}))
            .await,
    );
    c.spec_response(
        Current,
        list,
        "get",
        &acme.get("/instances/conformp/plugins").await,
    );
    let path = "/instances/conformp/plugins/grafana-clock-panel";
    c.spec_response(Current, item, "get", &acme.get(path).await);
    c.spec_response(
        Current,
        item,
        "post",
        &acme.post(path, json!({"version": "2.1.5"})).await,
    );
    c.spec_response(Current, item, "delete", &acme.delete(path).await);
    c.spec_response(Current, item, "delete", &acme.delete(path).await);
    assert_eq!(c.checked, 8);
    sim.shutdown().await;
}

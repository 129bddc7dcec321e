//! Every client method against the grafana.com simulator over real HTTP.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use grafana_cloud_operator::grafana::{ApiKeyRole, CreateStack, GrafanaClient, Token, UpdateStack};
use grafana_cloud_simulator::{Fault, Simulator};

use super::{TOKEN, client, options, token};

const OTHER_TOKEN: &str = "glc_other-org-token-11aa";

async fn simulator() -> Simulator {
    Simulator::builder()
        .org("acme", TOKEN)
        .org("other", OTHER_TOKEN)
        .readiness_delay(Duration::from_millis(300))
        .deleted_slug_reservation(Duration::from_secs(30))
        .start()
        .await
        .unwrap()
}

fn new_stack(slug: &str) -> CreateStack {
    CreateStack {
        name: format!("{slug}.grafana.net"),
        slug: slug.to_owned(),
        description: Some("made by the client test".to_owned()),
        labels: BTreeMap::from([("owner".to_owned(), "uid-1".to_owned())]),
        ..CreateStack::default()
    }
}

async fn wait_ready(client: &GrafanaClient, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !client.stack_ready(&token(), id).await.unwrap() {
        assert!(Instant::now() < deadline, "stack {id} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn stack_lifecycle_round_trips() {
    let sim = simulator().await;
    let client = client(&sim.base_url(), options());
    let tok = token();
    assert!(client.list_stacks(&tok, "acme").await.unwrap().is_empty());
    assert!(client.get_stack(&tok, "demo").await.unwrap().is_none());

    let created = client.create_stack(&tok, &new_stack("demo")).await.unwrap();
    assert_eq!(
        (created.slug.as_str(), created.org_slug.as_str()),
        ("demo", "acme")
    );
    assert_eq!(created.labels["owner"], "uid-1");
    let endpoints = created.endpoints();
    assert!(endpoints.prometheus.is_some() && endpoints.loki.is_some());
    assert!(endpoints.tempo.is_some() && endpoints.alertmanager.is_some());

    let by_id = client
        .get_stack(&tok, &created.id.to_string())
        .await
        .unwrap();
    assert_eq!(by_id.map(|s| s.slug), Some("demo".to_owned()));
    wait_ready(&client, created.id).await;

    let update = UpdateStack {
        description: Some("changed".to_owned()),
        labels: Some(BTreeMap::from([("owner".to_owned(), "uid-2".to_owned())])),
        ..UpdateStack::default()
    };
    let updated = client.update_stack(&tok, "demo", &update).await.unwrap();
    assert_eq!(updated.description.as_deref(), Some("changed"));
    let read = client.get_stack(&tok, "demo").await.unwrap().unwrap();
    assert_eq!(read.labels["owner"], "uid-2");

    client.restart_stack(&tok, "demo").await.unwrap();
    assert_eq!(sim.control().stack("demo").unwrap().restarts, 1);

    let listed = client.list_stacks(&tok, "acme").await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        [created.id]
    );

    client.delete_stack(&tok, "demo").await.unwrap();
    let after = client.get_stack(&tok, "demo").await.unwrap();
    assert!(after.is_none_or(|s| s.is_deleted()));
    client.delete_stack(&tok, "demo").await.unwrap();

    let err = client
        .create_stack(&tok, &new_stack("demo"))
        .await
        .unwrap_err();
    assert!(err.deleted_recently_wait().is_some(), "{err}");
    assert!(!err.is_slug_unavailable());
    assert_eq!(sim.control().count("POST", "/api/instances"), 2);
}

#[tokio::test]
async fn datasources_and_keys_round_trip() {
    let sim = simulator().await;
    let client = client(&sim.base_url(), options());
    let tok = token();
    let stack = client.create_stack(&tok, &new_stack("keys")).await.unwrap();
    wait_ready(&client, stack.id).await;

    let datasources = client.list_datasources(&tok, "keys").await.unwrap();
    assert!(!datasources.is_empty());
    let first = &datasources[0];
    client
        .delete_datasource(&tok, "keys", first.id)
        .await
        .unwrap();
    client
        .delete_datasource(&tok, "keys", first.id)
        .await
        .unwrap();
    let remaining = client.list_datasources(&tok, "keys").await.unwrap();
    assert_eq!(remaining.len(), datasources.len() - 1);
    assert!(remaining.iter().all(|d| d.id != first.id));

    let org_key = client
        .create_org_api_key(&tok, "acme", "ci", ApiKeyRole::MetricsPublisher)
        .await
        .unwrap();
    assert_eq!(org_key.role, "MetricsPublisher");
    assert_eq!(
        sim.control().org_keys("acme")[0].token.expose(),
        org_key.token.expose()
    );
    let listed = client.list_org_api_keys(&tok, "acme").await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["ci"]
    );
    assert_eq!(listed[0].id, org_key.id);
    let duplicate = client
        .create_org_api_key(&tok, "acme", "ci", ApiKeyRole::Viewer)
        .await
        .unwrap_err();
    assert_eq!(duplicate.status(), Some(409));
    client.delete_org_api_key(&tok, "acme", "ci").await.unwrap();
    client.delete_org_api_key(&tok, "acme", "ci").await.unwrap();
    assert!(
        client
            .list_org_api_keys(&tok, "acme")
            .await
            .unwrap()
            .is_empty()
    );

    let stack_key = client
        .create_stack_api_key(&tok, "keys", "grafana-ci", ApiKeyRole::Editor, Some(3600))
        .await
        .unwrap();
    let stored = sim.control().stack_keys("keys");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token.expose(), stack_key.token.expose());
    assert_eq!(stored[0].seconds_to_live, Some(3600));
}

#[tokio::test]
async fn simulator_errors_map_to_the_questions_controllers_ask() {
    let sim = simulator().await;
    let client = client(&sim.base_url(), options());
    let tok = token();

    let err = client
        .list_stacks(&Token::new("glc_wrong"), "acme")
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");

    let err = client
        .create_stack(&tok, &new_stack("Bad_Slug"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
    assert_eq!(err.category(), "invalid_argument");

    client
        .create_stack(&Token::new(OTHER_TOKEN), &new_stack("taken"))
        .await
        .unwrap();
    let err = client
        .create_stack(&tok, &new_stack("taken"))
        .await
        .unwrap_err();
    assert!(err.is_slug_unavailable(), "{err}");
    assert_eq!(err.category(), "conflict");
    let err = client.get_stack(&tok, "taken").await.unwrap_err();
    assert!(err.is_forbidden(), "another org's stack: {err}");
}

#[tokio::test]
async fn injected_faults_are_retried_or_left_to_the_caller() {
    let sim = simulator().await;
    let client = client(&sim.base_url(), options());
    let tok = token();

    // A create committed before the 502: the client does not repeat it, and a read finds it.
    sim.control().inject(
        Fault::error_after(502)
            .on("POST", "/api/instances")
            .times(1),
    );
    let err = client
        .create_stack(&tok, &new_stack("late"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(sim.control().count("POST", "/api/instances"), 1);
    let found = client.get_stack(&tok, "late").await.unwrap().unwrap();
    assert_eq!(found.labels["owner"], "uid-1");

    // Rate limits and server errors on reads are absorbed by the client.
    sim.control().inject(
        Fault::rate_limit(1)
            .on("GET", "/api/instances/{slug}")
            .times(1),
    );
    sim.control().inject(
        Fault::error_before(503)
            .on("GET", "/api/orgs/{org}/instances")
            .times(2),
    );
    let started = Instant::now();
    assert!(client.get_stack(&tok, "late").await.unwrap().is_some());
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(client.list_stacks(&tok, "acme").await.unwrap().len(), 1);

    // A loading stack delays key creation but does not fail it.
    sim.control().inject(
        Fault::loading(1)
            .on("POST", "/api/instances/{slug}/api/auth/keys")
            .times(1),
    );
    let key = client
        .create_stack_api_key(&tok, "late", "after-loading", ApiKeyRole::Viewer, None)
        .await
        .unwrap();
    assert_eq!(key.name, "after-loading");
}

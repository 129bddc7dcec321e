//! Retries, timeouts and error decoding against the scripted fault server.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use grafana_cloud_operator::grafana::{
    ApiKeyRole, ClientOptions, CreateStack, Error, RequestObserver,
};
use serde_json::json;

use super::{
    TOKEN, client,
    fault_server::{DroppingServer, FaultServer, Reply, stack_json},
    options, token,
};

pub fn new_stack(slug: &str) -> CreateStack {
    CreateStack {
        name: format!("{slug}.grafana.net"),
        slug: slug.to_owned(),
        ..CreateStack::default()
    }
}

#[tokio::test]
async fn every_request_carries_the_bearer_token_and_a_request_id() {
    let server = FaultServer::start(vec![Reply::json(200, stack_json(1, "acme"))]).await;
    let stack = client(&server.base_url(), options())
        .get_stack(&token(), "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack.slug, "acme");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "GET");
    assert_eq!(received[0].path_and_query, "/api/instances/acme");
    let headers = &received[0].headers;
    assert_eq!(headers["authorization"], format!("Bearer {TOKEN}").as_str());
    let request_id = headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{request_id}");
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("grafana-cloud-operator/")
    );
}

#[tokio::test]
async fn unauthorized_is_reported_at_once() {
    let server = FaultServer::start(vec![Reply::error(
        401,
        "InvalidCredentials",
        "Invalid credentials",
    )])
    .await;
    let err = client(&server.base_url(), options())
        .list_stacks(&token(), "acme")
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(err.category(), "unauthorized");
    assert_eq!(err.code(), Some("InvalidCredentials"));
    assert!(matches!(&err, Error::ListStacks { org, .. } if org == "acme"));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn rate_limits_are_waited_out_for_the_time_retry_after_asks_even_for_creates() {
    let server = FaultServer::start(vec![
        Reply::error(429, "TooManyRequests", "slow down").header("retry-after", "1"),
        Reply::json(200, stack_json(7, "acme")),
    ])
    .await;
    let started = Instant::now();
    let stack = client(&server.base_url(), options())
        .create_stack(&token(), &new_stack("acme"))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(stack.id, 7);
    assert_eq!(server.hits(), 2);
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_handed_to_the_caller() {
    let server = FaultServer::start(vec![
        Reply::error(429, "TooManyRequests", "slow down").header("retry-after", "3600"),
    ])
    .await;
    let started = Instant::now();
    let err = client(&server.base_url(), options())
        .get_stack(&token(), "acme")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.hits(), 1);
    assert_eq!(err.category(), "rate_limited");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(err.is_transient());
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_with_one_request_id() {
    let server = FaultServer::start(vec![
        Reply::error(502, "BadGateway", "upstream"),
        Reply::error(503, "ServiceUnavailable", "try again"),
        Reply::json(200, stack_json(3, "acme")),
    ])
    .await;
    let stack = client(&server.base_url(), options())
        .get_stack(&token(), "acme")
        .await
        .unwrap();
    assert_eq!(stack.map(|s| s.id), Some(3));
    let ids: Vec<_> = server
        .received()
        .iter()
        .map(|r| r.headers["x-request-id"].clone())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

#[tokio::test]
async fn server_errors_stop_after_the_retry_budget() {
    let server = FaultServer::start(vec![Reply::error(500, "InternalError", "boom")]).await;
    let err = client(&server.base_url(), options())
        .delete_stack(&token(), "acme")
        .await
        .unwrap_err();
    assert_eq!(server.hits(), 3, "one attempt and max_retries = 2");
    assert_eq!(err.category(), "server_error");
    assert!(err.is_transient());
    assert_eq!(err.attempts(), Some(3), "{err}");
}

#[tokio::test]
async fn no_retry_starts_after_the_time_budget() {
    let server = FaultServer::start(vec![Reply::error(500, "InternalError", "boom")]).await;
    let opts = ClientOptions {
        backoff_base: Duration::from_millis(400),
        backoff_max: Duration::from_millis(400),
        max_elapsed: Duration::from_millis(100),
        ..options()
    };
    let err = client(&server.base_url(), opts)
        .list_org_api_keys(&token(), "acme")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn creates_are_never_retried_after_a_server_error() {
    let server = FaultServer::start(vec![Reply::error(502, "BadGateway", "upstream")]).await;
    let client = client(&server.base_url(), options());
    let err = client
        .create_stack(&token(), &new_stack("acme"))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::CreateStack { slug, .. } if slug == "acme"));
    assert!(err.is_transient());
    let err = client
        .create_org_api_key(&token(), "acme", "ci", ApiKeyRole::Viewer)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    let err = client
        .create_stack_api_key(&token(), "acme", "ci", ApiKeyRole::Viewer, Some(60))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    client.restart_stack(&token(), "acme").await.unwrap_err();
    assert_eq!(server.hits(), 4, "one attempt per call");
}

#[tokio::test]
async fn conflicts_are_never_retried() {
    let server = FaultServer::start(vec![Reply::error(
        409,
        "Conflict",
        "That url is not available: a stack with this slug was deleted recently, wait for 30s before creating it again",
    )])
    .await;
    let err = client(&server.base_url(), options())
        .update_stack(&token(), "acme", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(server.hits(), 1);
    assert_eq!(err.deleted_recently_wait(), Some(Duration::from_secs(30)));
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_loading_stack_is_retried_after_its_retry_after_even_for_key_creates() {
    let server = FaultServer::start(vec![
        Reply::error(
            503,
            "Loading",
            "Your instance is loading, and will be ready shortly.",
        )
        .header("retry-after", "1"),
        Reply::json(
            200,
            json!({"id": 4, "name": "ci", "key": "glsa_created-key"}),
        ),
    ])
    .await;
    let started = Instant::now();
    let key = client(&server.base_url(), options())
        .create_stack_api_key(&token(), "acme", "ci", ApiKeyRole::Editor, None)
        .await
        .unwrap();
    assert_eq!(key.id, 4);
    assert_eq!(server.hits(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn slow_answers_time_out_and_reads_retry() {
    let server = FaultServer::start(vec![
        Reply::json(200, stack_json(1, "acme")).delay(Duration::from_secs(3)),
    ])
    .await;
    let opts = ClientOptions {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..options()
    };
    let client = client(&server.base_url(), opts);
    let started = Instant::now();
    let err = client.get_stack(&token(), "acme").await.unwrap_err();
    assert_eq!(err.category(), "timeout");
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.hits(), 2);
    let err = client
        .create_stack(&token(), &new_stack("acme"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), "timeout");
    assert_eq!(server.hits(), 3, "a create that timed out is not repeated");
}

#[tokio::test]
async fn dropped_connections_retry_reads_but_not_creates() {
    let server = DroppingServer::start().await;
    let client = client(&server.base_url(), options());
    let err = client.list_datasources(&token(), "acme").await.unwrap_err();
    assert_eq!(err.category(), "network", "{err}");
    assert!(
        err.to_string().contains("/api/instances/acme/datasources"),
        "{err}"
    );
    assert_eq!(server.connections(), 3);
    let err = client
        .create_org_api_key(&token(), "acme", "ci", ApiKeyRole::Admin)
        .await
        .unwrap_err();
    assert_eq!(err.category(), "network");
    assert_eq!(server.connections(), 4);
}

#[tokio::test]
async fn missing_things_are_none_or_already_deleted() {
    let server = FaultServer::start(vec![Reply::error(404, "NotFound", "Not found")]).await;
    let client = client(&server.base_url(), options());
    assert!(client.get_stack(&token(), "gone").await.unwrap().is_none());
    client.delete_stack(&token(), "gone").await.unwrap();
    client
        .delete_datasource(&token(), "gone", 12)
        .await
        .unwrap();
    client
        .delete_org_api_key(&token(), "acme", "gone")
        .await
        .unwrap();
    let err = client.stack_ready(&token(), 5).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(server.hits(), 5);
}

#[tokio::test]
async fn lists_follow_every_page() {
    let page = |n: u64, slug: &str| {
        Reply::json(
            200,
            json!({"items": [stack_json(n, slug)], "page": n, "pages": 2, "pageSize": 1, "total": 2}),
        )
    };
    let server = FaultServer::start(vec![page(1, "one"), page(2, "two")]).await;
    let stacks = client(&server.base_url(), options())
        .list_stacks(&token(), "acme")
        .await
        .unwrap();
    let slugs: Vec<_> = stacks.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(slugs, ["one", "two"]);
    let paths: Vec<_> = server
        .received()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(
        paths,
        [
            "/api/orgs/acme/instances",
            "/api/orgs/acme/instances?page=2"
        ]
    );
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(&'static str, String, Option<u16>)>>);

impl RequestObserver for Recorder {
    fn observe(&self, endpoint: &'static str, method: &str, status: Option<u16>, _: Duration) {
        self.0
            .lock()
            .unwrap()
            .push((endpoint, method.to_owned(), status));
    }
}

#[tokio::test]
async fn the_observer_sees_every_attempt_by_endpoint_template() {
    let server = FaultServer::start(vec![
        Reply::error(500, "InternalError", "boom"),
        Reply::json(200, json!({"ready": true})),
    ])
    .await;
    let recorder = Arc::new(Recorder::default());
    let opts = ClientOptions {
        observer: Some(recorder.clone()),
        ..options()
    };
    assert!(
        client(&server.base_url(), opts)
            .stack_ready(&token(), 42)
            .await
            .unwrap()
    );
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("/instances/{id}/readiness", "GET".to_owned(), Some(500)),
            ("/instances/{id}/readiness", "GET".to_owned(), Some(200)),
        ]
    );
}

#[tokio::test]
async fn refused_connections_name_the_cause_and_are_retried_even_for_creates() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/api", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&base_url, options())
        .create_stack(&token(), &new_stack("acme"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), "network");
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    assert_eq!(err.attempts(), Some(3), "{err}");
}

//! No token, neither ours nor a created key, ever appears in formatted output or logs.

use std::time::Duration;

use grafana_cloud_operator::grafana::{ApiKeyRole, ClientOptions, CreateStack, Token};
use serde_json::json;

use super::{
    TOKEN, client,
    fault_server::{DroppingServer, FaultServer, Reply},
    logs, options, token,
};

const ORG_KEY: &str = "glc_created-org-key-51d2";
const STACK_KEY: &str = "glsa_created-stack-key-9be0";

fn assert_clean(what: &str, text: &str) {
    for secret in [TOKEN, ORG_KEY, STACK_KEY] {
        assert!(!text.contains(secret), "{what} leaks a secret: {text}");
    }
}

#[tokio::test]
async fn client_and_created_keys_never_format_a_token() {
    let server = FaultServer::start(vec![
        Reply::json(
            200,
            json!({"id": 3, "name": "ci", "role": "Admin", "token": ORG_KEY}),
        ),
        Reply::json(200, json!({"id": 4, "name": "ci", "key": STACK_KEY})),
    ])
    .await;
    let client = client(&server.base_url(), options());
    assert_clean("client Debug", &format!("{client:?} {client:#?}"));
    assert_clean("token", &format!("{:?} {}", token(), token()));

    let org_key = client
        .create_org_api_key(&token(), "acme", "ci", ApiKeyRole::Admin)
        .await
        .unwrap();
    assert_eq!(org_key.token.expose(), ORG_KEY);
    assert_clean("org key", &format!("{org_key:?} {org_key:#?} {org_key}"));

    let stack_key = client
        .create_stack_api_key(&token(), "acme", "ci", ApiKeyRole::Admin, Some(3600))
        .await
        .unwrap();
    assert_eq!(stack_key.token.expose(), STACK_KEY);
    assert_clean(
        "stack key",
        &format!("{stack_key:?} {stack_key:#?} {stack_key}"),
    );
}

#[tokio::test]
async fn errors_never_format_a_token() {
    let mut errors = Vec::new();
    let replies = [
        Reply::error(401, "InvalidCredentials", "Invalid credentials"),
        Reply::error(409, "Conflict", "That url is not available"),
        Reply::error(500, "InternalError", "boom"),
        Reply::json(
            200,
            json!({"id": STACK_KEY, "name": "ci", "key": STACK_KEY}),
        ),
        Reply::json(
            200,
            json!({"id": 1, "name": "ci", "key": {"nested": ORG_KEY}}),
        ),
    ];
    for reply in replies {
        let server = FaultServer::start(vec![reply]).await;
        let client = client(&server.base_url(), options());
        errors.push(
            client
                .create_stack_api_key(&token(), "acme", "ci", ApiKeyRole::Viewer, None)
                .await
                .unwrap_err(),
        );
    }
    let dropping = DroppingServer::start().await;
    errors.push(
        client(&dropping.base_url(), options())
            .get_stack(&token(), "acme")
            .await
            .unwrap_err(),
    );
    let slow = FaultServer::start(vec![
        Reply::json(200, json!({})).delay(Duration::from_secs(2)),
    ])
    .await;
    let quick = ClientOptions {
        timeout: Duration::from_millis(100),
        max_retries: 0,
        ..options()
    };
    errors.push(
        client(&slow.base_url(), quick)
            .create_stack(&token(), &CreateStack::default())
            .await
            .unwrap_err(),
    );
    let bad_token = Token::new(format!("{TOKEN}\u{7f}"));
    errors.push(
        client(&slow.base_url(), options())
            .get_stack(&bad_token, "acme")
            .await
            .unwrap_err(),
    );

    let categories: Vec<_> = errors.iter().map(|e| e.category()).collect();
    assert_eq!(
        categories,
        [
            "unauthorized",
            "conflict",
            "server_error",
            "decode",
            "decode",
            "network",
            "timeout",
            "unauthorized"
        ]
    );
    for err in &errors {
        assert_clean("error", &format!("{err} | {err:?} | {err:#?}"));
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            assert_clean("error source", &format!("{inner} | {inner:?}"));
            source = inner.source();
        }
    }
}

#[tokio::test]
async fn debug_logs_name_the_endpoint_and_request_but_never_a_token() {
    let server = FaultServer::start(vec![
        Reply::error(503, "ServiceUnavailable", "try again"),
        Reply::json(200, json!({})),
        Reply::json(
            200,
            json!({"id": 3, "name": "ci", "role": "Admin", "token": ORG_KEY}),
        ),
    ])
    .await;
    let client = client(&server.base_url(), options());
    client.delete_stack(&token(), "acme").await.unwrap();
    client
        .create_org_api_key(&token(), "acme", "ci", ApiKeyRole::Admin)
        .await
        .unwrap();

    let logs = logs().text();
    assert_clean("logs", &logs);
    let received = server.received();
    let lines_of = |n: usize| {
        let id = received[n].headers["x-request-id"].to_str().unwrap();
        logs.lines()
            .filter(|line| line.contains(id))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let delete = lines_of(0);
    assert_eq!(lines_of(1), delete, "retries reuse the request id");
    assert_eq!(delete.len(), 3, "{delete:#?}");
    assert!(
        delete
            .iter()
            .all(|l| l.contains("endpoint=\"/instances/{slug}\"") && l.contains("method=DELETE"))
    );
    assert!(delete[0].contains("status=503") && delete[0].contains("grafana.com request"));
    assert!(delete[1].contains("retrying grafana.com request"));
    assert!(delete[2].contains("status=200") && delete[2].contains("elapsed_ms="));
    let create = lines_of(2);
    assert_eq!(create.len(), 1, "{create:#?}");
    assert!(
        create[0].contains("endpoint=\"/orgs/{org}/api-keys\"")
            && create[0].contains("method=POST")
    );
}

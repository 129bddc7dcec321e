//! Bounds on what grafana.com can make the client hold or wait for, and the leader fence.

use std::time::{Duration, Instant};

use grafana_cloud_operator::grafana::ClientOptions;
use serde_json::json;

use super::{
    client,
    fault_server::{FaultServer, Reply, stack_json},
    faults::new_stack,
    options, token,
};

#[tokio::test]
async fn an_enormous_retry_after_is_capped_at_an_hour_without_a_panic() {
    for header in ["99999999999999999999999", "1e30"] {
        let server = FaultServer::start(vec![
            Reply::error(429, "TooManyRequests", "slow down").header("retry-after", header),
        ])
        .await;
        let err = client(&server.base_url(), options())
            .get_stack(&token(), "acme")
            .await
            .unwrap_err();
        assert_eq!(
            err.retry_after(),
            Some(Duration::from_secs(3600)),
            "Retry-After: {header}"
        );
    }
}

#[tokio::test]
async fn a_body_larger_than_the_client_reads_is_an_error_not_an_allocation() {
    let huge = "x".repeat(9 * 1024 * 1024);
    let server = FaultServer::start(vec![Reply::json(
        200,
        json!({"id": 1, "slug": "acme", "padding": huge}),
    )])
    .await;
    let err = client(&server.base_url(), options())
        .get_stack(&token(), "acme")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than 8192 KiB"), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_list_whose_pages_never_end_is_an_error_not_a_truncated_list() {
    // Every page says there is one more, with a cursor that changes each time.
    let pages: Vec<Reply> = (1..=101)
        .map(|n| {
            Reply::json(
                200,
                json!({"items": [stack_json(n, &format!("s{n}"))], "nextCursor": n}),
            )
        })
        .collect();
    let server = FaultServer::start(pages).await;
    let err = client(&server.base_url(), options())
        .list_stacks(&token(), "acme")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("after 100 pages"), "{err}");
    assert_eq!(server.hits(), 100);
}

#[tokio::test]
async fn a_closed_fence_stops_writes_before_they_leave_the_process_but_not_reads() {
    let server = FaultServer::start(vec![Reply::json(200, stack_json(1, "acme"))]).await;
    let fence = grafana_cloud_operator::fence::Fence::closed();
    let fenced = client(
        &server.base_url(),
        ClientOptions {
            fence: Some(fence.clone()),
            ..options()
        },
    );
    let err = fenced
        .create_stack(&token(), &new_stack("acme"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), "fenced");
    assert_eq!(server.hits(), 0, "a fenced write reached the server");
    assert!(fenced.get_stack(&token(), "acme").await.unwrap().is_some());
    assert_eq!(server.hits(), 1);
    fence.open_until(Instant::now() + Duration::from_secs(60));
    fenced
        .create_stack(&token(), &new_stack("acme"))
        .await
        .unwrap();
    assert_eq!(server.hits(), 2);
}

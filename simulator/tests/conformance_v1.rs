//! The access policy, token, org and connections responses validate against the grafana.com
//! OpenAPI spec (loaded at test time, never copied here).
#![allow(clippy::unwrap_used)]

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{
    ACME_TOKEN, Api, OTHER_TOKEN,
    checker::{Checker, Spec::Current},
    openapi,
};

#[tokio::test]
async fn policies_tokens_orgs_and_connections_match_the_openapi_spec() {
    let Some(specs) = openapi::load() else { return };
    let mut c = Checker { specs, checked: 0 };
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let other = Api::new(&sim, OTHER_TOKEN);
    let stack = acme.create_stack("conformv1").await;
    let stack_id = stack["id"].to_string();

    c.spec_response(
        Current,
        "/orgs/{slugOrId}",
        "get",
        &acme.get("/orgs/acme").await,
    );
    c.spec_response(
        Current,
        "/orgs/{slugOrId}",
        "get",
        &acme.get("/orgs/missing").await,
    );
    let connections = "/instances/{instanceId}/connections";
    c.spec_response(
        Current,
        connections,
        "get",
        &acme.get("/instances/conformv1/connections").await,
    );

    let policies = "/v1/accesspolicies";
    let body = json!({
        "name": "writers", "displayName": "Writers",
        "scopes": ["metrics:write", "logs:write"],
        "realms": [{"type": "stack", "identifier": stack_id, "labelPolicies": [{"selector": "{env=\"prod\"}"}]}],
        // No allowedSubnets here: the spec's oneOf of IPv4 and IPv6 CIDR strings cannot tell
        // them apart without format checks, so any subnet fails the oneOf.
    });
    let created = acme
        .post("/v1/accesspolicies?region=eu", body.clone())
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    c.spec_response(Current, policies, "post", &created);
    c.spec_response(
        Current,
        policies,
        "post",
        &acme.post("/v1/accesspolicies?region=eu", body).await,
    );
    c.spec_response(
        Current,
        policies,
        "post",
        &acme.post("/v1/accesspolicies", json!({"name": "x"})).await,
    );
    c.spec_response(
        Current,
        policies,
        "get",
        &acme.get("/v1/accesspolicies?region=eu").await,
    );
    c.spec_response(
        Current,
        "/v1/accesspolicies/config",
        "get",
        &acme.get("/v1/accesspolicies/config?region=eu").await,
    );
    let id = created.body["id"].as_str().unwrap();
    let item = "/v1/accesspolicies/{id}";
    let at = format!("/v1/accesspolicies/{id}?region=eu");
    c.spec_response(Current, item, "get", &acme.get(&at).await);
    c.spec_response(Current, item, "get", &other.get(&at).await);
    c.spec_response(
        Current,
        item,
        "post",
        &acme
            .post(
                &at,
                json!({"displayName": "Writers too", "scopes": ["metrics:write"]}),
            )
            .await,
    );

    let tokens = "/v1/tokens";
    let token = acme
        .post(
            "/v1/tokens?region=eu",
            json!({"accessPolicyId": id, "name": "t1", "displayName": "T1",
                   "expiresAt": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{:?}", token.body);
    c.spec_response(Current, tokens, "post", &token);
    c.spec_response(
        Current,
        tokens,
        "post",
        &acme
            .post(
                "/v1/tokens?region=eu",
                json!({"accessPolicyId": id, "name": "t1"}),
            )
            .await,
    );
    c.spec_response(
        Current,
        tokens,
        "get",
        &acme.get("/v1/tokens?region=eu").await,
    );
    let token_id = token.body["id"].as_str().unwrap();
    let token_at = format!("/v1/tokens/{token_id}?region=eu");
    c.spec_response(
        Current,
        "/v1/tokens/{id}",
        "get",
        &acme.get(&token_at).await,
    );
    c.spec_response(
        Current,
        "/v1/tokens/{id}",
        "delete",
        &acme.delete(&token_at).await,
    );
    c.spec_response(
        Current,
        "/v1/tokens/{id}",
        "delete",
        &acme.delete(&token_at).await,
    );
    c.spec_response(Current, item, "delete", &acme.delete(&at).await);

    // Service accounts through the proxy, once the stack is ready.
    let ready = support::eventually(std::time::Duration::from_secs(5), || async {
        acme.get("/instances/conformv1/readiness").await.body["ready"] == true
    })
    .await;
    assert!(ready);
    let accounts = "/instances/{instanceId}/api/serviceaccounts";
    let created = acme
        .post(
            "/instances/conformv1/api/serviceaccounts",
            json!({"name": "ci", "role": "Viewer"}),
        )
        .await;
    // Grafana answers 201 where the spec says 200; the body is the same DTO.
    assert_eq!(created.status, StatusCode::CREATED);
    let as_declared = support::Reply {
        status: StatusCode::OK,
        headers: created.headers.clone(),
        body: created.body.clone(),
    };
    c.spec_response(Current, accounts, "post", &as_declared);
    let sa = created.body["id"].as_u64().unwrap();
    c.spec_response(
        Current,
        "/instances/{instanceId}/api/serviceaccounts/search",
        "get",
        &acme
            .get("/instances/conformv1/api/serviceaccounts/search?query=ci")
            .await,
    );
    let one = "/instances/{instanceId}/api/serviceaccounts/{serviceAccountId}";
    let at = format!("/instances/conformv1/api/serviceaccounts/{sa}");
    c.spec_response(Current, one, "get", &acme.get(&at).await);
    let tokens = "/instances/{instanceId}/api/serviceaccounts/{serviceAccountId}/tokens";
    let tokens_at = format!("{at}/tokens");
    let token = acme
        .post(&tokens_at, json!({"name": "t", "secondsToLive": 600}))
        .await;
    c.spec_response(Current, tokens, "post", &token);
    c.spec_response(Current, tokens, "get", &acme.get(&tokens_at).await);
    let token_id = token.body["id"].as_u64().unwrap();
    c.spec_response(
        Current,
        "/instances/{instanceId}/api/serviceaccounts/{serviceAccountId}/tokens/{tokenId}",
        "delete",
        &acme.delete(&format!("{tokens_at}/{token_id}")).await,
    );
    c.spec_response(Current, one, "delete", &acme.delete(&at).await);
    assert!(c.checked >= 25, "only {} responses were checked", c.checked);
}

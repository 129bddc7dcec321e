//! Every response body the simulator produces validates against the
//! grafana.com OpenAPI spec (loaded at test time, never copied here), or,
//! for endpoints the spec lacks, against the shapes in the reference README.
#![allow(clippy::unwrap_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{
    ACME_TOKEN, Api, OTHER_TOKEN,
    checker::{Checker, Spec, readme_error},
    openapi,
};

/// README: `GET /instances/<slug>/datasources` returns `{items: [...]}`.
fn readme_datasources() -> Value {
    let fields = [
        ("id", "integer"),
        ("instanceId", "integer"),
        ("name", "string"),
        ("type", "string"),
        ("access", "string"),
        ("url", "string"),
        ("user", "string"),
        ("database", "string"),
        ("basicAuth", "boolean"),
        ("isDefault", "boolean"),
        ("jsonData", "object"),
    ];
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), json!({ "type": kind })))
        .collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "items": { "type": "object", "required": required, "properties": properties },
            },
        },
    })
}

#[tokio::test]
async fn every_response_body_matches_the_openapi_spec_or_the_readme() {
    let Some(specs) = openapi::load() else { return };
    let mut c = Checker { specs, checked: 0 };
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let other = Api::new(&sim, OTHER_TOKEN);
    let stranger = Api::new(&sim, "not-a-token");
    use Spec::{Current, Legacy};

    // Stacks.
    let created = acme
        .post("/instances", support::stack_body("conform"))
        .await;
    assert_eq!(created.status, StatusCode::OK);
    c.spec_response(Current, "/instances", "post", &created);
    // The validator has teeth: a stack without its Prometheus URL fails.
    let schema = openapi::response_schema(c.spec(Current), "/instances", "post", 200).unwrap();
    let mut broken = created.body.clone();
    broken.as_object_mut().unwrap().remove("hmInstancePromUrl");
    assert!(openapi::validate(&schema, &broken).is_err());
    broken["hmInstancePromUrl"] = json!(42);
    assert!(openapi::validate(&schema, &broken).is_err());
    for body in [
        support::stack_body("conform"),
        support::stack_body("Not-Valid"),
    ] {
        let reply = acme.post("/instances", body).await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        c.spec_response(Current, "/instances", "post", &reply);
    }
    c.spec_response(
        Current,
        "/instances",
        "post",
        &stranger
            .post("/instances", support::stack_body("nope"))
            .await,
    );

    let item = "/instances/{instanceId}";
    c.spec_response(Current, item, "get", &acme.get("/instances/conform").await);
    let id = created.body["id"].as_u64().unwrap();
    c.spec_response(
        Current,
        item,
        "get",
        &acme.get(&format!("/instances/{id}")).await,
    );
    c.spec_response(Current, item, "get", &acme.get("/instances/missing").await);
    c.spec_response(Current, item, "get", &other.get("/instances/conform").await);
    c.spec_response(
        Current,
        item,
        "get",
        &stranger.get("/instances/conform").await,
    );
    let patch = json!({ "description": "changed", "labels": { "team": "obs" } });
    c.spec_response(
        Current,
        item,
        "post",
        &acme.post("/instances/conform", patch).await,
    );
    c.spec_response(
        Current,
        item,
        "post",
        &acme
            .post(
                "/instances/conform",
                json!({ "labels": { "bad key": "x" } }),
            )
            .await,
    );

    let readiness = "/instances/{instanceId}/readiness";
    c.spec_response(
        Current,
        readiness,
        "get",
        &acme.get("/instances/conform/readiness").await,
    );
    c.spec_response(
        Current,
        readiness,
        "get",
        &acme.get(&format!("/instances/{id}/readiness")).await,
    );
    c.spec_response(
        Current,
        readiness,
        "get",
        &acme.get("/instances/missing/readiness").await,
    );

    let list = "/orgs/{orgSlug}/instances";
    c.spec_response(
        Current,
        list,
        "get",
        &acme.get("/orgs/acme/instances").await,
    );
    c.spec_response(
        Current,
        list,
        "get",
        &acme.get("/orgs/other/instances").await,
    );
    c.spec_response(
        Current,
        list,
        "get",
        &acme.get("/orgs/nobody/instances").await,
    );

    // Org API keys (2025-12-01 spec).
    let keys = "/orgs/{slugOrId}/api-keys";
    let key = "/orgs/{slugOrId}/api-keys/{name}";
    let new_key = json!({ "name": "ci", "role": "MetricsPublisher" });
    let created_key = acme.post("/orgs/acme/api-keys", new_key.clone()).await;
    assert!(created_key.body["token"].is_string());
    c.spec_response(Legacy, keys, "post", &created_key);
    c.spec_response(
        Legacy,
        keys,
        "post",
        &acme.post("/orgs/acme/api-keys", new_key.clone()).await,
    );
    c.spec_response(
        Legacy,
        keys,
        "post",
        &acme
            .post(
                "/orgs/acme/api-keys",
                json!({ "name": "x", "role": "Owner" }),
            )
            .await,
    );
    c.spec_response(
        Legacy,
        keys,
        "post",
        &other.post("/orgs/acme/api-keys", new_key).await,
    );
    c.spec_response(Legacy, keys, "get", &acme.get("/orgs/acme/api-keys").await);
    c.spec_response(
        Legacy,
        key,
        "get",
        &acme.get("/orgs/acme/api-keys/ci").await,
    );
    c.spec_response(
        Legacy,
        key,
        "get",
        &acme.get("/orgs/acme/api-keys/none").await,
    );
    c.spec_response(
        Legacy,
        key,
        "delete",
        &acme.delete("/orgs/acme/api-keys/ci").await,
    );
    c.spec_response(
        Legacy,
        key,
        "delete",
        &acme.delete("/orgs/acme/api-keys/ci").await,
    );

    // Stack API keys: the spec's `GrafanaNewApiKeyResult`, with the README's
    // rule that id, name and key are all present.
    let mut stack_key_schema = openapi::component(c.spec(Legacy), "GrafanaNewApiKeyResult");
    stack_key_schema["required"] = json!(["id", "name", "key"]);
    let body = json!({ "name": "ci", "role": "Admin", "secondsToLive": 3600 });
    let reply = acme
        .post("/instances/conform/api/auth/keys", body.clone())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    c.shape(&stack_key_schema, "stack key create", &reply);
    for bad in [body, json!({ "name": "x", "role": "MetricsPublisher" })] {
        let reply = acme.post("/instances/conform/api/auth/keys", bad).await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        readme_error(&reply);
    }

    // Provisioned data sources and restart: README shapes.
    let datasources = acme.get("/instances/conform/datasources").await;
    c.shape(&readme_datasources(), "data source list", &datasources);
    let first = datasources.body["items"][0]["id"].as_u64().unwrap();
    let deleted = acme
        .delete(&format!("/instances/conform/datasources/{first}"))
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    readme_error(
        &acme
            .delete(&format!("/instances/conform/datasources/{first}"))
            .await,
    );
    let restart = acme
        .call(Method::POST, "/instances/conform/restart", None)
        .await;
    c.shape(&json!({ "const": true }), "restart", &restart);
    readme_error(
        &other
            .call(Method::POST, "/instances/conform/restart", None)
            .await,
    );

    // Delete, then the deleted stack and its reserved slug.
    c.spec_response(
        Current,
        item,
        "delete",
        &acme.delete("/instances/conform").await,
    );
    let gone = acme.get("/instances/conform").await;
    assert_eq!(gone.body["status"], "deleted");
    c.spec_response(Current, item, "get", &gone);
    c.spec_response(
        Current,
        item,
        "delete",
        &acme.delete("/instances/conform").await,
    );
    c.spec_response(
        Current,
        "/instances",
        "post",
        &acme
            .post("/instances", support::stack_body("conform"))
            .await,
    );

    // Protected stacks refuse deletion with a 409.
    acme.post(
        "/instances",
        json!({ "name": "p", "slug": "protected", "deleteProtection": true }),
    )
    .await;
    c.spec_response(
        Current,
        item,
        "delete",
        &acme.delete("/instances/protected").await,
    );

    assert!(c.checked >= 30, "only {} bodies checked", c.checked);
    sim.shutdown().await;
}

//! Helpers shared by the simulator's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod checker;
pub mod openapi;

use std::time::Duration;

use grafana_cloud_simulator::{Simulator, SimulatorBuilder};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

/// A reqwest client builder for the tests. Built inside the workspace, reqwest shares the
/// operator's features (rustls without a bundled crypto provider), so ring is installed as
/// the process's provider first; it is a no-op when reqwest is built without TLS.
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A reqwest client for the tests; see [`http_builder`].
pub fn http() -> reqwest::Client {
    http_builder().build().unwrap()
}

pub const ACME_TOKEN: &str = "token-acme";
pub const OTHER_TOKEN: &str = "token-other";

/// Two orgs, short timings: readiness after 300 ms, slugs reserved 2 s.
pub fn builder() -> SimulatorBuilder {
    Simulator::builder()
        .org("acme", ACME_TOKEN)
        .org("other", OTHER_TOKEN)
        .readiness_delay(Duration::from_millis(300))
        .deleted_slug_reservation(Duration::from_secs(2))
}

pub async fn start() -> Simulator {
    builder().start().await.unwrap()
}

/// A response: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// grafana.com's `code`, or `messageId` for an answer of a stack's Grafana.
    pub fn code(&self) -> &str {
        self.body["code"]
            .as_str()
            .or_else(|| self.body["messageId"].as_str())
            .unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// A grafana.com client authenticated with one bearer token.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(sim: &Simulator, token: &str) -> Self {
        Self {
            client: http(),
            base: sim.base_url(),
            token: token.to_owned(),
        }
    }

    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<Reply> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.try_call(method, path, body).await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates stack `slug` and asserts it worked.
    pub async fn create_stack(&self, slug: &str) -> Value {
        let reply = self.post("/instances", stack_body(slug)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "create {slug}: {:?}",
            reply.body
        );
        reply.body
    }
}

pub fn stack_body(slug: &str) -> Value {
    json!({
        "name": format!("{slug}.grafana.net"),
        "slug": slug,
        "region": "eu",
        "description": "test stack",
        "labels": { "team": "platform" },
    })
}

/// Polls `check` every 25 ms until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

//! Helpers shared by the API key end-to-end tests.

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;

use super::e2e::{Env, ORG};

pub const KEYS: &str = "/api/orgs/{org}/api-keys";
pub const KEY: &str = "/api/orgs/{org}/api-keys/{name}";
pub const STACK_KEYS: &str = "/api/instances/{slug}/api/auth/keys";

pub fn key(name: &str, spec: serde_json::Value) -> GrafanaCloudApiKey {
    super::e2e::resource("GrafanaCloudApiKey", name, spec)
}

pub fn stack(name: &str, slug: &str) -> GrafanaStack {
    super::e2e::resource("GrafanaStack", name, json!({"slug": slug}))
}

pub fn data(secret: &Secret, key: &str) -> Option<String> {
    let value = secret.data.as_ref()?.get(key)?;
    Some(String::from_utf8(value.0.clone()).unwrap())
}

/// The token of the only live org key named `name`.
pub fn live_org_token(env: &Env, name: &str) -> Option<String> {
    let keys: Vec<_> = env
        .sim
        .control()
        .org_keys(ORG)
        .into_iter()
        .filter(|k| k.name == name)
        .collect();
    assert!(keys.len() <= 1, "more than one live key named {name}");
    keys.first().map(|k| k.token.expose().to_string())
}

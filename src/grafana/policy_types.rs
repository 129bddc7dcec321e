//! The wire types of access policies, their tokens, orgs and stack connections.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    Token,
    types::{items_or_null, lenient_string, lenient_u64, string_or_null},
};

/// A realm of an access policy: the org, or one stack, by numeric id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRealm {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "lenient_string")]
    pub identifier: String,
    #[serde(default, deserialize_with = "items_or_null")]
    pub label_policies: Vec<LabelPolicy>,
}

/// A label selector narrowing a realm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelPolicy {
    pub selector: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyConditions {
    #[serde(default, deserialize_with = "items_or_null")]
    pub allowed_subnets: Vec<String>,
}

/// A cloud access policy as grafana.com returns it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    pub id: String,
    #[serde(default, deserialize_with = "opt_lenient_string")]
    pub org_id: Option<String>,
    pub name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub display_name: String,
    #[serde(default, deserialize_with = "items_or_null")]
    pub scopes: Vec<String>,
    #[serde(default, deserialize_with = "items_or_null")]
    pub realms: Vec<PolicyRealm>,
    #[serde(default)]
    pub conditions: Option<PolicyConditions>,
    #[serde(default, deserialize_with = "string_or_null")]
    pub status: String,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl AccessPolicy {
    pub fn allowed_subnets(&self) -> &[String] {
        self.conditions
            .as_ref()
            .map_or(&[], |c| c.allowed_subnets.as_slice())
    }
}

/// What a create or an update sets; the update leaves `name` out (it cannot change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub realms: Vec<PolicyRealm>,
    pub conditions: PolicyConditions,
}

/// `GET /v1/accesspolicies/config`: what policies may use in a region.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyConfig {
    #[serde(default, deserialize_with = "items_or_null")]
    pub scopes: Vec<ScopeInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScopeInfo {
    pub name: String,
}

/// An access-policy token as lists show it, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyToken {
    pub id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub access_policy_id: String,
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A token just created: the only time grafana.com returns its secret.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPolicyToken {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    pub token: Token,
}

impl fmt::Debug for CreatedPolicyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedPolicyToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateTokenBody<'a> {
    pub access_policy_id: &'a str,
    pub name: &'a str,
    pub display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// An organisation's public fields.
#[derive(Debug, Clone, Deserialize)]
pub struct Org {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    #[serde(default, deserialize_with = "string_or_null")]
    pub slug: String,
}

/// `GET /instances/{id}/connections`: endpoints beyond the stack's own fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connections {
    #[serde(default)]
    pub otlp_http_url: Option<String>,
    #[serde(default)]
    pub influx_url: Option<String>,
    #[serde(default)]
    pub oncall_api_url: Option<String>,
    #[serde(default)]
    pub synthetic_monitoring_api_url: Option<String>,
    #[serde(default)]
    pub app_platform: Option<AppPlatform>,
}

/// The stack's app platform (Kubernetes-style) API server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AppPlatform {
    #[serde(default)]
    pub url: Option<String>,
}

/// One page of a `/v1` list: `{items, metadata: {pagination: {nextPage, pageCursor}}}`.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(super) struct CursorPage<T> {
    #[serde(default = "Vec::new", deserialize_with = "items_or_null")]
    pub items: Vec<T>,
    #[serde(default)]
    pub metadata: Option<PageMetadata>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageMetadata {
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Pagination {
    #[serde(default)]
    pub page_cursor: Option<String>,
    #[serde(default)]
    pub next_page: Option<String>,
}

fn opt_lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(
        Option::<serde_json::Value>::deserialize(d)?.and_then(|v| match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
    )
}

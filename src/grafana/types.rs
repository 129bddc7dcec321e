//! Request and response bodies of the grafana.com endpoints the operator uses.
//!
//! Responses deserialize leniently: unknown fields are ignored, optional fields
//! may be missing or `null`, and numbers may arrive as integers, floats or
//! strings, so that a change on grafana.com's side does not break reconciles.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize};

use super::Token;

/// A Grafana Cloud stack, as `GET /instances/{slug}` returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    pub slug: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_or_null")]
    pub url: String,
    /// `active`, `pending`, `deleted`, … Note that `active` right after a
    /// create does not mean ready: ask [`GrafanaClient::stack_ready`](super::GrafanaClient::stack_ready).
    #[serde(default, deserialize_with = "string_or_null")]
    pub status: String,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub org_id: Option<u64>,
    #[serde(default, deserialize_with = "string_or_null")]
    pub org_slug: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub region_slug: String,
    #[serde(default, deserialize_with = "labels_or_null")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub delete_protection: Option<bool>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub hm_instance_prom_url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub hm_instance_prom_id: Option<u64>,
    #[serde(default)]
    pub hl_instance_url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub hl_instance_id: Option<u64>,
    #[serde(default)]
    pub ht_instance_url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub ht_instance_id: Option<u64>,
    #[serde(default)]
    pub am_instance_url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub am_instance_id: Option<u64>,
    #[serde(default)]
    pub hm_instance_graphite_url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub hm_instance_graphite_id: Option<u64>,
    #[serde(default)]
    pub hp_instance_url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub hp_instance_id: Option<u64>,
}

impl Stack {
    /// Whether grafana.com refuses to delete the stack. A stack that does not say is not
    /// protected, which is grafana.com's default.
    pub fn is_delete_protected(&self) -> bool {
        self.delete_protection.unwrap_or(false)
    }

    /// A deleted stack can still be read for a while; treat it as absent.
    pub fn is_deleted(&self) -> bool {
        self.status.eq_ignore_ascii_case("deleted")
    }

    /// The stack's service endpoints, leaving out those it does not have.
    pub fn endpoints(&self) -> StackEndpoints {
        let endpoint = |url: &Option<String>, id: Option<u64>| {
            url.as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| Endpoint {
                    url: u.to_owned(),
                    id,
                })
        };
        StackEndpoints {
            prometheus: endpoint(&self.hm_instance_prom_url, self.hm_instance_prom_id),
            loki: endpoint(&self.hl_instance_url, self.hl_instance_id),
            tempo: endpoint(&self.ht_instance_url, self.ht_instance_id),
            alertmanager: endpoint(&self.am_instance_url, self.am_instance_id),
            graphite: endpoint(&self.hm_instance_graphite_url, self.hm_instance_graphite_id),
            profiles: endpoint(&self.hp_instance_url, self.hp_instance_id),
        }
    }
}

/// The endpoints of a stack's hosted services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackEndpoints {
    pub prometheus: Option<Endpoint>,
    pub loki: Option<Endpoint>,
    pub tempo: Option<Endpoint>,
    pub alertmanager: Option<Endpoint>,
    pub graphite: Option<Endpoint>,
    /// Pyroscope.
    pub profiles: Option<Endpoint>,
}

/// One hosted service: its URL and the user / instance id to authenticate as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub id: Option<u64>,
}

/// The body of `POST /instances`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStack {
    pub name: String,
    pub slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Sent as `false`: protection goes on once the stack is ready, so that a stack whose
    /// provisioning failed can still be deleted.
    pub delete_protection: bool,
}

/// The body of `POST /instances/{slug}`; `None` fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_protection: Option<bool>,
}

impl UpdateStack {
    /// An update that sets delete protection and nothing else.
    pub fn protection(on: bool) -> Self {
        Self {
            delete_protection: Some(on),
            ..Self::default()
        }
    }

    /// Whether the update would change nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether the update changes delete protection and nothing else.
    pub fn is_protection_only(&self) -> bool {
        self.delete_protection
            .is_some_and(|on| *self == Self::protection(on))
    }
}

/// A data source provisioned in a stack's Grafana.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Datasource {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    #[serde(default, deserialize_with = "string_or_null")]
    pub name: String,
    /// The data source type, such as `prometheus` or `loki`.
    #[serde(default, rename = "type", deserialize_with = "string_or_null")]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub instance_id: Option<u64>,
}

/// The role of an API key. `MetricsPublisher` exists only for org keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiKeyRole {
    Viewer,
    Editor,
    Admin,
    MetricsPublisher,
}

impl ApiKeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Editor => "Editor",
            Self::Admin => "Admin",
            Self::MetricsPublisher => "MetricsPublisher",
        }
    }
}

impl fmt::Display for ApiKeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role string is not one grafana.com accepts for keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse API key role {0:?}: expected Viewer, Editor, Admin or MetricsPublisher")]
pub struct ParseRoleError(pub String);

impl FromStr for ApiKeyRole {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Viewer,
            Self::Editor,
            Self::Admin,
            Self::MetricsPublisher,
        ]
        .into_iter()
        .find(|role| role.as_str() == s)
        .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

/// An org API key as listed; the token is never part of a read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgApiKey {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub role: String,
    #[serde(default)]
    pub org_slug: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// An org API key just created: the only time grafana.com returns its token.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedOrgApiKey {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub role: String,
    pub token: Token,
}

impl fmt::Display for CreatedOrgApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "org API key {} (id {}, role {})",
            self.name, self.id, self.role
        )
    }
}

/// A stack API key just created: the only time grafana.com returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedStackApiKey {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    pub name: String,
    #[serde(rename = "key")]
    pub token: Token,
}

impl fmt::Display for CreatedStackApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stack API key {} (id {})", self.name, self.id)
    }
}

/// The body of `POST /orgs/{org}/api-keys`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateOrgApiKeyBody<'a> {
    pub name: &'a str,
    pub role: ApiKeyRole,
}

/// The body of `POST /instances/{slug}/api/auth/keys`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateStackApiKeyBody<'a> {
    pub name: &'a str,
    pub role: ApiKeyRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_live: Option<u64>,
}

/// `GET /instances/{id}/readiness`.
#[derive(Debug, Deserialize)]
pub(crate) struct Readiness {
    #[serde(default)]
    pub ready: bool,
}

/// The list envelope `{items, page, pages, nextCursor, ...}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "items_or_null")]
    pub items: Vec<T>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub page: Option<u64>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub pages: Option<u64>,
    #[serde(default, deserialize_with = "opt_lenient_u64")]
    pub next_cursor: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Unsigned(u64),
    Float(f64),
    Text(String),
}

impl Number {
    fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Unsigned(n) => Some(*n),
            Self::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64 => {
                Some(*f as u64)
            }
            Self::Float(_) => None,
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

pub(super) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Number::deserialize(d)?
        .as_u64()
        .ok_or_else(|| serde::de::Error::custom("expected a non-negative integer"))
}

fn opt_lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    // An unparsable optional number is treated as absent rather than failing the whole body.
    Ok(Option::<Number>::deserialize(d)
        .ok()
        .flatten()
        .and_then(|n| n.as_u64()))
}

pub(super) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Number::deserialize(d)? {
        Number::Text(s) => s,
        Number::Unsigned(n) => n.to_string(),
        Number::Float(f) => f.to_string(),
    })
}

pub(super) fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn labels_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

pub(super) fn items_or_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;

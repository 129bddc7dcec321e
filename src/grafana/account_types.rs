//! The wire types of a stack's service accounts and their tokens, as Grafana answers through
//! the grafana.com proxy.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    Token,
    types::{items_or_null, lenient_u64, string_or_null},
};

/// A service account of a stack's Grafana.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    pub name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub login: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub role: String,
    #[serde(default)]
    pub is_disabled: bool,
}

/// One page of `GET …/serviceaccounts/search`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountPage {
    #[serde(default)]
    pub total_count: u64,
    #[serde(default, deserialize_with = "items_or_null")]
    pub service_accounts: Vec<ServiceAccount>,
}

/// A service account token as listed (expired ones included; the key is never listed).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountToken {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub expiration: Option<String>,
    #[serde(default)]
    pub has_expired: bool,
    #[serde(default)]
    pub is_revoked: bool,
}

impl AccountToken {
    /// Whether the token still authenticates.
    pub fn works(&self) -> bool {
        !self.has_expired && !self.is_revoked
    }
}

/// A token just created: the only time Grafana returns its key.
#[derive(Clone, Deserialize)]
pub struct CreatedAccountToken {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: u64,
    pub name: String,
    pub key: Token,
}

impl fmt::Debug for CreatedAccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedAccountToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateAccountBody<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub is_disabled: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateAccountTokenBody<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_live: Option<u64>,
}

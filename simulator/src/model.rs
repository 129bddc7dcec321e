//! The simulated objects: stacks, provisioned data sources and API keys.

use std::{collections::BTreeMap, sync::OnceLock, time::Instant};

use axum::body::Bytes;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::token::Token;

/// An organisation known to the simulator.
#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub id: u64,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

/// A Grafana Cloud stack (an "instance" in the API).
#[derive(Debug, Clone)]
pub(crate) struct Stack {
    pub id: u64,
    pub org_id: u64,
    pub org_slug: String,
    pub org_created_at: DateTime<Utc>,
    pub slug: String,
    pub name: String,
    pub url: String,
    pub region: String,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    pub delete_protection: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub ready_at: Instant,
    pub deleted: Option<Deletion>,
    pub restarts: u64,
    pub datasources: Vec<DataSource>,
    pub keys: Vec<StackKey>,
    pub service_accounts: Vec<ServiceAccount>,
    pub plugins: Vec<InstalledPlugin>,
    /// The stack's API JSON, rendered once; reset whenever a rendered field
    /// changes (see [`Stack::touch`]).
    pub rendered: OnceLock<Bytes>,
}

impl Stack {
    /// Forgets the cached JSON after a change.
    pub fn touch(&mut self) {
        self.rendered = OnceLock::new();
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }

    pub fn status(&self) -> &'static str {
        if self.is_deleted() {
            "deleted"
        } else {
            "active"
        }
    }

    pub fn is_ready(&self, now: Instant) -> bool {
        !self.is_deleted() && now >= self.ready_at
    }

    pub fn default_url(slug: &str) -> String {
        format!("https://{slug}.grafana.net")
    }
}

/// When a stack was deleted, and until when its slug stays reserved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deletion {
    pub at: DateTime<Utc>,
    pub reserved_until: Instant,
}

/// A data source provisioned in a stack's Grafana.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub id: u64,
    pub instance_id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub access: String,
    pub url: String,
    pub user: String,
    pub database: String,
    pub basic_auth: bool,
    pub basic_auth_user: String,
    pub is_default: bool,
    pub json_data: serde_json::Value,
}

/// An org-level API key (`/orgs/<org>/api-keys`).
#[derive(Debug, Clone)]
pub(crate) struct OrgKey {
    pub id: u64,
    pub org_id: u64,
    pub org_slug: String,
    pub name: String,
    pub role: String,
    pub token: Token,
    pub created_at: DateTime<Utc>,
}

/// A key created in a stack's Grafana (`/instances/<slug>/api/auth/keys`).
#[derive(Debug, Clone)]
pub(crate) struct StackKey {
    pub id: u64,
    pub name: String,
    pub role: String,
    pub token: Token,
    pub seconds_to_live: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A realm an access policy grants access to: the org, or one stack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Realm {
    #[serde(rename = "type")]
    pub kind: String,
    pub identifier: String,
    #[serde(default)]
    pub label_policies: Vec<LabelPolicy>,
}

/// A label selector narrowing a realm (`{selector: "{env=\"prod\"}"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct LabelPolicy {
    pub selector: String,
}

/// A cloud access policy (`/v1/accesspolicies`), stored per region.
#[derive(Debug, Clone)]
pub(crate) struct AccessPolicy {
    pub id: String,
    pub org_id: u64,
    pub region: String,
    pub name: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub realms: Vec<Realm>,
    pub allowed_subnets: Vec<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A token of an access policy (`/v1/tokens`). Its secret is returned only by the create.
#[derive(Debug, Clone)]
pub(crate) struct PolicyToken {
    pub id: String,
    pub org_id: u64,
    pub region: String,
    pub policy_id: String,
    pub name: String,
    pub display_name: String,
    pub token: Token,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    /// When the token starts to authenticate (grafana.com can take a while).
    pub active_at: Instant,
}

impl PolicyToken {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A service account of a stack's Grafana (`/instances/<slug>/api/serviceaccounts`).
#[derive(Debug, Clone)]
pub(crate) struct ServiceAccount {
    pub id: u64,
    pub name: String,
    pub login: String,
    pub role: String,
    pub is_disabled: bool,
    pub tokens: Vec<ServiceAccountToken>,
}

/// A token of a service account; its key is returned only by the create.
#[derive(Debug, Clone)]
pub(crate) struct ServiceAccountToken {
    pub id: u64,
    pub name: String,
    pub key: Token,
    pub created: DateTime<Utc>,
    pub expiration: Option<DateTime<Utc>>,
}

/// A plugin installed on a stack (`/instances/<id>/plugins`).
#[derive(Debug, Clone)]
pub(crate) struct InstalledPlugin {
    pub id: u64,
    pub plugin_id: u64,
    pub slug: String,
    pub name: String,
    pub version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A plugin of the catalog that stacks can install, with its versions, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct CatalogPlugin {
    pub id: u64,
    pub name: String,
    pub versions: Vec<String>,
}

impl CatalogPlugin {
    pub fn latest(&self) -> &str {
        self.versions.last().map_or("", String::as_str)
    }
}

//! Types shared by both kinds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to the remote object when the resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the remote object at grafana.com, then remove the finalizer.
    #[default]
    Delete,
    /// Leave the remote object in place and only remove the finalizer.
    Retain,
}

/// Where the grafana.com API token comes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsRef {
    /// Name of a Secret in this resource's namespace that holds a grafana.com API token
    /// (Admin role). Cross-namespace references are not possible.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Key in that Secret holding the token. Defaults to `token`. The Secret may also hold
    /// the organisation slug under `orgSlug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub key: Option<String>,
}

impl CredentialsRef {
    /// Key in the Secret that holds the token.
    pub fn token_key(&self) -> &str {
        self.key.as_deref().unwrap_or("token")
    }
}

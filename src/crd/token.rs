//! What the token kinds share: rotation, the previous token kept for an overlap, and the
//! status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Renewal of an expiring token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRotation {
    /// How long before expiry the replacement is created and the Secret switched to it, as
    /// a duration such as `24h`. At least 30s shorter than `expiresAfter`.
    #[schemars(regex(pattern = r"^([0-9]+(s|m|h))+$"), length(max = 32))]
    pub renew_before: String,
    /// How long the previous token keeps working after the Secret switched away from it,
    /// so that clients that read the Secret a little late still succeed. Then it is
    /// deleted. Defaults to `0s`; at most `renewBefore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(s|m|h))+$"), length(max = 32))]
    pub keep_previous: Option<String>,
}

/// A token that was replaced and is deleted at `deleteAt`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousToken {
    /// Id of the previous token.
    pub token_id: String,
    /// Its name.
    pub token_name: String,
    /// When the operator deletes it (RFC 3339).
    pub delete_at: String,
}

/// Observed state of a token resource (`GrafanaCloudAccessPolicyToken`,
/// `GrafanaStackServiceAccountToken`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    /// Current conditions. `Ready` is always present; when it is False its reason says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Id of the current token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Name of the current token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    /// Region the token lives in (its access policy's); access-policy tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// When the current token was created (RFC 3339). A new token can take a few minutes to
    /// start working at grafana.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the current token expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When the operator creates its replacement (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<String>,
    /// The token replaced last, until it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousToken>,
    /// Secret that holds the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Serial number of the last token name claimed; the next token takes the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "int64"))]
    pub serial: Option<u64>,
    /// Name of a token being created, recorded right before the create call. A token of that
    /// name that the Secret does not hold was lost in a crash: it is deleted and replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_name: Option<String>,
}

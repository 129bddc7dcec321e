//! The `GrafanaCloudApiKey` kind.

// The CustomResource derive expands each printcolumn into attributes that clippy reads as
// duplicates.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{CredentialsRef, DeletionPolicy};

/// A grafana.com API key whose token the operator writes into a Secret. Without `stackRef`
/// it is an organisation API key; with `stackRef` it is a Grafana API key of that stack.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "grafanacloud.operator.dev",
    version = "v1alpha1",
    kind = "GrafanaCloudApiKey",
    doc = "A grafana.com API key managed by grafana-cloud-operator, with its token in a Secret.",
    namespaced,
    status = "GrafanaCloudApiKeyStatus",
    shortname = "gkey",
    category = "grafanacloud",
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
    printcolumn(name = "Type", type_ = "string", json_path = ".status.keyType"),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secretName"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    validation = Rule::new("!has(self.stackRef) || self.role != 'MetricsPublisher'")
        .message("role MetricsPublisher is only allowed for organisation keys (without stackRef)"),
    validation = Rule::new("!has(self.secondsToLive) || has(self.stackRef)")
        .message("secondsToLive applies only to stack keys (with stackRef)"),
    validation = Rule::new("!has(self.rotation) || (has(self.secondsToLive) && self.secondsToLive > 0)")
        .message("rotation needs a positive secondsToLive"),
    validation = Rule::new("!has(self.rotation) || !has(self.secondsToLive) || duration(self.rotation.renewBefore).getSeconds() + 30 <= self.secondsToLive")
        .message("rotation.renewBefore must be at least 30s shorter than secondsToLive, so that a key lives 30s before it is replaced"),
    validation = Rule::new("has(self.name) == has(oldSelf.name)").message("name is immutable"),
    validation = Rule::new("has(self.stackRef) == has(oldSelf.stackRef)").message("stackRef is immutable"),
    validation = Rule::new("!has(self.stackRef) || !has(self.secretTemplate) || !has(self.secretTemplate.stackRef)")
        .message("secretTemplate.stackRef is for organisation keys; a stack key's templates see its own stack")
)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaCloudApiKeySpec {
    /// Name of the key at grafana.com. Defaults to `<namespace>-<metadata.name>`. Stack keys
    /// get a unique suffix on top of it. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 190),
        regex(pattern = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
    )]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    pub name: Option<String>,

    /// Permission level of the key: `Viewer`, `Editor`, `Admin`, or `MetricsPublisher`
    /// (organisation keys only). Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("role is immutable"))]
    pub role: ApiKeyRole,

    /// Name of a GrafanaStack in this namespace. When set, the key is a Grafana API key of
    /// that stack, created once the stack is Ready. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("stackRef is immutable"))]
    pub stack_ref: Option<String>,

    /// Lifetime of a stack key in seconds, at least 60. Omit it for a key that never
    /// expires. Stack keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60))]
    pub seconds_to_live: Option<i64>,

    /// Automatic renewal of an expiring stack key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,

    /// Name of the Secret that receives the token. Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub secret_name: Option<String>,

    /// Extra labels, annotations and data for the Secret, rendered as templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<SecretTemplate>,

    /// What happens to an organisation key at grafana.com when this resource is deleted:
    /// `Delete` (the default) or `Retain`. Stack keys cannot be revoked through this API and
    /// simply expire.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// The grafana.com API token used to manage the key. When omitted, the operator's default
    /// credentials are used, but only in namespaces its namespace selector matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsRef>,
}

/// Permission level of an API key.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ApiKeyRole {
    /// Read-only access.
    Viewer,
    /// Read and write access.
    Editor,
    /// Full access.
    Admin,
    /// Organisation keys only: may publish metrics, logs and traces to the org's stacks.
    MetricsPublisher,
}

impl ApiKeyRole {
    /// The role name as grafana.com spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Editor => "Editor",
            Self::Admin => "Admin",
            Self::MetricsPublisher => "MetricsPublisher",
        }
    }
}

/// Renewal settings for a stack key with a lifetime.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// How long before expiry the replacement key is created and the Secret switched to it,
    /// as a duration such as `1h` or `30m`. Must be at least 30s shorter than
    /// `secondsToLive`.
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"), length(max = 32))]
    pub renew_before: String,
}

/// Templates for the generated Secret. They use Jinja syntax (`{{ token }}`) with these
/// variables: `token`, `orgSlug`, `keyName`, and, for stack keys or when `stackRef` is set,
/// `stack.slug`, `stack.url`, `stack.id` and `stack.endpoints.<service>.url` / `.userId`
/// where service is one of `prometheus`, `loki`, `tempo`, `alertmanager`, `graphite`,
/// `profiles`. Using a variable that does not exist is an error (reason `InvalidSpec`).
/// Example, a Prometheus remote-write config from a MetricsPublisher key:
/// `url: {{ stack.endpoints.prometheus.url }}/api/prom/push`,
/// `username: "{{ stack.endpoints.prometheus.userId }}"`, `password: "{{ token }}"`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplate {
    /// Organisation keys only: name of a GrafanaStack in this namespace whose URL and
    /// endpoints the templates may use as `stack.*`. The key is created once that stack is
    /// Ready. Stack keys always see their own stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub stack_ref: Option<String>,
    /// Labels added to the Secret; values are templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the Secret; values are templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Extra data keys; each value is a template rendered into the Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

/// Observed state of a `GrafanaCloudApiKey`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaCloudApiKeyStatus {
    /// Current conditions. `Ready` is always present; when it is False its reason says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `org` for an organisation key, `stack` for a stack key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// Id of the key at grafana.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "int64"))]
    pub key_id: Option<u64>,
    /// Name of the key at grafana.com (with its unique suffix, for stack keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Organisation that owns the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_slug: Option<String>,
    /// Stack the key belongs to, for stack keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_slug: Option<String>,
    /// Secret that holds the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// When the current key was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the current key expires (RFC 3339), for keys with a lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When the operator will create the replacement key (RFC 3339), for rotated keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<String>,
}

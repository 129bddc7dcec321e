//! The `GrafanaStackServiceAccountToken` kind.

// The CustomResource derive expands each printcolumn into attributes that clippy reads as
// duplicates.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{DeletionPolicy, SecretTemplate, TokenRotation, TokenStatus};

/// A token of a `GrafanaStackServiceAccount`, for the stack's Grafana HTTP API, written into
/// a Secret with the stack's URL and the account's id.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "grafanacloud.operator.dev",
    version = "v1alpha1",
    kind = "GrafanaStackServiceAccountToken",
    doc = "A token of a Grafana Cloud stack's service account, managed by grafana-cloud-operator, in a Secret.",
    namespaced,
    status = "TokenStatus",
    shortname = "gsatoken",
    category = "grafanacloud",
    printcolumn(
        name = "Account",
        type_ = "string",
        json_path = ".spec.serviceAccountRef"
    ),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secretName"),
    printcolumn(name = "Expires", type_ = "string", json_path = ".status.expiresAt"),
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
    validation = Rule::new("has(self.name) == has(oldSelf.name)").message("name is immutable"),
    validation = Rule::new("!has(self.rotation) || has(self.secondsToLive)")
        .message("rotation needs secondsToLive"),
    validation = Rule::new("!has(self.rotation) || !has(self.secondsToLive) || duration(self.rotation.renewBefore).getSeconds() + 30 <= self.secondsToLive")
        .message("rotation.renewBefore must be at least 30s shorter than secondsToLive, so that a token lives 30s before it is replaced"),
    validation = Rule::new("!has(self.rotation) || !has(self.rotation.keepPrevious) || duration(self.rotation.keepPrevious).getSeconds() <= duration(self.rotation.renewBefore).getSeconds()")
        .message("rotation.keepPrevious must not be longer than rotation.renewBefore: the previous token must still work while it is kept"),
    validation = Rule::new("!has(self.secretTemplate) || !has(self.secretTemplate.stackRef)")
        .message("secretTemplate.stackRef is not used here: the stack is the service account's")
)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaStackServiceAccountTokenSpec {
    /// Name of a GrafanaStackServiceAccount in this namespace. The token waits until it is
    /// Ready. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceAccountRef is immutable"))]
    pub service_account_ref: String,

    /// Base of the token names: lowercase letters, digits and dashes. Defaults to
    /// `<namespace>-<metadata.name>`. Each token gets `-<uid8>-<serial>` on top, because a
    /// replaced token needs a new name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 180), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    pub name: Option<String>,

    /// Lifetime of each token in seconds, at least 60. Omit it for a token that never
    /// expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 316_224_000), extend("format" = "int64"))]
    pub seconds_to_live: Option<u64>,

    /// Replacement before expiry, with an overlap so that running clients never see a dead
    /// token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<TokenRotation>,

    /// Name of the Secret that receives the token. Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub secret_name: Option<String>,

    /// Extra labels, annotations and data for the Secret, rendered as Jinja templates with
    /// `token`, `tokenName`, `serviceAccountId`, `orgSlug`, and the account's stack as
    /// `stack.slug`, `stack.url`, `stack.id` and `stack.endpoints.<service>.url` /
    /// `.userId`. The Secret always holds `token`, `url` (the stack's Grafana) and
    /// `serviceAccountId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<SecretTemplate>,

    /// What happens to the tokens when this resource is deleted: `Delete` (the default) or
    /// `Retain`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

//! The `GrafanaCloudAccessPolicyToken` kind.

// The CustomResource derive expands each printcolumn into attributes that clippy reads as
// duplicates.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{DeletionPolicy, SecretTemplate, TokenRotation, TokenStatus};

/// A token of a `GrafanaCloudAccessPolicy`, written into a Secret with everything a client
/// needs to use it: the region and, with `secretTemplate.stackRef`, the stack's URLs and
/// user ids for Prometheus remote write, Loki, Tempo, Profiles and OTLP.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "grafanacloud.operator.dev",
    version = "v1alpha1",
    kind = "GrafanaCloudAccessPolicyToken",
    doc = "A Grafana Cloud access-policy token managed by grafana-cloud-operator, in a Secret.",
    namespaced,
    status = "TokenStatus",
    shortname = "gtoken",
    category = "grafanacloud",
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.policyRef"),
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
    validation = Rule::new("!has(self.rotation) || has(self.expiresAfter)")
        .message("rotation needs expiresAfter"),
    validation = Rule::new("!has(self.rotation) || !has(self.expiresAfter) || duration(self.rotation.renewBefore).getSeconds() + 30 <= duration(self.expiresAfter).getSeconds()")
        .message("rotation.renewBefore must be at least 30s shorter than expiresAfter, so that a token lives 30s before it is replaced"),
    validation = Rule::new("!has(self.rotation) || !has(self.rotation.keepPrevious) || duration(self.rotation.keepPrevious).getSeconds() <= duration(self.rotation.renewBefore).getSeconds()")
        .message("rotation.keepPrevious must not be longer than rotation.renewBefore: the previous token must still work while it is kept")
)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaCloudAccessPolicyTokenSpec {
    /// Name of a GrafanaCloudAccessPolicy in this namespace. The token waits until it is
    /// Ready, and lives in its region. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("policyRef is immutable"))]
    pub policy_ref: String,

    /// Base of the token names at grafana.com: lowercase letters, digits and dashes.
    /// Defaults to `<namespace>-<metadata.name>`. Each token gets `-<uid8>-<serial>` on top,
    /// because token names are unique per organisation and a replaced token needs a new
    /// one. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 180), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    pub name: Option<String>,

    /// Lifetime of each token, as a duration such as `720h`, at least `1m`. Omit it for a
    /// token that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(s|m|h))+$"), length(max = 32))]
    pub expires_after: Option<String>,

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
    /// `token`, `tokenName`, `region`, `orgSlug`, and, with `stackRef` (a GrafanaStack in
    /// this namespace), `stack.slug`, `stack.url`, `stack.id` and
    /// `stack.endpoints.<service>.url` / `.userId` for `prometheus`, `loki`, `tempo`,
    /// `profiles`, `otlp`, `alertmanager` and `graphite`. With `stackRef`, the Secret also
    /// always holds `url`, `prometheusUrl`, `prometheusRemoteWriteUrl`, `prometheusUserId`,
    /// `lokiUrl`, `lokiUserId`, `tempoUrl`, `tempoUserId`, `profilesUrl`, `profilesUserId`,
    /// `otlpUrl` and `otlpUserId` where the stack has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<SecretTemplate>,

    /// What happens to the tokens at grafana.com when this resource is deleted: `Delete`
    /// (the default) or `Retain`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

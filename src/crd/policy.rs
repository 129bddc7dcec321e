//! The `GrafanaCloudAccessPolicy` kind.

// The CustomResource derive expands each printcolumn into attributes that clippy reads as
// duplicates.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{CredentialsRef, DeletionPolicy};

/// A Grafana Cloud access policy: which services (`scopes`) a token may use, on which
/// stacks or on the whole organisation (`realms`). Tokens come from
/// `GrafanaCloudAccessPolicyToken` resources that name this policy.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "grafanacloud.operator.dev",
    version = "v1alpha1",
    kind = "GrafanaCloudAccessPolicy",
    doc = "A Grafana Cloud access policy managed by grafana-cloud-operator.",
    namespaced,
    status = "GrafanaCloudAccessPolicyStatus",
    shortname = "gpolicy",
    category = "grafanacloud",
    printcolumn(name = "Region", type_ = "string", json_path = ".status.region"),
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
    validation = Rule::new("has(self.region) == has(oldSelf.region)").message("region is immutable"),
    validation = Rule::new("has(self.region) || self.realms.exists(r, r.type == 'stack')")
        .message("region is required when no realm is a stack")
)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaCloudAccessPolicySpec {
    /// Name of the policy at grafana.com: lowercase letters, digits and dashes. Defaults to
    /// `<namespace>-<metadata.name>`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    pub name: Option<String>,

    /// Human-readable name shown in the Grafana Cloud console. Defaults to the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub display_name: Option<String>,

    /// Region the policy lives in, such as `prod-us-east-0`. Defaults to the region of the
    /// first stack realm's GrafanaStack; required when every realm is `org`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable"))]
    pub region: Option<String>,

    /// Where the policy's tokens work: the organisation, or stacks by their GrafanaStack in
    /// this namespace. The operator fills in the org id and the stack ids.
    #[schemars(length(min = 1, max = 16))]
    pub realms: Vec<RealmSpec>,

    /// What the policy's tokens may do, as `service:permission`, for example `metrics:write`,
    /// `logs:write`, `traces:write`, `profiles:write` or `metrics:read`. Checked against the
    /// scopes grafana.com lists for the region.
    #[schemars(
        length(min = 1, max = 64),
        inner(regex(pattern = r"^[a-z0-9-]+:[a-z0-9-]+$"), length(max = 128))
    )]
    pub scopes: Vec<String>,

    /// IP ranges (CIDR) the policy's tokens may be used from. Empty: anywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(min = 1, max = 64)))]
    pub allowed_subnets: Vec<String>,

    /// What happens to the policy at grafana.com when this resource is deleted: `Delete`
    /// (the default; its tokens go with it) or `Retain`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// The grafana.com API token used to manage the policy (it needs
    /// `accesspolicies:read`, `accesspolicies:write` and `accesspolicies:delete`). When
    /// omitted, the operator's default credentials are used, but only in namespaces its
    /// namespace selector matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsRef>,
}

/// One realm of an access policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type == 'org' ? !has(self.stackRef) : has(self.stackRef)")
        .message("a stack realm needs stackRef, and an org realm must not have one")
)]
pub struct RealmSpec {
    /// `org` (the whole organisation) or `stack`.
    #[serde(rename = "type")]
    pub type_: RealmType,
    /// For a stack realm: the name of a GrafanaStack in this namespace. The policy waits
    /// until it is Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub stack_ref: Option<String>,
    /// Label selectors that narrow what the tokens may read, for example
    /// `{env="prod"}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub label_policies: Vec<LabelPolicySpec>,
}

/// Kind of realm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RealmType {
    /// The whole organisation.
    Org,
    /// One stack.
    Stack,
}

impl RealmType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Stack => "stack",
        }
    }
}

/// A label selector of a realm.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
pub struct LabelPolicySpec {
    /// A Prometheus-style selector, for example `{env="prod"}`.
    #[schemars(length(min = 1, max = 1024))]
    pub selector: String,
}

/// Observed state of a `GrafanaCloudAccessPolicy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaCloudAccessPolicyStatus {
    /// Current conditions. `Ready` is always present; when it is False its reason says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Id of the policy at grafana.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of the policy at grafana.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Id of the organisation that owns the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// Region the policy lives in; its tokens live there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// When the operator recorded its claim on `name`, right before its create call
    /// (RFC 3339). After a crash between the create and the status write, a policy of that
    /// name created around then is adopted; any other is never touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
}

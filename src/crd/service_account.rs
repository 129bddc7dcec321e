//! The `GrafanaStackServiceAccount` kind.

// The CustomResource derive expands each printcolumn into attributes that clippy reads as
// duplicates.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{CredentialsRef, DeletionPolicy};

/// A service account of a GrafanaStack's own Grafana, for its HTTP API. Tokens come from
/// `GrafanaStackServiceAccountToken` resources that name this account. Managed through the
/// grafana.com proxy with the grafana.com credentials.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "grafanacloud.operator.dev",
    version = "v1alpha1",
    kind = "GrafanaStackServiceAccount",
    doc = "A service account of a Grafana Cloud stack, managed by grafana-cloud-operator.",
    namespaced,
    status = "GrafanaStackServiceAccountStatus",
    shortname = "gsa",
    category = "grafanacloud",
    printcolumn(name = "Stack", type_ = "string", json_path = ".spec.stackRef"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
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
    validation = Rule::new("has(self.isDisabled) == has(oldSelf.isDisabled)")
        .message("isDisabled is immutable")
)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaStackServiceAccountSpec {
    /// Name of a GrafanaStack in this namespace. The account waits until it is Ready.
    /// Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("stackRef is immutable"))]
    pub stack_ref: String,

    /// Name of the service account in the stack's Grafana. Defaults to
    /// `<namespace>-<metadata.name>`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 190),
        regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    )]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    pub name: Option<String>,

    /// The account's role in the stack's Grafana organisation: `Viewer`, `Editor`, `Admin`
    /// or `None`. Immutable: the grafana.com proxy does not allow changing an account, so a
    /// new role needs a new resource.
    #[x_kube(validation = Rule::new("self == oldSelf").message("role is immutable"))]
    pub role: ServiceAccountRole,

    /// Create the account disabled: its tokens do not authenticate. Immutable, for the same
    /// reason as `role`. Defaults to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("isDisabled is immutable"))]
    pub is_disabled: Option<bool>,

    /// What happens to the account when this resource is deleted: `Delete` (the default;
    /// its tokens go with it) or `Retain`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// The grafana.com API token used to manage the account (it needs `stacks:read` and
    /// `stack-service-accounts:write`). When omitted, the operator's default credentials
    /// are used, but only in namespaces its namespace selector matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsRef>,
}

/// Role of a service account in its stack's Grafana.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ServiceAccountRole {
    Viewer,
    Editor,
    Admin,
    /// No basic role: only what permissions grant it.
    None,
}

impl ServiceAccountRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Editor => "Editor",
            Self::Admin => "Admin",
            Self::None => "None",
        }
    }
}

/// Observed state of a `GrafanaStackServiceAccount`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaStackServiceAccountStatus {
    /// Current conditions. `Ready` is always present; when it is False its reason says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Id of the account in the stack's Grafana.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "int64"))]
    pub id: Option<u64>,
    /// The account's login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// Name of the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Slug of the stack the account lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_slug: Option<String>,
    /// When the operator recorded its claim on `name`, right before its create call
    /// (RFC 3339). After a crash between the create and the status write, an account of
    /// that name is adopted; without a claim, a same-named account is never touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
}

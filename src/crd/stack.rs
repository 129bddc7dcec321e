//! The `GrafanaStack` kind.

// The CustomResource derive expands each printcolumn into attributes that clippy reads as
// duplicates.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{CredentialsRef, DeletionPolicy};

/// A Grafana Cloud stack: a hosted Grafana with its Prometheus, Loki, Tempo, Alertmanager,
/// Graphite and Profiles endpoints.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "grafanacloud.operator.dev",
    version = "v1alpha1",
    kind = "GrafanaStack",
    doc = "A Grafana Cloud stack managed by grafana-cloud-operator.",
    namespaced,
    status = "GrafanaStackStatus",
    shortname = "gstack",
    category = "grafanacloud",
    printcolumn(name = "Slug", type_ = "string", json_path = ".spec.slug"),
    printcolumn(
        name = "Cloud Status",
        type_ = "string",
        json_path = ".status.cloudStatus"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.region) == has(oldSelf.region)").message("region is immutable"))]
#[serde(rename_all = "camelCase")]
pub struct GrafanaStackSpec {
    /// Subdomain of the stack: the stack is served at `https://<slug>.grafana.net`.
    /// Lowercase letters and digits, starting with a letter, at most 29 characters.
    /// Slugs are unique across all of Grafana Cloud. Immutable.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9]{0,28}$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("slug is immutable"))]
    pub slug: String,

    /// Display name of the stack. Defaults to `<slug>.grafana.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub name: Option<String>,

    /// Custom domain for the stack, for example `https://grafana.example.com`. Must be https,
    /// and its DNS must already have a CNAME to `<slug>.grafana.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https://[^\s/?#]+(/[^\s]*)?$"), length(max = 2048))]
    pub url: Option<String>,

    /// Region slug where the stack is created, for example `us` or `eu`. Defaults to the
    /// organisation's default region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable"))]
    pub region: Option<String>,

    /// Free-text description of the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,

    /// Labels set on the stack at grafana.com: at most 9, keys and values made of letters,
    /// digits and `/ - . _`. The operator adds its own ownership label on top of these, which
    /// makes 10, the most grafana.com allows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "labels_schema")]
    pub labels: BTreeMap<String, String>,

    /// What happens to the stack at grafana.com when this resource is deleted: `Delete`
    /// (the default) deletes it, `Retain` leaves it. Switching to `Retain` unblocks a delete
    /// that grafana.com refuses.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Whether grafana.com refuses to delete the stack. The operator turns protection on
    /// only once the stack is Ready, so that a stack whose provisioning failed can still be
    /// deleted, and sets it back when it is changed elsewhere. Deleting this resource with
    /// `deletionPolicy: Delete` still deletes the stack: the operator lifts protection first.
    /// With `Retain`, the stack keeps its protection.
    #[serde(default = "protect_by_default")]
    pub delete_protection: bool,

    /// Plugins to install on the stack, at most 50, each slug once. The operator installs
    /// them once the stack is Ready, moves them to the version asked for, and removes a
    /// plugin that it installed once it leaves this list. A plugin that someone else
    /// installed is never changed or removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["slug"]))]
    pub plugins: Vec<StackPlugin>,

    /// Names of provisioned data sources that the operator deletes from the stack,
    /// for example `grafanacloud-<slug>-usage-insights`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub remove_datasources: Vec<String>,

    /// How often the operator re-checks the stack once it is ready, as a duration such as
    /// `5m` or `1h30m`. Defaults to the operator's `--resync-interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub resync_interval: Option<String>,

    /// The grafana.com API token to use. When omitted, the operator's default credentials are
    /// used, but only in namespaces that its default-credentials namespace selector matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsRef>,
}

fn protect_by_default() -> bool {
    true
}

/// A plugin to install on a stack.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackPlugin {
    /// The plugin's slug at grafana.com, for example `grafana-clock-panel`.
    #[schemars(regex(pattern = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$"))]
    pub slug: String,
    /// The version to install, for example `2.1.5`. When omitted, the latest: the operator
    /// moves the plugin to each new release it sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z0-9][a-zA-Z0-9.+_-]{0,63}$"))]
    pub version: Option<String>,
}

/// Observed state of a `GrafanaStack`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaStackStatus {
    /// Current conditions. `Ready` is always present; when it is False its reason says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Numeric id of the stack at grafana.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "int64"))]
    pub id: Option<u64>,
    /// Slug of the organisation that owns the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_slug: Option<String>,
    /// URL of the stack's Grafana.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Status reported by grafana.com, for example `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_status: Option<String>,
    /// Region the stack runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_slug: Option<String>,
    /// Endpoints of the stack's hosted services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<StackEndpoints>,
    /// Provisioned data sources currently in the stack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasources: Vec<DatasourceStatus>,
    /// Whether grafana.com protects the stack from deletion, as last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_protection: Option<bool>,
    /// The stack's further endpoints, from grafana.com's connections of the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<StackConnections>,
    /// The plugins of `spec.plugins` found on the stack, and those this resource installed,
    /// each with its installed version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginStatus>,
    /// When the operator last read the stack's plugins and connections (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_checked_at: Option<String>,
    /// Value of the restart annotation that the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart_request: Option<String>,
    /// True when the operator created the stack or adopted it explicitly; only managed stacks
    /// are ever updated or deleted.
    #[serde(default)]
    pub managed: bool,
    /// When the operator first asked grafana.com to create the stack, recorded before the
    /// call. A resource deleted without it and without an `id` never reached grafana.com, so
    /// its finalizer goes at once, without any call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_attempted_at: Option<String>,
}

/// Hosted service endpoints of a stack.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackEndpoints {
    /// Hosted Prometheus (Mimir) metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<Endpoint>,
    /// Hosted Loki logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loki: Option<Endpoint>,
    /// Hosted Tempo traces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo: Option<Endpoint>,
    /// Hosted Alertmanager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<Endpoint>,
    /// Hosted Graphite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphite: Option<Endpoint>,
    /// Hosted Profiles (Pyroscope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Endpoint>,
}

/// One hosted service endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// Base URL of the service.
    pub url: String,
    /// User or instance id to authenticate with (the basic-auth user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "int64"))]
    pub user_id: Option<u64>,
}

/// A stack's endpoints beyond its hosted services, as grafana.com lists them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackConnections {
    /// OTLP over HTTP, for OpenTelemetry collectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_http_url: Option<String>,
    /// InfluxDB line protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influx_url: Option<String>,
    /// Grafana OnCall's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oncall_api_url: Option<String>,
    /// Synthetic Monitoring's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic_monitoring_api_url: Option<String>,
    /// The stack's app platform API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_platform_url: Option<String>,
}

/// A plugin on a stack.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginStatus {
    /// The plugin's slug.
    pub slug: String,
    /// The installed version; absent while an install is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// True when this resource installed the plugin: only such plugins are changed or
    /// removed.
    #[serde(default)]
    pub managed: bool,
}

/// A provisioned data source of a stack.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceStatus {
    /// Data source id.
    #[schemars(extend("format" = "int64"))]
    pub id: u64,
    /// Data source name.
    pub name: String,
    /// Data source type, for example `prometheus`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// Schema of `spec.labels`: grafana.com accepts at most 10 labels whose keys and values are
/// letters, digits and `/ - . _`, and one of them is the operator's ownership label.
fn labels_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": 9,
        "additionalProperties": {
            "type": "string",
            "minLength": 1,
            "maxLength": 63,
            "pattern": "^[a-zA-Z0-9/\\-._]+$"
        },
        "x-kubernetes-validations": [{
            "rule": "self.all(k, size(k) <= 63 && k.matches('^[a-zA-Z0-9/\\\\-._]+$'))",
            "message": "label keys must be 1-63 characters of letters, digits and / - . _"
        }]
    })
}

//! Custom resource types: the user-facing API of the operator.
//!
//! The `///` comments on every field are the reference text users read with `kubectl explain`.

mod apikey;
mod common;
mod policy;
mod policy_token;
mod service_account;
mod service_account_token;
mod stack;
mod token;

pub use apikey::*;
pub use common::*;
pub use policy::*;
pub use policy_token::*;
pub use service_account::*;
pub use service_account_token::*;
pub use stack::*;
pub use token::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every kind this operator serves.
pub const GROUP: &str = "grafanacloud.operator.dev";

/// Annotation that allows the operator to take over a stack it did not create.
pub const ADOPT_ANNOTATION: &str = "grafanacloud.operator.dev/adopt";
/// Annotation whose every new value triggers exactly one stack restart.
pub const RESTART_ANNOTATION: &str = "grafanacloud.operator.dev/restart-requested-at";
/// Finalizer that guards remote cleanup.
pub const FINALIZER: &str = "grafanacloud.operator.dev/cleanup";
/// Label put on every Secret the operator writes.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "grafana-cloud-operator";
/// Label (on grafana.com stacks) that records which resource created the stack.
pub const OWNER_LABEL: &str = "grafanacloud.operator.dev/owner-uid";

/// Every CRD the operator serves, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        GrafanaStack::crd(),
        GrafanaCloudApiKey::crd(),
        GrafanaCloudAccessPolicy::crd(),
        GrafanaCloudAccessPolicyToken::crd(),
        GrafanaStackServiceAccount::crd(),
        GrafanaStackServiceAccountToken::crd(),
    ]
}

/// File name (inside `crds/`) and YAML for every CRD.
pub fn rendered() -> Result<Vec<(String, String)>, serde_saphyr::SerializeError> {
    all()
        .into_iter()
        .map(|crd| {
            let file = format!("{}.yaml", crd.spec.names.plural);
            crate::yaml::to_string(&crd).map(|yaml| (file, yaml))
        })
        .collect()
}

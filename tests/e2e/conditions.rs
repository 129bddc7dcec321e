//! Checks on the Ready condition that every kind's tests share.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// A custom resource with a status that carries conditions.
pub trait Conditioned {
    fn conditions(&self) -> &[Condition];
}

macro_rules! conditioned {
    ($($kind:ty),+) => {$(
        impl Conditioned for $kind {
            fn conditions(&self) -> &[Condition] {
                self.status.as_ref().map_or(&[], |s| &s.conditions)
            }
        }
    )+};
}

conditioned!(
    grafana_cloud_operator::crd::GrafanaStack,
    grafana_cloud_operator::crd::GrafanaCloudApiKey,
    grafana_cloud_operator::crd::GrafanaCloudAccessPolicy,
    grafana_cloud_operator::crd::GrafanaCloudAccessPolicyToken,
    grafana_cloud_operator::crd::GrafanaStackServiceAccount,
    grafana_cloud_operator::crd::GrafanaStackServiceAccountToken
);

/// Whether the resource is Ready.
pub fn is_ready<K: Conditioned>(obj: &K) -> bool {
    ready_of(obj.conditions()).is_some_and(|(status, _)| status == "True")
}

/// A check that the Ready condition has `reason`.
pub fn has_reason<K: Conditioned>(reason: &'static str) -> impl Fn(&K) -> bool {
    move |obj| ready_of(obj.conditions()).is_some_and(|(_, r)| r == reason)
}

/// The Ready condition's message, or "" without one.
pub fn ready_message<K: Conditioned>(obj: &K) -> String {
    obj.conditions()
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// The Ready condition's `(status, reason)`, if present.
pub fn ready_of(conditions: &[Condition]) -> Option<(String, String)> {
    conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

//! The pure decisions of the service account controller: its name, and what differs from
//! the spec in a way the grafana.com proxy cannot change.

use kube::ResourceExt;

use crate::{crd::GrafanaStackServiceAccount, grafana::ServiceAccount};

/// `spec.name`, or `<namespace>-<metadata.name>`.
pub fn account_name(obj: &GrafanaStackServiceAccount) -> String {
    obj.spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

/// Whether the spec wants the account disabled.
pub fn disabled(obj: &GrafanaStackServiceAccount) -> bool {
    obj.spec.is_disabled.unwrap_or(false)
}

/// What the account in Grafana has that the spec does not: the proxy refuses changes to an
/// account, so this is reported, never corrected.
pub fn drift(obj: &GrafanaStackServiceAccount, remote: &ServiceAccount) -> Vec<String> {
    let mut drift = Vec::new();
    let role = obj.spec.role.as_str();
    if !remote.role.is_empty() && remote.role != role {
        drift.push(format!("its role is {} (spec: {role})", remote.role));
    }
    if remote.is_disabled != disabled(obj) {
        let state = |d: bool| if d { "disabled" } else { "enabled" };
        drift.push(format!(
            "it is {} (spec: {})",
            state(remote.is_disabled),
            state(disabled(obj))
        ));
    }
    drift
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn account(spec: serde_json::Value) -> GrafanaStackServiceAccount {
        serde_json::from_value(json!({
            "apiVersion": "grafanacloud.operator.dev/v1alpha1",
            "kind": "GrafanaStackServiceAccount",
            "metadata": {"name": "ci", "namespace": "team-a"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn remote(role: &str, is_disabled: bool) -> ServiceAccount {
        serde_json::from_value(json!({
            "id": 7, "name": "team-a-ci", "login": "sa-team-a-ci", "role": role,
            "isDisabled": is_disabled,
        }))
        .unwrap()
    }

    #[test]
    fn the_name_defaults_to_namespace_and_name() {
        let obj = account(json!({"stackRef": "s", "role": "Editor"}));
        assert_eq!(account_name(&obj), "team-a-ci");
        let named = account(json!({"stackRef": "s", "role": "Editor", "name": "deployer"}));
        assert_eq!(account_name(&named), "deployer");
    }

    #[test]
    fn drift_names_the_role_and_the_disabled_state() {
        let obj = account(json!({"stackRef": "s", "role": "Editor"}));
        assert!(drift(&obj, &remote("Editor", false)).is_empty());
        assert_eq!(
            drift(&obj, &remote("Admin", true)),
            vec![
                "its role is Admin (spec: Editor)".to_string(),
                "it is disabled (spec: enabled)".to_string()
            ]
        );
    }
}

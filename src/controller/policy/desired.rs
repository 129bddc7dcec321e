//! The pure decisions of the access policy controller: the remote name, the body to send,
//! whether the remote policy drifted, and whether a same-named policy is this resource's.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::{
    controller::claims::{CLAIM_WINDOW, CLOCK_SKEW},
    crd::GrafanaCloudAccessPolicy,
    grafana::{AccessPolicy, LabelPolicy, PolicyBody, PolicyConditions, PolicyRealm},
};

/// The policy's name at grafana.com: `spec.name`, or `<namespace>-<metadata.name>`.
pub fn policy_name(obj: &GrafanaCloudAccessPolicy) -> String {
    obj.spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

/// A realm with its identifier resolved: the org id, or the stack id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRealm {
    pub kind: &'static str,
    pub identifier: String,
    pub label_policies: Vec<String>,
}

/// What the policy should be at grafana.com. Scopes and subnets are sorted and deduplicated,
/// so that order in the spec causes no update.
pub fn body(obj: &GrafanaCloudAccessPolicy, name: &str, realms: &[ResolvedRealm]) -> PolicyBody {
    let mut scopes = obj.spec.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let mut subnets = obj.spec.allowed_subnets.clone();
    subnets.sort();
    subnets.dedup();
    PolicyBody {
        name: Some(name.to_string()),
        display_name: obj
            .spec
            .display_name
            .clone()
            .unwrap_or_else(|| name.to_string()),
        scopes,
        realms: realms
            .iter()
            .map(|r| PolicyRealm {
                kind: r.kind.to_string(),
                identifier: r.identifier.clone(),
                label_policies: r
                    .label_policies
                    .iter()
                    .map(|selector| LabelPolicy {
                        selector: selector.clone(),
                    })
                    .collect(),
            })
            .collect(),
        conditions: PolicyConditions {
            allowed_subnets: subnets,
        },
    }
}

/// Whether the remote policy differs from `desired` in anything an update sets.
pub fn drifted(remote: &AccessPolicy, desired: &PolicyBody) -> bool {
    let sorted = |items: &[String]| {
        let mut items = items.to_vec();
        items.sort();
        items.dedup();
        items
    };
    remote.display_name != desired.display_name
        || sorted(&remote.scopes) != desired.scopes
        || remote.realms != desired.realms
        || sorted(remote.allowed_subnets()) != desired.conditions.allowed_subnets
}

/// Whether `remote` (of this resource's name) is this resource's own: the policy whose id
/// status records, or one created while the claim recorded before a create was open (a
/// crash between the create and the status write). Anything else is somebody else's.
pub fn owns_remote(
    remote: &AccessPolicy,
    known_id: Option<&str>,
    claimed_at: Option<&str>,
) -> bool {
    if known_id == Some(remote.id.as_str()) {
        return true;
    }
    let Some(at) = claimed_at.and_then(|t| t.parse::<Timestamp>().ok()) else {
        return false;
    };
    let created = remote
        .created_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    match created {
        Some(created) => {
            let earliest = at.checked_sub(CLOCK_SKEW).unwrap_or(at);
            let latest = at.checked_add(CLAIM_WINDOW).unwrap_or(at);
            created >= earliest && created <= latest
        }
        None => true,
    }
}

/// The scopes of `wanted` that the region's list does not offer.
pub fn unknown_scopes<'a>(wanted: &'a [String], offered: &[String]) -> Vec<&'a str> {
    wanted
        .iter()
        .filter(|s| !offered.contains(s))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(spec: serde_json::Value) -> GrafanaCloudAccessPolicy {
        serde_json::from_value(json!({
            "apiVersion": "grafanacloud.operator.dev/v1alpha1",
            "kind": "GrafanaCloudAccessPolicy",
            "metadata": {"name": "writers", "namespace": "team-a"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn remote(created_at: &str) -> AccessPolicy {
        serde_json::from_value(json!({
            "id": "p-1", "name": "team-a-writers", "displayName": "team-a-writers",
            "scopes": ["metrics:write", "logs:write"],
            "realms": [{"type": "stack", "identifier": "7", "labelPolicies": []}],
            "createdAt": created_at,
        }))
        .unwrap()
    }

    fn stack_realm() -> Vec<ResolvedRealm> {
        vec![ResolvedRealm {
            kind: "stack",
            identifier: "7".into(),
            label_policies: Vec::new(),
        }]
    }

    #[test]
    fn the_body_is_sorted_so_spec_order_causes_no_update() {
        let obj = policy(json!({
            "realms": [{"type": "stack", "stackRef": "main"}],
            "scopes": ["metrics:write", "logs:write", "metrics:write"],
        }));
        let name = policy_name(&obj);
        assert_eq!(name, "team-a-writers");
        let body = body(&obj, &name, &stack_realm());
        assert_eq!(body.scopes, ["logs:write", "metrics:write"]);
        assert!(!drifted(&remote("2026-01-01T00:00:00Z"), &body));

        let wider = policy(json!({
            "realms": [{"type": "stack", "stackRef": "main"}],
            "scopes": ["metrics:write", "logs:write", "traces:write"],
        }));
        let body = super::body(&wider, &name, &stack_realm());
        assert!(drifted(&remote("2026-01-01T00:00:00Z"), &body));
    }

    #[test]
    fn a_same_named_policy_is_ours_only_by_id_or_an_open_claim() {
        let remote = remote("2026-06-01T12:00:30Z");
        assert!(owns_remote(&remote, Some("p-1"), None));
        assert!(
            !owns_remote(&remote, Some("p-2"), None),
            "another id, no claim"
        );
        assert!(
            !owns_remote(&remote, None, None),
            "no claim: somebody else's"
        );
        assert!(owns_remote(&remote, None, Some("2026-06-01T12:00:00Z")));
        assert!(
            !owns_remote(&remote, None, Some("2026-06-02T12:00:00Z")),
            "created a day before the claim"
        );
    }

    #[test]
    fn scopes_the_region_does_not_offer_are_named() {
        let wanted = vec![
            "metrics:write".to_string(),
            "stack-service-accounts:read".into(),
        ];
        let offered = vec!["metrics:write".to_string()];
        assert_eq!(
            unknown_scopes(&wanted, &offered),
            ["stack-service-accounts:read"]
        );
    }
}

//! The rendered RBAC grants exactly the verbs the operator uses, and nothing cluster-wide
//! when it watches specific namespaces.

use std::collections::BTreeSet;

use serde_json::Value;

use super::support::{NAMESPACE, all_of, kind, name, namespace, one_of, render, strings};

/// One permission: (api group, resource, verb, resource name or "").
type Grant = (String, String, String, String);

fn grants(role: &Value) -> BTreeSet<Grant> {
    let mut set = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        let names = strings(&rule["resourceNames"]);
        let names = if names.is_empty() {
            vec![String::new()]
        } else {
            names
        };
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    for resource_name in &names {
                        set.insert((
                            group.clone(),
                            resource.clone(),
                            verb.clone(),
                            resource_name.clone(),
                        ));
                    }
                }
            }
        }
    }
    set
}

fn expand(group: &str, resources: &[&str], verbs: &[&str]) -> Vec<Grant> {
    let mut out = Vec::new();
    for resource in resources {
        for verb in verbs {
            out.push((
                group.to_owned(),
                (*resource).to_owned(),
                (*verb).to_owned(),
                String::new(),
            ));
        }
    }
    out
}

/// What the operator needs in every namespace it watches.
fn namespaced_grants() -> BTreeSet<Grant> {
    let group = "grafanacloud.operator.dev";
    let kinds = [
        "grafanastacks",
        "grafanacloudapikeys",
        "grafanacloudaccesspolicies",
        "grafanacloudaccesspolicytokens",
        "grafanastackserviceaccounts",
        "grafanastackserviceaccounttokens",
    ];
    let status = kinds.map(|kind| format!("{kind}/status"));
    let finalizers = kinds.map(|kind| format!("{kind}/finalizers"));
    let status: Vec<&str> = status.iter().map(String::as_str).collect();
    let finalizers: Vec<&str> = finalizers.iter().map(String::as_str).collect();
    [
        expand(group, &kinds, &["get", "list", "watch", "patch"]),
        expand(group, &status, &["patch"]),
        expand(group, &finalizers, &["update"]),
        expand(
            "",
            &["secrets"],
            &["get", "list", "watch", "create", "update", "delete"],
        ),
        expand("", &["events"], &["create", "patch"]),
        expand("events.k8s.io", &["events"], &["create", "patch"]),
    ]
    .concat()
    .into_iter()
    .collect()
}

fn namespace_read_grants() -> BTreeSet<Grant> {
    expand("", &["namespaces"], &["get", "list", "watch"])
        .into_iter()
        .collect()
}

/// The subject of a binding must be the operator's ServiceAccount in the release namespace.
fn assert_binds_operator(binding: &Value, role_kind: &str, role_name: &str) {
    assert_eq!(binding["roleRef"]["kind"].as_str(), Some(role_kind));
    assert_eq!(binding["roleRef"]["name"].as_str(), Some(role_name));
    let subjects = binding["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["kind"].as_str(), Some("ServiceAccount"));
    assert_eq!(
        subjects[0]["name"].as_str(),
        Some("gco-grafana-cloud-operator")
    );
    assert_eq!(subjects[0]["namespace"].as_str(), Some(NAMESPACE));
}

fn binding_for<'a>(docs: &'a [Value], binding_kind: &str, role: &Value) -> &'a Value {
    docs.iter()
        .find(|doc| {
            kind(doc) == binding_kind
                && name(doc) == name(role)
                && namespace(doc) == namespace(role)
        })
        .unwrap_or_else(|| panic!("no {binding_kind} for {}", name(role)))
}

#[test]
fn cluster_wide_mode_grants_exactly_the_verbs_the_operator_uses() {
    let docs = render(None, &[]);
    let cluster_role = one_of(&docs, "ClusterRole");
    let mut expected = namespaced_grants();
    expected.extend(namespace_read_grants());
    assert_eq!(grants(cluster_role), expected);
    assert_binds_operator(
        binding_for(&docs, "ClusterRoleBinding", cluster_role),
        "ClusterRole",
        name(cluster_role),
    );
}

#[test]
fn leases_are_only_granted_in_the_release_namespace_for_the_operators_lease() {
    let docs = render(None, &[]);
    let role = one_of(&docs, "Role");
    assert_eq!(namespace(role), NAMESPACE);
    let lease = |verb: &str, resource_name: &str| {
        (
            "coordination.k8s.io".to_owned(),
            "leases".to_owned(),
            verb.to_owned(),
            resource_name.to_owned(),
        )
    };
    let expected: BTreeSet<Grant> = [
        lease("create", ""),
        lease("get", "gco-grafana-cloud-operator"),
        lease("patch", "gco-grafana-cloud-operator"),
    ]
    .into_iter()
    .collect();
    assert_eq!(grants(role), expected);
    assert_binds_operator(binding_for(&docs, "RoleBinding", role), "Role", name(role));
}

#[test]
fn namespaced_mode_grants_roles_in_watched_namespaces_only() {
    let docs = render(Some("ci/namespaced-values.yaml"), &[]);
    assert!(
        all_of(&docs, "ClusterRole").is_empty(),
        "namespaced mode must not create a ClusterRole"
    );
    assert!(all_of(&docs, "ClusterRoleBinding").is_empty());

    let roles: Vec<&Value> = all_of(&docs, "Role")
        .into_iter()
        .filter(|role| !name(role).ends_with("-leader-election"))
        .collect();
    let namespaces: BTreeSet<&str> = roles.iter().map(|role| namespace(role)).collect();
    assert_eq!(namespaces, BTreeSet::from(["team-a", "team-b"]));
    for role in roles {
        assert_eq!(
            grants(role),
            namespaced_grants(),
            "role in {}",
            namespace(role)
        );
        assert_binds_operator(binding_for(&docs, "RoleBinding", role), "Role", name(role));
    }
}

#[test]
fn namespaced_default_credentials_add_only_namespace_reads_and_the_secret_namespace() {
    let docs = render(Some("ci/default-credentials-values.yaml"), &[]);
    let cluster_role = one_of(&docs, "ClusterRole");
    assert_eq!(
        grants(cluster_role),
        namespace_read_grants(),
        "only namespaces may be cluster-wide"
    );

    let secret_reader = all_of(&docs, "Role")
        .into_iter()
        .find(|role| name(role).ends_with("-default-credentials"))
        .expect("a Role to read the default credentials Secret");
    assert_eq!(namespace(secret_reader), NAMESPACE);
    let read_only: BTreeSet<Grant> = expand("", &["secrets"], &["get", "list", "watch"])
        .into_iter()
        .collect();
    assert_eq!(grants(secret_reader), read_only);
    assert_binds_operator(
        binding_for(&docs, "RoleBinding", secret_reader),
        "Role",
        name(secret_reader),
    );
}

#[test]
fn default_credentials_in_a_watched_namespace_need_no_extra_role() {
    let docs = render(
        Some("ci/default-credentials-values.yaml"),
        &["defaultCredentials.secretNamespace=team-a"],
    );
    assert!(
        !all_of(&docs, "Role")
            .iter()
            .any(|role| name(role).ends_with("-default-credentials"))
    );
    let args = super::support::operator_args(&docs);
    assert!(
        args.iter()
            .any(|arg| arg == "--default-credentials-secret=team-a/grafana-cloud-default")
    );
}

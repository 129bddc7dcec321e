//! The chart's RBAC on a real kube-apiserver: the operator's ServiceAccount, with a real
//! token, may do exactly what the operator needs, and nothing cluster-wide when it watches
//! specific namespaces.

use std::path::{Path, PathBuf};

use testenv::ControlPlane;

use super::{
    cluster::{apply_crds, kubectl, kubectl_as, start_control_plane},
    support::{NAMESPACE, helm_template, run, run_ok, run_with_stdin},
};

/// The operator's ServiceAccount in the test release.
const SERVICE_ACCOUNT: &str = "gco-grafana-cloud-operator";

/// Applies the chart rendered with `values_file` for real, and returns a kubeconfig that
/// authenticates with a token of its ServiceAccount.
pub async fn install_chart_rbac(
    control_plane: &ControlPlane,
    values_file: Option<&str>,
) -> PathBuf {
    apply_crds(control_plane).await;
    let rendered = helm_template(values_file, &[]);
    assert!(
        rendered.success,
        "helm template failed:\n{}",
        rendered.stderr
    );
    let output = run_with_stdin(
        &mut kubectl(control_plane, &["apply", "-f", "-"]),
        &rendered.stdout,
    );
    assert!(
        output.success,
        "applying the rendered chart failed:\n{}",
        output.stderr
    );
    control_plane
        .service_account_kubeconfig(NAMESPACE, SERVICE_ACCOUNT)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Asks the API server, as the ServiceAccount, whether each access is allowed, and checks the
/// answer. Each check reads `yes|no VERB GROUP RESOURCE[/SUBRESOURCE] NAMESPACE|* [NAME]`,
/// with `core` for the core group. A SelfSubjectAccessReview needs no discovery, so it also
/// works before the CRDs exist.
fn assert_access(kubeconfig: &Path, checks: &[&str]) {
    for check in checks {
        let fields: Vec<&str> = check.split_whitespace().collect();
        let [expected, verb, group, resource, namespace, rest @ ..] = fields.as_slice() else {
            panic!("malformed check {check:?}");
        };
        let group = if *group == "core" { "" } else { group };
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        let namespace = if *namespace == "*" { "" } else { namespace };
        let name = rest.first().copied().unwrap_or_default();
        let review = format!(
            "apiVersion: authorization.k8s.io/v1\nkind: SelfSubjectAccessReview\nspec:\n  \
             resourceAttributes:\n    verb: {verb}\n    group: \"{group}\"\n    resource: {resource}\n    \
             subresource: \"{subresource}\"\n    namespace: \"{namespace}\"\n    name: \"{name}\"\n"
        );
        let output = run_with_stdin(
            &mut kubectl_as(
                kubeconfig,
                &[
                    "create",
                    "--validate=false",
                    "-f",
                    "-",
                    "-o",
                    "jsonpath={.status.allowed}",
                ],
            ),
            &review,
        );
        assert!(
            output.success,
            "access review {check:?} failed:\n{}",
            output.stderr
        );
        let allowed = output.stdout.trim() == "true";
        assert_eq!(allowed, *expected == "yes", "access check failed: {check}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_service_account_cannot_list_secrets_cluster_wide() {
    let control_plane = start_control_plane().await;
    let account = install_chart_rbac(&control_plane, Some("ci/namespaced-values.yaml")).await;

    let output = run(&mut kubectl_as(
        &account,
        &["get", "secrets", "--all-namespaces"],
    ));
    assert!(
        !output.success,
        "the ServiceAccount listed Secrets cluster-wide"
    );
    assert!(
        output
            .stderr
            .contains("cannot list resource \"secrets\" in API group \"\" at the cluster scope"),
        "unexpected error:\n{}",
        output.stderr
    );
    run_ok(&mut kubectl_as(
        &account,
        &["get", "secrets", "--namespace", "team-a"],
    ));

    assert_access(
        &account,
        &[
            "no  list   core secrets *",
            "yes list   core secrets team-a",
            "yes create core secrets team-b",
            "yes delete core secrets team-b",
            "no  get    core secrets default",
            "no  get    core secrets gco-system",
            "yes watch  grafanacloud.operator.dev grafanastacks team-a",
            "no  list   grafanacloud.operator.dev grafanastacks *",
            "yes patch  grafanacloud.operator.dev grafanastacks/status team-a",
            "yes update grafanacloud.operator.dev grafanacloudapikeys/finalizers team-b",
            "no  create grafanacloud.operator.dev grafanastacks team-a",
            "no  delete grafanacloud.operator.dev grafanacloudapikeys team-a",
            "no  get    grafanacloud.operator.dev grafanastacks default",
            "yes create events.k8s.io events team-a",
            "no  create events.k8s.io events default",
            "no  list   core namespaces *",
            "no  create core pods team-a",
            // Leases: only its own, only in the release namespace.
            "yes create coordination.k8s.io leases gco-system",
            "yes get    coordination.k8s.io leases gco-system gco-grafana-cloud-operator",
            "yes patch  coordination.k8s.io leases gco-system gco-grafana-cloud-operator",
            "no  update coordination.k8s.io leases gco-system gco-grafana-cloud-operator",
            "no  patch  coordination.k8s.io leases gco-system another-lease",
            "no  delete coordination.k8s.io leases gco-system gco-grafana-cloud-operator",
            "no  create coordination.k8s.io leases team-a",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_default_credentials_add_namespace_reads_and_the_secret_only() {
    let control_plane = start_control_plane().await;
    let account =
        install_chart_rbac(&control_plane, Some("ci/default-credentials-values.yaml")).await;
    assert_access(
        &account,
        &[
            "yes list   core namespaces *",
            "no  update core namespaces *",
            "yes get    core secrets gco-system grafana-cloud-default",
            "yes watch  core secrets gco-system",
            "no  create core secrets gco-system",
            "no  update core secrets gco-system grafana-cloud-default",
            "no  list   core secrets *",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_wide_service_account_has_the_operators_verbs_and_no_more() {
    let control_plane = start_control_plane().await;
    let account = install_chart_rbac(&control_plane, None).await;
    run_ok(&mut kubectl_as(
        &account,
        &["get", "secrets", "--all-namespaces"],
    ));
    assert_access(
        &account,
        &[
            "yes list   core secrets *",
            "yes delete core secrets team-a",
            "yes watch  grafanacloud.operator.dev grafanacloudapikeys *",
            "yes update grafanacloud.operator.dev grafanacloudapikeys/finalizers default",
            "yes patch  grafanacloud.operator.dev grafanastacks/status team-b",
            "no  update grafanacloud.operator.dev grafanastacks/status team-b",
            "no  update grafanacloud.operator.dev grafanastacks team-b",
            "no  patch  core secrets team-b",
            "no  delete grafanacloud.operator.dev grafanacloudapikeys/status default",
            "no  create grafanacloud.operator.dev grafanastacks default",
            "no  delete grafanacloud.operator.dev grafanastacks default",
            "yes create core events default",
            "yes patch  events.k8s.io events team-a",
            "no  delete core events default",
            "no  get    core configmaps default",
            "yes watch  core namespaces *",
            "no  delete core namespaces *",
            "no  list   coordination.k8s.io leases *",
            "no  create coordination.k8s.io leases default",
            "yes create coordination.k8s.io leases gco-system",
        ],
    );
}

//! Checks against a real kube-apiserver (testenv): every rendered manifest is accepted by
//! `kubectl apply --dry-run=server`.

use std::path::Path;

use testenv::ControlPlane;

use super::support::{
    NAMESPACE, Output, VALUE_SETS, helm_template, kind, parse_documents, root, run, run_with_stdin,
    tool, yaml_files,
};

/// The namespaces the value sets, deploy/ and the examples put objects in.
const NAMESPACES: &[&str] = &[
    NAMESPACE,
    "team-a",
    "team-b",
    "grafana-cloud-operator",
    "observability",
    "grafana",
];

pub async fn start_control_plane() -> ControlPlane {
    let control_plane = ControlPlane::start()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    // The namespaces exist beforehand, as they would in a cluster, with the restricted Pod
    // Security level enforced and warned about: the operator pod must satisfy it.
    let namespaces: String = NAMESPACES
        .iter()
        .map(|namespace| {
            format!(
                "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n  labels:\n    \
                 pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/warn: restricted\n"
            )
        })
        .collect();
    let output = run_with_stdin(
        &mut kubectl(&control_plane, &["apply", "-f", "-"]),
        &namespaces,
    );
    assert!(
        output.success,
        "creating namespaces failed:\n{}",
        output.stderr
    );
    control_plane
}

pub fn kubectl(control_plane: &ControlPlane, args: &[&str]) -> std::process::Command {
    kubectl_as(control_plane.kubeconfig_path(), args)
}

pub fn kubectl_as(kubeconfig: &Path, args: &[&str]) -> std::process::Command {
    let mut command = tool("kubectl");
    command.arg("--kubeconfig").arg(kubeconfig).args(args);
    command
}

/// Asserts a `kubectl apply` succeeded without Pod Security or deprecation warnings.
fn assert_applied_cleanly(what: &str, output: &Output) {
    assert!(
        output.success,
        "{what} was rejected:\n{}\n{}",
        output.stdout, output.stderr
    );
    let warnings: Vec<&str> = output
        .stderr
        .lines()
        .filter(|line| line.starts_with("Warning:"))
        .collect();
    assert!(
        warnings.is_empty(),
        "{what} was accepted with warnings:\n{}",
        warnings.join("\n")
    );
}

/// Applies the generated CRDs when there are any; returns whether there were.
pub async fn apply_crds(control_plane: &ControlPlane) -> bool {
    let crds = root().join("crds");
    if yaml_files(&crds).is_empty() {
        return false;
    }
    control_plane
        .apply_crds(&crds)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_manifests_are_accepted_by_the_api_server() {
    let control_plane = start_control_plane().await;

    // deploy/ first: it carries the CRDs itself.
    let deploy = root().join("deploy");
    // With the trailing slash, as a user types it.
    let deploy_dir = &format!("{}/", deploy.display());
    let output = run(&mut kubectl(
        &control_plane,
        &["apply", "--dry-run=server", "-f", deploy_dir],
    ));
    assert_applied_cleanly("kubectl apply -f deploy/", &output);
    let output = run(&mut kubectl(
        &control_plane,
        &["apply", "--dry-run=server", "-k", deploy_dir],
    ));
    assert_applied_cleanly("kubectl apply -k deploy/", &output);

    let has_crds = apply_crds(&control_plane).await;

    for (set, file) in VALUE_SETS {
        let rendered = helm_template(*file, &[]);
        assert!(
            rendered.success,
            "{set}: helm template failed:\n{}",
            rendered.stderr
        );
        // No prometheus-operator in the test cluster: its ServiceMonitor and PrometheusRule
        // cannot be checked here (tests/packaging/monitoring.rs checks the rules).
        let manifests: Vec<String> = parse_documents(&rendered.stdout)
            .iter()
            .filter(|doc| !matches!(kind(doc), "ServiceMonitor" | "PrometheusRule"))
            .map(|doc| serde_saphyr::to_string(doc).unwrap())
            .collect();
        let stream = manifests.join("---\n");
        let output = run_with_stdin(
            &mut kubectl(&control_plane, &["apply", "--dry-run=server", "-f", "-"]),
            &stream,
        );
        assert_applied_cleanly(&format!("the chart with the {set} values"), &output);
    }

    // The clean runs above are meaningful: a weakened pod is reported by Pod Security.
    let weakened = helm_template(None, &["securityContext.allowPrivilegeEscalation=true"]);
    let output = run_with_stdin(
        &mut kubectl(&control_plane, &["apply", "--dry-run=server", "-f", "-"]),
        &weakened.stdout,
    );
    assert!(
        output
            .stderr
            .contains("would violate PodSecurity \"restricted:latest\""),
        "Pod Security did not report a pod allowing privilege escalation:\n{}",
        output.stderr
    );

    if has_crds {
        let examples = deploy.join("examples");
        let output = run(&mut kubectl(
            &control_plane,
            &[
                "apply",
                "--dry-run=server",
                "-f",
                examples.to_str().unwrap(),
            ],
        ));
        assert_applied_cleanly("kubectl apply -f deploy/examples/", &output);
        let explained = run(&mut kubectl(
            &control_plane,
            &["explain", "grafanastack.spec.plugins"],
        ));
        for expected in ["Plugins to install on the stack", "slug", "version"] {
            assert!(
                explained.stdout.contains(expected),
                "kubectl explain grafanastack.spec.plugins lacks {expected:?}:\n{}{}",
                explained.stdout,
                explained.stderr
            );
        }
    } else {
        eprintln!("crds/ is empty: deploy/examples/ not checked against the API server");
    }
}

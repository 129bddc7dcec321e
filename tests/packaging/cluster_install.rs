//! Installing as a new user would, on a real kube-apiserver: `helm install`, `helm upgrade`
//! and `helm uninstall`, and `kubectl apply -f deploy/` then `kubectl delete -f deploy/`.

use testenv::ControlPlane;

use super::{
    cluster::{kubectl, start_control_plane},
    support::{CHART, run, run_ok, tool},
};

const RELEASE: &str = "grafana-cloud-operator";
const RELEASE_NAMESPACE: &str = "grafana-cloud-operator";

fn helm(control_plane: &ControlPlane, args: &[&str]) -> std::process::Command {
    let mut command = tool("helm");
    command
        .args(args)
        .arg("--kubeconfig")
        .arg(control_plane.kubeconfig_path());
    command
}

fn get(control_plane: &ControlPlane, args: &[&str]) -> String {
    run_ok(&mut kubectl(control_plane, args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_upgrade_and_uninstall_work() {
    let control_plane = start_control_plane().await;
    let ns = ["--namespace", RELEASE_NAMESPACE];

    let installed = run_ok(&mut helm(
        &control_plane,
        &[
            "install",
            RELEASE,
            CHART,
            ns[0],
            ns[1],
            "--create-namespace",
        ],
    ));
    assert!(installed.contains("STATUS: deployed"), "{installed}");
    assert!(
        installed.contains(
            "grafana-cloud-operator 0.1.0 is installed in namespace grafana-cloud-operator"
        )
    );
    assert!(installed.contains("kubectl --namespace grafana-cloud-operator rollout status deployment/grafana-cloud-operator"));
    let replicas = [
        "get",
        "deployment",
        RELEASE,
        ns[0],
        ns[1],
        "-o",
        "jsonpath={.spec.replicas}",
    ];
    assert_eq!(get(&control_plane, &replicas), "1");
    get(&control_plane, &["get", "clusterrole", RELEASE]);

    run_ok(&mut helm(
        &control_plane,
        &[
            "upgrade",
            RELEASE,
            CHART,
            ns[0],
            ns[1],
            "--set",
            "replicas=2",
            "--set",
            "watchNamespaces={team-a}",
        ],
    ));
    assert_eq!(get(&control_plane, &replicas), "2");
    get(
        &control_plane,
        &["get", "role", RELEASE, "--namespace", "team-a"],
    );
    let output = run(&mut kubectl(
        &control_plane,
        &["get", "clusterrole", RELEASE],
    ));
    assert!(
        !output.success,
        "the upgrade to namespaced mode must remove the ClusterRole"
    );

    run_ok(&mut helm(
        &control_plane,
        &["uninstall", RELEASE, ns[0], ns[1]],
    ));
    let output = run(&mut kubectl(
        &control_plane,
        &["get", "deployment", RELEASE, ns[0], ns[1]],
    ));
    assert!(!output.success, "helm uninstall must remove the Deployment");
    let output = run(&mut kubectl(
        &control_plane,
        &["get", "role", RELEASE, "--namespace", "team-a"],
    ));
    assert!(
        !output.success,
        "helm uninstall must remove the Roles in watched namespaces"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_manifests_apply_and_delete() {
    let control_plane = start_control_plane().await;
    let deploy = format!("{}/deploy/", env!("CARGO_MANIFEST_DIR"));
    // Delete the namespace the tests create beforehand: deploy/ must create it itself.
    run_ok(&mut kubectl(
        &control_plane,
        &["delete", "namespace", RELEASE_NAMESPACE, "--wait"],
    ));

    let applied = run_ok(&mut kubectl(&control_plane, &["apply", "-f", &deploy]));
    assert!(
        applied.contains("namespace/grafana-cloud-operator created"),
        "{applied}"
    );
    assert!(
        applied.contains("deployment.apps/grafana-cloud-operator created"),
        "{applied}"
    );
    let reapplied = run_ok(&mut kubectl(&control_plane, &["apply", "-k", &deploy]));
    assert!(
        !reapplied.contains("created"),
        "-k and -f must describe the same objects:\n{reapplied}"
    );

    run_ok(&mut kubectl(
        &control_plane,
        &["delete", "-f", &deploy, "--wait"],
    ));
    let output = run(&mut kubectl(
        &control_plane,
        &["get", "clusterrole", "grafana-cloud-operator"],
    ));
    assert!(
        !output.success,
        "kubectl delete -f deploy/ must remove the ClusterRole"
    );
}

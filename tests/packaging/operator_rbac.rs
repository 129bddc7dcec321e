//! RBAC end to end: the real operator binary runs with a token of the chart's ServiceAccount,
//! the flags the chart renders, and nothing else. A stack, an org key and a stack key become
//! Ready and are deleted again, without a single "forbidden" in the operator's log, and the
//! probes and metrics port the chart configures answer.

use std::{path::Path, time::Duration};

use grafana_cloud_simulator::Simulator;
use testenv::{ChildProcess, ControlPlane};

use super::{
    cluster::{apply_crds, kubectl, start_control_plane},
    cluster_rbac::install_chart_rbac,
    support::{NAMESPACE, one_of, operator_args, render, run, run_with_stdin, scratch_dir},
};

const ORG: &str = "acme";
const TOKEN: &str = "packaging-e2e-token";
const WAIT: &str = "--timeout=180s";

/// The operator binary: Cargo builds it for this test; `GCO_OPERATOR_BIN` overrides it.
fn operator_binary() -> String {
    std::env::var("GCO_OPERATOR_BIN")
        .ok()
        .or_else(|| option_env!("CARGO_BIN_EXE_grafana-cloud-operator").map(str::to_owned))
        .expect("set GCO_OPERATOR_BIN to the grafana-cloud-operator binary")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The operator's local endpoints.
struct Ports {
    metrics: u16,
    health: u16,
}

/// The chart's operator args, made runnable outside a pod: the simulator's URL, loopback
/// addresses on free ports, and the release namespace instead of the downward API.
fn local_args(chart_args: &[String], api_url: &str, ports: &Ports) -> Vec<String> {
    chart_args
        .iter()
        .map(|arg| match arg.split_once('=') {
            Some(("--grafana-api-url", _)) => format!("--grafana-api-url={api_url}"),
            Some(("--metrics-addr", _)) => format!("--metrics-addr=127.0.0.1:{}", ports.metrics),
            Some(("--health-addr", _)) => format!("--health-addr=127.0.0.1:{}", ports.health),
            _ => arg.replace("$(POD_NAMESPACE)", NAMESPACE),
        })
        .collect()
}

/// A plain HTTP GET on loopback; returns the status code and the body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The probes the chart configures answer 200 on the health port, and the metrics Service's
/// port serves the operator's metrics.
fn assert_probes_and_metrics_answer(docs: &[serde_json::Value], ports: &Ports) {
    let container = &one_of(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    for probe in ["livenessProbe", "readinessProbe"] {
        let path = container[probe]["httpGet"]["path"].as_str().unwrap();
        let (status, _) = http_get(ports.health, path);
        assert_eq!(status, 200, "{probe} {path} answered {status}");
    }
    let (status, body) = http_get(ports.metrics, "/metrics");
    assert_eq!(status, 200, "/metrics answered {status}");
    assert!(
        body.contains("grafana_cloud_operator_"),
        "no operator metrics in:\n{body}"
    );
}

/// The test resources in `namespace`. With `default_credentials`, the namespace is labelled
/// to match the default-credentials selector of `ci/default-credentials-values.yaml`, the
/// token goes into the release namespace's default Secret, and no resource names credentials.
fn resources(namespace: &str, default_credentials: bool) -> String {
    let (secret, credentials, namespace_labels) = if default_credentials {
        (
            format!("{{name: grafana-cloud-default, namespace: {NAMESPACE}}}"),
            "",
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n  labels: \
                 {{grafana-cloud/default-credentials: \"true\", env: dev}}\n---\n"
            ),
        )
    } else {
        (
            format!("{{name: grafana-cloud-credentials, namespace: {namespace}}}"),
            "  credentials: {secretName: grafana-cloud-credentials}",
            String::new(),
        )
    };
    let slug = format!(
        "pkg{}{}",
        namespace.replace('-', ""),
        if default_credentials { "d" } else { "" }
    );
    format!(
        r#"{namespace_labels}
apiVersion: v1
kind: Secret
metadata: {secret}
stringData: {{token: {TOKEN}, orgSlug: {ORG}}}
---
apiVersion: grafanacloud.operator.dev/v1alpha1
kind: GrafanaStack
metadata: {{name: stack, namespace: {namespace}}}
spec:
  slug: {slug}
{credentials}
---
apiVersion: grafanacloud.operator.dev/v1alpha1
kind: GrafanaCloudApiKey
metadata: {{name: org-key, namespace: {namespace}}}
spec:
  role: MetricsPublisher
{credentials}
---
apiVersion: grafanacloud.operator.dev/v1alpha1
kind: GrafanaCloudApiKey
metadata: {{name: stack-key, namespace: {namespace}}}
spec:
  role: Viewer
  stackRef: stack
  secondsToLive: 3600
  rotation: {{renewBefore: 10m}}
  secretTemplate:
    data:
      token-copy: "{{{{ token }}}}"
{credentials}
"#
    )
}

fn kubectl_ok(control_plane: &ControlPlane, args: &[&str], operator: &ChildProcess) {
    let output = run(&mut kubectl(control_plane, args));
    assert!(
        output.success,
        "kubectl {args:?} failed:\n{}\n--- operator log ---\n{}",
        output.stderr,
        operator.log_tail(60)
    );
}

async fn operator_converges_with_only_the_chart_rbac(
    values_file: Option<&str>,
    namespace: &str,
    default_credentials: bool,
    log: &Path,
) {
    let sim = Simulator::builder()
        .org(ORG, TOKEN)
        .readiness_delay(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let control_plane = start_control_plane().await;
    assert!(
        apply_crds(&control_plane).await,
        "crds/ is empty: generate the CRDs first"
    );
    let account = install_chart_rbac(&control_plane, values_file).await;

    let docs = render(values_file, &[]);
    let ports = Ports {
        metrics: free_port(),
        health: free_port(),
    };
    let mut command = std::process::Command::new(operator_binary());
    command
        .args(local_args(&operator_args(&docs), &sim.base_url(), &ports))
        .env("KUBECONFIG", &account)
        .env_remove("RUST_LOG");
    let mut operator = ChildProcess::spawn(command, log).unwrap();

    let output = run_with_stdin(
        &mut kubectl(&control_plane, &["apply", "-f", "-"]),
        &resources(namespace, default_credentials),
    );
    assert!(
        output.success,
        "creating the resources failed:\n{}",
        output.stderr
    );
    let ns = ["--namespace", namespace];
    for resource in [
        "grafanastack/stack",
        "grafanacloudapikey/org-key",
        "grafanacloudapikey/stack-key",
    ] {
        kubectl_ok(
            &control_plane,
            &[
                "wait",
                "--for=condition=Ready",
                WAIT,
                resource,
                ns[0],
                ns[1],
            ],
            &operator,
        );
    }
    for secret in ["secret/org-key", "secret/stack-key"] {
        kubectl_ok(&control_plane, &["get", secret, ns[0], ns[1]], &operator);
    }
    assert_probes_and_metrics_answer(&docs, &ports);
    kubectl_ok(
        &control_plane,
        &[
            "delete",
            "grafanacloudapikeys,grafanastacks",
            "--all",
            "--wait",
            WAIT,
            ns[0],
            ns[1],
        ],
        &operator,
    );

    let status = operator.terminate(Duration::from_secs(15)).await.unwrap();
    let log = operator.read_log();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the operator was refused something by RBAC:\n{}",
        operator.log_tail(80)
    );
    assert!(
        status.success(),
        "the operator did not shut down cleanly: {status}\n{}",
        operator.log_tail(40)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_converges_with_the_cluster_wide_chart_rbac() {
    let log = scratch_dir("operator-cluster-wide").join("operator.log");
    operator_converges_with_only_the_chart_rbac(None, "default", false, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_converges_with_the_namespaced_chart_rbac() {
    let log = scratch_dir("operator-namespaced").join("operator.log");
    operator_converges_with_only_the_chart_rbac(
        Some("ci/namespaced-values.yaml"),
        "team-a",
        false,
        &log,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_converges_with_namespaced_default_credentials() {
    let log = scratch_dir("operator-default-credentials").join("operator.log");
    operator_converges_with_only_the_chart_rbac(
        Some("ci/default-credentials-values.yaml"),
        "team-b",
        true,
        &log,
    )
    .await;
}

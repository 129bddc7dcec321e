//! The Helm chart: lint, rendering with every value set, schema errors and hardened defaults.

use std::path::Path;

use super::support::{
    CHART, VALUE_SETS, all_of, helm_template, kind, name, one_of, operator_args, render, run,
    strings, tool,
};

#[test]
fn helm_lint_strict_passes_for_every_value_set() {
    for (set, file) in VALUE_SETS {
        let mut command = tool("helm");
        command.args(["lint", "--strict", CHART]);
        if let Some(file) = file {
            command.arg("--values").arg(Path::new(CHART).join(file));
        }
        let output = run(&mut command);
        assert!(
            output.success,
            "helm lint --strict failed for {set}:\n{}{}",
            output.stdout, output.stderr
        );
    }
}

#[test]
fn every_value_set_renders_the_core_objects() {
    for (set, file) in VALUE_SETS {
        let docs = render(*file, &[]);
        for wanted in ["ServiceAccount", "Deployment", "Service"] {
            assert_eq!(
                all_of(&docs, wanted).len(),
                1,
                "{set}: expected one {wanted}"
            );
        }
        for doc in &docs {
            assert!(!name(doc).is_empty(), "{set}: a {} has no name", kind(doc));
        }
    }
}

/// (value to set, text the error must contain)
const BAD_VALUES: &[(&str, &str)] = &[
    (
        "logFormat=xml",
        "at '/logFormat': value must be one of 'json', 'text'",
    ),
    ("replicas=0", "at '/replicas': minimum: got 0, want 1"),
    (
        "concurrency=many",
        "at '/concurrency': got string, want integer",
    ),
    (
        "workerThreads=0",
        "at '/workerThreads': minimum: got 0, want 1",
    ),
    (
        "watchNamespaces[0]=Team_A",
        "at '/watchNamespaces/0': 'Team_A' does not match pattern",
    ),
    ("grafanaApiUrl=grafana.com/api", "at '/grafanaApiUrl'"),
    (
        "resyncInterval=5 minutes",
        "at '/resyncInterval': '5 minutes' does not match pattern",
    ),
    (
        "image.pullPolicy=Sometimes",
        "at '/image/pullPolicy': value must be one of",
    ),
    (
        "replicaCount=2",
        "additional properties 'replicaCount' not allowed",
    ),
    ("logLevel=info debug", "at '/logLevel'"),
    ("grafanaApi.rateLimit=0", "at '/grafanaApi/rateLimit'"),
    ("grafanaApi.timeout=soon", "at '/grafanaApi/timeout'"),
    (
        "extraArgs[0]=verbose",
        "at '/extraArgs/0': 'verbose' does not match pattern",
    ),
    (
        "defaultCredentials.namespaceSelector.matchExpressions[0].key=env,\
         defaultCredentials.namespaceSelector.matchExpressions[0].operator=In",
        "at '/defaultCredentials/namespaceSelector/matchExpressions/0': missing property 'values'",
    ),
    (
        "defaultCredentials.namespaceSelector.matchExpressions[0].key=env,\
         defaultCredentials.namespaceSelector.matchExpressions[0].operator=Equals",
        "at '/defaultCredentials/namespaceSelector/matchExpressions/0/operator': value must be one of",
    ),
];

#[test]
fn schema_rejects_bad_values_with_a_clear_error() {
    for (set, expected) in BAD_VALUES {
        let output = helm_template(None, &[set]);
        assert!(!output.success, "--set {set} was accepted");
        assert!(
            output
                .stderr
                .contains("values don't meet the specifications of the schema"),
            "--set {set} was not rejected by the schema:\n{}",
            output.stderr
        );
        assert!(
            output.stderr.contains(expected),
            "--set {set}: expected {expected:?} in:\n{}",
            output.stderr
        );
    }
}

#[test]
fn default_credentials_without_a_namespace_selector_are_refused() {
    let output = helm_template(
        None,
        &["defaultCredentials.secretName=grafana-cloud-default"],
    );
    assert!(
        !output.success,
        "default credentials without a selector were accepted"
    );
    assert!(
        output
            .stderr
            .contains("defaultCredentials.namespaceSelector must select at least one label"),
        "unexpected error:\n{}",
        output.stderr
    );
}

#[test]
fn default_credentials_become_operator_flags() {
    let docs = render(Some("ci/default-credentials-values.yaml"), &[]);
    let args = operator_args(&docs);
    for expected in [
        "--default-credentials-secret=gco-system/grafana-cloud-default",
        "--default-credentials-key=token",
        "--default-credentials-namespace-selector=grafana-cloud/default-credentials=true,env in (dev,staging),!legacy",
        "--namespace=team-a",
        "--namespace=team-b",
        "--log-format=text",
        "--log-level=info,grafana_cloud_operator=debug",
        "--resync-interval=10m",
        "--concurrency=8",
        "--worker-threads=2",
        "--leader-election-lease-duration=20s",
        "--api-timeout=20s",
        "--api-rate-limit=10",
        "--api-burst=30",
    ] {
        assert!(
            args.iter().any(|arg| arg == expected),
            "missing {expected} in {args:?}"
        );
    }
}

#[test]
fn defaults_pass_every_flag_the_operator_needs_and_no_default_credentials() {
    let args = operator_args(&render(None, &[]));
    assert_eq!(args[0], "run");
    for expected in [
        "--grafana-api-url=https://grafana.com/api",
        "--leader-elect",
        "--leader-election-namespace=$(POD_NAMESPACE)",
        "--leader-election-lease-name=gco-grafana-cloud-operator",
        "--metrics-addr=0.0.0.0:8080",
        "--health-addr=0.0.0.0:8081",
        "--log-format=json",
        "--log-level=info",
    ] {
        assert!(
            args.iter().any(|arg| arg == expected),
            "missing {expected} in {args:?}"
        );
    }
    assert!(
        !args.iter().any(|arg| arg.starts_with("--namespace=")),
        "defaults watch all namespaces"
    );
    assert!(
        !args
            .iter()
            .any(|arg| arg.starts_with("--default-credentials"))
    );
    for operator_default in [
        "--api-timeout",
        "--api-rate-limit",
        "--api-burst",
        "--leader-election-lease-duration",
    ] {
        assert!(
            !args.iter().any(|arg| arg.starts_with(operator_default)),
            "{operator_default} must be left to the operator's default"
        );
    }
}

#[test]
fn more_than_one_replica_forces_leader_election_and_a_safe_rollout() {
    let docs = render(Some("ci/ha-values.yaml"), &[]);
    let deployment = one_of(&docs, "Deployment");
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(2));
    assert_eq!(
        deployment["spec"]["strategy"]["type"].as_str(),
        Some("RollingUpdate")
    );
    assert!(
        operator_args(&docs)
            .iter()
            .any(|arg| arg == "--leader-elect")
    );
    assert!(
        all_of(&docs, "Role")
            .iter()
            .any(|role| name(role).ends_with("-leader-election"))
    );
    assert_eq!(all_of(&docs, "PodDisruptionBudget").len(), 1);
    assert_eq!(all_of(&docs, "ServiceMonitor").len(), 1);
}

#[test]
fn without_leader_election_the_old_pod_stops_before_the_new_one_starts() {
    let docs = render(None, &["leaderElection.enabled=false"]);
    let deployment = one_of(&docs, "Deployment");
    assert_eq!(
        deployment["spec"]["strategy"]["type"].as_str(),
        Some("Recreate")
    );
    assert!(
        !operator_args(&docs)
            .iter()
            .any(|arg| arg.starts_with("--leader-elect"))
    );
    assert!(
        all_of(&docs, "Role").is_empty(),
        "no Lease access without leader election"
    );
}

#[test]
fn defaults_are_hardened() {
    let docs = render(None, &[]);
    let account = one_of(&docs, "ServiceAccount");
    assert_eq!(
        account["automountServiceAccountToken"].as_bool(),
        Some(false)
    );

    let pod = &one_of(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );

    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert!(container["resources"]["limits"]["memory"].is_string());

    // The only token is the explicitly projected, short-lived one, mounted read-only where
    // the in-cluster client looks for it.
    let mount = &container["volumeMounts"][0];
    assert_eq!(
        mount["mountPath"].as_str(),
        Some("/var/run/secrets/kubernetes.io/serviceaccount")
    );
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let sources = pod["volumes"][0]["projected"]["sources"]
        .as_array()
        .unwrap();
    let token = sources
        .iter()
        .find(|source| source["serviceAccountToken"].is_object())
        .unwrap();
    assert!(
        token["serviceAccountToken"]["expirationSeconds"]
            .as_u64()
            .unwrap()
            <= 3607
    );
}

#[test]
fn image_tag_defaults_to_the_app_version_which_is_the_crate_version() {
    let chart = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(CHART)
            .join("Chart.yaml"),
    )
    .unwrap();
    let app_version = chart
        .lines()
        .find_map(|line| line.strip_prefix("appVersion:"))
        .unwrap()
        .trim()
        .trim_matches('"')
        .to_owned();
    assert_eq!(
        app_version,
        env!("CARGO_PKG_VERSION"),
        "Chart.yaml appVersion differs from Cargo.toml"
    );
    let image = |docs: &[serde_json::Value]| {
        one_of(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(image(&render(None, &[])).ends_with(&format!(":{app_version}")));
    assert!(image(&render(None, &["image.tag=1.2.3"])).ends_with(":1.2.3"));
}

#[test]
fn extra_args_come_last_and_verbatim() {
    let args = operator_args(&render(None, &["extraArgs[0]=--future-flag=a b"]));
    assert_eq!(args.last().map(String::as_str), Some("--future-flag=a b"));
}

#[test]
fn service_and_probes_point_at_the_ports_the_operator_listens_on() {
    let docs = render(None, &["metrics.port=9090", "health.port=9091"]);
    let args = operator_args(&docs);
    assert!(args.iter().any(|arg| arg == "--metrics-addr=0.0.0.0:9090"));
    assert!(args.iter().any(|arg| arg == "--health-addr=0.0.0.0:9091"));
    let container = &one_of(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let port = |name: &str| {
        container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|port| port["name"].as_str() == Some(name))
            .and_then(|port| port["containerPort"].as_u64())
    };
    assert_eq!(port("metrics"), Some(9090));
    assert_eq!(port("health"), Some(9091));
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"].as_str(), Some("health"));
    }
    let service = one_of(&docs, "Service");
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"].as_str(),
        Some("metrics")
    );
}

#[test]
fn the_network_policy_is_off_by_default_and_opens_only_what_the_operator_uses() {
    assert!(all_of(&render(None, &[]), "NetworkPolicy").is_empty());
    let docs = render(None, &["networkPolicy.enabled=true"]);
    let policy = one_of(&docs, "NetworkPolicy");
    let ports = |direction: &str| -> Vec<u64> {
        policy["spec"][direction]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|rule| rule["ports"].as_array().unwrap().iter())
            .filter_map(|port| port["port"].as_u64())
            .collect()
    };
    assert_eq!(ports("ingress"), [8080, 8081], "metrics and health only");
    assert_eq!(ports("egress"), [53, 53, 443, 6443], "DNS and HTTPS only");
    let selected = &policy["spec"]["podSelector"]["matchLabels"];
    let pod_labels = &one_of(&docs, "Deployment")["spec"]["template"]["metadata"]["labels"];
    for (key, value) in selected.as_object().unwrap() {
        assert_eq!(
            &pod_labels[key], value,
            "the policy selects the operator's pods"
        );
    }
}

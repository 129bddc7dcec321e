//! Shared helpers: where the repository and the tools are, running them, and reading the
//! manifests they print.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

/// The chart, relative to the repository root.
pub const CHART: &str = "charts/grafana-cloud-operator";
/// Release name and namespace used when rendering in tests.
pub const RELEASE: &str = "gco";
pub const NAMESPACE: &str = "gco-system";

/// The value sets every chart test runs with: a name and the values file under the chart.
pub const VALUE_SETS: &[(&str, Option<&str>)] = &[
    ("defaults", None),
    ("namespaced", Some("ci/namespaced-values.yaml")),
    ("ha", Some("ci/ha-values.yaml")),
    (
        "default-credentials",
        Some("ci/default-credentials-values.yaml"),
    ),
    ("monitoring", Some("ci/monitoring-values.yaml")),
];

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory with the pinned kubectl, helm and hadolint: `$GCO_TOOLS_BIN`, else the
/// default install directory of `hack/install-tools.sh`. Panics with instructions when the
/// tools are missing.
pub fn tools_bin() -> PathBuf {
    let dir = match std::env::var_os("GCO_TOOLS_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let cache = std::env::var_os("GCO_CACHE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/grafana-cloud-operator")
                });
            cache.join("tools/bin")
        }
    };
    for tool in ["kubectl", "helm", "hadolint"] {
        assert!(
            dir.join(tool).is_file(),
            "{tool} not found in {}: run hack/install-tools.sh (or set GCO_TOOLS_BIN)",
            dir.display()
        );
    }
    dir
}

/// A command for one of the pinned tools, run from the repository root, with the tools
/// directory first on PATH (so scripts it starts use the same tools).
pub fn tool(name: &str) -> Command {
    let bin = tools_bin();
    let mut command = Command::new(bin.join(name));
    command
        .current_dir(root())
        .env("PATH", path_with(&bin))
        .env("GCO_TOOLS_BIN", &bin);
    command
}

/// A repository script, run with the tools directory first on PATH.
pub fn script(path: &str) -> Command {
    let bin = tools_bin();
    let mut command = Command::new(root().join(path));
    command
        .current_dir(root())
        .env("PATH", path_with(&bin))
        .env("GCO_TOOLS_BIN", &bin);
    command
}

fn path_with(bin: &Path) -> std::ffi::OsString {
    let mut paths = vec![bin.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap()
}

/// What a finished command printed.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to completion, optionally feeding `stdin`.
pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("failed to run {command:?}: {err}"));
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `command` and panics with its output unless it succeeds.
pub fn run_ok(command: &mut Command) -> String {
    let description = format!("{command:?}");
    let output = run(command);
    assert!(
        output.success,
        "{description} failed\nstdout:\n{}\nstderr:\n{}",
        output.stdout, output.stderr
    );
    output.stdout
}

/// `helm template` of the chart with a values file (relative to the chart) and `--set` values.
pub fn helm_template(values_file: Option<&str>, sets: &[&str]) -> Output {
    let mut command = tool("helm");
    command.args(["template", RELEASE, CHART, "--namespace", NAMESPACE]);
    if let Some(file) = values_file {
        command.arg("--values").arg(Path::new(CHART).join(file));
    }
    for set in sets {
        command.args(["--set", set]);
    }
    run(&mut command)
}

/// Renders the chart and parses the manifests; panics when rendering fails.
pub fn render(values_file: Option<&str>, sets: &[&str]) -> Vec<Value> {
    let output = helm_template(values_file, sets);
    assert!(output.success, "helm template failed:\n{}", output.stderr);
    parse_documents(&output.stdout)
}

/// Parses a multi-document YAML stream, skipping empty documents.
pub fn parse_documents(text: &str) -> Vec<Value> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
    documents
        .into_iter()
        .filter(|value| !value.is_null())
        .collect()
}

/// The `kind` of a manifest.
pub fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

/// `metadata.name` of a manifest.
pub fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

/// `metadata.namespace` of a manifest, or "" when cluster-scoped.
pub fn namespace(doc: &Value) -> &str {
    doc["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// Every manifest of `kind`.
pub fn all_of<'a>(docs: &'a [Value], wanted: &str) -> Vec<&'a Value> {
    docs.iter().filter(|doc| kind(doc) == wanted).collect()
}

/// The only manifest of `kind`; panics when there is not exactly one.
pub fn one_of<'a>(docs: &'a [Value], wanted: &str) -> &'a Value {
    let found = all_of(docs, wanted);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {wanted}, found {}",
        found.len()
    );
    found[0]
}

/// The operator container's args.
pub fn operator_args(docs: &[Value]) -> Vec<String> {
    let deployment = one_of(docs, "Deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap().to_owned())
        .collect()
}

/// A list of strings in a manifest, e.g. an RBAC rule's verbs.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `*.yaml` files directly in `dir`, sorted by name.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// A fresh, empty scratch directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("packaging")
        .join(test);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `command` with `input` on its standard input.
pub fn run_with_stdin(command: &mut Command, input: &str) -> Output {
    use std::{io::Write as _, process::Stdio};
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("failed to run {command:?}: {err}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

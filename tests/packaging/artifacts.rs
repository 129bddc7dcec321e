//! Generated artifacts are committed; these tests fail when they are stale.

use std::{collections::BTreeMap, path::Path};

use super::support::{
    CHART, kind, parse_documents, root, run_ok, scratch_dir, script, tool, yaml_files,
};

/// File name to content of every `*.yaml` file directly in `dir`.
fn yaml_contents(dir: &Path) -> BTreeMap<String, String> {
    yaml_files(dir)
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn chart_crds_are_identical_to_the_generated_crds() {
    let generated = yaml_contents(&root().join("crds"));
    let in_chart = yaml_contents(&root().join(CHART).join("crds"));
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        in_chart.keys().collect::<Vec<_>>(),
        "the chart's CRD files differ from crds/: run hack/sync-chart-crds.sh"
    );
    for (file, content) in &generated {
        assert!(
            in_chart[file] == *content,
            "{CHART}/crds/{file} is stale: run hack/sync-chart-crds.sh"
        );
    }
}

#[test]
fn deploy_manifests_are_identical_to_a_fresh_render() {
    let fresh = scratch_dir("deploy-render");
    run_ok(script("hack/render-deploy.sh").arg(&fresh));
    let committed = root().join("deploy");
    for file in ["crds.yaml", "grafana-cloud-operator.yaml", "Kustomization"] {
        let expected = std::fs::read_to_string(fresh.join(file)).ok();
        let actual = std::fs::read_to_string(committed.join(file)).ok();
        assert!(
            expected == actual,
            "deploy/{file} is stale (or should {}exist): run hack/render-deploy.sh",
            if expected.is_some() { "" } else { "not " }
        );
    }
}

#[test]
fn deploy_directory_and_kustomization_install_the_same_objects() {
    let deploy = root().join("deploy");
    let from_files: Vec<_> = yaml_files(&deploy)
        .iter()
        .flat_map(|path| parse_documents(&std::fs::read_to_string(path).unwrap()))
        .collect();
    let built = run_ok(tool("kubectl").arg("kustomize").arg(&deploy));
    let from_kustomize = parse_documents(&built);

    let identities = |docs: &[serde_json::Value]| {
        let mut ids: Vec<String> = docs
            .iter()
            .map(|doc| {
                let meta = &doc["metadata"];
                format!(
                    "{}/{}/{}",
                    kind(doc),
                    meta["namespace"].as_str().unwrap_or_default(),
                    meta["name"].as_str().unwrap_or_default()
                )
            })
            .collect();
        ids.sort();
        ids
    };
    assert!(
        identities(&from_files)
            .iter()
            .any(|id| id.starts_with("Deployment/"))
    );
    assert_eq!(identities(&from_files), identities(&from_kustomize));
}

#[test]
fn deploy_namespace_comes_before_the_objects_in_it() {
    let text = std::fs::read_to_string(root().join("deploy/grafana-cloud-operator.yaml")).unwrap();
    let docs = parse_documents(&text);
    assert_eq!(
        kind(&docs[0]),
        "Namespace",
        "kubectl apply -f must create the namespace first"
    );
    assert_eq!(
        docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"].as_str(),
        Some("restricted")
    );
}

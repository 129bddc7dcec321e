//! `crds/` must equal what the CRD types generate. Regenerate with
//! `GCO_UPDATE_CRDS=1 cargo test --test crds` (or `make generate`).

use std::{fs, path::Path};

#[test]
fn crds_directory_matches_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let rendered = grafana_cloud_operator::crd::rendered().expect("CRDs render");
    if std::env::var_os("GCO_UPDATE_CRDS").is_some() {
        fs::create_dir_all(&dir).expect("create crds/");
        for (file, yaml) in &rendered {
            fs::write(dir.join(file), yaml).expect("write CRD");
        }
    }
    let mut expected: Vec<String> = rendered.iter().map(|(file, _)| file.clone()).collect();
    expected.sort();
    let mut present: Vec<String> = fs::read_dir(&dir)
        .expect("crds/ exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    present.sort();
    assert_eq!(
        present, expected,
        "crds/ has other files than the generated ones"
    );
    for (file, yaml) in rendered {
        let on_disk = fs::read_to_string(dir.join(&file)).expect("read CRD");
        assert!(
            on_disk == yaml,
            "crds/{file} is stale: run `GCO_UPDATE_CRDS=1 cargo test --test crds` and commit the result"
        );
    }
}

#[test]
fn crd_subcommand_prints_every_crd() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_grafana-cloud-operator"))
        .arg("crd")
        .output()
        .expect("run the binary");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for (_, yaml) in grafana_cloud_operator::crd::rendered().expect("CRDs render") {
        assert!(text.contains(&yaml), "`crd` output lacks a CRD");
    }
}

/// The property paths under `schema` that have no description, which `kubectl explain`
/// would show bare.
fn undocumented(schema: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        if let Some(items) = schema.get("items") {
            undocumented(items, &format!("{path}[]"), out);
        }
        return;
    };
    for (name, property) in properties {
        let here = format!("{path}.{name}");
        let documented = property
            .get("description")
            .and_then(|d| d.as_str())
            .is_some_and(|d| !d.trim().is_empty());
        if !documented {
            out.push(here.clone());
        }
        undocumented(property, &here, out);
    }
}

#[test]
fn kubectl_explain_documents_every_field_of_every_kind() {
    for crd in grafana_cloud_operator::crd::all() {
        let kind = crd.spec.names.kind.clone();
        for version in &crd.spec.versions {
            let schema = serde_json::to_value(&version.schema).expect("schema JSON");
            let root = &schema["openAPIV3Schema"];
            let mut missing = Vec::new();
            for part in ["spec", "status"] {
                undocumented(&root["properties"][part], part, &mut missing);
            }
            // Kubernetes' own Condition type documents its fields upstream.
            missing.retain(|path| !path.starts_with("status.conditions[]."));
            assert!(
                missing.is_empty(),
                "{kind} fields without a description: {missing:?}"
            );
        }
    }
}

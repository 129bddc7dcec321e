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

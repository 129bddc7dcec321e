//! Applying CustomResourceDefinitions and waiting until they are served.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{Patch, PatchParams},
    runtime::wait::{await_condition, conditions},
};

use crate::{
    ControlPlane,
    error::{Error, Result, io, kube as kube_err},
};

const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);
const FIELD_MANAGER: &str = "testenv";

impl ControlPlane {
    /// Server-side applies every CustomResourceDefinition found in the
    /// `*.yaml` / `*.yml` files of `dir` (multi-document files allowed, other
    /// kinds ignored), waits until each is Established, and returns their
    /// names.
    ///
    /// The controller manager is then restarted so that the garbage collector
    /// watches the new types at once instead of after its 30 s discovery resync.
    pub async fn apply_crds(&self, dir: impl AsRef<Path>) -> Result<Vec<String>> {
        let dir = dir.as_ref();
        let mut crds = Vec::new();
        for path in yaml_files(dir)? {
            crds.extend(read_crds(&path)?);
        }
        if crds.is_empty() {
            return Err(Error::NoCrds {
                dir: dir.to_path_buf(),
            });
        }
        let api: Api<CustomResourceDefinition> = Api::all(self.client());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut names = Vec::new();
        for crd in &crds {
            let name = crd.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &params, &Patch::Apply(crd))
                .await
                .map_err(kube_err(format!("apply CustomResourceDefinition {name}")))?;
            names.push(name);
        }
        for name in &names {
            let established = await_condition(api.clone(), name, conditions::is_crd_established());
            match tokio::time::timeout(ESTABLISHED_TIMEOUT, established).await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    return Err(Error::Kube {
                        action: format!("watch CustomResourceDefinition {name}"),
                        source: kube::Error::Service(Box::new(err)),
                    });
                }
                Err(_) => {
                    return Err(Error::Timeout {
                        what: format!("CustomResourceDefinition {name} to be Established"),
                        seconds: ESTABLISHED_TIMEOUT.as_secs(),
                        log_tail: String::new(),
                    });
                }
            }
        }
        self.restart_controller_manager()?;
        Ok(names)
    }

    /// Restarts kube-controller-manager (its log file is appended to).
    pub fn restart_controller_manager(&self) -> Result<()> {
        let mut slot = self
            .controller_manager
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(mut old) = slot.take() {
            old.kill()?;
        }
        *slot = Some(self.spawn_controller_manager()?);
        Ok(())
    }
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(io("read directory", dir))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io("read directory", dir))?.path();
        let is_yaml = path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_crds(path: &Path) -> Result<Vec<CustomResourceDefinition>> {
    let text = std::fs::read_to_string(path).map_err(io("read", path))?;
    let parse = |source: Box<dyn std::error::Error + Send + Sync>| Error::ParseCrd {
        path: path.to_path_buf(),
        source,
    };
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&text).map_err(|error| parse(error.into()))?;
    documents
        .into_iter()
        .filter(|document| document["kind"] == "CustomResourceDefinition")
        .map(|document| serde_json::from_value(document).map_err(|error| parse(error.into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_crd_documents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("all.yaml");
        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n\
            apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
            metadata: {name: widgets.example.com}\nspec:\n  group: example.com\n\
            \x20 names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: []\n";
        std::fs::write(&path, text).expect("write");
        let crds = read_crds(&path).expect("parse");
        assert_eq!(crds.len(), 1);
        assert_eq!(
            crds[0].metadata.name.as_deref(),
            Some("widgets.example.com")
        );
    }
}

//! Where the control-plane binaries live.
//!
//! The pinned versions come from `tests/control-plane/versions.env`, the same
//! file `tests/control-plane/build.sh` reads, so the default directory always
//! matches what the build script produces.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const VERSIONS_ENV: &str = include_str!("../../tests/control-plane/versions.env");

/// Environment variable naming a directory that holds the three binaries.
pub const BIN_DIR_ENV: &str = "GCO_CONTROL_PLANE_BIN";
/// Environment variable overriding the cache root used by `build.sh`.
pub const CACHE_DIR_ENV: &str = "GCO_CACHE_DIR";

/// The pinned kube-apiserver / kube-controller-manager version, e.g. `v1.36.3`.
pub fn kubernetes_version() -> &'static str {
    pinned("K8S_VERSION")
}

/// The pinned etcd version, e.g. `v3.6.16`.
pub fn etcd_version() -> &'static str {
    pinned("ETCD_VERSION")
}

fn pinned(key: &str) -> &'static str {
    VERSIONS_ENV
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(|value| value.trim().trim_matches('"'))
        .unwrap_or("unknown")
}

/// The directory `tests/control-plane/build.sh` installs into by default.
pub fn default_bin_dir() -> PathBuf {
    let root = std::env::var_os(CACHE_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache").join("grafana-cloud-operator")
        });
    root.join("control-plane")
        .join(format!(
            "k8s-{}-etcd-{}",
            kubernetes_version(),
            etcd_version()
        ))
        .join("bin")
}

/// Paths of the three control-plane executables.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
}

impl Binaries {
    /// Locates the binaries in `$GCO_CONTROL_PLANE_BIN`, or else in the
    /// default cache directory. Fails with build instructions when any is missing.
    pub fn locate() -> Result<Self> {
        let dir = std::env::var_os(BIN_DIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(default_bin_dir);
        Self::in_dir(&dir)
    }

    /// Uses the binaries in `dir`, failing when any is missing.
    pub fn in_dir(dir: &Path) -> Result<Self> {
        let binaries = Self {
            etcd: dir.join("etcd"),
            kube_apiserver: dir.join("kube-apiserver"),
            kube_controller_manager: dir.join("kube-controller-manager"),
        };
        let missing: Vec<&str> = [
            (&binaries.etcd, "etcd"),
            (&binaries.kube_apiserver, "kube-apiserver"),
            (&binaries.kube_controller_manager, "kube-controller-manager"),
        ]
        .into_iter()
        .filter(|(path, _)| !path.is_file())
        .map(|(_, name)| name)
        .collect();
        if missing.is_empty() {
            Ok(binaries)
        } else {
            Err(Error::MissingBinaries {
                dir: dir.to_path_buf(),
                missing: missing.join(", "),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_versions_env() {
        assert!(
            kubernetes_version().starts_with("v1."),
            "{}",
            kubernetes_version()
        );
        assert!(etcd_version().starts_with("v3."), "{}", etcd_version());
    }

    #[test]
    fn missing_binaries_error_says_how_to_build_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Binaries::in_dir(dir.path()).expect_err("empty dir has no binaries");
        let message = err.to_string();
        assert!(
            message.contains("tests/control-plane/build.sh"),
            "{message}"
        );
        assert!(
            message.contains("etcd, kube-apiserver, kube-controller-manager"),
            "{message}"
        );
    }
}

//! Errors of the test harness.

use std::path::PathBuf;

/// Everything that can go wrong while starting or using a control plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The etcd / kube-apiserver / kube-controller-manager binaries are not built.
    #[error(
        "control-plane binaries are missing: {missing} not found in {dir}. \
         Build them with `tests/control-plane/build.sh` (takes 10-20 minutes once, then cached), \
         or point GCO_CONTROL_PLANE_BIN at a directory holding etcd, kube-apiserver and \
         kube-controller-manager"
    )]
    MissingBinaries { dir: PathBuf, missing: String },

    #[error("failed to {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to generate certificates")]
    GenerateCertificates(#[from] rcgen::Error),

    #[error("failed to find a free loopback port")]
    AllocatePort(#[source] std::io::Error),

    #[error("failed to spawn {program}")]
    SpawnProcess {
        program: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{component} exited before it became ready ({status}); last log lines:\n{log_tail}")]
    ComponentExited {
        component: &'static str,
        status: String,
        log_tail: String,
    },

    #[error("timed out after {seconds}s waiting for {what}; last log lines:\n{log_tail}")]
    Timeout {
        what: String,
        seconds: u64,
        log_tail: String,
    },

    #[error("failed to serialize kubeconfig")]
    SerializeKubeconfig(#[from] serde_saphyr::SerializeError),

    #[error("failed to load kubeconfig {path}")]
    LoadKubeconfig {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("failed to parse CRD manifest {path}")]
    ParseCrd {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("no CustomResourceDefinition found in {dir}")]
    NoCrds { dir: PathBuf },

    #[error("failed to {action}")]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to signal process {pid}")]
    Signal {
        pid: u32,
        #[source]
        source: nix::Error,
    },
}

/// Result alias for the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

pub(crate) fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}

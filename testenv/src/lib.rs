//! Test harness for a real control plane: etcd, kube-apiserver and
//! kube-controller-manager (garbage-collector and namespace controllers only),
//! built by `tests/control-plane/build.sh` and started on free 127.0.0.1 ports.
//!
//! ```no_run
//! # async fn example() -> testenv::Result<()> {
//! let cp = testenv::ControlPlane::start().await?;
//! cp.apply_crds("crds/").await?;
//! let client = cp.client(); // cluster admin
//! let kubeconfig = cp.kubeconfig_path(); // for kubectl and child processes
//! # let _ = (client, kubeconfig);
//! # Ok(())
//! # }
//! ```
//!
//! Everything is torn down when the [`ControlPlane`] is dropped, also when a
//! test panics; the component logs of a panicking test are kept. Control
//! planes left behind by a test process that was killed outright are removed
//! when the next one starts.

mod binaries;
mod certs;
mod components;
mod control_plane;
mod crds;
mod error;
mod kubeconfig;
mod ports;
mod process;
mod service_account;
mod sweep;

pub use binaries::{
    BIN_DIR_ENV, Binaries, CACHE_DIR_ENV, default_bin_dir, etcd_version, kubernetes_version,
};
pub use control_plane::{ControlPlane, KEEP_LOGS_ENV};
pub use error::{Error, Result};
pub use process::ChildProcess;

//! Command lines of etcd, kube-apiserver and kube-controller-manager, with
//! the flags controller-runtime's envtest uses, plus the controller manager.

use std::{path::Path, process::Command};

use crate::{binaries::Binaries, certs::Pki};

/// Loopback ports of one control plane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub apiserver: u16,
}

/// The controllers kube-controller-manager runs: ownerReference garbage
/// collection, namespace deletion and ResourceQuota accounting. Nothing else (no
/// scheduler, no kubelet).
pub(crate) const CONTROLLERS: &str =
    "garbage-collector-controller,namespace-controller,resourcequota-controller";

pub(crate) fn etcd(binaries: &Binaries, data_dir: &Path, ports: Ports) -> Command {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    let mut command = Command::new(&binaries.etcd);
    command
        .arg("--name=testenv")
        .arg(format!("--data-dir={}", data_dir.display()))
        .arg(format!("--listen-client-urls={client}"))
        .arg(format!("--advertise-client-urls={client}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=testenv={peer}"))
        .arg("--unsafe-no-fsync=true")
        .arg("--log-level=warn");
    command
}

pub(crate) fn kube_apiserver(
    binaries: &Binaries,
    pki: &Pki,
    cert_dir: &Path,
    ports: Ports,
) -> Command {
    let mut command = Command::new(&binaries.kube_apiserver);
    command
        .arg(format!(
            "--etcd-servers=http://127.0.0.1:{}",
            ports.etcd_client
        ))
        .arg(format!("--cert-dir={}", cert_dir.display()))
        .arg(format!("--tls-cert-file={}", pki.serving_cert.display()))
        .arg(format!(
            "--tls-private-key-file={}",
            pki.serving_key.display()
        ))
        .arg(format!("--client-ca-file={}", pki.ca_cert.display()))
        .arg(format!("--secure-port={}", ports.apiserver))
        .arg("--bind-address=127.0.0.1")
        .arg("--advertise-address=127.0.0.1")
        .arg("--service-cluster-ip-range=10.0.0.0/24")
        .arg("--allow-privileged=true")
        .arg("--disable-admission-plugins=ServiceAccount")
        .arg("--authorization-mode=RBAC")
        .arg(format!(
            "--service-account-issuer=https://127.0.0.1:{}/",
            ports.apiserver
        ))
        .arg(format!(
            "--service-account-key-file={}",
            pki.service_account_pub.display()
        ))
        .arg(format!(
            "--service-account-signing-key-file={}",
            pki.service_account_key.display()
        ))
        .arg("--v=1");
    command
}

pub(crate) fn kube_controller_manager(
    binaries: &Binaries,
    kubeconfig: &Path,
    cert_dir: &Path,
) -> Command {
    let mut command = Command::new(&binaries.kube_controller_manager);
    command
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--controllers={CONTROLLERS}"))
        .arg("--leader-elect=false")
        .arg("--secure-port=0")
        .arg(format!("--cert-dir={}", cert_dir.display()))
        .arg("--v=2");
    command
}

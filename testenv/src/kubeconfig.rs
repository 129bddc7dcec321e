//! Kubeconfig files for the admin identity and for service accounts.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::{
    certs::Pki,
    error::{Error, Result, io},
};

/// Who a kubeconfig authenticates as.
pub(crate) enum Credentials<'a> {
    ClientCertificate { cert: &'a Path, key: &'a Path },
    Token(&'a str),
}

/// Writes a kubeconfig for `server` with the given credentials to `path`
/// (mode 0600, since it may hold a token).
pub(crate) fn write(
    path: &Path,
    server: &str,
    pki: &Pki,
    credentials: Credentials<'_>,
) -> Result<()> {
    let user = match credentials {
        Credentials::ClientCertificate { cert, key } => serde_json::json!({
            "client-certificate": cert,
            "client-key": key,
        }),
        Credentials::Token(token) => serde_json::json!({ "token": token }),
    };
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "testenv",
            "cluster": { "server": server, "certificate-authority": pki.ca_cert },
        }],
        "users": [{ "name": "testenv", "user": user }],
        "contexts": [{
            "name": "testenv",
            "context": { "cluster": "testenv", "user": "testenv" },
        }],
        "current-context": "testenv",
    });
    let yaml = serde_saphyr::to_string(&config)?;
    write_private(path, yaml.as_bytes())
}

/// Builds a client from a kubeconfig file written by [`write`].
pub(crate) async fn client(path: &Path) -> Result<kube::Client> {
    let load = |source: Box<dyn std::error::Error + Send + Sync>| Error::LoadKubeconfig {
        path: path.to_path_buf(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(|e| load(Box::new(e)))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| load(Box::new(e)))?;
    kube::Client::try_from(config).map_err(|e| load(Box::new(e)))
}

fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io("create", path))?;
    file.write_all(contents).map_err(io("write", path))
}

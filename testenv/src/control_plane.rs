//! Starting, reaching and tearing down one control plane.

use std::{
    net::Ipv4Addr,
    path::{Path, PathBuf},
    sync::Mutex,
    time::{Duration, Instant},
};

use tempfile::TempDir;

use crate::{
    binaries::Binaries,
    certs::Pki,
    components::{self, Ports},
    error::{Error, Result, io},
    kubeconfig::{self, Credentials},
    ports::free_port,
    process::ChildProcess,
    sweep,
};

/// Set to keep the logs directory even when no test panicked.
pub const KEEP_LOGS_ENV: &str = "GCO_TESTENV_KEEP_LOGS";

const START_ATTEMPTS: usize = 3;
const ETCD_TIMEOUT: Duration = Duration::from_secs(30);
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running etcd, kube-apiserver and kube-controller-manager on free
/// 127.0.0.1 ports, each in its own temporary directory.
///
/// Dropping it kills the processes and removes the directories; when the
/// drop happens during a panic, the component logs are kept and their path
/// is printed.
pub struct ControlPlane {
    pub(crate) binaries: Binaries,
    pub(crate) controller_manager: Mutex<Option<ChildProcess>>,
    apiserver: Option<ChildProcess>,
    etcd: Option<ChildProcess>,
    pub(crate) client: kube::Client,
    server: String,
    pub(crate) pki: Pki,
    kubeconfig: PathBuf,
    logs: Option<TempDir>,
    pub(crate) root: TempDir,
}

impl ControlPlane {
    /// Starts a control plane with the binaries from `$GCO_CONTROL_PLANE_BIN`
    /// or the cache directory of `tests/control-plane/build.sh`, and waits
    /// until the API server reports `/readyz`.
    ///
    /// Fails with build instructions when the binaries are missing.
    pub async fn start() -> Result<Self> {
        Self::start_with(Binaries::locate()?).await
    }

    /// Starts a control plane with the given binaries.
    pub async fn start_with(binaries: Binaries) -> Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::try_start(binaries.clone()).await {
                // Another process may have taken one of our ports: try new ones.
                Err(err @ Error::ComponentExited { .. }) if attempt < START_ATTEMPTS => {
                    tracing::warn!(attempt, error = %err, "control plane failed to start, retrying");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn try_start(binaries: Binaries) -> Result<Self> {
        let tmp = std::env::temp_dir();
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| sweep::sweep_stale(&tmp));
        let root = tempfile::Builder::new()
            .prefix(sweep::ROOT_PREFIX)
            .tempdir()
            .map_err(io("create temporary directory in", &tmp))?;
        let logs = tempfile::Builder::new()
            .prefix(sweep::LOGS_PREFIX)
            .tempdir()
            .map_err(io("create temporary directory in", &tmp))?;
        let dirs = [
            "pki",
            "etcd",
            "apiserver-certs",
            "controller-manager-certs",
            "kubeconfigs",
        ];
        for dir in dirs {
            let path = root.path().join(dir);
            std::fs::create_dir_all(&path).map_err(io("create directory", &path))?;
        }
        sweep::record_owner(root.path())?;
        let pki = Pki::generate(&root.path().join("pki"))?;
        let ports = Ports {
            etcd_client: free_port()?,
            etcd_peer: free_port()?,
            apiserver: free_port()?,
        };

        let mut etcd = ChildProcess::spawn(
            components::etcd(&binaries, &root.path().join("etcd"), ports),
            logs.path().join("etcd.log"),
        )?;
        sweep::record_component(root.path(), etcd.id())?;
        wait_for_port(&mut etcd, "etcd", ports.etcd_client).await?;

        let mut apiserver = ChildProcess::spawn(
            components::kube_apiserver(
                &binaries,
                &pki,
                &root.path().join("apiserver-certs"),
                ports,
            ),
            logs.path().join("kube-apiserver.log"),
        )?;
        sweep::record_component(root.path(), apiserver.id())?;
        let server = format!("https://127.0.0.1:{}", ports.apiserver);
        let kubeconfig = root.path().join("kubeconfigs").join("admin.kubeconfig");
        let admin = Credentials::ClientCertificate {
            cert: &pki.admin_cert,
            key: &pki.admin_key,
        };
        kubeconfig::write(&kubeconfig, &server, &pki, admin)?;
        let client = kubeconfig::client(&kubeconfig).await?;
        wait_until_ready(&client, &mut apiserver, &mut etcd).await?;

        let mut control_plane = Self {
            binaries,
            controller_manager: Mutex::new(None),
            apiserver: Some(apiserver),
            etcd: Some(etcd),
            client,
            server,
            pki,
            kubeconfig,
            logs: Some(logs),
            root,
        };
        let controller_manager = control_plane.spawn_controller_manager()?;
        *control_plane
            .controller_manager
            .get_mut()
            .unwrap_or_else(|p| p.into_inner()) = Some(controller_manager);
        tracing::info!(server = control_plane.server, logs = %control_plane.logs_dir().display(), "control plane ready");
        Ok(control_plane)
    }

    pub(crate) fn spawn_controller_manager(&self) -> Result<ChildProcess> {
        let process = ChildProcess::spawn(
            components::kube_controller_manager(
                &self.binaries,
                &self.kubeconfig,
                &self.root.path().join("controller-manager-certs"),
            ),
            self.logs_dir().join("kube-controller-manager.log"),
        )?;
        sweep::record_component(self.root.path(), process.id())?;
        Ok(process)
    }

    /// A client authenticated as cluster admin (group `system:masters`).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The admin kubeconfig, for kubectl and child processes (`KUBECONFIG`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server URL, `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The CA certificate that signed the API server's serving certificate.
    pub fn ca_cert_path(&self) -> &Path {
        &self.pki.ca_cert
    }

    /// The directory holding `etcd.log`, `kube-apiserver.log` and
    /// `kube-controller-manager.log`. It survives a panicking test.
    pub fn logs_dir(&self) -> &Path {
        self.logs
            .as_ref()
            .map_or_else(|| self.root.path(), TempDir::path)
    }

    /// A scratch directory removed with the control plane, for test files.
    pub fn scratch_dir(&self) -> &Path {
        self.root.path()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let controller_manager = self
            .controller_manager
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop(controller_manager);
        drop(self.apiserver.take());
        drop(self.etcd.take());
        let keep = std::thread::panicking() || std::env::var_os(KEEP_LOGS_ENV).is_some();
        if let Some(logs) = self.logs.take()
            && keep
        {
            let path = logs.keep();
            eprintln!("testenv: control-plane logs kept in {}", path.display());
        }
    }
}

async fn wait_for_port(
    process: &mut ChildProcess,
    component: &'static str,
    port: u16,
) -> Result<()> {
    let deadline = Instant::now() + ETCD_TIMEOUT;
    loop {
        if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        check_running(process, component)?;
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("{component} to listen on port {port}"),
                seconds: ETCD_TIMEOUT.as_secs(),
                log_tail: process.log_tail(40),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_ready(
    client: &kube::Client,
    apiserver: &mut ChildProcess,
    etcd: &mut ChildProcess,
) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let request = http::Request::get("/readyz").body(Vec::new());
        if let Ok(request) = request
            && let Ok(body) = client.request_text(request).await
            && body.trim() == "ok"
        {
            return Ok(());
        }
        check_running(etcd, "etcd")?;
        check_running(apiserver, "kube-apiserver")?;
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: "kube-apiserver /readyz".to_owned(),
                seconds: READY_TIMEOUT.as_secs(),
                log_tail: apiserver.log_tail(40),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn check_running(process: &mut ChildProcess, component: &'static str) -> Result<()> {
    match process.exit_status() {
        None => Ok(()),
        Some(status) => Err(Error::ComponentExited {
            component,
            status: status.to_string(),
            log_tail: process.log_tail(40),
        }),
    }
}

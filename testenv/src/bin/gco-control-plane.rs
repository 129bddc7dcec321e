//! Runs a local control plane until SIGINT or SIGTERM, for the demo and for manual testing.
//!
//! Usage: `gco-control-plane [--crds DIR] [--kubeconfig PATH]`. Prints `ready` once the API
//! server answers and the CRDs are established, with the kubeconfig written to PATH.

use std::{path::PathBuf, process::ExitCode};

use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> ExitCode {
    let mut crds: Option<PathBuf> = None;
    let mut kubeconfig: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--crds" => crds = args.next().map(PathBuf::from),
            "--kubeconfig" => kubeconfig = args.next().map(PathBuf::from),
            _ => {
                eprintln!("usage: gco-control-plane [--crds DIR] [--kubeconfig PATH]");
                return ExitCode::FAILURE;
            }
        }
    }
    let cp = match testenv::ControlPlane::start().await {
        Ok(cp) => cp,
        Err(err) => {
            eprintln!("failed to start the control plane: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = crds
        && let Err(err) = cp.apply_crds(&dir).await
    {
        eprintln!("failed to apply CRDs from {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    if let Some(path) = &kubeconfig
        && let Err(err) = std::fs::copy(cp.kubeconfig_path(), path)
    {
        eprintln!(
            "failed to write the kubeconfig to {}: {err}",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    println!("api server: {}", cp.server_url());
    println!("logs: {}", cp.logs_dir().display());
    println!("ready");
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("failed to listen for signals");
        return ExitCode::FAILURE;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    drop(cp);
    ExitCode::SUCCESS
}

//! `grafana-cloud-operator run`: wires clients, controllers and servers together.

mod controllers;

use controllers::Controllers;

use std::{process::ExitCode, sync::Arc, time::Duration};

use futures::FutureExt;
use tracing::{error, info};

use crate::{
    cli::RunArgs,
    controller::{self, Config, Context, Shutdown, credentials::DefaultCredentials},
    fence::Fence,
    grafana::{ClientOptions, GrafanaClient, budget::Budget},
    http::{self, Readiness},
    leader::{self, Leadership, LeaseConfig},
    metrics::Metrics,
    selector::parse_selector,
    telemetry,
};

/// How long in-flight reconciles may take to finish after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the operator until SIGTERM or SIGINT.
pub fn main(args: RunArgs) -> ExitCode {
    let log_level = match telemetry::init(args.log_format, &args.log_level) {
        Ok(handle) => handle,
        Err(err) => {
            eprintln!("invalid --log-level {:?}: {err}", args.log_level);
            return ExitCode::FAILURE;
        }
    };
    // One worker thread: the runtime runs on this thread itself.
    let mut builder = match args.worker_threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(usize::from(n));
            builder
        }
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            error!(error = %err, "failed to start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, log_level)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            error!(error = %err, "operator stopped");
            ExitCode::FAILURE
        }
    }
}

/// Why the operator could not start, or stopped without being asked to.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "the {0} controller stopped unexpectedly; exiting so that Kubernetes restarts the operator"
    )]
    ControllerStopped(&'static str),
    #[error("leader election stopped unexpectedly; exiting so that another replica takes over")]
    LeaderElectionStopped,
    #[error("failed to install the TLS crypto provider")]
    CryptoProvider,
    #[error("failed to connect to Kubernetes: {0}")]
    Kubernetes(#[source] kube::Error),
    #[error(transparent)]
    Grafana(#[from] crate::grafana::Error),
    #[error("invalid --default-credentials-secret {0:?}: expected namespace/name")]
    DefaultCredentialsSecret(String),
    #[error(transparent)]
    Selector(#[from] crate::selector::ParseSelectorError),
    #[error("failed to start leader election: {0}")]
    LeaderElection(#[source] kube_lease_manager::LeaseManagerError),
    #[error("failed to bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

async fn run(args: RunArgs, log_level: telemetry::LogLevelHandle) -> Result<(), RunError> {
    rustls::crypto::ring::default_provider()
        .install_default()
        .map_err(|_| RunError::CryptoProvider)?;
    let kube = crate::kube_client::connect()
        .await
        .map_err(RunError::Kubernetes)?;
    let metrics = Arc::new(Metrics::default());
    // With leader election, nothing is written until this replica holds the lease.
    let fence = match args.leader_elect {
        true => Fence::closed(),
        false => Fence::always_open(),
    };
    let grafana = GrafanaClient::new(
        args.grafana_api_url.clone(),
        ClientOptions {
            timeout: args.api_timeout,
            observer: Some(metrics.clone()),
            budget: Budget {
                per_second: args.api_rate_limit,
                burst: args.api_burst,
            },
            fence: Some(fence.clone()),
            ..ClientOptions::default()
        },
    )?;
    let config = Config {
        resync_interval: controller::requeue::resync(args.resync_interval),
        inventory_interval: controller::requeue::resync(args.stack_inventory_interval),
        concurrency: args.concurrency,
        default_credentials: default_credentials(&args)?,
        fence: fence.clone(),
    };
    let cluster = Arc::new(controller::cluster::KubeCluster::new(kube.clone()));
    let ctx = Context::new(cluster.clone(), grafana, config, metrics.clone());
    // Events leave the reconciles' path: a slow API server never holds a reconcile back.
    let _ = ctx
        .events
        .set(controller::EventQueue::spawn(cluster, metrics.clone()));

    let readiness = Readiness::default();
    let (health_addr, health) =
        http::health_server(args.health_addr, readiness.clone(), Some(log_level))
            .await
            .map_err(|source| RunError::Bind {
                what: "the health server",
                addr: args.health_addr,
                source,
            })?;
    let (metrics_addr, metrics_srv) = http::metrics_server(args.metrics_addr, metrics)
        .await
        .map_err(|source| RunError::Bind {
            what: "the metrics server",
            addr: args.metrics_addr,
            source,
        })?;
    tokio::spawn(health);
    tokio::spawn(metrics_srv);
    info!(%health_addr, %metrics_addr, api = %args.grafana_api_url, namespaces = ?args.namespaces, "starting");

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stop: std::pin::Pin<Box<dyn Future<Output = ()> + Send + Sync>> = Box::pin(async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
    });
    let shutdown: Shutdown = stop.shared();
    let scopes: Vec<Option<String>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().cloned().map(Some).collect()
    };

    let mut leadership = match args.leader_elect {
        false => None,
        true => {
            let config = LeaseConfig {
                namespace: args
                    .leader_election_namespace
                    .clone()
                    .or_else(leader::own_namespace)
                    .unwrap_or_else(|| "default".into()),
                name: args.leader_election_lease_name.clone(),
                identity: leader::identity(),
                duration: args.leader_election_lease_duration,
            };
            Some(
                Leadership::start(kube.clone(), config, fence)
                    .await
                    .map_err(RunError::LeaderElection)?,
            )
        }
    };
    // Standby replicas are ready too: they serve probes and metrics and take over on failover.
    readiness.set(true);
    let outcome = lead(&ctx, &kube, &scopes, &shutdown, leadership.as_mut()).await;
    readiness.set(false);
    ctx.metrics.set_leader(false);
    if let Some(leadership) = leadership {
        leadership.release().await;
    }
    outcome
}

/// Runs the controllers whenever this replica leads, until shutdown. A controller that ends
/// or panics, or an election that stops, ends the process with an error: half an operator
/// that still holds the lease and answers its probes would serve nobody.
async fn lead(
    ctx: &Arc<Context>,
    kube: &kube::Client,
    scopes: &[Option<String>],
    shutdown: &Shutdown,
    mut leadership: Option<&mut Leadership>,
) -> Result<(), RunError> {
    loop {
        if let Some(leadership) = leadership.as_mut() {
            tokio::select! {
                biased;
                () = shutdown.clone() => return Ok(()),
                acquired = leadership.acquired() => if !acquired {
                    return Err(RunError::LeaderElectionStopped);
                },
            }
        }
        ctx.metrics.set_leader(true);
        let mut controllers = Controllers::spawn(ctx, kube, scopes, shutdown);
        let lost = async {
            match leadership.as_mut() {
                Some(leadership) => leadership.lost().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.clone() => {
                info!("shutting down; draining in-flight reconciles");
                if !controllers.drain(DRAIN_TIMEOUT).await {
                    info!(timeout = ?DRAIN_TIMEOUT, "reconciles still running at the drain timeout; exiting");
                }
                return Ok(());
            }
            () = lost => {
                // Another replica may act from now on: stop at once, not after a drain.
                controllers.abort();
                ctx.metrics.set_leader(false);
                if leadership.as_ref().is_some_and(|l| l.stopped()) {
                    return Err(RunError::LeaderElectionStopped);
                }
            }
            kind = controllers.first_to_end() => {
                controllers.abort();
                return Err(RunError::ControllerStopped(kind));
            }
        }
    }
}

fn default_credentials(args: &RunArgs) -> Result<Option<DefaultCredentials>, RunError> {
    let Some(reference) = &args.default_credentials_secret else {
        return Ok(None);
    };
    let (namespace, name) = reference
        .split_once('/')
        .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
        .ok_or_else(|| RunError::DefaultCredentialsSecret(reference.clone()))?;
    let namespace_selector = args
        .default_credentials_namespace_selector
        .as_deref()
        .map(parse_selector)
        .transpose()?;
    Ok(Some(DefaultCredentials {
        namespace: namespace.into(),
        name: name.into(),
        key: args.default_credentials_key.clone(),
        namespace_selector,
    }))
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    error!(error = %err, "failed to listen for SIGTERM");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

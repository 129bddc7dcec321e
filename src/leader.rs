//! Leader election on a `coordination.k8s.io` Lease (through kube-lease-manager, which keeps
//! the lease with server-side apply so two holders cannot both win).

use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tracing::{info, warn};

/// This replica's view of the lease.
pub struct Leadership {
    leader: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
    identity: String,
}

/// Where and how to hold the lease.
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// How long a lease is valid without renewal: the longest failover takes.
    pub duration: Duration,
}

impl Leadership {
    /// Starts competing for the lease in the background.
    pub async fn start(client: Client, config: LeaseConfig) -> Result<Self, LeaseManagerError> {
        let duration = config.duration.as_secs().max(3);
        let manager = LeaseManagerBuilder::new(client, &config.name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_duration(duration)
            .with_grace((duration / 3).max(1))
            .with_field_manager(format!("grafana-cloud-operator-{}", config.identity))
            .build()
            .await?;
        let (leader, task) = manager.watch().await;
        info!(lease = %config.name, namespace = %config.namespace, identity = %config.identity, "competing for leadership");
        Ok(Self {
            leader,
            task,
            identity: config.identity,
        })
    }

    /// Waits until this replica holds the lease. Returns false if the election stopped.
    pub async fn acquired(&mut self) -> bool {
        let acquired = self.leader.wait_for(|leader| *leader).await.is_ok();
        if acquired {
            info!(identity = %self.identity, "became the leader");
        }
        acquired
    }

    /// Waits until this replica no longer holds the lease.
    pub async fn lost(&mut self) {
        let _ = self.leader.wait_for(|leader| !*leader).await;
        warn!(identity = %self.identity, "lost leadership");
    }

    /// Whether the election itself has stopped (its task ended), as opposed to another
    /// replica holding the lease.
    pub fn stopped(&self) -> bool {
        self.task.is_finished() || self.leader.has_changed().is_err()
    }

    /// Releases the lease so that another replica takes over at once.
    pub async fn release(self) {
        drop(self.leader);
        match self.task.await {
            Ok(Ok(_)) => info!("released the lease"),
            Ok(Err(err)) => warn!(error = %err, "failed to release the lease"),
            Err(err) => warn!(error = %err, "lease task failed"),
        }
    }
}

/// The namespace the operator runs in, when in a cluster.
pub fn own_namespace() -> Option<String> {
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .ok()
        .map(|ns| ns.trim().to_string())
        .filter(|ns| !ns.is_empty())
}

/// A unique identity for this replica: the pod name where known, plus a random suffix.
pub fn identity() -> String {
    let base = std::env::var("POD_NAME").unwrap_or_else(|_| "grafana-cloud-operator".into());
    format!("{base}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

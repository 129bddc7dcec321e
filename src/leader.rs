//! Leader election on a `coordination.k8s.io` Lease (through kube-lease-manager, which keeps
//! the lease with server-side apply so two holders cannot both win), with a fence: the
//! replica reads the Lease itself and may act only until the end of the lease it last saw
//! itself holding, so a leader whose renewals fail, or that was paused, stops acting before
//! a standby can take over.

use std::time::{Duration, Instant};

use k8s_openapi::{api::coordination::v1::Lease, jiff::Timestamp};
use kube::{Api, Client};
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::fence::Fence;

/// This replica's view of the lease.
pub struct Leadership {
    leader: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
    fence: Fence,
    fence_keeper: tokio::task::JoinHandle<()>,
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
    /// Starts competing for the lease in the background. `fence` opens while this replica
    /// holds a lease it has seen renewed, and closes when that lease runs out.
    pub async fn start(
        client: Client,
        config: LeaseConfig,
        fence: Fence,
    ) -> Result<Self, LeaseManagerError> {
        let duration = config.duration.as_secs().max(3);
        let fence_keeper = tokio::spawn(keep_fence(
            Api::namespaced(client.clone(), &config.namespace),
            config.name.clone(),
            config.identity.clone(),
            Duration::from_secs(duration),
            fence.clone(),
        ));
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
            fence,
            fence_keeper,
            identity: config.identity,
        })
    }

    /// Waits until this replica holds the lease and its fence is open. Returns false if the
    /// election stopped.
    pub async fn acquired(&mut self) -> bool {
        loop {
            if self.leader.wait_for(|leader| *leader).await.is_err() {
                return false;
            }
            if self.fence.is_open() {
                info!(identity = %self.identity, "became the leader");
                return true;
            }
            tokio::time::sleep(FENCE_POLL).await;
        }
    }

    /// Waits until this replica no longer holds the lease, or the lease it holds runs out
    /// without a renewal it has seen.
    pub async fn lost(&mut self) {
        loop {
            let Some(left) = self.fence.remaining() else {
                warn!(identity = %self.identity, "the lease ran out without a renewal; stopping");
                return;
            };
            tokio::select! {
                _ = self.leader.wait_for(|leader| !*leader) => {
                    self.fence.close();
                    warn!(identity = %self.identity, "lost leadership");
                    return;
                }
                () = tokio::time::sleep(left.min(FENCE_POLL)) => {}
            }
        }
    }

    /// Whether the election itself has stopped (its task ended), as opposed to another
    /// replica holding the lease.
    pub fn stopped(&self) -> bool {
        self.task.is_finished() || self.leader.has_changed().is_err()
    }

    /// Releases the lease so that another replica takes over at once.
    pub async fn release(self) {
        self.fence.close();
        self.fence_keeper.abort();
        drop(self.leader);
        match self.task.await {
            Ok(Ok(_)) => info!("released the lease"),
            Ok(Err(err)) => warn!(error = %err, "failed to release the lease"),
            Err(err) => warn!(error = %err, "lease task failed"),
        }
    }
}

/// How often a waiting replica looks at its fence again.
const FENCE_POLL: Duration = Duration::from_millis(200);

/// Reads the Lease every fifth of its duration (at least every 2 s) and keeps `fence` open
/// until the end of the lease this replica holds, measured from the moment the read began.
/// A failed read extends nothing, so the fence closes by itself when the API server cannot
/// be reached, and a paused process finds it closed when it resumes.
async fn keep_fence(
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    fence: Fence,
) {
    let period = (duration / 5).clamp(Duration::from_millis(200), Duration::from_secs(2));
    loop {
        let started = Instant::now();
        match api.get_opt(&name).await {
            Ok(lease) => match lease_left(lease.as_ref(), &identity, duration, Timestamp::now()) {
                Some(left) => fence.open_until(started + left),
                None => fence.close(),
            },
            Err(err) => {
                warn!(error = %err, "failed to read the leader Lease; the fence is not extended")
            }
        }
        tokio::time::sleep(period).await;
    }
}

/// How much of `lease` is left for `identity` at `now`: `None` when another replica holds
/// it, nobody does, or it has run out.
fn lease_left(
    lease: Option<&Lease>,
    identity: &str,
    duration: Duration,
    now: Timestamp,
) -> Option<Duration> {
    let spec = lease?.spec.as_ref()?;
    if spec.holder_identity.as_deref() != Some(identity) {
        return None;
    }
    let renewed = spec.renew_time.as_ref()?.0;
    let age = Duration::try_from(now.duration_since(renewed)).unwrap_or_default();
    duration.checked_sub(age).filter(|left| !left.is_zero())
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    use super::*;

    fn lease(holder: &str, renewed: i64) -> Lease {
        Lease {
            spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_fence_lasts_until_the_end_of_our_own_lease_only() {
        let now = Timestamp::from_second(1_000).unwrap();
        let fifteen = Duration::from_secs(15);
        assert_eq!(
            lease_left(Some(&lease("me", 995)), "me", fifteen, now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            lease_left(Some(&lease("me", 985)), "me", fifteen, now),
            None
        );
        assert_eq!(
            lease_left(Some(&lease("other", 999)), "me", fifteen, now),
            None
        );
        assert_eq!(lease_left(None, "me", fifteen, now), None);
        assert_eq!(
            lease_left(Some(&Lease::default()), "me", fifteen, now),
            None
        );
        // A renewal stamped in the future (clock skew) counts as just now, not as more.
        assert_eq!(
            lease_left(Some(&lease("me", 1_010)), "me", fifteen, now),
            Some(fifteen)
        );
    }
}

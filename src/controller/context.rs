//! State shared by every reconcile: clients, configuration, the event recorder and the
//! per-resource failure counters that drive backoff.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{
    Resource, ResourceExt,
    runtime::events::{Event, EventType},
};
use tracing::warn;

use crate::{
    fence::Fence,
    grafana::{
        AccessPolicy, AccountToken, GrafanaClient, OrgApiKey, PolicyConfig, PolicyToken,
        ServiceAccount, Stack,
    },
    metrics::Metrics,
};

use super::{
    cluster::Cluster,
    conditions::{Readiness, Reason, ready_condition},
    credentials::{Credentials, DefaultCredentials},
    credentials_cache::CredentialsCache,
    echo::OwnWrites,
    event_queue::EventQueue,
    snapshot::SnapshotCache,
};

/// Operator-wide settings the controllers read.
#[derive(Clone, Debug)]
pub struct Config {
    /// Resync interval of converged resources.
    pub resync_interval: Duration,
    /// How often a Ready stack's plugins and connections are read again.
    pub inventory_interval: Duration,
    /// Maximum concurrent reconciles per controller.
    pub concurrency: u16,
    /// Fallback credentials for namespaces that the selector allows.
    pub default_credentials: Option<DefaultCredentials>,
    /// Writes to the API server are made only while it is open (see [`Fence`]).
    pub fence: Fence,
}

/// Shared by all reconciles of all controllers.
pub struct Context {
    /// Everything a reconcile reads from or writes to Kubernetes goes through this port.
    pub cluster: Arc<dyn Cluster>,
    pub grafana: GrafanaClient,
    pub config: Config,
    pub metrics: Arc<Metrics>,
    /// Steady-state list of each organisation's stacks.
    pub org_stacks: SnapshotCache<Vec<Stack>>,
    /// Each organisation's stacks as read before creates: a stack that no resource has tried
    /// to create yet is looked up here instead of by its own read. Never cleared by a create:
    /// a resource that already tried to create its stack reads it by slug.
    pub org_stacks_before_create: SnapshotCache<Vec<Stack>>,
    /// Steady-state list of each organisation's API keys.
    pub org_keys: SnapshotCache<Vec<OrgApiKey>>,
    /// Each organisation's numeric id, by slug.
    pub org_ids: SnapshotCache<u64>,
    /// Steady-state list of each organisation's access policies, by `<org>/<region>`.
    pub org_policies: SnapshotCache<Vec<AccessPolicy>>,
    /// Steady-state list of each organisation's access-policy tokens, by `<org>/<region>`.
    pub org_tokens: SnapshotCache<Vec<PolicyToken>>,
    /// The scopes each region allows (`None` where grafana.com does not say), by region.
    pub policy_configs: SnapshotCache<Option<PolicyConfig>>,
    /// Steady-state list of each stack's service accounts, by `<org>/<stack slug>`.
    pub stack_accounts: SnapshotCache<Vec<ServiceAccount>>,
    /// Steady-state list of each service account's tokens, by `<org>/<stack slug>/<id>`.
    pub account_tokens: SnapshotCache<Vec<AccountToken>>,
    /// Whether each namespace is being deleted, by name (see [`super::refs::namespace_terminating`]).
    pub namespaces_terminating: SnapshotCache<bool>,
    /// The Secrets this process wrote, so that their echoes wake no owner.
    pub own_writes: Arc<OwnWrites>,
    /// Credentials read from Secrets, reused while their watch shows them unchanged.
    pub credentials_cache: Arc<CredentialsCache>,
    /// Where Events go when the operator runs; without it a reconcile publishes its Events
    /// itself, before it goes on.
    pub events: OnceLock<EventQueue>,
    failures: Mutex<HashMap<String, u32>>,
    /// The last token read from each credentials Secret, by (namespace, name, key). Memory
    /// only: it lets cleanups finish after a namespace deletion removed the Secret first.
    remembered: Mutex<HashMap<(String, String, String), Credentials>>,
}

impl Context {
    pub fn new(
        cluster: Arc<dyn Cluster>,
        grafana: GrafanaClient,
        config: Config,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            cluster,
            grafana,
            config,
            metrics,
            org_stacks: SnapshotCache::default(),
            org_stacks_before_create: SnapshotCache::default(),
            org_keys: SnapshotCache::default(),
            org_ids: SnapshotCache::default(),
            org_policies: SnapshotCache::default(),
            org_tokens: SnapshotCache::default(),
            policy_configs: SnapshotCache::default(),
            stack_accounts: SnapshotCache::default(),
            account_tokens: SnapshotCache::default(),
            namespaces_terminating: SnapshotCache::default(),
            own_writes: Arc::default(),
            credentials_cache: Arc::default(),
            events: OnceLock::new(),
            failures: Mutex::default(),
            remembered: Mutex::default(),
        })
    }

    /// Fails with [`super::Error::Fenced`] unless this replica may still write.
    pub fn check_fence(&self) -> Result<(), super::Error> {
        match self.config.fence.is_open() {
            true => Ok(()),
            false => Err(super::Error::Fenced),
        }
    }

    /// Publishes a Kubernetes Event about `obj`. Failing to publish is logged, never fatal.
    /// `note` must never contain a token.
    pub async fn event<K>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        let reference = obj.object_ref(&());
        match self.events.get() {
            Some(queue) => queue.push(reference, event),
            None => {
                if let Err(err) = self.cluster.publish(&reference, &event).await {
                    warn!(error = %err, reason, "failed to publish event");
                }
            }
        }
    }

    /// Emits a Warning event when a resource enters a failure it was not already in, so that
    /// a persistent error is reported once, not on every retry.
    pub async fn event_on_new_failure<K>(
        &self,
        obj: &K,
        previous: &[Condition],
        readiness: &Readiness,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let waiting = matches!(
            readiness.reason,
            Reason::StackProvisioning
                | Reason::StackNotReady
                | Reason::PolicyNotReady
                | Reason::ServiceAccountNotReady
                | Reason::Deleting
        );
        let unchanged =
            ready_condition(previous).is_some_and(|c| c.reason == readiness.reason.as_str());
        if readiness.ready || waiting || unchanged {
            return;
        }
        self.event(
            obj,
            EventType::Warning,
            readiness.reason.as_str(),
            "Reconcile",
            readiness.message.clone(),
        )
        .await;
    }

    /// Counts one more consecutive failure of `obj` and returns the new count.
    pub fn record_failure<K: Resource<DynamicType = ()>>(&self, obj: &K) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(failure_key(obj)).or_default();
        *count = count.saturating_add(1);
        *count
    }

    /// Keeps the credentials just read from a Secret for [`Self::remembered_credentials`].
    pub fn remember_credentials(&self, key: &str, creds: &Credentials) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        let id = (
            creds.source.namespace.clone(),
            creds.source.name.clone(),
            key.to_string(),
        );
        remembered.insert(id, creds.clone());
    }

    /// The credentials last read from a Secret that may no longer exist.
    pub fn remembered_credentials(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Option<Credentials> {
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered
            .get(&(namespace.to_string(), name.to_string(), key.to_string()))
            .cloned()
    }

    /// Forgets the failures of `obj` after a successful reconcile.
    pub fn record_success<K: Resource<DynamicType = ()>>(&self, obj: &K) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&failure_key(obj));
    }
}

fn failure_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!("{}/{}", K::kind(&()), obj.uid().unwrap_or_default())
}

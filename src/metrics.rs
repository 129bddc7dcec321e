//! Prometheus metrics, in OpenMetrics format. Every label value comes from a fixed set
//! (kinds, error categories, endpoint templates, methods, status codes), never from free text.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::grafana::RequestObserver;

/// The full name of every metric the operator exports, as scraped: dashboards and alert rules
/// are generated from these, so that they name only what exists.
pub mod names {
    pub const PREFIX: &str = "grafana_cloud_operator";
    pub const LEADER: &str = "grafana_cloud_operator_leader";
    pub const RECONCILES_TOTAL: &str = "grafana_cloud_operator_reconciles_total";
    pub const RECONCILE_FAILURES_TOTAL: &str = "grafana_cloud_operator_reconcile_failures_total";
    pub const RECONCILE_DURATION_SECONDS: &str =
        "grafana_cloud_operator_reconcile_duration_seconds";
    pub const RESOURCES: &str = "grafana_cloud_operator_resources";
    pub const READY_RESOURCES: &str = "grafana_cloud_operator_ready_resources";
    pub const KEY_EXPIRY_TIMESTAMP_SECONDS: &str =
        "grafana_cloud_operator_key_expiry_timestamp_seconds";
    pub const KEY_RENEW_TIMESTAMP_SECONDS: &str =
        "grafana_cloud_operator_key_renew_timestamp_seconds";
    pub const GRAFANA_REQUESTS_TOTAL: &str = "grafana_cloud_operator_grafana_requests_total";
    pub const GRAFANA_REQUEST_DURATION_SECONDS: &str =
        "grafana_cloud_operator_grafana_request_duration_seconds";
    pub const GRAFANA_BUDGET_WAIT_SECONDS: &str =
        "grafana_cloud_operator_grafana_budget_wait_seconds";
    pub const EVENTS_DROPPED_TOTAL: &str = "grafana_cloud_operator_events_dropped_total";
}

/// The part of a full metric name that is registered: without the prefix and without the
/// `_total` that OpenMetrics adds to counters.
fn short(full: &'static str) -> &'static str {
    let name = full
        .strip_prefix(names::PREFIX)
        .and_then(|n| n.strip_prefix('_'))
        .unwrap_or(full);
    name.strip_suffix("_total").unwrap_or(name)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub kind: &'static str,
    pub category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: &'static str,
    pub method: String,
    /// HTTP status code, or `none` when no response arrived.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    /// The resource's kind, so that a key and a token of the same name never share a series.
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// All metrics of the operator.
pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<KindLabels, Counter>,
    pub reconcile_failures: Family<FailureLabels, Counter>,
    pub reconcile_duration: Family<KindLabels, Histogram>,
    pub grafana_requests: Family<RequestLabels, Counter>,
    pub grafana_request_duration: Family<EndpointLabels, Histogram>,
    pub leader: Gauge,
    pub resources: Family<KindLabels, Gauge>,
    pub ready_resources: Family<KindLabels, Gauge>,
    pub key_expiry: Family<KeyLabels, Gauge>,
    pub key_renew: Family<KeyLabels, Gauge>,
    pub budget_wait: Histogram,
    /// Kubernetes Events dropped because the queue to the API server was full.
    pub events_dropped: Counter,
    /// Readiness of every resource seen, by kind and uid, to count the Ready ones.
    readiness: Mutex<HashMap<(&'static str, String), bool>>,
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        let reconciles = Family::<KindLabels, Counter>::default();
        let reconcile_failures = Family::<FailureLabels, Counter>::default();
        let reconcile_duration =
            Family::<KindLabels, Histogram>::new_with_constructor(duration_histogram);
        let grafana_requests = Family::<RequestLabels, Counter>::default();
        let grafana_request_duration =
            Family::<EndpointLabels, Histogram>::new_with_constructor(duration_histogram);
        let leader = Gauge::default();
        let resources = Family::<KindLabels, Gauge>::default();
        let ready_resources = Family::<KindLabels, Gauge>::default();
        let key_expiry = Family::<KeyLabels, Gauge>::default();
        let key_renew = Family::<KeyLabels, Gauge>::default();
        let budget_wait =
            Histogram::new([0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]);
        let events_dropped = Counter::default();
        let mut registry = Registry::with_prefix(names::PREFIX);
        registry.register(
            short(names::LEADER),
            "1 while this replica holds the lease and runs the controllers",
            leader.clone(),
        );
        registry.register(
            short(names::RECONCILES_TOTAL),
            "Reconciles run, per kind",
            reconciles.clone(),
        );
        registry.register(
            short(names::READY_RESOURCES),
            "Resources whose Ready condition is True, per kind",
            ready_resources.clone(),
        );
        registry.register(
            short(names::KEY_EXPIRY_TIMESTAMP_SECONDS),
            "When the current key or token of a resource expires (Unix time)",
            key_expiry.clone(),
        );
        registry.register(
            short(names::KEY_RENEW_TIMESTAMP_SECONDS),
            "When the operator replaces the current key or token of a resource with rotation (Unix time)",
            key_renew.clone(),
        );
        registry.register(
            short(names::RESOURCES),
            "Resources the operator reconciles, per kind",
            resources.clone(),
        );
        registry.register(
            short(names::GRAFANA_BUDGET_WAIT_SECONDS),
            "Time grafana.com requests waited for their organisation's request budget",
            budget_wait.clone(),
        );
        registry.register(
            short(names::EVENTS_DROPPED_TOTAL),
            "Kubernetes Events dropped because too many were waiting for the API server",
            events_dropped.clone(),
        );
        registry.register(
            short(names::RECONCILE_FAILURES_TOTAL),
            "Failed reconciles, per kind and error category",
            reconcile_failures.clone(),
        );
        registry.register(
            short(names::RECONCILE_DURATION_SECONDS),
            "Duration of reconciles, per kind",
            reconcile_duration.clone(),
        );
        registry.register(
            short(names::GRAFANA_REQUESTS_TOTAL),
            "Requests to grafana.com, per endpoint template, method and status",
            grafana_requests.clone(),
        );
        registry.register(
            short(names::GRAFANA_REQUEST_DURATION_SECONDS),
            "Latency of grafana.com requests, per endpoint template and method",
            grafana_request_duration.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_failures,
            reconcile_duration,
            grafana_requests,
            grafana_request_duration,
            leader,
            resources,
            ready_resources,
            key_expiry,
            key_renew,
            budget_wait,
            events_dropped,
            readiness: Mutex::default(),
        }
    }
}

impl Metrics {
    /// Records one finished reconcile.
    pub fn reconciled(&self, kind: &'static str, elapsed: Duration, failure: Option<&'static str>) {
        self.reconciles.get_or_create(&KindLabels { kind }).inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind })
            .observe(elapsed.as_secs_f64());
        if let Some(category) = failure {
            self.reconcile_failures
                .get_or_create(&FailureLabels { kind, category })
                .inc();
        }
    }

    /// Records the readiness of one resource and updates the Ready count of its kind.
    pub fn set_ready(&self, kind: &'static str, uid: &str, ready: bool) {
        let mut readiness = self.readiness.lock().unwrap_or_else(|e| e.into_inner());
        readiness.insert((kind, uid.to_string()), ready);
        self.publish_ready(kind, &readiness);
    }

    /// Forgets a deleted resource.
    pub fn forget(&self, kind: &'static str, uid: &str) {
        let mut readiness = self.readiness.lock().unwrap_or_else(|e| e.into_inner());
        readiness.remove(&(kind, uid.to_string()));
        self.publish_ready(kind, &readiness);
    }

    fn publish_ready(&self, kind: &'static str, readiness: &HashMap<(&'static str, String), bool>) {
        let of_kind = readiness.iter().filter(|((k, _), _)| *k == kind);
        let all = of_kind.clone().count();
        let ready = of_kind.filter(|(_, ready)| **ready).count();
        let labels = KindLabels { kind };
        self.resources
            .get_or_create(&labels)
            .set(i64::try_from(all).unwrap_or(i64::MAX));
        self.ready_resources
            .get_or_create(&labels)
            .set(i64::try_from(ready).unwrap_or(i64::MAX));
    }

    /// Records when a resource's key or token expires and when rotation replaces it (RFC
    /// 3339 times from its status), removing the series of a time that is absent.
    pub fn set_key_times(
        &self,
        kind: &'static str,
        namespace: &str,
        name: &str,
        expires_at: Option<&str>,
        renew_at: Option<&str>,
    ) {
        let labels = KeyLabels {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let unix = |at: Option<&str>| {
            at.and_then(|at| at.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .map(|at| at.as_second())
        };
        for (family, at) in [
            (&self.key_expiry, unix(expires_at)),
            (&self.key_renew, unix(renew_at)),
        ] {
            match at {
                Some(at) => {
                    family.get_or_create(&labels).set(at);
                }
                None => {
                    family.remove(&labels);
                }
            }
        }
    }

    /// Records whether this replica currently runs the controllers.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl RequestObserver for Metrics {
    fn budget_waited(&self, waited: Duration) {
        self.budget_wait.observe(waited.as_secs_f64());
    }

    fn observe(
        &self,
        endpoint: &'static str,
        method: &str,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        let method = method.to_string();
        self.grafana_requests
            .get_or_create(&RequestLabels {
                endpoint,
                method: method.clone(),
                status,
            })
            .inc();
        self.grafana_request_duration
            .get_or_create(&EndpointLabels { endpoint, method })
            .observe(elapsed.as_secs_f64());
    }
}

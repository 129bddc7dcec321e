//! Prometheus metrics, in OpenMetrics format. Every label value comes from a fixed set
//! (kinds, error categories, endpoint templates, methods, status codes), never from free text.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::grafana::RequestObserver;

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
    pub ready_resources: Family<KindLabels, Gauge>,
    pub key_expiry: Family<KeyLabels, Gauge>,
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
        let ready_resources = Family::<KindLabels, Gauge>::default();
        let key_expiry = Family::<KeyLabels, Gauge>::default();
        let mut registry = Registry::with_prefix("grafana_cloud_operator");
        registry.register(
            "leader",
            "1 while this replica holds the lease and runs the controllers",
            leader.clone(),
        );
        registry.register("reconciles", "Reconciles run, per kind", reconciles.clone());
        registry.register(
            "ready_resources",
            "Resources whose Ready condition is True, per kind",
            ready_resources.clone(),
        );
        registry.register(
            "key_expiry_timestamp_seconds",
            "When the current key of a GrafanaCloudApiKey expires (Unix time)",
            key_expiry.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Failed reconciles, per kind and error category",
            reconcile_failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciles, per kind",
            reconcile_duration.clone(),
        );
        registry.register(
            "grafana_requests",
            "Requests to grafana.com, per endpoint template, method and status",
            grafana_requests.clone(),
        );
        registry.register(
            "grafana_request_duration_seconds",
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
            ready_resources,
            key_expiry,
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
        let count = readiness
            .iter()
            .filter(|((k, _), ready)| *k == kind && **ready)
            .count();
        self.ready_resources
            .get_or_create(&KindLabels { kind })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Records when a key or token expires, or removes the series for one without expiry.
    pub fn set_key_expiry(
        &self,
        kind: &'static str,
        namespace: &str,
        name: &str,
        expires_at_unix: Option<i64>,
    ) {
        let labels = KeyLabels {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        match expires_at_unix {
            Some(at) => {
                self.key_expiry.get_or_create(&labels).set(at);
            }
            None => {
                self.key_expiry.remove(&labels);
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

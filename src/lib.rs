//! grafana-cloud-operator: reconciles Grafana Cloud stacks and API keys from Kubernetes resources.

pub mod cli;
pub mod controller;
pub mod crd;
pub mod fence;
pub mod grafana;
pub mod http;
pub mod kube_client;
pub mod leader;
pub mod metrics;
pub mod run;
pub mod selector;
pub mod telemetry;
pub mod yaml;

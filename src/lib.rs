//! grafana-cloud-operator: reconciles Grafana Cloud stacks and API keys from Kubernetes resources.

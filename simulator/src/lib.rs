//! grafana.com simulator

//! The small HTTP servers: `/healthz`, `/readyz` and `/log-level` on the health address,
//! `/metrics` on the metrics address. `PUT /log-level` is accepted from loopback only (inside
//! the pod, or through `kubectl port-forward`), never from the pod network.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Router,
    extract::{ConnectInfo, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, put},
};
use tokio::net::TcpListener;

use crate::{metrics::Metrics, telemetry::LogLevelHandle};

/// What `/readyz` reports: the process is ready once its controllers run (and, with leader
/// election, while it holds the lease).
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct HealthState {
    readiness: Readiness,
    log_level: Option<LogLevelHandle>,
}

/// Binds the health server; serving starts when the returned future is polled.
pub async fn health_server(
    addr: SocketAddr,
    readiness: Readiness,
    log_level: Option<LogLevelHandle>,
) -> std::io::Result<(SocketAddr, impl Future<Output = std::io::Result<()>>)> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/log-level", put(set_log_level))
        .with_state(HealthState {
            readiness,
            log_level,
        });
    serve(addr, app).await
}

/// Binds the metrics server; serving starts when the returned future is polled.
pub async fn metrics_server(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
) -> std::io::Result<(SocketAddr, impl Future<Output = std::io::Result<()>>)> {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    serve(addr, app).await
}

async fn serve(
    addr: SocketAddr,
    app: Router,
) -> std::io::Result<(SocketAddr, impl Future<Output = std::io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    Ok((local, async move { axum::serve(listener, app).await }))
}

async fn readyz(State(state): State<HealthState>) -> impl IntoResponse {
    if state.readiness.get() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn set_log_level(
    State(state): State<HealthState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: String,
) -> impl IntoResponse {
    if !may_change_log_level(peer) {
        return (
            StatusCode::FORBIDDEN,
            "the log level can be changed from loopback only: use kubectl port-forward\n"
                .to_string(),
        );
    }
    let Some(handle) = state.log_level else {
        return (
            StatusCode::NOT_IMPLEMENTED,
            "log level is fixed".to_string(),
        );
    };
    match handle.set(body.trim()) {
        Ok(()) => (
            StatusCode::OK,
            format!("log level set to {}\n", body.trim()),
        ),
        Err(err) => (
            StatusCode::BAD_REQUEST,
            format!("invalid log filter: {err}\n"),
        ),
    }
}

/// Only a client on the pod's own loopback may change the log level: the health port is
/// open to the pod network for the kubelet's probes.
fn may_change_log_level(peer: SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_may_change_the_log_level() {
        for peer in [
            "127.0.0.1:5000",
            "127.8.0.3:1",
            "[::1]:9",
            "[::ffff:127.0.0.1]:9",
        ] {
            assert!(may_change_log_level(peer.parse().unwrap()), "{peer}");
        }
        for peer in ["10.0.0.7:5000", "192.168.1.2:1", "[fe80::1]:9", "0.0.0.0:1"] {
            assert!(!may_change_log_level(peer.parse().unwrap()), "{peer}");
        }
    }
}

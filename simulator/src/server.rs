//! Starting and stopping a simulator, in-process or from the binary.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::Request};
use hyper::body::Incoming;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tower::ServiceExt;

use crate::{
    api,
    config::{Config, ForeignStack, OrgConfig},
    control::Control,
    control_http,
    pipeline::DropHandle,
    shared::Shared,
    token::Token,
};

/// Configures a [`Simulator`]; see [`Simulator::builder`].
#[derive(Debug, Default)]
pub struct SimulatorBuilder {
    config: Config,
}

impl SimulatorBuilder {
    /// Adds an org and the bearer token that authenticates as it. Several
    /// orgs (and several tokens per org) are allowed.
    pub fn org(mut self, slug: &str, token: &str) -> Self {
        self.config.orgs.push(OrgConfig {
            slug: slug.to_owned(),
            token: Token::new(token),
        });
        self
    }

    /// How long after creation a stack reports `{"ready": true}` (default 2s).
    pub fn readiness_delay(mut self, delay: Duration) -> Self {
        self.config.timings.readiness_delay = delay;
        self
    }

    /// How long a deleted stack's slug stays reserved (default 30s).
    pub fn deleted_slug_reservation(mut self, reservation: Duration) -> Self {
        self.config.timings.deleted_slug_reservation = reservation;
        self
    }

    /// Latency added to every `/api` request: `fixed` plus random `0..=jitter`.
    pub fn latency(mut self, fixed: Duration, jitter: Duration) -> Self {
        self.config.latency = fixed;
        self.config.jitter = jitter;
        self
    }

    /// How another org's stack is answered: 403 (default) or 404.
    pub fn foreign_stack(mut self, answer: ForeignStack) -> Self {
        self.config.foreign_stack = answer;
        self
    }

    /// The address to bind (default `127.0.0.1:0`, an ephemeral port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = addr;
        self
    }

    /// How many requests the request log keeps (default 100 000).
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.config.request_log_capacity = capacity;
        self
    }

    /// The most items one page of a `/v1` list holds (default 100).
    pub fn page_size(mut self, size: usize) -> Self {
        self.config.page_size = size.max(1);
        self
    }

    /// Answers the API key routes as grafana.com does today (404 and 410).
    pub fn api_keys_removed(mut self) -> Self {
        self.config.api_keys_removed = true;
        self
    }

    /// How long after creation an access-policy token starts to authenticate.
    pub fn token_activation_delay(mut self, delay: Duration) -> Self {
        self.config.timings.token_activation_delay = delay;
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Binds the listener and starts serving in the background.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(self.config.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&self.config));
        let control = Control {
            shared: shared.clone(),
        };
        let app = api::router(shared).merge(control_http::router(control.clone()));
        let (shutdown, stop) = watch::channel(false);
        let task = tokio::spawn(serve(listener, app, stop));
        let orgs: Vec<&str> = self.config.orgs.iter().map(|o| o.slug.as_str()).collect();
        tracing::info!(%addr, ?orgs, "grafana.com simulator listening");
        Ok(Simulator {
            addr,
            control,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running grafana.com simulator. Stops on [`Simulator::shutdown`] or drop.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::time::Duration;
/// let sim = grafana_cloud_simulator::Simulator::builder()
///     .org("acme", "token-acme")
///     .readiness_delay(Duration::from_millis(300))
///     .start()
///     .await?;
/// let base = sim.base_url(); // http://127.0.0.1:PORT/api
/// assert!(sim.control().stacks().is_empty());
/// sim.shutdown().await;
/// # let _ = base; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    control: Control,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The grafana.com API base URL, `http://127.0.0.1:PORT/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The HTTP test-control base URL, `http://127.0.0.1:PORT/_sim`.
    pub fn control_url(&self) -> String {
        format!("http://{}/_sim", self.addr)
    }

    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops accepting, closes open connections and waits for the server.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let handle = DropHandle::default();
            let dropped = handle.0.clone();
            let service = app.map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(handle.clone());
                req
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            // Dropping the connection future closes the socket unanswered.
            tokio::select! {
                _ = connection => {}
                _ = dropped.notified() => {}
                _ = stop.changed() => {}
            }
        });
    }
}

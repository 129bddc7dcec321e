//! Scenario tests of the grafana.com client over real HTTP: against a
//! scripted fault server (retries, timeouts, dropped connections, headers,
//! redaction) and against the grafana.com simulator (every endpoint).
#![allow(clippy::unwrap_used)]

#[path = "grafana_client/fault_server.rs"]
mod fault_server;
#[path = "grafana_client/faults.rs"]
mod faults;
#[path = "grafana_client/redaction.rs"]
mod redaction;
#[path = "grafana_client/simulator.rs"]
mod simulator;

use std::{
    io,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use grafana_cloud_operator::grafana::{ClientOptions, GrafanaClient, Token};
use url::Url;

/// The token the tests authenticate with; no output may ever contain it.
const TOKEN: &str = "glc_test-token-7f3a9c";

fn token() -> Token {
    Token::new(TOKEN)
}

/// Fast retries so the scenarios run in well under a second each.
fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

/// Everything logged by this test binary, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs, once, a global subscriber that captures every test's logs. It is
/// global (not per test) so that tracing's per-callsite interest cache cannot
/// drop events when tests run in parallel; [`client`] installs it before any
/// client code runs.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

fn client(base_url: &str, options: ClientOptions) -> GrafanaClient {
    logs();
    GrafanaClient::new(Url::parse(base_url).unwrap(), options).unwrap()
}

//! Scenario tests of the grafana.com client over real HTTP: against a
//! scripted fault server (retries, timeouts, dropped connections, headers,
//! redaction) and against the grafana.com simulator (every endpoint).
#![allow(clippy::unwrap_used)]

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "grafana_client/fault_server.rs"]
mod fault_server;
#[path = "grafana_client/faults.rs"]
mod faults;
#[path = "grafana_client/limits.rs"]
mod limits;
#[path = "grafana_client/redaction.rs"]
mod redaction;
#[path = "grafana_client/simulator.rs"]
mod simulator;

use std::time::Duration;

use captured_logs::logs;

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

fn client(base_url: &str, options: ClientOptions) -> GrafanaClient {
    logs();
    GrafanaClient::new(Url::parse(base_url).unwrap(), options).unwrap()
}

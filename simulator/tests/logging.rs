//! Logs and `Debug` output never contain bearer tokens or issued keys.
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use serde_json::json;
use support::{ACME_TOKEN, Api, OTHER_TOKEN};

/// Collects everything the simulator logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_debug_output_never_contain_tokens() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // Global, so that every thread of the runtime logs into the capture; this
    // file holds this one test so nothing else shares the process.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("quiet").await;
    acme.post(
        "/instances/quiet/api/auth/keys",
        json!({ "name": "k", "role": "Admin" }),
    )
    .await;
    acme.post(
        "/orgs/acme/api-keys",
        json!({ "name": "o", "role": "Admin" }),
    )
    .await;
    Api::new(&sim, OTHER_TOKEN).get("/instances/quiet").await;
    let state = sim.control().state();
    let debug = format!("{state:?} {:?} {:?}", sim.control().issued_tokens(), sim);
    sim.shutdown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("stack created") && logs.contains("api request"),
        "nothing logged: {logs}"
    );
    let mut secrets = vec![ACME_TOKEN.to_owned(), OTHER_TOKEN.to_owned()];
    secrets.extend(state.org_keys.iter().map(|k| k.token.expose().to_owned()));
    secrets.extend(
        state.stacks[0]
            .keys
            .iter()
            .map(|k| k.token.expose().to_owned()),
    );
    assert_eq!(secrets.len(), 4);
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a token was logged");
        assert!(
            !debug.contains(secret.as_str()),
            "a token appears in Debug output"
        );
    }
    assert!(!logs.to_lowercase().contains("authorization"));
}

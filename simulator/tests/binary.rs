//! The `grafana-cloud-simulator` binary serves the API and the control
//! routes, and stops on SIGTERM.
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

/// Kills the simulator if the test fails before stopping it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_the_api_for_configured_orgs() {
    let child = Command::new(env!("CARGO_BIN_EXE_grafana-cloud-simulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--org",
            "acme=secret-acme",
            "--org",
            "beta=secret-beta",
        ])
        .args(["--readiness-delay", "0s", "--log-format", "json"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut lines = BufReader::new(running.0.stdout.take().unwrap()).lines();
    let base_url = loop {
        let line = lines
            .next()
            .expect("simulator exited before it was ready")
            .unwrap();
        let entry: Value = serde_json::from_str(&line).unwrap();
        if let Some(url) = entry["fields"]["base_url"].as_str() {
            break url.to_owned();
        }
    };
    let client = support::http_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let created: Value = client
        .post(format!("{base_url}/instances"))
        .bearer_auth("secret-beta")
        .json(&json!({ "name": "b", "slug": "fromcli" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["orgSlug"], "beta");
    let ready: Value = client
        .get(format!("{base_url}/instances/fromcli/readiness"))
        .bearer_auth("secret-beta")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready, json!({ "ready": true }));
    let control = base_url.replace("/api", "/_sim");
    let health = client
        .get(format!("{control}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");

    let pid = running.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = running.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let all = rest.join("\n");
    assert!(all.contains("shutting down"), "{all}");
    assert!(
        !all.contains("secret-acme") && !all.contains("secret-beta"),
        "a token was logged"
    );
}

//! A grafana.com API simulator for tests, benchmarks and the demo.
//!
//! It serves, under `/api`, the Grafana Cloud endpoints the operator uses:
//! stacks (`/instances`, `/orgs/{org}/instances`, readiness, restart, connections), org
//! API keys (`/orgs/{org}/api-keys`), stack API keys
//! (`/instances/{slug}/api/auth/keys`), provisioned data sources, and cloud access
//! policies with their tokens (`/v1/accesspolicies`, `/v1/tokens`), and stacks' service
//! accounts with their tokens (`/instances/{slug}/api/serviceaccounts…`), and the plugins
//! installed on stacks (`/instances/{id}/plugins…`), with
//! grafana.com's semantics: bearer tokens mapped to orgs, global slug
//! uniqueness, 409 validation errors, deleted slugs reserved for a while,
//! delayed readiness, delete protection, and tokens returned only on create.
//!
//! Tests drive it through [`Control`] in-process, or over HTTP under `/_sim`
//! (see [`control_http`]), including fault injection ([`Fault`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use grafana_cloud_simulator::{Fault, Simulator};
//! let sim = Simulator::builder().org("acme", "token-acme").start().await?;
//! sim.control().inject(Fault::error_after(502).on("POST", "/api/instances").times(1));
//! // ... point a client at sim.base_url() ...
//! assert_eq!(sim.control().count("POST", "/api/instances"), 0);
//! # Ok(()) }
//! ```

mod api;
mod config;
mod control;
pub mod control_http;
mod control_plugins;
mod control_policies;
mod control_service_accounts;
mod error;
mod faults;
mod model;
mod pipeline;
mod record;
mod render;
mod server;
mod shared;
mod state;
pub mod templates;
mod token;
mod validate;

pub use crate::{
    config::{Config, ForeignStack, OrgConfig, Timings, parse_duration},
    control::{Control, OrgKeyView, OrgView, StackKeyView, StackView, StateView},
    control_plugins::PluginView,
    control_policies::{PolicyTokenView, PolicyView},
    control_service_accounts::{ServiceAccountTokenView, ServiceAccountView},
    faults::{ActiveFault, Fault, FaultKind},
    model::{DataSource, LabelPolicy, Realm},
    record::RecordedRequest,
    server::{Simulator, SimulatorBuilder},
    token::Token,
};

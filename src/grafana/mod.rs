//! The grafana.com API client: one typed method per endpoint the operator uses.
//!
//! - Every request carries `Authorization: Bearer …`, an `x-request-id` (one
//!   per call, kept across its retries, and reported in errors and logs) and
//!   a timeout.
//! - 429 and 503 `Loading` are retried after `Retry-After` (up to a cap);
//!   5xx, timeouts and dropped connections are retried with bounded
//!   exponential backoff and jitter for idempotent requests only. 409 is never
//!   retried. See [`retry`] for the exact rules.
//! - Errors keep the operation, status, grafana.com `code` and `message`, and
//!   the request id, and answer the questions controllers ask
//!   ([`Error::category`], [`Error::deleted_recently_wait`], …).
//! - Tokens are wrapped in [`Token`] and never logged or formatted.
//!
//! Tests point [`GrafanaClient`] at the simulator through its base URL.

mod account_types;
mod accounts;
pub mod budget;
mod client;
mod error;
mod failure;
mod keys;
mod options;
mod paging;
mod plugins;
mod policies;
mod policy_types;
pub mod retry;
mod stacks;
mod tls;
mod token;
mod types;

pub use account_types::{AccountToken, CreatedAccountToken, ServiceAccount};
pub use client::GrafanaClient;
pub use error::{Error, Failure, RequestError};
pub use options::{ClientOptions, RequestObserver};
pub use plugins::InstalledPlugin;
pub use policy_types::{
    AccessPolicy, AppPlatform, Connections, CreatedPolicyToken, LabelPolicy, Org, PolicyBody,
    PolicyConditions, PolicyConfig, PolicyRealm, PolicyToken, ScopeInfo,
};
pub use retry::RetryPolicy;
pub use token::Token;
pub use types::{
    ApiKeyRole, CreateStack, CreatedOrgApiKey, CreatedStackApiKey, Datasource, Endpoint, OrgApiKey,
    ParseRoleError, Stack, StackEndpoints, UpdateStack,
};

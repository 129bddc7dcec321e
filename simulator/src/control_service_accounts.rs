//! Test control over stacks' service accounts and their tokens.

use chrono::Utc;
use serde::Serialize;

use crate::{control::Control, model::ServiceAccount, render::timestamp, token::Token};

/// A service account as the control API shows it, its tokens' keys included.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountView {
    pub id: u64,
    pub name: String,
    pub login: String,
    pub role: String,
    pub is_disabled: bool,
    pub tokens: Vec<ServiceAccountTokenView>,
}

/// A service account token, its key included.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountTokenView {
    pub id: u64,
    pub name: String,
    pub key: Token,
    pub expiration: Option<String>,
    pub expired: bool,
}

fn view(sa: &ServiceAccount) -> ServiceAccountView {
    let now = Utc::now();
    ServiceAccountView {
        id: sa.id,
        name: sa.name.clone(),
        login: sa.login.clone(),
        role: sa.role.clone(),
        is_disabled: sa.is_disabled,
        tokens: sa
            .tokens
            .iter()
            .map(|t| ServiceAccountTokenView {
                id: t.id,
                name: t.name.clone(),
                key: t.key.clone(),
                expiration: t.expiration.map(timestamp),
                expired: t.expiration.is_some_and(|at| at <= now),
            })
            .collect(),
    }
}

impl Control {
    /// The service accounts of stack `slug`, with their tokens.
    pub fn service_accounts(&self, slug: &str) -> Vec<ServiceAccountView> {
        let state = self.shared.state();
        state
            .stack_by_slug(slug)
            .map(|s| s.service_accounts.iter().map(view).collect())
            .unwrap_or_default()
    }
}

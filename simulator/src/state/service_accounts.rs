//! Service accounts of a stack's Grafana and their tokens, as the grafana.com proxy serves
//! them: 503 `Loading` until the stack is ready, 400 for a duplicate name, keys returned
//! once, expired tokens still listed.

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use serde::Deserialize;

use super::{Caller, State};
use crate::{
    error::ApiError,
    model::{ServiceAccount, ServiceAccountToken, Stack},
    token::Token,
};

const ROLES: &[&str] = &["Viewer", "Editor", "Admin", "None"];

/// Body of `POST …/serviceaccounts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewServiceAccount {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub is_disabled: bool,
}

/// Body of `POST …/serviceaccounts/{id}/tokens`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewServiceAccountToken {
    pub name: String,
    pub seconds_to_live: Option<i64>,
}

fn bad_request(message_id: &'static str, message: String) -> ApiError {
    ApiError::grafana(axum::http::StatusCode::BAD_REQUEST, message_id, message)
}

/// Grafana's 404 for an account or token that does not exist.
pub(crate) fn not_found(message_id: &'static str, what: &str) -> ApiError {
    ApiError::grafana(
        axum::http::StatusCode::NOT_FOUND,
        message_id,
        format!("{what} not found"),
    )
}

impl State {
    /// The caller's stack, once its Grafana answers (503 `Loading` before).
    fn loaded_stack(&mut self, caller: &Caller, slug: &str) -> Result<&mut Stack, ApiError> {
        let now = Instant::now();
        let stack = self.live_stack_for(caller, slug, now)?;
        if !stack.is_ready(now) {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "Loading",
                "Your instance is loading, and will be ready shortly.",
            )
            .with_retry_after(10));
        }
        Ok(stack)
    }

    pub fn create_service_account(
        &mut self,
        caller: &Caller,
        slug: &str,
        body: NewServiceAccount,
    ) -> Result<ServiceAccount, ApiError> {
        if body.name.trim().is_empty() || !ROLES.contains(&body.role.as_str()) {
            return Err(bad_request(
                "serviceaccounts.ErrInvalidInput",
                "a name and a role of Viewer, Editor, Admin or None are required".into(),
            ));
        }
        let id = self.next_sa_id;
        let stack = self.loaded_stack(caller, slug)?;
        if stack.service_accounts.iter().any(|sa| sa.name == body.name) {
            return Err(bad_request(
                "serviceaccounts.ErrAlreadyExists",
                "service account already exists".into(),
            ));
        }
        let login = format!(
            "sa-{}",
            body.name
                .to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let account = ServiceAccount {
            id,
            name: body.name,
            login,
            role: body.role,
            is_disabled: body.is_disabled,
            tokens: Vec::new(),
        };
        tracing::info!(stack = %stack.slug, account = %account.name, "service account created");
        stack.service_accounts.push(account.clone());
        self.next_sa_id += 1;
        Ok(account)
    }

    pub fn service_accounts(
        &mut self,
        caller: &Caller,
        slug: &str,
    ) -> Result<Vec<ServiceAccount>, ApiError> {
        Ok(self.loaded_stack(caller, slug)?.service_accounts.clone())
    }

    fn account(
        &mut self,
        caller: &Caller,
        slug: &str,
        id: u64,
    ) -> Result<&mut ServiceAccount, ApiError> {
        self.loaded_stack(caller, slug)?
            .service_accounts
            .iter_mut()
            .find(|sa| sa.id == id)
            .ok_or_else(|| not_found("serviceaccounts.ErrNotFound", "service account"))
    }

    pub fn service_account(
        &mut self,
        caller: &Caller,
        slug: &str,
        id: u64,
    ) -> Result<ServiceAccount, ApiError> {
        self.account(caller, slug, id).map(|sa| sa.clone())
    }

    pub fn delete_service_account(
        &mut self,
        caller: &Caller,
        slug: &str,
        id: u64,
    ) -> Result<(), ApiError> {
        let stack = self.loaded_stack(caller, slug)?;
        let before = stack.service_accounts.len();
        stack.service_accounts.retain(|sa| sa.id != id);
        match stack.service_accounts.len() < before {
            true => Ok(()),
            false => Err(not_found("serviceaccounts.ErrNotFound", "service account")),
        }
    }

    pub fn create_service_account_token(
        &mut self,
        caller: &Caller,
        slug: &str,
        account: u64,
        body: NewServiceAccountToken,
    ) -> Result<ServiceAccountToken, ApiError> {
        let created = Utc::now();
        let expiration = match body.seconds_to_live.filter(|s| *s > 0) {
            Some(seconds) => Some(
                TimeDelta::try_seconds(seconds)
                    .and_then(|ttl| created.checked_add_signed(ttl))
                    .ok_or_else(|| {
                        bad_request(
                            "serviceaccounts.ErrInvalidInput",
                            "secondsToLive is too large".into(),
                        )
                    })?,
            ),
            None => None,
        };
        let id = self.next_key_id;
        let sa = self.account(caller, slug, account)?;
        if sa.tokens.iter().any(|t| t.name == body.name) {
            return Err(bad_request(
                "serviceaccounts.ErrTokenAlreadyExists",
                "service account token with given name already exists in the organization".into(),
            ));
        }
        let token = ServiceAccountToken {
            id,
            name: body.name,
            key: Token::generate("glsa_"),
            created,
            expiration,
        };
        sa.tokens.push(token.clone());
        self.next_key_id += 1;
        Ok(token)
    }

    pub fn service_account_tokens(
        &mut self,
        caller: &Caller,
        slug: &str,
        account: u64,
    ) -> Result<Vec<ServiceAccountToken>, ApiError> {
        Ok(self.account(caller, slug, account)?.tokens.clone())
    }

    pub fn delete_service_account_token(
        &mut self,
        caller: &Caller,
        slug: &str,
        account: u64,
        token: u64,
    ) -> Result<(), ApiError> {
        let sa = self.account(caller, slug, account)?;
        let before = sa.tokens.len();
        sa.tokens.retain(|t| t.id != token);
        match sa.tokens.len() < before {
            true => Ok(()),
            false => Err(not_found(
                "serviceaccounts.ErrTokenNotFound",
                "service account token",
            )),
        }
    }
}

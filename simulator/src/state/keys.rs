//! Org API keys and stack API keys. A key's token is returned only by the
//! create call; reads never include it.

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use serde::Deserialize;

use super::{Caller, State};
use crate::{
    error::ApiError,
    model::{OrgKey, StackKey},
    token::Token,
    validate,
};

/// Body of `POST /instances/<slug>/api/auth/keys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewStackKey {
    pub name: String,
    pub role: String,
    pub seconds_to_live: Option<i64>,
}

impl State {
    pub fn create_org_key(
        &mut self,
        caller: &Caller,
        org: &str,
        name: &str,
        role: &str,
    ) -> Result<OrgKey, ApiError> {
        let org = self.org_for(caller, org)?.clone();
        validate::key_name(name)?;
        validate::org_key_role(role)?;
        if self
            .org_keys
            .iter()
            .any(|k| k.org_id == org.id && k.name == name)
        {
            return Err(ApiError::conflict(format!(
                "API key name {name:?} is already in use in this org"
            )));
        }
        let key = OrgKey {
            id: self.next_key_id,
            org_id: org.id,
            org_slug: org.slug.clone(),
            name: name.to_owned(),
            role: role.to_owned(),
            token: Token::generate("glc_"),
            created_at: Utc::now(),
        };
        self.next_key_id += 1;
        if key.role == "Admin" {
            self.key_tokens.insert(key.token.clone(), org.id);
        }
        tracing::info!(org = %org.slug, key = %key.name, role = %key.role, "org API key created");
        self.org_keys.push(key.clone());
        Ok(key)
    }

    pub fn list_org_keys(&self, caller: &Caller, org: &str) -> Result<Vec<&OrgKey>, ApiError> {
        let org_id = self.org_for(caller, org)?.id;
        Ok(self
            .org_keys
            .iter()
            .filter(|k| k.org_id == org_id)
            .collect())
    }

    pub fn get_org_key(&self, caller: &Caller, org: &str, name: &str) -> Result<&OrgKey, ApiError> {
        let org_id = self.org_for(caller, org)?.id;
        self.org_keys
            .iter()
            .find(|k| k.org_id == org_id && k.name == name)
            .ok_or_else(|| ApiError::not_found("API key"))
    }

    pub fn delete_org_key(
        &mut self,
        caller: &Caller,
        org: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let org_id = self.org_for(caller, org)?.id;
        let position = self
            .org_keys
            .iter()
            .position(|k| k.org_id == org_id && k.name == name)
            .ok_or_else(|| ApiError::not_found("API key"))?;
        let key = self.org_keys.remove(position);
        self.key_tokens.remove(key.token.expose());
        tracing::info!(org = %key.org_slug, key = %key.name, "org API key deleted");
        Ok(())
    }

    pub fn create_stack_key(
        &mut self,
        caller: &Caller,
        slug: &str,
        body: NewStackKey,
    ) -> Result<StackKey, ApiError> {
        validate::key_name(&body.name)?;
        validate::stack_key_role(&body.role)?;
        let created_at = Utc::now();
        let seconds_to_live = body.seconds_to_live.filter(|s| *s > 0);
        let expires_at = match seconds_to_live {
            Some(seconds) => Some(
                TimeDelta::try_seconds(seconds)
                    .and_then(|ttl| created_at.checked_add_signed(ttl))
                    .ok_or_else(|| ApiError::invalid("secondsToLive is too large"))?,
            ),
            None => None,
        };
        let id = self.next_key_id;
        let stack = self.live_stack_for(caller, slug, Instant::now())?;
        if stack.keys.iter().any(|k| k.name == body.name) {
            return Err(ApiError::conflict(
                "API Key Organization ID And Name Must Be Unique",
            ));
        }
        let key = StackKey {
            id,
            name: body.name,
            role: body.role,
            token: Token::generate("glsa_"),
            seconds_to_live: seconds_to_live.and_then(|s| u64::try_from(s).ok()),
            created_at,
            expires_at,
        };
        tracing::info!(stack = %stack.slug, key = %key.name, role = %key.role, "stack API key created");
        stack.keys.push(key.clone());
        self.next_key_id += 1;
        Ok(key)
    }
}

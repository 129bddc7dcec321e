//! Cloud access policies and their tokens (`/v1/accesspolicies`, `/v1/tokens`): stored per
//! region, names unique per org and region (policies) or per org (tokens), cursor-paged
//! lists, expired tokens hidden unless asked for, and a token's secret returned only once.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Caller, State};
use crate::{
    error::ApiError,
    model::{AccessPolicy, PolicyToken, Realm},
    token::Token,
};

/// Scopes the simulator accepts, as `GET /v1/accesspolicies/config` lists them.
pub(crate) const SCOPES: &[&str] = &[
    "metrics:read",
    "metrics:write",
    "metrics:import",
    "logs:read",
    "logs:write",
    "traces:read",
    "traces:write",
    "profiles:read",
    "profiles:write",
    "alerts:read",
    "alerts:write",
    "rules:read",
    "rules:write",
    "fleet-management:read",
    "fleet-management:write",
    "accesspolicies:read",
    "accesspolicies:write",
    "accesspolicies:delete",
    "stacks:read",
    "stacks:write",
    "stacks:delete",
    "stack-service-accounts:write",
    "orgs:read",
    "billing-metrics:read",
    "datadog:validate",
];

/// Body of `POST /v1/accesspolicies` and `POST /v1/accesspolicies/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyBody {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub realms: Option<Vec<Realm>>,
    pub conditions: Option<Conditions>,
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Conditions {
    #[serde(default)]
    pub allowed_subnets: Vec<String>,
}

/// Body of `POST /v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenBody {
    pub access_policy_id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Filters of `GET /v1/tokens`.
#[derive(Debug, Default)]
pub(crate) struct TokenFilter {
    pub policy_ids: Vec<String>,
    pub name: Option<String>,
    pub include_expired: bool,
}

fn name_rule(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid name {name:?}: use lowercase letters, digits and dashes"
        )))
    }
}

fn scopes_rule(scopes: &[String]) -> Result<(), ApiError> {
    if scopes.is_empty() {
        return Err(ApiError::invalid("At least one scope is required"));
    }
    match scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        Some(scope) => Err(ApiError::invalid(format!("unsupported scope: {scope}"))),
        None => Ok(()),
    }
}

impl State {
    fn realms_rule(&self, caller: &Caller, region: &str, realms: &[Realm]) -> Result<(), ApiError> {
        if realms.is_empty() {
            return Err(ApiError::invalid("At least one realm is required"));
        }
        for realm in realms {
            let fits = match realm.kind.as_str() {
                "org" => realm.identifier == caller.org_id.to_string(),
                "stack" => self.stacks.values().any(|s| {
                    s.id.to_string() == realm.identifier
                        && s.org_id == caller.org_id
                        && !s.is_deleted()
                        && s.region == region
                }),
                _ => false,
            };
            if !fits {
                return Err(ApiError::invalid(format!(
                    "Invalid realm {}:{}: not an org or stack of this org in region {region}",
                    realm.kind, realm.identifier
                )));
            }
        }
        Ok(())
    }

    pub fn create_policy(
        &mut self,
        caller: &Caller,
        region: &str,
        body: PolicyBody,
    ) -> Result<AccessPolicy, ApiError> {
        let name = body
            .name
            .ok_or_else(|| ApiError::invalid("Field is required: name"))?;
        name_rule(&name)?;
        let scopes = body.scopes.unwrap_or_default();
        scopes_rule(&scopes)?;
        let realms = body.realms.unwrap_or_default();
        self.realms_rule(caller, region, &realms)?;
        let taken = self
            .policies
            .iter()
            .any(|p| p.org_id == caller.org_id && p.region == region && p.name == name);
        if taken {
            return Err(ApiError::conflict(format!(
                "an access policy named {name} already exists"
            )));
        }
        let policy = AccessPolicy {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: caller.org_id,
            region: region.to_owned(),
            display_name: body.display_name.unwrap_or_else(|| name.clone()),
            name,
            scopes,
            realms,
            allowed_subnets: body.conditions.unwrap_or_default().allowed_subnets,
            status: "active".to_owned(),
            created_at: Utc::now(),
            updated_at: None,
        };
        tracing::info!(org = %caller.org_slug, policy = %policy.name, %region, "access policy created");
        self.policies.push(policy.clone());
        Ok(policy)
    }

    fn policy_index(&self, caller: &Caller, region: &str, id: &str) -> Result<usize, ApiError> {
        self.policies
            .iter()
            .position(|p| p.id == id && p.org_id == caller.org_id && p.region == region)
            .ok_or_else(|| ApiError::not_found("Access policy"))
    }

    pub fn policies(
        &self,
        caller: &Caller,
        region: &str,
        name: Option<&str>,
    ) -> Vec<&AccessPolicy> {
        self.policies
            .iter()
            .filter(|p| p.org_id == caller.org_id && p.region == region)
            .filter(|p| name.is_none_or(|n| p.name == n))
            .collect()
    }

    pub fn policy(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<&AccessPolicy, ApiError> {
        let index = self.policy_index(caller, region, id)?;
        Ok(&self.policies[index])
    }

    pub fn update_policy(
        &mut self,
        caller: &Caller,
        region: &str,
        id: &str,
        body: PolicyBody,
    ) -> Result<AccessPolicy, ApiError> {
        let index = self.policy_index(caller, region, id)?;
        if body
            .name
            .as_ref()
            .is_some_and(|n| *n != self.policies[index].name)
        {
            return Err(ApiError::invalid("name cannot be changed"));
        }
        if let Some(scopes) = &body.scopes {
            scopes_rule(scopes)?;
        }
        if let Some(realms) = &body.realms {
            self.realms_rule(caller, region, realms)?;
        }
        let policy = &mut self.policies[index];
        if let Some(display_name) = body.display_name {
            policy.display_name = display_name;
        }
        if let Some(scopes) = body.scopes {
            policy.scopes = scopes;
        }
        if let Some(realms) = body.realms {
            policy.realms = realms;
        }
        if let Some(conditions) = body.conditions {
            policy.allowed_subnets = conditions.allowed_subnets;
        }
        if let Some(status) = body.status {
            policy.status = status;
        }
        policy.updated_at = Some(Utc::now());
        Ok(policy.clone())
    }

    /// Deletes the policy and, with it, every token it has.
    pub fn delete_policy(
        &mut self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        let index = self.policy_index(caller, region, id)?;
        let policy = self.policies.remove(index);
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.policy_tokens)
            .into_iter()
            .partition(|t| t.policy_id == policy.id);
        self.policy_tokens = kept;
        for token in gone {
            self.token_auth.remove(token.token.expose());
        }
        tracing::info!(org = %caller.org_slug, policy = %policy.name, "access policy deleted");
        Ok(())
    }

    pub fn create_policy_token(
        &mut self,
        caller: &Caller,
        region: &str,
        body: TokenBody,
    ) -> Result<PolicyToken, ApiError> {
        name_rule(&body.name)?;
        let policy = self
            .policy(caller, region, &body.access_policy_id)
            .map_err(|_| ApiError::invalid("accessPolicyId: no such access policy in this region"))?
            .id
            .clone();
        let now = Utc::now();
        if body.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::invalid("expiresAt must be in the future"));
        }
        let taken = self
            .policy_tokens
            .iter()
            .any(|t| t.org_id == caller.org_id && t.name == body.name);
        if taken {
            return Err(ApiError::conflict(format!(
                "a token named {} already exists in the organization",
                body.name
            )));
        }
        let token = PolicyToken {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: caller.org_id,
            region: region.to_owned(),
            policy_id: policy,
            display_name: body.display_name.unwrap_or_else(|| body.name.clone()),
            name: body.name,
            token: Token::generate("glc_"),
            expires_at: body.expires_at,
            created_at: now,
            updated_at: None,
            active_at: Instant::now() + self.timings.token_activation_delay,
        };
        tracing::info!(org = %caller.org_slug, token = %token.name, "access policy token created");
        self.token_auth.insert(token.token.clone(), caller.org_id);
        self.policy_tokens.push(token.clone());
        Ok(token)
    }

    pub fn policy_tokens(
        &self,
        caller: &Caller,
        region: &str,
        filter: &TokenFilter,
    ) -> Vec<&PolicyToken> {
        let now = Utc::now();
        self.policy_tokens
            .iter()
            .filter(|t| t.org_id == caller.org_id && t.region == region)
            .filter(|t| filter.policy_ids.is_empty() || filter.policy_ids.contains(&t.policy_id))
            .filter(|t| filter.name.as_ref().is_none_or(|n| t.name == *n))
            .filter(|t| filter.include_expired || !t.is_expired(now))
            .collect()
    }

    fn token_index(&self, caller: &Caller, region: &str, id: &str) -> Result<usize, ApiError> {
        self.policy_tokens
            .iter()
            .position(|t| t.id == id && t.org_id == caller.org_id && t.region == region)
            .ok_or_else(|| ApiError::not_found("Token"))
    }

    /// One token; an expired one answers 404, as grafana.com does.
    pub fn policy_token(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<&PolicyToken, ApiError> {
        let token = &self.policy_tokens[self.token_index(caller, region, id)?];
        if token.is_expired(Utc::now()) {
            return Err(ApiError::not_found("Token"));
        }
        Ok(token)
    }

    pub fn delete_policy_token(
        &mut self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        let index = self.token_index(caller, region, id)?;
        let token = self.policy_tokens.remove(index);
        self.token_auth.remove(token.token.expose());
        tracing::info!(org = %caller.org_slug, token = %token.name, "access policy token deleted");
        Ok(())
    }

    /// The org an access-policy token authenticates as, once active and while not expired.
    pub(super) fn policy_token_org(&self, token: &str) -> Option<u64> {
        let org = *self.token_auth.get(token)?;
        let now = Utc::now();
        self.policy_tokens
            .iter()
            .find(|t| t.token.expose() == token)
            .filter(|t| Instant::now() >= t.active_at && !t.is_expired(now))
            .map(|_| org)
    }

    pub fn all_policies(&self) -> &[AccessPolicy] {
        &self.policies
    }

    pub fn all_policy_tokens(&self) -> &[PolicyToken] {
        &self.policy_tokens
    }
}

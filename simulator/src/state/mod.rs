//! The simulated grafana.com: organisations, stacks and keys, behind one lock.

mod keys;
mod plugins;
mod policies;
mod service_accounts;
mod stacks;

use std::{
    collections::{BTreeMap, HashMap},
    time::Instant,
};

use chrono::Utc;

pub(crate) use self::{
    keys::NewStackKey,
    plugins::{PluginInstall, PluginVersion},
    policies::{PolicyBody, SCOPES, TokenBody, TokenFilter},
    service_accounts::{NewServiceAccount, NewServiceAccountToken, not_found},
    stacks::{NewStack, StackPatch},
};
use crate::{
    config::{Config, ForeignStack, Timings},
    error::ApiError,
    model::{AccessPolicy, CatalogPlugin, Org, OrgKey, PolicyToken, Stack},
    token::Token,
};

/// The organisation a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub org_id: u64,
    pub org_slug: String,
}

/// All mutable simulator state.
#[derive(Debug)]
pub(crate) struct State {
    pub timings: Timings,
    foreign_stack: ForeignStack,
    orgs: Vec<Org>,
    /// Configured bearer tokens, by value, to the org they authenticate as.
    org_tokens: HashMap<Token, u64>,
    /// Admin org API keys authenticate as their org too, while they exist.
    key_tokens: HashMap<Token, u64>,
    stacks: BTreeMap<u64, Stack>,
    slugs: HashMap<String, u64>,
    org_keys: Vec<OrgKey>,
    policies: Vec<AccessPolicy>,
    policy_tokens: Vec<PolicyToken>,
    /// Access-policy token secrets to the org they authenticate as.
    token_auth: HashMap<Token, u64>,
    /// Answer the API key routes as grafana.com does today.
    pub api_keys_removed: bool,
    /// The most items one page of a `/v1` list holds.
    pub page_size: usize,
    next_stack_id: u64,
    next_datasource_id: u64,
    next_key_id: u64,
    next_sa_id: u64,
    /// The plugins stacks can install, by slug.
    catalog: BTreeMap<String, CatalogPlugin>,
    next_plugin_install_id: u64,
}

impl State {
    pub fn new(config: &Config) -> Self {
        let now = Utc::now();
        let mut orgs = Vec::new();
        let mut org_tokens = HashMap::new();
        for org in &config.orgs {
            let id = match orgs.iter().find(|o: &&Org| o.slug == org.slug) {
                Some(existing) => existing.id,
                None => {
                    let id = 1000 + orgs.len() as u64 + 1;
                    orgs.push(Org {
                        id,
                        slug: org.slug.clone(),
                        created_at: now,
                    });
                    id
                }
            };
            org_tokens.insert(org.token.clone(), id);
        }
        Self {
            timings: config.timings,
            foreign_stack: config.foreign_stack,
            orgs,
            org_tokens,
            key_tokens: HashMap::new(),
            stacks: BTreeMap::new(),
            slugs: HashMap::new(),
            org_keys: Vec::new(),
            policies: Vec::new(),
            policy_tokens: Vec::new(),
            token_auth: HashMap::new(),
            api_keys_removed: config.api_keys_removed,
            page_size: config.page_size.max(1),
            next_stack_id: 100_001,
            next_datasource_id: 1,
            next_key_id: 1,
            next_sa_id: 2,
            catalog: plugins::catalog(),
            next_plugin_install_id: 1,
        }
    }

    /// Forgets every stack and key; orgs, their tokens and timings stay.
    pub fn reset(&mut self) {
        self.key_tokens.clear();
        self.stacks.clear();
        self.slugs.clear();
        self.org_keys.clear();
        self.policies.clear();
        self.policy_tokens.clear();
        self.token_auth.clear();
    }

    /// The org a bearer token authenticates as, if any.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let org_id = self
            .org_tokens
            .get(token)
            .or_else(|| self.key_tokens.get(token))
            .copied()
            .or_else(|| self.policy_token_org(token))?;
        let org = self.orgs.iter().find(|o| o.id == org_id)?;
        Some(Caller {
            org_id: org.id,
            org_slug: org.slug.clone(),
        })
    }

    pub fn orgs(&self) -> &[Org] {
        &self.orgs
    }

    /// Resolves an org path parameter (slug or id) the caller may act on.
    pub fn org_for(&self, caller: &Caller, slug_or_id: &str) -> Result<&Org, ApiError> {
        let org = self
            .orgs
            .iter()
            .find(|o| o.slug == slug_or_id || o.id.to_string() == slug_or_id)
            .ok_or_else(|| ApiError::not_found("Org"))?;
        if org.id == caller.org_id {
            Ok(org)
        } else {
            Err(ApiError::forbidden())
        }
    }

    fn org_by_id(&self, id: u64) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    /// Drops a deleted stack whose slug reservation has ended.
    fn purge_if_expired(&mut self, id: u64, now: Instant) {
        let expired = self
            .stacks
            .get(&id)
            .and_then(|s| s.deleted)
            .is_some_and(|d| now >= d.reserved_until);
        if expired && let Some(stack) = self.stacks.remove(&id) {
            self.slugs.remove(&stack.slug);
        }
    }

    /// Drops every deleted stack whose slug reservation has ended.
    pub fn purge_expired(&mut self, now: Instant) {
        let expired: Vec<u64> = self
            .stacks
            .values()
            .filter(|s| s.deleted.is_some_and(|d| now >= d.reserved_until))
            .map(|s| s.id)
            .collect();
        for id in expired {
            self.purge_if_expired(id, now);
        }
    }

    fn stack_id(&mut self, slug_or_id: &str, now: Instant) -> Option<u64> {
        let id = match slug_or_id.parse::<u64>() {
            Ok(id) => id,
            Err(_) => *self.slugs.get(slug_or_id)?,
        };
        self.purge_if_expired(id, now);
        self.stacks.contains_key(&id).then_some(id)
    }

    /// A stack of the caller's org, deleted ones included (they read as
    /// `status: deleted` until their slug reservation ends).
    fn stack_for(
        &mut self,
        caller: &Caller,
        slug_or_id: &str,
        now: Instant,
    ) -> Result<&mut Stack, ApiError> {
        let foreign = self.foreign_stack;
        let id = self
            .stack_id(slug_or_id, now)
            .ok_or_else(|| ApiError::not_found("Stack"))?;
        let stack = self
            .stacks
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("Stack"))?;
        if stack.org_id != caller.org_id {
            return Err(match foreign {
                ForeignStack::Forbidden => ApiError::forbidden(),
                ForeignStack::NotFound => ApiError::not_found("Stack"),
            });
        }
        Ok(stack)
    }

    /// A live (not deleted) stack of the caller's org.
    pub(crate) fn live_stack_for(
        &mut self,
        caller: &Caller,
        slug_or_id: &str,
        now: Instant,
    ) -> Result<&mut Stack, ApiError> {
        let stack = self.stack_for(caller, slug_or_id, now)?;
        if stack.is_deleted() {
            Err(ApiError::not_found("Stack"))
        } else {
            Ok(stack)
        }
    }

    /// Every stack, deleted ones included, in creation order.
    pub fn all_stacks(&self) -> impl Iterator<Item = &Stack> {
        self.stacks.values()
    }

    pub fn stack_by_id(&self, id: u64) -> Option<&Stack> {
        self.stacks.get(&id)
    }

    pub fn stack_by_slug(&self, slug: &str) -> Option<&Stack> {
        self.slugs.get(slug).and_then(|id| self.stacks.get(id))
    }

    pub fn all_org_keys(&self) -> &[OrgKey] {
        &self.org_keys
    }
}

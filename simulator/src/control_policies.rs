//! Test control over access policies and their tokens.

use chrono::Utc;
use serde::Serialize;

use crate::{
    control::Control,
    model::{AccessPolicy, PolicyToken, Realm},
    render::timestamp,
    token::Token,
};

/// An access policy as the control API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    pub id: String,
    pub org_id: u64,
    pub region: String,
    pub name: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub realms: Vec<Realm>,
    pub allowed_subnets: Vec<String>,
    pub created_at: String,
}

/// An access-policy token, its secret included.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTokenView {
    pub id: String,
    pub org_id: u64,
    pub region: String,
    pub policy_id: String,
    pub name: String,
    pub token: Token,
    pub expires_at: Option<String>,
    pub expired: bool,
    pub created_at: String,
}

fn policy_view(p: &AccessPolicy) -> PolicyView {
    PolicyView {
        id: p.id.clone(),
        org_id: p.org_id,
        region: p.region.clone(),
        name: p.name.clone(),
        display_name: p.display_name.clone(),
        scopes: p.scopes.clone(),
        realms: p.realms.clone(),
        allowed_subnets: p.allowed_subnets.clone(),
        created_at: timestamp(p.created_at),
    }
}

fn token_view(t: &PolicyToken) -> PolicyTokenView {
    PolicyTokenView {
        id: t.id.clone(),
        org_id: t.org_id,
        region: t.region.clone(),
        policy_id: t.policy_id.clone(),
        name: t.name.clone(),
        token: t.token.clone(),
        expires_at: t.expires_at.map(timestamp),
        expired: t.is_expired(Utc::now()),
        created_at: timestamp(t.created_at),
    }
}

impl Control {
    fn org_id(&self, org: &str) -> Option<u64> {
        let state = self.shared.state();
        state.orgs().iter().find(|o| o.slug == org).map(|o| o.id)
    }

    /// The access policies of `org` (by slug), in every region.
    pub fn policies(&self, org: &str) -> Vec<PolicyView> {
        let id = self.org_id(org);
        let state = self.shared.state();
        state
            .all_policies()
            .iter()
            .filter(|p| Some(p.org_id) == id)
            .map(policy_view)
            .collect()
    }

    /// The access-policy tokens of `org` (by slug), expired ones included.
    pub fn policy_tokens(&self, org: &str) -> Vec<PolicyTokenView> {
        let id = self.org_id(org);
        let state = self.shared.state();
        state
            .all_policy_tokens()
            .iter()
            .filter(|t| Some(t.org_id) == id)
            .map(token_view)
            .collect()
    }
}

//! In-process test control: inspect and mutate the simulator's state.
//!
//! The same operations are served over HTTP under `/_sim` (see
//! [`crate::control_http`]). Views hold issued tokens as [`Token`], whose
//! `Debug` output is redacted; call [`Token::expose`] to compare them.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use chrono::Utc;
use serde::Serialize;

use crate::{
    config::Timings,
    faults::{ActiveFault, Fault},
    model::{DataSource, OrgKey, Stack, StackKey},
    record::RecordedRequest,
    render::timestamp,
    shared::Shared,
    token::Token,
};

/// A stack as the control API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackView {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub org_slug: String,
    pub url: String,
    pub region_slug: String,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    /// `active` or `deleted`.
    pub status: String,
    pub delete_protection: bool,
    pub ready: bool,
    /// How many times `POST /instances/<slug>/restart` succeeded.
    pub restarts: u64,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub deleted_at: Option<String>,
    pub datasources: Vec<DataSource>,
    pub keys: Vec<StackKeyView>,
}

/// A stack API key, token included.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackKeyView {
    pub id: u64,
    pub name: String,
    pub role: String,
    pub token: Token,
    pub seconds_to_live: Option<u64>,
    pub created_at: String,
    /// When the key stops working (`secondsToLive` after creation).
    pub expires_at: Option<String>,
    pub expired: bool,
}

/// An org API key, token included.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgKeyView {
    pub id: u64,
    pub org_slug: String,
    pub name: String,
    pub role: String,
    pub token: Token,
    pub created_at: String,
}

/// An organisation (its bearer token is not shown).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: u64,
    pub slug: String,
}

/// Everything at once, as `GET /_sim/state` returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    pub orgs: Vec<OrgView>,
    pub timings: Timings,
    pub stacks: Vec<StackView>,
    pub org_keys: Vec<OrgKeyView>,
    pub faults: Vec<ActiveFault>,
}

fn stack_key_view(key: &StackKey) -> StackKeyView {
    StackKeyView {
        id: key.id,
        name: key.name.clone(),
        role: key.role.clone(),
        token: key.token.clone(),
        seconds_to_live: key.seconds_to_live,
        created_at: timestamp(key.created_at),
        expires_at: key.expires_at.map(timestamp),
        expired: key.expires_at.is_some_and(|at| Utc::now() >= at),
    }
}

fn stack_view(stack: &Stack, now: Instant) -> StackView {
    StackView {
        id: stack.id,
        slug: stack.slug.clone(),
        name: stack.name.clone(),
        org_slug: stack.org_slug.clone(),
        url: stack.url.clone(),
        region_slug: stack.region.clone(),
        description: stack.description.clone(),
        labels: stack.labels.clone(),
        status: stack.status().to_owned(),
        delete_protection: stack.delete_protection,
        ready: stack.is_ready(now),
        restarts: stack.restarts,
        created_at: timestamp(stack.created_at),
        updated_at: stack.updated_at.map(timestamp),
        deleted_at: stack.deleted.map(|d| timestamp(d.at)),
        datasources: stack.datasources.clone(),
        keys: stack.keys.iter().map(stack_key_view).collect(),
    }
}

fn org_key_view(key: &OrgKey) -> OrgKeyView {
    OrgKeyView {
        id: key.id,
        org_slug: key.org_slug.clone(),
        name: key.name.clone(),
        role: key.role.clone(),
        token: key.token.clone(),
        created_at: timestamp(key.created_at),
    }
}

/// A cheap, cloneable handle to a running simulator's state.
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl Control {
    /// The whole state: orgs, timings, stacks (with keys and data sources),
    /// org keys and active faults.
    pub fn state(&self) -> StateView {
        let now = Instant::now();
        let faults = self.faults();
        let mut state = self.shared.state();
        state.purge_expired(now);
        StateView {
            orgs: state
                .orgs()
                .iter()
                .map(|o| OrgView {
                    id: o.id,
                    slug: o.slug.clone(),
                })
                .collect(),
            timings: state.timings,
            stacks: state.all_stacks().map(|s| stack_view(s, now)).collect(),
            org_keys: state.all_org_keys().iter().map(org_key_view).collect(),
            faults,
        }
    }

    /// Every stack, deleted ones still reserving their slug included.
    pub fn stacks(&self) -> Vec<StackView> {
        let now = Instant::now();
        let mut state = self.shared.state();
        state.purge_expired(now);
        state.all_stacks().map(|s| stack_view(s, now)).collect()
    }

    pub fn stack(&self, slug: &str) -> Option<StackView> {
        let now = Instant::now();
        let mut state = self.shared.state();
        state.purge_expired(now);
        state.stack_by_slug(slug).map(|s| stack_view(s, now))
    }

    /// The org API keys of `org` (by slug), tokens included.
    pub fn org_keys(&self, org: &str) -> Vec<OrgKeyView> {
        let state = self.shared.state();
        state
            .all_org_keys()
            .iter()
            .filter(|k| k.org_slug == org)
            .map(org_key_view)
            .collect()
    }

    /// The stack API keys created in stack `slug`, tokens and expiry included.
    pub fn stack_keys(&self, slug: &str) -> Vec<StackKeyView> {
        self.stack(slug).map(|s| s.keys).unwrap_or_default()
    }

    /// Every token the simulator ever issued and still remembers, so that
    /// tests can assert none of them leaks into logs or status.
    pub fn issued_tokens(&self) -> Vec<Token> {
        let state = self.shared.state();
        let org = state.all_org_keys().iter().map(|k| k.token.clone());
        let stack = state
            .all_stacks()
            .flat_map(|s| s.keys.iter().map(|k| k.token.clone()));
        let policy = state.all_policy_tokens().iter().map(|t| t.token.clone());
        let accounts = state.all_stacks().flat_map(|s| {
            s.service_accounts
                .iter()
                .flat_map(|sa| sa.tokens.iter().map(|t| t.key.clone()))
        });
        org.chain(stack).chain(policy).chain(accounts).collect()
    }

    /// Recorded `/api` requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder().requests_after(0)
    }

    /// Recorded requests newer than sequence number `seq`, oldest first.
    pub fn requests_since(&self, seq: u64) -> Vec<RecordedRequest> {
        self.shared.recorder().requests_after(seq)
    }

    /// How many requests hit `method` + `template` (e.g. `"POST"`,
    /// `"/api/instances"`), faulted ones included.
    pub fn count(&self, method: &str, template: &str) -> u64 {
        self.shared.recorder().count(method, template)
    }

    /// All counters, keyed `"METHOD template"`.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.shared.recorder().counters()
    }

    /// Injects a fault; returns its id.
    pub fn inject(&self, fault: Fault) -> u64 {
        self.shared.faults().inject(fault)
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        self.shared.faults().remove(id)
    }

    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Active faults with their remaining `times` budget.
    pub fn faults(&self) -> Vec<ActiveFault> {
        self.shared.faults().list()
    }

    pub fn timings(&self) -> Timings {
        self.shared.state().timings
    }

    /// Changes readiness delay and slug reservation for what happens next.
    pub fn set_timings(&self, timings: Timings) {
        self.shared.state().timings = timings;
    }

    /// Forgets stacks, keys, recorded requests, counters and faults. Orgs,
    /// tokens, timings and the configured base latency stay.
    pub fn reset(&self) {
        self.shared.state().reset();
        self.shared.faults().clear();
        self.shared.recorder().clear();
    }
}

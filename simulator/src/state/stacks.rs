//! Stack lifecycle: create, read, update, delete, restart, readiness and the
//! data sources provisioned with each stack.

use std::{collections::BTreeMap, time::Instant};

use chrono::Utc;
use serde::Deserialize;

use super::{Caller, State};
use crate::{
    error::ApiError,
    model::{DataSource, Deletion, Stack},
    render::COMPONENTS,
    validate,
};

/// Body of `POST /instances`. Fields the simulator does not model are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewStack {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub url: Option<String>,
    pub region: Option<String>,
    pub description: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub delete_protection: Option<bool>,
}

/// Body of `POST /instances/<slug>`: only the fields present change.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StackPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub delete_protection: Option<bool>,
}

const DEFAULT_REGION: &str = "us";

impl State {
    pub fn create_stack(&mut self, caller: &Caller, body: NewStack) -> Result<&Stack, ApiError> {
        let now = Instant::now();
        let slug = body
            .slug
            .ok_or_else(|| ApiError::invalid("slug is required"))?;
        validate::slug(&slug)?;
        let name = body
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::invalid("name is required"))?;
        let labels = body.labels.unwrap_or_default();
        validate::labels(&labels)?;
        let url = match body.url.filter(|u| !u.is_empty()) {
            Some(url) => {
                validate::url(&url)?;
                url
            }
            None => Stack::default_url(&slug),
        };
        let region = body.region.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ApiError::invalid(format!("Invalid region {region:?}")));
        }
        self.purge_expired(now);
        self.check_slug_available(&slug, now)?;
        if self.stacks.values().any(|s| s.url == url) {
            return Err(ApiError::conflict("That url is not available"));
        }

        let org_created_at = self
            .org_by_id(caller.org_id)
            .map_or_else(Utc::now, |o| o.created_at);
        let id = self.next_stack_id;
        self.next_stack_id += 1;
        let datasources = self.provision_datasources(id, &slug, &region);
        let stack = Stack {
            id,
            org_id: caller.org_id,
            org_slug: caller.org_slug.clone(),
            org_created_at,
            slug: slug.clone(),
            name,
            url,
            region,
            description: body.description.unwrap_or_default(),
            labels,
            delete_protection: body.delete_protection.unwrap_or(false),
            created_at: Utc::now(),
            updated_at: None,
            ready_at: now + self.timings.readiness_delay,
            deleted: None,
            restarts: 0,
            datasources,
            keys: Vec::new(),
            service_accounts: Vec::new(),
            plugins: Vec::new(),
            rendered: Default::default(),
        };
        tracing::info!(stack = %slug, stack_id = id, org = %caller.org_slug, "stack created");
        self.slugs.insert(slug, id);
        Ok(self.stacks.entry(id).or_insert(stack))
    }

    fn check_slug_available(&mut self, slug: &str, now: Instant) -> Result<(), ApiError> {
        let Some(id) = self.stack_id(slug, now) else {
            return Ok(());
        };
        match self.stacks.get(&id).and_then(|s| s.deleted) {
            Some(deletion) => {
                let left = deletion.reserved_until.saturating_duration_since(now);
                let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Err(ApiError::conflict(format!(
                    "That url is not available: a stack with this slug was deleted recently, \
                     wait for {seconds}s before creating it again"
                )))
            }
            None => Err(ApiError::conflict("That url is not available")),
        }
    }

    fn provision_datasources(
        &mut self,
        stack_id: u64,
        slug: &str,
        region: &str,
    ) -> Vec<DataSource> {
        let mut out = Vec::new();
        for component in COMPONENTS.iter() {
            let Some(kind) = component.datasource_type else {
                continue;
            };
            out.push(DataSource {
                id: self.next_datasource_id,
                instance_id: stack_id,
                name: format!("grafanacloud-{slug}-{}", component.name_suffix),
                kind: kind.to_owned(),
                access: "proxy".to_owned(),
                url: component.url(region),
                user: component.id(stack_id).to_string(),
                database: String::new(),
                basic_auth: true,
                basic_auth_user: component.id(stack_id).to_string(),
                is_default: kind == "prometheus",
                json_data: serde_json::json!({}),
            });
            self.next_datasource_id += 1;
        }
        out
    }

    pub fn get_stack(&mut self, caller: &Caller, slug_or_id: &str) -> Result<&Stack, ApiError> {
        self.stack_for(caller, slug_or_id, Instant::now())
            .map(|s| &*s)
    }

    pub fn list_stacks(&mut self, caller: &Caller, org: &str) -> Result<Vec<&Stack>, ApiError> {
        let org_id = self.org_for(caller, org)?.id;
        self.purge_expired(Instant::now());
        Ok(self
            .stacks
            .values()
            .filter(|s| s.org_id == org_id && !s.is_deleted())
            .collect())
    }

    pub fn update_stack(
        &mut self,
        caller: &Caller,
        slug_or_id: &str,
        patch: StackPatch,
    ) -> Result<&Stack, ApiError> {
        let now = Instant::now();
        if let Some(labels) = &patch.labels {
            validate::labels(labels)?;
        }
        if let Some(url) = patch.url.as_deref().filter(|u| !u.is_empty()) {
            validate::url(url)?;
        }
        let (id, slug) = {
            let stack = self.live_stack_for(caller, slug_or_id, now)?;
            (stack.id, stack.slug.clone())
        };
        if patch.slug.as_deref().is_some_and(|s| s != slug) {
            return Err(ApiError::invalid("slug cannot be changed"));
        }
        if let Some(url) = patch.url.as_deref().filter(|u| !u.is_empty())
            && self.stacks.values().any(|s| s.id != id && s.url == url)
        {
            return Err(ApiError::conflict("That url is not available"));
        }
        let stack = self
            .stacks
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("Stack"))?;
        if let Some(name) = patch.name.filter(|n| !n.trim().is_empty()) {
            stack.name = name;
        }
        if let Some(url) = patch.url {
            stack.url = if url.is_empty() {
                Stack::default_url(&slug)
            } else {
                url
            };
        }
        if let Some(description) = patch.description {
            stack.description = description;
        }
        if let Some(labels) = patch.labels {
            stack.labels = labels;
        }
        if let Some(protect) = patch.delete_protection {
            stack.delete_protection = protect;
        }
        stack.updated_at = Some(Utc::now());
        stack.touch();
        tracing::info!(stack = %slug, org = %caller.org_slug, "stack updated");
        Ok(stack)
    }

    pub fn delete_stack(&mut self, caller: &Caller, slug_or_id: &str) -> Result<&Stack, ApiError> {
        let now = Instant::now();
        let reservation = self.timings.deleted_slug_reservation;
        let stack = self.live_stack_for(caller, slug_or_id, now)?;
        if stack.delete_protection {
            return Err(ApiError::conflict(
                "This stack has delete protection enabled; disable deleteProtection before deleting it",
            ));
        }
        stack.deleted = Some(Deletion {
            at: Utc::now(),
            reserved_until: now + reservation,
        });
        stack.touch();
        tracing::info!(stack = %stack.slug, org = %caller.org_slug, "stack deleted");
        Ok(stack)
    }

    pub fn restart_stack(&mut self, caller: &Caller, slug_or_id: &str) -> Result<(), ApiError> {
        let stack = self.live_stack_for(caller, slug_or_id, Instant::now())?;
        stack.restarts += 1;
        tracing::info!(stack = %stack.slug, restarts = stack.restarts, "stack restarted");
        Ok(())
    }

    pub fn readiness(&mut self, caller: &Caller, slug_or_id: &str) -> Result<bool, ApiError> {
        let now = Instant::now();
        let stack = self.live_stack_for(caller, slug_or_id, now)?;
        Ok(stack.is_ready(now))
    }

    pub fn datasources(&mut self, caller: &Caller, slug: &str) -> Result<&[DataSource], ApiError> {
        let stack = self.live_stack_for(caller, slug, Instant::now())?;
        Ok(&stack.datasources)
    }

    pub fn delete_datasource(
        &mut self,
        caller: &Caller,
        slug: &str,
        datasource: &str,
    ) -> Result<DataSource, ApiError> {
        let stack = self.live_stack_for(caller, slug, Instant::now())?;
        let position = stack
            .datasources
            .iter()
            .position(|d| d.id.to_string() == datasource)
            .ok_or_else(|| ApiError::not_found("Data source"))?;
        let removed = stack.datasources.remove(position);
        tracing::info!(stack = %stack.slug, datasource = %removed.name, "data source deleted");
        Ok(removed)
    }
}

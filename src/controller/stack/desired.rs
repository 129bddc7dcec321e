//! Pure decisions of the GrafanaStack controller: what to send to grafana.com and what to
//! write into status. No I/O here, so each rule has a plain unit test.

use std::{collections::BTreeMap, time::Duration};

use kube::ResourceExt;

use crate::{
    controller::conditions::is_ready,
    crd::{self, GrafanaStack, GrafanaStackSpec, GrafanaStackStatus, OWNER_LABEL},
    grafana::{CreateStack, Stack, UpdateStack},
};

/// The name a stack gets when `spec.name` is empty.
pub fn desired_name(spec: &GrafanaStackSpec) -> String {
    spec.name
        .clone()
        .unwrap_or_else(|| format!("{}.grafana.net", spec.slug))
}

/// The user's labels plus the ownership label that identifies this resource.
pub fn desired_labels(spec: &GrafanaStackSpec, uid: &str) -> BTreeMap<String, String> {
    let mut labels = spec.labels.clone();
    labels.insert(OWNER_LABEL.to_string(), uid.to_string());
    labels
}

/// The body of the create call.
pub fn create_request(spec: &GrafanaStackSpec, uid: &str) -> CreateStack {
    CreateStack {
        name: desired_name(spec),
        slug: spec.slug.clone(),
        url: spec.url.clone(),
        region: spec.region.clone(),
        description: spec.description.clone(),
        labels: desired_labels(spec, uid),
        delete_protection: false,
    }
}

/// The fields that differ between spec and the remote stack. An empty update means no drift.
/// `url` is only compared when the spec sets a custom domain, and delete protection only
/// once the stack is `ready`: a stack whose provisioning fails must stay deletable.
pub fn drift(spec: &GrafanaStackSpec, uid: &str, remote: &Stack, ready: bool) -> UpdateStack {
    let name = desired_name(spec);
    let description = spec.description.clone().unwrap_or_default();
    let labels = desired_labels(spec, uid);
    UpdateStack {
        name: (remote.name != name).then_some(name),
        description: (remote.description.clone().unwrap_or_default() != description)
            .then_some(description),
        labels: (remote.labels != labels).then_some(labels),
        url: spec
            .url
            .clone()
            .filter(|url| url.trim_end_matches('/') != remote.url.trim_end_matches('/')),
        delete_protection: protection_drift(spec, remote)
            .delete_protection
            .filter(|_| ready),
    }
}

/// The update that brings delete protection in line with spec, once the stack is ready.
pub fn protection_drift(spec: &GrafanaStackSpec, remote: &Stack) -> UpdateStack {
    if spec.delete_protection == remote.is_delete_protected() {
        UpdateStack::default()
    } else {
        UpdateStack::protection(spec.delete_protection)
    }
}

/// Who a remote stack with the resource's slug belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// It carries this resource's ownership label: the operator created it.
    Owned,
    /// Not ours, but the resource asks to adopt it.
    Adoptable,
    /// Not ours and no adoption requested: never touch it.
    Foreign,
}

pub fn ownership(remote: &Stack, uid: &str, adopt_requested: bool) -> Ownership {
    if remote
        .labels
        .get(OWNER_LABEL)
        .is_some_and(|owner| owner == uid)
    {
        Ownership::Owned
    } else if adopt_requested {
        Ownership::Adoptable
    } else {
        Ownership::Foreign
    }
}

/// Whether the annotations ask for adoption (`grafanacloud.operator.dev/adopt: "true"`).
pub fn adopt_requested(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(crd::ADOPT_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The restart value to act on, if the annotation holds one not yet acted on.
pub fn pending_restart<'a>(
    annotations: &'a BTreeMap<String, String>,
    status: &GrafanaStackStatus,
) -> Option<&'a str> {
    let requested = annotations.get(crd::RESTART_ANNOTATION)?;
    (status.last_restart_request.as_deref() != Some(requested.as_str())).then_some(requested)
}

/// The organisation whose list snapshot may stand in for a fresh read of the stack: only for
/// a managed stack that is Ready, unchanged since, and with no restart pending. Everything
/// else (creates, adoption, spec changes) reads the stack itself.
pub fn steady_state_org<'a>(obj: &GrafanaStack, status: &'a GrafanaStackStatus) -> Option<&'a str> {
    let steady = status.managed
        && status.id.is_some()
        && is_ready(&status.conditions)
        && status.observed_generation == obj.metadata.generation
        && pending_restart(obj.annotations(), status).is_none();
    status.org_slug.as_deref().filter(|_| steady)
}

/// Whether this pass only has to ask whether the stack this resource created is ready yet:
/// it was created (or found) and recorded, it is provisioning, and nothing asks for more
/// (no spec change, no restart).
pub fn only_readiness_pending(obj: &GrafanaStack, status: &GrafanaStackStatus) -> bool {
    status.managed
        && status.id.is_some()
        && status.observed_generation == obj.metadata.generation
        && pending_restart(obj.annotations(), status).is_none()
        && crate::controller::conditions::ready_condition(&status.conditions).is_some_and(|c| {
            c.status == "False"
                && c.reason == crate::controller::conditions::Reason::StackProvisioning.as_str()
        })
}

/// Whether no create was ever attempted for this resource: then the organisation's shared
/// stack list can stand in for reading the slug before the create.
pub fn never_created(status: &GrafanaStackStatus) -> bool {
    status.id.is_none() && status.create_attempted_at.is_none()
}

/// Copies the stack's identity, state and endpoints into status.
pub fn record_remote(status: &mut GrafanaStackStatus, remote: &Stack) {
    status.id = Some(remote.id);
    status.org_slug = Some(remote.org_slug.clone()).filter(|s| !s.is_empty());
    status.url = Some(remote.url.clone()).filter(|s| !s.is_empty());
    status.cloud_status = Some(remote.status.clone()).filter(|s| !s.is_empty());
    status.region_slug = Some(remote.region_slug.clone()).filter(|s| !s.is_empty());
    status.delete_protection = Some(remote.is_delete_protected());
    let e = remote.endpoints();
    let conv = |e: Option<crate::grafana::Endpoint>| {
        e.map(|e| crd::Endpoint {
            url: e.url,
            user_id: e.id,
        })
    };
    let endpoints = crd::StackEndpoints {
        prometheus: conv(e.prometheus),
        loki: conv(e.loki),
        tempo: conv(e.tempo),
        alertmanager: conv(e.alertmanager),
        graphite: conv(e.graphite),
        profiles: conv(e.profiles),
    };
    status.endpoints = (endpoints != crd::StackEndpoints::default()).then_some(endpoints);
}

/// Whether the data sources must be listed again: on first readiness, after a spec change,
/// or while a data source that should be removed is still recorded.
pub fn datasources_stale(
    spec: &GrafanaStackSpec,
    status: &GrafanaStackStatus,
    generation_changed: bool,
) -> bool {
    generation_changed
        || status.datasources.is_empty()
        || status
            .datasources
            .iter()
            .any(|d| spec.remove_datasources.contains(&d.name))
}

/// Delay before the next readiness check: grows with the time the stack has been
/// provisioning, from 2 s up to 30 s.
pub fn readiness_poll_delay(provisioning_for: Duration) -> Duration {
    provisioning_for.clamp(Duration::from_secs(2), Duration::from_secs(30))
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;

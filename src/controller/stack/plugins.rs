//! Pure decisions about a stack's plugins: what to install, move to another version or
//! remove, from the spec, the plugins this resource recorded as its own, and what
//! grafana.com lists. A plugin that someone else installed is never changed or removed.

use std::collections::BTreeSet;

use crate::{
    crd::{PluginStatus, StackPlugin},
    grafana::InstalledPlugin,
};

/// One plugin and the version to ask for (`None`: the latest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub slug: String,
    pub version: Option<String>,
}

/// What to do so that the stack's plugins match the spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub install: Vec<Step>,
    pub change: Vec<Step>,
    /// Plugins this resource installed that have left the spec.
    pub remove: Vec<String>,
    /// `status.plugins` as it stands before any step: each step updates its entry.
    pub status: Vec<PluginStatus>,
}

pub fn plan(
    spec: &[StackPlugin],
    recorded: &[PluginStatus],
    installed: &[InstalledPlugin],
) -> Plan {
    let ours: BTreeSet<&str> = recorded
        .iter()
        .filter(|p| p.managed)
        .map(|p| p.slug.as_str())
        .collect();
    let on_stack = |slug: &str| installed.iter().find(|p| p.plugin_slug == slug);
    let mut plan = Plan::default();
    for want in spec {
        let managed = ours.contains(want.slug.as_str());
        let Some(have) = on_stack(&want.slug) else {
            plan.install.push(Step {
                slug: want.slug.clone(),
                version: want.version.clone(),
            });
            plan.status.push(entry(&want.slug, None, true));
            continue;
        };
        plan.status
            .push(entry(&want.slug, Some(&have.version), managed));
        let target = want
            .version
            .as_deref()
            .unwrap_or(have.latest_version.as_str());
        if target.is_empty() || target == have.version {
            continue;
        }
        if managed {
            plan.change.push(Step {
                slug: want.slug.clone(),
                version: Some(target.to_owned()),
            });
        }
    }
    for slug in ours {
        if spec.iter().any(|p| p.slug == slug) {
            continue;
        }
        if let Some(have) = on_stack(slug) {
            plan.remove.push(slug.to_owned());
            plan.status.push(entry(slug, Some(&have.version), true));
        }
    }
    plan
}

/// Whether status already accounts for every plugin of the spec and for nothing else of
/// this resource's: when it does not, the plugins are read again in this pass.
pub fn settled(spec: &[StackPlugin], recorded: &[PluginStatus]) -> bool {
    let all_recorded = spec.iter().all(|want| {
        recorded.iter().any(|p| {
            p.slug == want.slug
                && p.version.is_some()
                && (!p.managed || want.version.is_none() || p.version == want.version)
        })
    });
    let none_extra = recorded
        .iter()
        .all(|p| spec.iter().any(|want| want.slug == p.slug));
    all_recorded && none_extra
}

/// The longest version string kept from grafana.com.
const MAX_VERSION_LEN: usize = 128;

/// For the Ready message: the plugins of the spec that someone else installed at another
/// version than the spec pins, which the operator leaves as they are.
pub fn left_alone(spec: &[StackPlugin], recorded: &[PluginStatus]) -> Option<String> {
    let notes: Vec<String> = spec
        .iter()
        .filter_map(|want| {
            let pinned = want.version.as_deref()?;
            let p = recorded
                .iter()
                .find(|p| p.slug == want.slug && !p.managed)?;
            let version = p.version.as_deref().filter(|v| *v != pinned)?;
            Some(format!(
                "plugin {} {version} was installed by someone else and is left as it is",
                want.slug
            ))
        })
        .collect();
    (!notes.is_empty()).then(|| notes.join("; "))
}

fn entry(slug: &str, version: Option<&str>, managed: bool) -> PluginStatus {
    PluginStatus {
        slug: slug.to_owned(),
        version: version.and_then(bounded),
        managed,
    }
}

fn bounded(version: &str) -> Option<String> {
    (!version.is_empty() && version.len() <= MAX_VERSION_LEN).then(|| version.to_owned())
}

/// Sets the version of `slug`'s entry after a step.
pub fn record_version(status: &mut [PluginStatus], slug: &str, version: &str) {
    if let Some(p) = status.iter_mut().find(|p| p.slug == slug) {
        p.version = bounded(version);
    }
}

#[cfg(test)]
#[path = "plugins_tests.rs"]
mod tests;

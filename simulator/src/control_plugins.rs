//! Test control over the plugin catalog and the plugins installed on stacks.

use serde::Serialize;

use crate::{control::Control, render::timestamp};

/// A plugin installed on a stack, as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginView {
    pub slug: String,
    pub version: String,
    pub installed_at: String,
    pub updated_at: Option<String>,
}

impl Control {
    /// The plugins installed on stack `slug`, in install order.
    pub fn plugins(&self, slug: &str) -> Vec<PluginView> {
        let state = self.shared.state();
        state
            .stack_by_slug(slug)
            .map(|s| {
                s.plugins
                    .iter()
                    .map(|p| PluginView {
                        slug: p.slug.clone(),
                        version: p.version.clone(),
                        installed_at: timestamp(p.created_at),
                        updated_at: p.updated_at.map(timestamp),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Publishes `version` of plugin `slug`, which becomes its latest (adding the plugin to
    /// the catalog if it is new).
    pub fn publish_plugin(&self, slug: &str, version: &str) {
        self.shared.state().publish_plugin(slug, version);
    }
}

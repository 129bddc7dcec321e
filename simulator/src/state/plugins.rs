//! Plugins installed on stacks, from a small catalog: unknown plugins and versions answer
//! 404, a second install of the same plugin answers 409, and an install without a version
//! takes the latest.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Deserialize;

use super::{Caller, State};
use crate::{
    error::ApiError,
    model::{CatalogPlugin, InstalledPlugin},
};

/// Body of `POST /instances/<id>/plugins`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PluginInstall {
    pub plugin: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub no_restart: bool,
}

/// Body of `POST /instances/<id>/plugins/<slug>`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PluginVersion {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub no_restart: bool,
}

/// The catalog every simulator starts with.
pub(crate) fn catalog() -> BTreeMap<String, CatalogPlugin> {
    [
        (
            "grafana-clock-panel",
            "Clock",
            &["2.1.3", "2.1.5", "2.1.8"][..],
        ),
        (
            "grafana-piechart-panel",
            "Pie Chart (old)",
            &["1.6.2", "1.6.4"],
        ),
        ("grafana-polystat-panel", "Polystat", &["2.1.4", "2.1.13"]),
        ("grafana-github-datasource", "GitHub", &["1.5.0", "2.0.1"]),
        (
            "marcusolsson-json-datasource",
            "JSON API",
            &["1.3.10", "1.3.17"],
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (slug, name, versions))| {
        let plugin = CatalogPlugin {
            id: 100 + i as u64,
            name: name.to_owned(),
            versions: versions.iter().map(|v| (*v).to_owned()).collect(),
        };
        (slug.to_owned(), plugin)
    })
    .collect()
}

fn plugin_not_found() -> ApiError {
    ApiError::not_found("Plugin")
}

impl State {
    /// The catalog entry of `slug`, and the version asked for (the latest when `None`).
    fn release(
        &self,
        slug: &str,
        version: Option<&str>,
    ) -> Result<(&CatalogPlugin, String), ApiError> {
        let plugin = self.catalog.get(slug).ok_or_else(plugin_not_found)?;
        let version = match version.filter(|v| !v.is_empty()) {
            None => plugin.latest().to_owned(),
            Some(v) if plugin.versions.iter().any(|known| known == v) => v.to_owned(),
            Some(v) => {
                return Err(ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("Version {v} of plugin {slug} not found"),
                ));
            }
        };
        Ok((plugin, version))
    }

    pub fn plugins(
        &mut self,
        caller: &Caller,
        stack: &str,
    ) -> Result<Vec<InstalledPlugin>, ApiError> {
        let stack = self.live_stack_for(caller, stack, std::time::Instant::now())?;
        Ok(stack.plugins.clone())
    }

    pub fn plugin(
        &mut self,
        caller: &Caller,
        stack: &str,
        slug: &str,
    ) -> Result<InstalledPlugin, ApiError> {
        let stack = self.live_stack_for(caller, stack, std::time::Instant::now())?;
        stack
            .plugins
            .iter()
            .find(|p| p.slug == slug || p.id.to_string() == slug)
            .cloned()
            .ok_or_else(plugin_not_found)
    }

    pub fn install_plugin(
        &mut self,
        caller: &Caller,
        stack: &str,
        body: PluginInstall,
    ) -> Result<InstalledPlugin, ApiError> {
        let (plugin, version) = self.release(&body.plugin, body.version.as_deref())?;
        let (plugin_id, name) = (plugin.id, plugin.name.clone());
        let id = self.next_plugin_install_id;
        let stack = self.live_stack_for(caller, stack, std::time::Instant::now())?;
        if stack.plugins.iter().any(|p| p.slug == body.plugin) {
            return Err(ApiError::conflict(format!(
                "Plugin {} is already installed",
                body.plugin
            )));
        }
        let installed = InstalledPlugin {
            id,
            plugin_id,
            slug: body.plugin,
            name,
            version,
            created_at: Utc::now(),
            updated_at: None,
        };
        tracing::info!(stack = %stack.slug, plugin = %installed.slug, version = %installed.version, restart = !body.no_restart, "plugin installed");
        stack.plugins.push(installed.clone());
        self.next_plugin_install_id += 1;
        Ok(installed)
    }

    pub fn change_plugin(
        &mut self,
        caller: &Caller,
        stack: &str,
        slug: &str,
        body: PluginVersion,
    ) -> Result<InstalledPlugin, ApiError> {
        let (_, version) = self.release(slug, body.version.as_deref())?;
        let stack = self.live_stack_for(caller, stack, std::time::Instant::now())?;
        let installed = stack
            .plugins
            .iter_mut()
            .find(|p| p.slug == slug)
            .ok_or_else(plugin_not_found)?;
        installed.version = version;
        installed.updated_at = Some(Utc::now());
        tracing::info!(stack = %stack.slug, plugin = %slug, version = %installed.version, restart = !body.no_restart, "plugin version changed");
        Ok(installed.clone())
    }

    pub fn remove_plugin(
        &mut self,
        caller: &Caller,
        stack: &str,
        slug: &str,
    ) -> Result<InstalledPlugin, ApiError> {
        let stack = self.live_stack_for(caller, stack, std::time::Instant::now())?;
        let position = stack
            .plugins
            .iter()
            .position(|p| p.slug == slug)
            .ok_or_else(plugin_not_found)?;
        let removed = stack.plugins.remove(position);
        tracing::info!(stack = %stack.slug, plugin = %slug, "plugin removed");
        Ok(removed)
    }

    /// The latest version of `slug` in the catalog.
    pub fn latest_plugin_version(&self, slug: &str) -> Option<&str> {
        self.catalog.get(slug).map(CatalogPlugin::latest)
    }

    /// Publishes a new version of a catalog plugin (a new plugin when `slug` is unknown).
    pub fn publish_plugin(&mut self, slug: &str, version: &str) {
        let next_id = 100 + self.catalog.len() as u64;
        let plugin = self
            .catalog
            .entry(slug.to_owned())
            .or_insert_with(|| CatalogPlugin {
                id: next_id,
                name: slug.to_owned(),
                versions: Vec::new(),
            });
        if !plugin.versions.iter().any(|v| v == version) {
            plugin.versions.push(version.to_owned());
        }
    }
}

//! The plugins installed on a stack: `/instances/{id}/plugins…`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{
    Error, GrafanaClient, Token,
    client::Call,
    stacks::ignore_not_found,
    types::{lenient_string, string_or_null},
};

/// A plugin installed on a stack (`FormattedApiInstancePlugin`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledPlugin {
    #[serde(deserialize_with = "lenient_string")]
    pub plugin_slug: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub version: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub latest_version: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Install<'a> {
    plugin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

#[derive(Serialize)]
struct Change<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

impl GrafanaClient {
    /// `GET /instances/{id}/plugins`: every plugin installed on the stack, all pages.
    pub async fn list_plugins(
        &self,
        token: &Token,
        stack: &str,
    ) -> Result<Vec<InstalledPlugin>, Error> {
        self.list_all(
            token,
            "/instances/{slug}/plugins",
            &["instances", stack, "plugins"],
        )
        .await
        .map_err(|source| Error::ListPlugins {
            stack: stack.to_owned(),
            source,
        })
    }

    /// `POST /instances/{id}/plugins`: installs `plugin`, at `version` or the latest. Not
    /// retried after an unknown outcome: list the plugins to see whether it went through.
    pub async fn install_plugin(
        &self,
        token: &Token,
        stack: &str,
        plugin: &str,
        version: Option<&str>,
    ) -> Result<InstalledPlugin, Error> {
        let body = Install { plugin, version };
        let call = Call::new(
            Method::POST,
            "/instances/{slug}/plugins",
            &["instances", stack, "plugins"],
        )
        .json(&body);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::InstallPlugin {
                stack: stack.to_owned(),
                plugin: plugin.to_owned(),
                source,
            })
    }

    /// `POST /instances/{id}/plugins/{slug}`: moves an installed plugin to `version`, or
    /// to the latest.
    pub async fn change_plugin(
        &self,
        token: &Token,
        stack: &str,
        plugin: &str,
        version: Option<&str>,
    ) -> Result<InstalledPlugin, Error> {
        let call = Call::new(
            Method::POST,
            "/instances/{slug}/plugins/{plugin}",
            &["instances", stack, "plugins", plugin],
        )
        .json(&Change { version })
        .idempotent();
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::ChangePlugin {
                stack: stack.to_owned(),
                plugin: plugin.to_owned(),
                source,
            })
    }

    /// `DELETE /instances/{id}/plugins/{slug}`. A plugin that is not installed counts as
    /// removed.
    pub async fn remove_plugin(
        &self,
        token: &Token,
        stack: &str,
        plugin: &str,
    ) -> Result<(), Error> {
        let call = Call::new(
            Method::DELETE,
            "/instances/{slug}/plugins/{plugin}",
            &["instances", stack, "plugins", plugin],
        );
        ignore_not_found(self.execute(token, call).await).map_err(|source| Error::RemovePlugin {
            stack: stack.to_owned(),
            plugin: plugin.to_owned(),
            source,
        })
    }
}

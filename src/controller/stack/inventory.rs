//! What a Ready stack has beyond its own fields: its connections (OTLP, Influx, …) and its
//! plugins. They are read when the stack becomes Ready or changes, when status does not yet
//! account for the spec's plugins, and otherwise once per inventory interval, which is
//! slower than the resync: in steady state they cost no call.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::EventType;

use super::{plugins, record::record_before_call};
use crate::{
    controller::{Context, Error, credentials::Credentials},
    crd::{GrafanaStack, GrafanaStackStatus, PluginStatus, StackConnections},
    grafana::Connections,
};

/// The longest URL kept from grafana.com's connections.
const MAX_URL_LEN: usize = 2048;

/// Whether this pass reads the connections and plugins.
pub fn due(
    obj: &GrafanaStack,
    status: &GrafanaStackStatus,
    changed: bool,
    interval: Duration,
    now: Timestamp,
) -> bool {
    let last = status
        .inventory_checked_at
        .as_deref()
        .and_then(|at| at.parse::<Timestamp>().ok());
    let stale = last.is_none_or(|at| {
        now.duration_since(at)
            .try_into()
            .is_ok_and(|age: Duration| age >= interval)
            || at > now
    });
    changed
        || stale
        || status.connections.is_none()
        || !plugins::settled(&obj.spec.plugins, &status.plugins)
}

/// Reads the connections and brings the plugins in line with the spec.
pub async fn refresh(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    status: &mut GrafanaStackStatus,
) -> Result<(), Error> {
    let slug = &obj.spec.slug;
    let connections = ctx.grafana.stack_connections(&creds.token, slug).await?;
    status.connections = Some(connections_status(connections));
    if obj.spec.plugins.is_empty() && status.plugins.iter().all(|p| !p.managed) {
        // Nothing asked for and nothing of ours to remove: no call.
        status.plugins.clear();
    } else {
        sync_plugins(obj, ctx, creds, status).await?;
    }
    status.inventory_checked_at = Some(Timestamp::now().to_string());
    Ok(())
}

async fn sync_plugins(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    status: &mut GrafanaStackStatus,
) -> Result<(), Error> {
    let slug = &obj.spec.slug;
    let installed = ctx.grafana.list_plugins(&creds.token, slug).await?;
    let plan = plugins::plan(&obj.spec.plugins, &status.plugins, &installed);
    status.plugins.clone_from(&plan.status);
    if !plan.install.is_empty() {
        // Recorded first: a crash right after an install must not leave a plugin that no
        // resource claims, and so never removes.
        let pending = plan.status.clone();
        record_before_call(ctx, obj, status, |s| claim_installs(s, &pending)).await?;
    }
    for step in &plan.install {
        let result = ctx
            .grafana
            .install_plugin(&creds.token, slug, &step.slug, step.version.as_deref())
            .await;
        match result {
            Ok(done) => plugins::record_version(&mut status.plugins, &step.slug, &done.version),
            // Installed meanwhile, by an earlier attempt whose answer was lost: it is ours, and
            // the next read fills in its version.
            Err(err) if err.status() == Some(409) && !err.is_invalid_argument() => {}
            Err(err) if unknown(&err) => {
                status.plugins.retain(|p| p.slug != step.slug);
                return Err(refused(step, &err));
            }
            Err(err) => return Err(err.into()),
        }
        event(
            ctx,
            obj,
            "PluginInstalled",
            format!("installed plugin {} on stack {slug}", step.slug),
        )
        .await;
    }
    for step in &plan.change {
        let version = step.version.as_deref();
        match ctx
            .grafana
            .change_plugin(&creds.token, slug, &step.slug, version)
            .await
        {
            Ok(done) => plugins::record_version(&mut status.plugins, &step.slug, &done.version),
            Err(err) if unknown(&err) => return Err(refused(step, &err)),
            Err(err) => return Err(err.into()),
        }
        let to = version.unwrap_or("the latest version");
        event(
            ctx,
            obj,
            "PluginUpdated",
            format!("moved plugin {} to {to} on stack {slug}", step.slug),
        )
        .await;
    }
    for plugin in &plan.remove {
        ctx.grafana
            .remove_plugin(&creds.token, slug, plugin)
            .await?;
        status.plugins.retain(|p| &p.slug != plugin);
        event(
            ctx,
            obj,
            "PluginRemoved",
            format!("removed plugin {plugin} from stack {slug}"),
        )
        .await;
    }
    Ok(())
}

/// grafana.com does not know the plugin or the version: 404, or a 409 about the content.
fn unknown(err: &crate::grafana::Error) -> bool {
    err.status() == Some(404) || err.is_invalid_argument()
}

/// The spec asks for a plugin or version grafana.com does not know: fixed by the spec only.
fn refused(step: &plugins::Step, err: &crate::grafana::Error) -> Error {
    Error::InvalidSpec {
        reason: format!(
            "plugin {} {}: {}",
            step.slug,
            step.version.as_deref().unwrap_or("(latest)"),
            err.message().unwrap_or("grafana.com does not know it")
        ),
    }
}

/// Adds the planned installs to status as this resource's, keeping what is recorded there.
fn claim_installs(status: &mut GrafanaStackStatus, planned: &[PluginStatus]) {
    for p in planned.iter().filter(|p| p.managed) {
        if !status.plugins.iter().any(|q| q.slug == p.slug) {
            status.plugins.push(p.clone());
        }
    }
}

async fn event(ctx: &Context, obj: &GrafanaStack, reason: &str, note: String) {
    ctx.event(obj, EventType::Normal, reason, "Plugin", note)
        .await;
}

/// The connections worth keeping: non-empty URLs of sane length, without control
/// characters.
pub fn connections_status(c: Connections) -> StackConnections {
    let keep = |url: Option<String>| {
        url.filter(|u| !u.is_empty() && u.len() <= MAX_URL_LEN && !u.chars().any(char::is_control))
    };
    StackConnections {
        otlp_http_url: keep(c.otlp_http_url),
        influx_url: keep(c.influx_url),
        oncall_api_url: keep(c.oncall_api_url),
        synthetic_monitoring_api_url: keep(c.synthetic_monitoring_api_url),
        app_platform_url: keep(c.app_platform.and_then(|a| a.url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_keep_only_sane_urls() {
        let kept = connections_status(Connections {
            otlp_http_url: Some("https://otlp.example/otlp".into()),
            influx_url: Some(format!("https://{}", "a".repeat(MAX_URL_LEN))),
            oncall_api_url: Some("https://oncall.example\n/x".into()),
            synthetic_monitoring_api_url: Some(String::new()),
            app_platform: Some(crate::grafana::AppPlatform {
                url: Some("https://apps.example".into()),
            }),
        });
        assert_eq!(
            kept.otlp_http_url.as_deref(),
            Some("https://otlp.example/otlp")
        );
        assert_eq!(kept.influx_url, None, "over 2 KiB");
        assert_eq!(kept.oncall_api_url, None, "a control character");
        assert_eq!(kept.synthetic_monitoring_api_url, None, "empty");
        assert_eq!(
            kept.app_platform_url.as_deref(),
            Some("https://apps.example")
        );
    }
}

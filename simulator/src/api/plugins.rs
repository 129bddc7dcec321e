//! `/instances/{id}/plugins…`: the plugins installed on a stack, as
//! `FormattedApiInstancePlugin`.

use axum::{Extension, Json, extract::Path};
use serde_json::{Value, json};

use super::{Body, Shr};
use crate::{
    error::ApiError,
    model::InstalledPlugin,
    render::timestamp,
    state::{Caller, PluginInstall, PluginVersion, State},
};

type Reply = Result<Json<Value>, ApiError>;

fn plugin_json(state: &State, stack: &str, p: &InstalledPlugin) -> Value {
    let (stack_id, stack_slug, stack_url) = state
        .stack_by_slug(stack)
        .or_else(|| stack.parse().ok().and_then(|id| state.stack_by_id(id)))
        .map(|s| (s.id, s.slug.clone(), s.url.clone()))
        .unwrap_or_default();
    let mut value = json!({
        "id": p.id,
        "instanceId": stack_id,
        "instanceUrl": stack_url,
        "instanceSlug": stack_slug,
        "pluginId": p.plugin_id,
        "pluginSlug": p.slug,
        "pluginName": p.name,
        "version": p.version,
        "latestVersion": state.latest_plugin_version(&p.slug).unwrap_or(&p.version),
        "createdAt": timestamp(p.created_at),
        "links": [{"rel": "self", "href": format!("/instances/{stack_slug}/plugins/{}", p.slug)}],
    });
    if let Some(at) = p.updated_at {
        value["updatedAt"] = json!(timestamp(at));
    }
    value
}

pub(super) async fn list(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(stack): Path<String>,
) -> Reply {
    let mut state = shared.state();
    let plugins = state.plugins(&caller, &stack)?;
    let items: Vec<Value> = plugins
        .iter()
        .map(|p| plugin_json(&state, &stack, p))
        .collect();
    Ok(Json(crate::render::list(&items)))
}

pub(super) async fn install(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(stack): Path<String>,
    Body(body): Body<PluginInstall>,
) -> Reply {
    let mut state = shared.state();
    let installed = state.install_plugin(&caller, &stack, body)?;
    Ok(Json(plugin_json(&state, &stack, &installed)))
}

pub(super) async fn get(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((stack, slug)): Path<(String, String)>,
) -> Reply {
    let mut state = shared.state();
    let plugin = state.plugin(&caller, &stack, &slug)?;
    Ok(Json(plugin_json(&state, &stack, &plugin)))
}

pub(super) async fn change(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((stack, slug)): Path<(String, String)>,
    Body(body): Body<PluginVersion>,
) -> Reply {
    let mut state = shared.state();
    let plugin = state.change_plugin(&caller, &stack, &slug, body)?;
    Ok(Json(plugin_json(&state, &stack, &plugin)))
}

pub(super) async fn remove(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((stack, slug)): Path<(String, String)>,
) -> Reply {
    let mut state = shared.state();
    let plugin = state.remove_plugin(&caller, &stack, &slug)?;
    Ok(Json(plugin_json(&state, &stack, &plugin)))
}

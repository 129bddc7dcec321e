//! Org API keys and stack API keys.

use axum::{Extension, Json, extract::Path};
use serde::Deserialize;
use serde_json::Value;

use super::{Body, Shr};
use crate::{
    error::ApiError,
    render,
    state::{Caller, NewStackKey},
};

type Reply = Result<Json<Value>, ApiError>;

#[derive(Debug, Deserialize)]
pub(super) struct NewOrgKey {
    name: String,
    role: String,
}

pub(super) async fn list_org_keys(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
) -> Reply {
    let state = shared.state();
    let items: Vec<Value> = state
        .list_org_keys(&caller, &org)?
        .into_iter()
        .map(|k| render::org_key(k, false))
        .collect();
    Ok(Json(render::list(&items)))
}

pub(super) async fn create_org_key(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Body(body): Body<NewOrgKey>,
) -> Reply {
    let key = shared
        .state()
        .create_org_key(&caller, &org, &body.name, &body.role)?;
    Ok(Json(render::org_key(&key, true)))
}

pub(super) async fn get_org_key(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((org, name)): Path<(String, String)>,
) -> Reply {
    let state = shared.state();
    Ok(Json(render::org_key(
        state.get_org_key(&caller, &org, &name)?,
        false,
    )))
}

pub(super) async fn delete_org_key(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((org, name)): Path<(String, String)>,
) -> Result<(), ApiError> {
    shared.state().delete_org_key(&caller, &org, &name)
}

pub(super) async fn create_stack_key(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Body(body): Body<NewStackKey>,
) -> Reply {
    let key = shared.state().create_stack_key(&caller, &slug, body)?;
    Ok(Json(render::stack_key_created(&key)))
}

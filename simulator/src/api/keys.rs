//! Org API keys and stack API keys.

use axum::{Extension, Json, extract::Path, http::StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{Body, Shr};
use crate::{
    error::ApiError,
    render,
    state::{Caller, NewStackKey},
};

type Reply = Result<Json<Value>, ApiError>;

/// In the removed-API-keys mode, org key routes no longer exist at grafana.com.
fn org_keys_served(shared: &Shr) -> Result<(), ApiError> {
    match shared.state().api_keys_removed {
        true => Err(ApiError::not_found("Route")),
        false => Ok(()),
    }
}

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
    org_keys_served(&shared)?;
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
    org_keys_served(&shared)?;
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
    org_keys_served(&shared)?;
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
    org_keys_served(&shared)?;
    shared.state().delete_org_key(&caller, &org, &name)
}

pub(super) async fn create_stack_key(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Body(body): Body<NewStackKey>,
) -> Reply {
    if shared.state().api_keys_removed {
        return Err(ApiError::new(
            StatusCode::GONE,
            "Gone",
            "this endpoint has been removed, please use POST /api/serviceaccounts and POST \
             /api/serviceaccounts/{id}/tokens instead",
        ));
    }
    let key = shared.state().create_stack_key(&caller, &slug, body)?;
    Ok(Json(render::stack_key_created(&key)))
}

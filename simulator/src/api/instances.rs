//! Stack endpoints, readiness, restart and provisioned data sources.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::Path,
    http::header::CONTENT_TYPE,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Body, Shr};
use crate::{
    error::ApiError,
    render,
    state::{Caller, NewStack, StackPatch},
};

type Reply = Result<Json<Value>, ApiError>;
type Raw = Result<Response, ApiError>;

/// Already-serialised JSON.
fn raw(body: Bytes) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) async fn create(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Body(body): Body<NewStack>,
) -> Raw {
    let mut state = shared.state();
    let stack = state.create_stack(&caller, body)?;
    Ok(raw(render::stack_bytes(stack)))
}

pub(super) async fn get(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Raw {
    let mut state = shared.state();
    Ok(raw(render::stack_bytes(state.get_stack(&caller, &slug)?)))
}

pub(super) async fn update(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Body(patch): Body<StackPatch>,
) -> Reply {
    let mut state = shared.state();
    Ok(Json(render::stack(
        state.update_stack(&caller, &slug, patch)?,
    )))
}

pub(super) async fn delete(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Raw {
    let mut state = shared.state();
    Ok(raw(render::stack_bytes(
        state.delete_stack(&caller, &slug)?,
    )))
}

pub(super) async fn restart(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Reply {
    shared.state().restart_stack(&caller, &slug)?;
    Ok(Json(json!(true)))
}

pub(super) async fn readiness(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Reply {
    let ready = shared.state().readiness(&caller, &slug)?;
    Ok(Json(json!({ "ready": ready })))
}

pub(super) async fn list(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
) -> Raw {
    let mut state = shared.state();
    Ok(raw(render::stack_list(state.list_stacks(&caller, &org)?)))
}

pub(super) async fn datasources(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Reply {
    let mut state = shared.state();
    Ok(Json(render::list(state.datasources(&caller, &slug)?)))
}

pub(super) async fn delete_datasource(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((slug, id)): Path<(String, String)>,
) -> Reply {
    let removed = shared.state().delete_datasource(&caller, &slug, &id)?;
    Ok(Json(json!(removed)))
}

/// `GET /instances/{id}/connections`: the endpoints beyond the stack's own fields.
pub(super) async fn connections(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Reply {
    let mut state = shared.state();
    let stack = state.get_stack(&caller, &slug)?;
    if stack.is_deleted() {
        return Err(ApiError::not_found("Stack"));
    }
    let region = stack.region.clone();
    Ok(Json(json!({
        "otlpHttpUrl": format!("https://otlp-gateway-prod-{region}.grafana.net/otlp"),
        "otlpMultiAZ": false,
        "influxUrl": format!("https://influx-prod-{region}.grafana.net"),
        "oncallApiUrl": format!("https://oncall-prod-{region}.grafana.net/oncall"),
        "syntheticMonitoringApiUrl": format!("https://synthetic-monitoring-api-{region}.grafana.net"),
        "privateConnectivityInfo": {"tenants": []},
    })))
}

//! The test-control API over HTTP, under `/_sim` (outside `/api`).
//!
//! | route | effect |
//! |---|---|
//! | `GET /_sim/healthz` | `ok` |
//! | `GET /_sim/state` | the whole state, issued tokens included |
//! | `POST /_sim/reset` | forget stacks, keys, requests, counters and faults |
//! | `GET /_sim/requests[?since=SEQ]` | recorded requests (newer than `SEQ`) |
//! | `GET /_sim/counters` | `{"METHOD template": count}` |
//! | `GET /_sim/faults`, `POST /_sim/faults`, `DELETE /_sim/faults[/{id}]` | list, inject (returns `{"id"}`), clear faults |
//! | `GET /_sim/timings`, `PUT /_sim/timings` | `{readinessDelayMs, deletedSlugReservationMs}` |

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{delete, get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{config::Timings, control::Control, faults::Fault};

pub(crate) fn router(control: Control) -> Router {
    Router::new()
        .route("/_sim/healthz", get(|| async { "ok" }))
        .route("/_sim/state", get(state))
        .route("/_sim/reset", post(reset))
        .route("/_sim/requests", get(requests))
        .route("/_sim/counters", get(counters))
        .route(
            "/_sim/faults",
            get(faults).post(inject).delete(clear_faults),
        )
        .route("/_sim/faults/{id}", delete(remove_fault))
        .route("/_sim/timings", get(timings).put(set_timings))
        .with_state(control)
}

async fn state(State(c): State<Control>) -> Json<Value> {
    Json(json!(c.state()))
}

async fn reset(State(c): State<Control>) -> StatusCode {
    c.reset();
    tracing::info!("simulator state reset");
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn requests(State(c): State<Control>, Query(q): Query<Since>) -> Json<Value> {
    Json(json!(c.requests_since(q.since)))
}

async fn counters(State(c): State<Control>) -> Json<Value> {
    Json(json!(c.counters()))
}

async fn faults(State(c): State<Control>) -> Json<Value> {
    Json(json!(c.faults()))
}

async fn inject(State(c): State<Control>, Json(fault): Json<Fault>) -> Json<Value> {
    tracing::info!(kind = fault.kind.name(), method = ?fault.method, template = ?fault.template, "fault injected");
    Json(json!({ "id": c.inject(fault) }))
}

async fn clear_faults(State(c): State<Control>) -> StatusCode {
    c.clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(c): State<Control>, Path(id): Path<u64>) -> StatusCode {
    if c.remove_fault(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn timings(State(c): State<Control>) -> Json<Timings> {
    Json(c.timings())
}

async fn set_timings(State(c): State<Control>, Json(timings): Json<Timings>) -> Json<Timings> {
    c.set_timings(timings);
    Json(timings)
}

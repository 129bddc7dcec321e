//! The per-request pipeline around every `/api` route: authentication,
//! fault injection, latency, and recording.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use tokio::sync::Notify;

use crate::{
    error::ApiError,
    faults::{FaultKind, RequestInfo},
    record::RecordedRequest,
    render::timestamp,
    shared::Shared,
    templates::is_stack_proxied,
};

/// Lets a handler close its connection without answering. The server puts
/// one in every request's extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct DropHandle(pub Arc<Notify>);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub(crate) async fn pipeline(
    State(shared): State<Arc<Shared>>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let at = timestamp(Utc::now());
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let template = matched.map(|m| m.as_str().to_owned());
    let caller = bearer(req.headers()).and_then(|t| shared.state().authenticate(t));
    let org = caller.as_ref().map(|c| c.org_slug.clone());

    let plan = match template.as_deref() {
        Some(t) => shared.faults().plan(&RequestInfo {
            method: &method,
            template: Some(t),
            org: org.as_deref(),
            proxied: is_stack_proxied(t),
        }),
        None => Default::default(),
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    let drop_handle = req.extensions().get::<DropHandle>().cloned();
    let record = |status: Option<StatusCode>| {
        let fault = plan.outcome.as_ref().map(|k| k.name().to_owned());
        let delayed = !(plan.latency + plan.latency_after).is_zero();
        let fault = fault.or_else(|| delayed.then(|| "latency".to_owned()));
        let status = status.map(|s| s.as_u16());
        tracing::debug!(
            method = %method, template = template.as_deref().unwrap_or("-"), status,
            org = org.as_deref().unwrap_or("-"), fault = fault.as_deref().unwrap_or("-"),
            "api request"
        );
        shared.recorder().record(RecordedRequest {
            seq: 0,
            at: at.clone(),
            method: method.clone(),
            path: path.clone(),
            template: template.clone(),
            status,
            org: org.clone(),
            fault,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    };

    let early = match &plan.outcome {
        Some(FaultKind::RateLimit {
            retry_after_secs,
            retry_after_text,
        }) => {
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests, please retry later",
            );
            Some(match retry_after_text {
                Some(text) => error.with_retry_after_text(text),
                None => error.with_retry_after(*retry_after_secs),
            })
        }
        Some(FaultKind::ErrorBefore { status }) => Some(ApiError::server(server_status(*status))),
        Some(FaultKind::Loading { retry_after_secs }) => Some(
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Loading",
                "Your instance is loading, and will be ready shortly.",
            )
            .with_retry_after(*retry_after_secs),
        ),
        Some(FaultKind::DropConnection {
            after_action: false,
        }) => {
            record(None);
            return drop_connection(drop_handle).await;
        }
        _ => None,
    };
    if let Some(error) = early {
        record(Some(error.status));
        return error.into_response();
    }

    let response = match (template.is_some(), caller) {
        (true, None) => ApiError::unauthorized().into_response(),
        (_, caller) => {
            if let Some(caller) = caller {
                req.extensions_mut().insert(caller);
            }
            next.run(req).await
        }
    };
    if !plan.latency_after.is_zero() {
        tokio::time::sleep(plan.latency_after).await;
    }
    let response = match &plan.outcome {
        Some(FaultKind::ErrorAfter { status }) => {
            ApiError::server(server_status(*status)).into_response()
        }
        Some(FaultKind::DropConnection { after_action: true }) => {
            record(None);
            return drop_connection(drop_handle).await;
        }
        _ => response,
    };
    record(Some(response.status()));
    response
}

fn server_status(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Closes the connection without answering; never returns a response unless
/// the request arrived without a connection handle.
async fn drop_connection(handle: Option<DropHandle>) -> Response {
    match handle {
        Some(DropHandle(notify)) => {
            notify.notify_one();
            std::future::pending::<Response>().await
        }
        None => ApiError::server(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
    }
}

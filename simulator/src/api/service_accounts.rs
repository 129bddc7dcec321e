//! `/instances/{slug}/api/serviceaccounts…`: a stack's service accounts and their tokens,
//! through the grafana.com proxy. A create answers 201, as Grafana does.

use std::collections::HashMap;

use axum::{
    Extension, Json,
    extract::{Path, Query},
    http::StatusCode,
};
use chrono::Utc;
use serde_json::{Value, json};

use super::{Body, Shr};
use crate::{
    error::ApiError,
    model::{ServiceAccount, ServiceAccountToken},
    render::timestamp,
    state::{Caller, NewServiceAccount, NewServiceAccountToken, not_found},
};

type Reply = Result<Json<Value>, ApiError>;

fn account_json(sa: &ServiceAccount) -> Value {
    json!({
        "id": sa.id, "name": sa.name, "login": sa.login, "orgId": 1, "role": sa.role,
        "isDisabled": sa.is_disabled, "isExternal": false, "tokens": sa.tokens.len(),
        "avatarUrl": format!("/avatar/{}", sa.id), "accessControl": {},
    })
}

fn token_json(t: &ServiceAccountToken) -> Value {
    let now = Utc::now();
    let expired = t.expiration.is_some_and(|at| at <= now);
    let mut value = json!({
        "id": t.id, "name": t.name, "created": timestamp(t.created),
        "hasExpired": expired, "isRevoked": false,
        "secondsUntilExpiration": t.expiration.map_or(0.0, |at| (at - now).num_seconds().max(0) as f64),
    });
    if let Some(at) = t.expiration {
        value["expiration"] = json!(timestamp(at));
    }
    value
}

fn id(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| not_found("serviceaccounts.ErrNotFound", "service account"))
}

pub(super) async fn create(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Body(body): Body<NewServiceAccount>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = shared
        .state()
        .create_service_account(&caller, &slug, body)?;
    Ok((StatusCode::CREATED, Json(account_json(&account))))
}

pub(super) async fn search(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Reply {
    let query = params.get("query").cloned().unwrap_or_default();
    let per_page: usize = params
        .get("perpage")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1000);
    let page: usize = params
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1);
    let matching: Vec<ServiceAccount> = shared
        .state()
        .service_accounts(&caller, &slug)?
        .into_iter()
        .filter(|sa| sa.name.contains(&query) || sa.login.contains(&query))
        .collect();
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(account_json)
        .collect();
    Ok(Json(json!({
        "totalCount": matching.len(), "serviceAccounts": items, "page": page, "perPage": per_page,
    })))
}

pub(super) async fn get(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((slug, account)): Path<(String, String)>,
) -> Reply {
    let account = shared
        .state()
        .service_account(&caller, &slug, id(&account)?)?;
    Ok(Json(account_json(&account)))
}

pub(super) async fn delete(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((slug, account)): Path<(String, String)>,
) -> Result<(), ApiError> {
    shared
        .state()
        .delete_service_account(&caller, &slug, id(&account)?)
}

pub(super) async fn create_token(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((slug, account)): Path<(String, String)>,
    Body(body): Body<NewServiceAccountToken>,
) -> Reply {
    let token = shared
        .state()
        .create_service_account_token(&caller, &slug, id(&account)?, body)?;
    Ok(Json(
        json!({"id": token.id, "name": token.name, "key": token.key.expose()}),
    ))
}

pub(super) async fn tokens(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((slug, account)): Path<(String, String)>,
) -> Reply {
    let tokens = shared
        .state()
        .service_account_tokens(&caller, &slug, id(&account)?)?;
    Ok(Json(Value::Array(tokens.iter().map(token_json).collect())))
}

pub(super) async fn delete_token(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path((slug, account, token)): Path<(String, String, String)>,
) -> Result<(), ApiError> {
    let token: u64 = token
        .parse()
        .map_err(|_| not_found("serviceaccounts.ErrTokenNotFound", "service account token"))?;
    shared
        .state()
        .delete_service_account_token(&caller, &slug, id(&account)?, token)
}

/// The proxy answers PATCH with 405.
pub(super) async fn not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "Method Not Allowed",
    )
}

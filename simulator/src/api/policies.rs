//! `/v1/accesspolicies` and `/v1/tokens`: every call needs `region`; lists are cursor-paged.

use std::collections::HashMap;

use axum::{
    Extension, Json,
    extract::{Path, Query},
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Body, Shr};
use crate::{
    error::ApiError,
    model::{AccessPolicy, PolicyToken},
    render::timestamp,
    state::{Caller, PolicyBody, SCOPES, TokenBody, TokenFilter},
};

type Reply = Result<Json<Value>, ApiError>;
type Params = Query<HashMap<String, String>>;

fn region(params: &HashMap<String, String>) -> Result<String, ApiError> {
    params
        .get("region")
        .filter(|r| !r.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::invalid("Field is required: region"))
}

fn opt_time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| json!(timestamp(at)))
}

fn policy_json(p: &AccessPolicy) -> Value {
    json!({
        "id": p.id,
        "orgId": p.org_id.to_string(),
        "name": p.name,
        "displayName": p.display_name,
        "scopes": p.scopes,
        "realms": p.realms,
        "conditions": {"allowedSubnets": p.allowed_subnets},
        "status": p.status,
        "createdAt": timestamp(p.created_at),
        "updatedAt": timestamp(p.updated_at.unwrap_or(p.created_at)),
    })
}

fn token_json(t: &PolicyToken) -> Value {
    json!({
        "id": t.id,
        "accessPolicyId": t.policy_id,
        "name": t.name,
        "displayName": t.display_name,
        "expiresAt": opt_time(t.expires_at),
        "createdAt": timestamp(t.created_at),
        "updatedAt": timestamp(t.updated_at.unwrap_or(t.created_at)),
        "orgId": t.org_id.to_string(),
    })
}

/// One page of `items` (already in order), from the cursor in `params`.
fn page(
    path: &str,
    params: &HashMap<String, String>,
    max: usize,
    items: Vec<Value>,
) -> Result<Json<Value>, ApiError> {
    let size = match params.get("pageSize") {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid("pageSize must be a positive integer"))?,
        None => max,
    }
    .min(max);
    let start = match params.get("pageCursor") {
        Some(cursor) => cursor
            .parse::<usize>()
            .map_err(|_| ApiError::invalid("invalid pageCursor"))?,
        None => 0,
    };
    let end = start.saturating_add(size).min(items.len());
    let chunk: Vec<Value> = items.get(start..end).unwrap_or_default().to_vec();
    let next = (end < items.len()).then(|| end.to_string());
    let next_page = next.as_ref().map(|cursor| {
        let mut query: Vec<String> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "pageCursor")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        query.sort();
        query.push(format!("pageCursor={cursor}"));
        format!("{path}?{}", query.join("&"))
    });
    Ok(Json(json!({
        "items": chunk,
        "metadata": {"pagination": {"pageSize": size, "pageCursor": next, "nextPage": next_page}},
    })))
}

pub(super) async fn list_policies(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Reply {
    let region = region(&params)?;
    let state = shared.state();
    let items = state
        .policies(&caller, &region, params.get("name").map(String::as_str))
        .into_iter()
        .map(policy_json)
        .collect();
    page("/v1/accesspolicies", &params, state.page_size, items)
}

pub(super) async fn create_policy(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
    Body(body): Body<PolicyBody>,
) -> Reply {
    let region = region(&params)?;
    let policy = shared.state().create_policy(&caller, &region, body)?;
    Ok(Json(policy_json(&policy)))
}

pub(super) async fn get_policy(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let region = region(&params)?;
    Ok(Json(policy_json(
        shared.state().policy(&caller, &region, &id)?,
    )))
}

pub(super) async fn update_policy(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
    Body(body): Body<PolicyBody>,
) -> Reply {
    let region = region(&params)?;
    let policy = shared.state().update_policy(&caller, &region, &id, body)?;
    Ok(Json(policy_json(&policy)))
}

pub(super) async fn delete_policy(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<(), ApiError> {
    let region = region(&params)?;
    shared.state().delete_policy(&caller, &region, &id)
}

pub(super) async fn policy_config(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Reply {
    let region = region(&params)?;
    let state = shared.state();
    let mut realms = vec![json!({"type": "org", "identifier": caller.org_id.to_string()})];
    realms.extend(
        state
            .all_stacks()
            .filter(|s| s.org_id == caller.org_id && s.region == region && !s.is_deleted())
            .map(|s| json!({"type": "stack", "identifier": s.id.to_string()})),
    );
    let scopes: Vec<Value> = SCOPES
        .iter()
        .map(|name| json!({"name": name, "description": format!("Allows {name}")}))
        .collect();
    Ok(Json(
        json!({"realms": realms, "scopes": scopes, "sets": []}),
    ))
}

pub(super) async fn list_tokens(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Reply {
    let region = region(&params)?;
    let policy_ids = params
        .get("accessPolicyId")
        .or_else(|| params.get("accessPolicyIds"))
        .map(|ids| ids.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let filter = TokenFilter {
        policy_ids,
        name: params.get("name").cloned(),
        include_expired: params.get("includeExpired").is_some_and(|v| v == "true"),
    };
    let state = shared.state();
    let items = state
        .policy_tokens(&caller, &region, &filter)
        .into_iter()
        .map(token_json)
        .collect();
    page("/v1/tokens", &params, state.page_size, items)
}

pub(super) async fn create_token(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
    Body(body): Body<TokenBody>,
) -> Reply {
    let region = region(&params)?;
    let token = shared.state().create_policy_token(&caller, &region, body)?;
    let mut value = token_json(&token);
    value["token"] = json!(token.token.expose());
    Ok(Json(value))
}

pub(super) async fn get_token(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let region = region(&params)?;
    Ok(Json(token_json(
        shared.state().policy_token(&caller, &region, &id)?,
    )))
}

pub(super) async fn delete_token(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Reply {
    let region = region(&params)?;
    shared.state().delete_policy_token(&caller, &region, &id)?;
    Ok(Json(json!({})))
}

//! The `/api` routes: the grafana.com endpoints the operator uses.

mod instances;
mod keys;
mod orgs;
mod plugins;
mod policies;
mod service_accounts;

use std::sync::Arc;

use axum::{
    Router,
    extract::{FromRequest, Request, rejection::JsonRejection},
    middleware,
    routing::{delete, get, post},
};
use serde::de::DeserializeOwned;

use crate::{error::ApiError, pipeline, shared::Shared};

pub(crate) type Shr = axum::extract::State<Arc<Shared>>;

/// A JSON body whose rejection is answered as grafana.com does (409).
pub(crate) struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(invalid_body(&rejection)),
        }
    }
}

fn invalid_body(rejection: &JsonRejection) -> ApiError {
    ApiError::invalid(format!("Invalid request body: {}", rejection.body_text()))
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    use crate::templates as t;
    Router::new()
        .route(t::INSTANCES, post(instances::create))
        .route(
            t::INSTANCE,
            get(instances::get)
                .post(instances::update)
                .delete(instances::delete),
        )
        .route(t::RESTART, post(instances::restart))
        .route(t::READINESS, get(instances::readiness))
        .route(t::ORG_INSTANCES, get(instances::list))
        .route(t::DATASOURCES, get(instances::datasources))
        .route(t::DATASOURCE, delete(instances::delete_datasource))
        .route(t::CONNECTIONS, get(instances::connections))
        .route(t::PLUGINS, get(plugins::list).post(plugins::install))
        .route(
            t::PLUGIN,
            get(plugins::get)
                .post(plugins::change)
                .delete(plugins::remove),
        )
        .route(t::STACK_KEYS, post(keys::create_stack_key))
        .route(
            t::ORG_KEYS,
            get(keys::list_org_keys).post(keys::create_org_key),
        )
        .route(
            t::ORG_KEY,
            get(keys::get_org_key).delete(keys::delete_org_key),
        )
        .route(t::ORG, get(orgs::get_org))
        .route(t::SERVICE_ACCOUNTS, post(service_accounts::create))
        .route(t::SERVICE_ACCOUNT_SEARCH, get(service_accounts::search))
        .route(
            t::SERVICE_ACCOUNT,
            get(service_accounts::get)
                .delete(service_accounts::delete)
                .patch(service_accounts::not_allowed),
        )
        .route(
            t::SERVICE_ACCOUNT_TOKENS,
            get(service_accounts::tokens).post(service_accounts::create_token),
        )
        .route(
            t::SERVICE_ACCOUNT_TOKEN,
            delete(service_accounts::delete_token),
        )
        .route(
            t::POLICIES,
            get(policies::list_policies).post(policies::create_policy),
        )
        .route(t::POLICY_CONFIG, get(policies::policy_config))
        .route(
            t::POLICY,
            get(policies::get_policy)
                .post(policies::update_policy)
                .delete(policies::delete_policy),
        )
        .route(
            t::TOKENS,
            get(policies::list_tokens).post(policies::create_token),
        )
        .route(
            t::TOKEN,
            get(policies::get_token).delete(policies::delete_token),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            pipeline::pipeline,
        ))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::not_found("Route")
}

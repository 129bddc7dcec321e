//! The path templates of the `/api` routes, as recorded in the request log
//! and matched by [`crate::Fault::on`] and [`crate::Control::count`].

/// `POST`: create a stack.
pub const INSTANCES: &str = "/api/instances";
/// `GET`, `POST` (update), `DELETE`: one stack, by slug or id.
pub const INSTANCE: &str = "/api/instances/{slug}";
/// `POST`: restart a stack's Grafana.
pub const RESTART: &str = "/api/instances/{slug}/restart";
/// `GET`: `{"ready": bool}`.
pub const READINESS: &str = "/api/instances/{slug}/readiness";
/// `GET`: an org's stacks.
pub const ORG_INSTANCES: &str = "/api/orgs/{org}/instances";
/// `GET`: provisioned data sources (stack-proxied).
pub const DATASOURCES: &str = "/api/instances/{slug}/datasources";
/// `DELETE`: one provisioned data source (stack-proxied).
pub const DATASOURCE: &str = "/api/instances/{slug}/datasources/{id}";
/// `POST`: create a stack API key (stack-proxied).
pub const STACK_KEYS: &str = "/api/instances/{slug}/api/auth/keys";
/// `GET`, `POST`: an org's API keys.
pub const ORG_KEYS: &str = "/api/orgs/{org}/api-keys";
/// `GET`, `DELETE`: one org API key, by name.
pub const ORG_KEY: &str = "/api/orgs/{org}/api-keys/{name}";
/// `GET`: the stack's further endpoints (OTLP, Influx, …).
pub const CONNECTIONS: &str = "/api/instances/{slug}/connections";
/// `GET`, `POST` (install): the plugins installed on a stack.
pub const PLUGINS: &str = "/api/instances/{slug}/plugins";
/// `GET`, `POST` (change version), `DELETE`: one installed plugin, by slug.
pub const PLUGIN: &str = "/api/instances/{slug}/plugins/{plugin}";
/// `GET`: an org's public fields, by slug or id.
pub const ORG: &str = "/api/orgs/{org}";
/// `GET`, `POST`: access policies (`region` required).
pub const POLICIES: &str = "/api/v1/accesspolicies";
/// `GET`: the scopes and realms access policies may use.
pub const POLICY_CONFIG: &str = "/api/v1/accesspolicies/config";
/// `GET`, `POST` (update), `DELETE`: one access policy, by id.
pub const POLICY: &str = "/api/v1/accesspolicies/{id}";
/// `GET`, `POST`: access-policy tokens (`region` required).
pub const TOKENS: &str = "/api/v1/tokens";
/// `GET`, `DELETE`: one access-policy token, by id.
pub const TOKEN: &str = "/api/v1/tokens/{id}";
/// `POST`: create a service account of the stack's Grafana (stack-proxied, answers 201).
pub const SERVICE_ACCOUNTS: &str = "/api/instances/{slug}/api/serviceaccounts";
/// `GET`: search service accounts by name (stack-proxied).
pub const SERVICE_ACCOUNT_SEARCH: &str = "/api/instances/{slug}/api/serviceaccounts/search";
/// `GET`, `DELETE`: one service account (stack-proxied).
pub const SERVICE_ACCOUNT: &str = "/api/instances/{slug}/api/serviceaccounts/{id}";
/// `GET`, `POST`: a service account's tokens (stack-proxied).
pub const SERVICE_ACCOUNT_TOKENS: &str = "/api/instances/{slug}/api/serviceaccounts/{id}/tokens";
/// `DELETE`: one service account token (stack-proxied).
pub const SERVICE_ACCOUNT_TOKEN: &str =
    "/api/instances/{slug}/api/serviceaccounts/{id}/tokens/{token}";

/// Is this route served by the stack's own Grafana (proxied by grafana.com)?
pub(crate) fn is_stack_proxied(template: &str) -> bool {
    template.starts_with("/api/instances/{slug}/api/")
        || template.starts_with("/api/instances/{slug}/datasources")
}

//! Org API keys and stack API keys.

use reqwest::Method;

use super::{
    ApiKeyRole, CreatedOrgApiKey, CreatedStackApiKey, Error, GrafanaClient, OrgApiKey, Token,
    client::Call,
    stacks::ignore_not_found,
    types::{CreateOrgApiKeyBody, CreateStackApiKeyBody},
};

impl GrafanaClient {
    /// `GET /orgs/{org}/api-keys`: the org's keys, without their tokens.
    pub async fn list_org_api_keys(
        &self,
        token: &Token,
        org: &str,
    ) -> Result<Vec<OrgApiKey>, Error> {
        self.list_all(token, "/orgs/{org}/api-keys", &["orgs", org, "api-keys"])
            .await
            .map_err(|source| Error::ListOrgApiKeys {
                org: org.to_owned(),
                source,
            })
    }

    /// `POST /orgs/{org}/api-keys`. The answer is the only copy of the token.
    /// Never retried after a 5xx or a timeout: list the keys to find out.
    pub async fn create_org_api_key(
        &self,
        token: &Token,
        org: &str,
        name: &str,
        role: ApiKeyRole,
    ) -> Result<CreatedOrgApiKey, Error> {
        let call = Call::new(
            Method::POST,
            "/orgs/{org}/api-keys",
            &["orgs", org, "api-keys"],
        )
        .json(&CreateOrgApiKeyBody { name, role });
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreateOrgApiKey {
                org: org.to_owned(),
                name: name.to_owned(),
                source,
            })
    }

    /// `DELETE /orgs/{org}/api-keys/{name}`. An absent key counts as deleted.
    pub async fn delete_org_api_key(
        &self,
        token: &Token,
        org: &str,
        name: &str,
    ) -> Result<(), Error> {
        let call = Call::new(
            Method::DELETE,
            "/orgs/{org}/api-keys/{name}",
            &["orgs", org, "api-keys", name],
        );
        ignore_not_found(self.execute(token, call).await).map_err(|source| Error::DeleteOrgApiKey {
            org: org.to_owned(),
            name: name.to_owned(),
            source,
        })
    }

    /// `POST /instances/{slug}/api/auth/keys`: a key for the stack's Grafana,
    /// expiring after `seconds_to_live` when given. The answer is the only
    /// copy of the key. Never retried after a 5xx or a timeout.
    pub async fn create_stack_api_key(
        &self,
        token: &Token,
        slug: &str,
        name: &str,
        role: ApiKeyRole,
        seconds_to_live: Option<u64>,
    ) -> Result<CreatedStackApiKey, Error> {
        let call = Call::new(
            Method::POST,
            "/instances/{slug}/api/auth/keys",
            &["instances", slug, "api", "auth", "keys"],
        )
        .json(&CreateStackApiKeyBody {
            name,
            role,
            seconds_to_live,
        });
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreateStackApiKey {
                slug: slug.to_owned(),
                name: name.to_owned(),
                source,
            })
    }
}

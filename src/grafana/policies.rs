//! Cloud access policies and their tokens (`/v1/accesspolicies`, `/v1/tokens`), the org
//! lookup that gives an org realm its id, and a stack's connections. Every `/v1` call
//! carries `region`; lists are cursor-paged and every page is read.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::{
    Error, GrafanaClient, Token,
    client::Call,
    error::{Failure, RequestError},
    paging::MAX_PAGES,
    policy_types::{
        AccessPolicy, Connections, CreateTokenBody, CreatedPolicyToken, CursorPage, Org,
        PolicyBody, PolicyConfig, PolicyToken,
    },
    stacks::ignore_not_found,
};

/// The cursor of the page after this one, from `nextPage`'s query or the metadata.
fn next_cursor<T>(page: &CursorPage<T>) -> Option<String> {
    let pagination = page.metadata.as_ref()?.pagination.as_ref()?;
    let next = pagination.next_page.as_deref().filter(|n| !n.is_empty())?;
    let from_link = url::Url::parse("http://next.invalid")
        .ok()
        .and_then(|base| base.join(next).ok())
        .and_then(|url| {
            url.query_pairs()
                .find(|(k, _)| k == "pageCursor")
                .map(|(_, v)| v.into_owned())
        });
    from_link
        .or_else(|| pagination.page_cursor.clone())
        .filter(|c| !c.is_empty())
}

impl GrafanaClient {
    /// GETs every page of a `/v1` list.
    async fn list_v1<T: DeserializeOwned>(
        &self,
        token: &Token,
        endpoint: &'static str,
        path: &[&str],
        query: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, RequestError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut last_request_id = String::new();
        for _ in 0..MAX_PAGES {
            let mut call = Call::new(Method::GET, endpoint, path);
            call.query.clone_from(&query);
            if let Some(cursor) = &cursor {
                call.query.push(("pageCursor", cursor.clone()));
            }
            let answer = self.execute(token, call).await?;
            answer.request_id().clone_into(&mut last_request_id);
            let page: CursorPage<T> = answer.json()?;
            let next = next_cursor(&page);
            let empty = page.items.is_empty();
            items.extend(page.items);
            match next {
                Some(next) if !empty && cursor.as_ref() != Some(&next) => cursor = Some(next),
                _ => return Ok(items),
            }
        }
        Err(RequestError {
            failure: Box::new(Failure::EndlessPaging { pages: MAX_PAGES }),
            request_id: last_request_id,
            attempts: 1,
        })
    }

    /// `GET /orgs/{org}`: the org's numeric id, for an org realm.
    pub async fn get_org(&self, token: &Token, org: &str) -> Result<Org, Error> {
        let call = Call::new(Method::GET, "/orgs/{org}", &["orgs", org]);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::GetOrg {
                org: org.to_owned(),
                source,
            })
    }

    /// `GET /instances/{id}/connections`.
    pub async fn stack_connections(
        &self,
        token: &Token,
        stack: &str,
    ) -> Result<Connections, Error> {
        let call = Call::new(
            Method::GET,
            "/instances/{slug}/connections",
            &["instances", stack, "connections"],
        );
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::GetConnections {
                slug: stack.to_owned(),
                source,
            })
    }

    /// `GET /v1/accesspolicies?region[&name]`: the policies in `region`, or those of one name.
    pub async fn list_access_policies(
        &self,
        token: &Token,
        region: &str,
        name: Option<&str>,
    ) -> Result<Vec<AccessPolicy>, Error> {
        let mut query = vec![("region", region.to_owned())];
        if let Some(name) = name {
            query.push(("name", name.to_owned()));
        }
        self.list_v1(
            token,
            "/v1/accesspolicies",
            &["v1", "accesspolicies"],
            query,
        )
        .await
        .map_err(|source| Error::ListAccessPolicies {
            region: region.to_owned(),
            source,
        })
    }

    /// `GET /v1/accesspolicies/config?region`: the scopes policies may use there.
    pub async fn access_policy_config(
        &self,
        token: &Token,
        region: &str,
    ) -> Result<PolicyConfig, Error> {
        let call = Call::new(
            Method::GET,
            "/v1/accesspolicies/config",
            &["v1", "accesspolicies", "config"],
        )
        .region(region);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::GetAccessPolicyConfig {
                region: region.to_owned(),
                source,
            })
    }

    /// `POST /v1/accesspolicies?region`. Never retried after a 5xx or a timeout: look the
    /// name up instead.
    pub async fn create_access_policy(
        &self,
        token: &Token,
        region: &str,
        body: &PolicyBody,
    ) -> Result<AccessPolicy, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/accesspolicies",
            &["v1", "accesspolicies"],
        )
        .json(body)
        .region(region);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreateAccessPolicy {
                name: body.name.clone().unwrap_or_default(),
                source,
            })
    }

    /// `POST /v1/accesspolicies/{id}?region`: sets display name, scopes, realms and
    /// conditions. Setting the same values twice is harmless, so it is retried.
    pub async fn update_access_policy(
        &self,
        token: &Token,
        region: &str,
        id: &str,
        name: &str,
        body: &PolicyBody,
    ) -> Result<AccessPolicy, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/accesspolicies/{id}",
            &["v1", "accesspolicies", id],
        )
        .json(body)
        .idempotent()
        .region(region);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::UpdateAccessPolicy {
                name: name.to_owned(),
                source,
            })
    }

    /// `DELETE /v1/accesspolicies/{id}?region`, which deletes its tokens too. An absent
    /// policy counts as deleted.
    pub async fn delete_access_policy(
        &self,
        token: &Token,
        region: &str,
        id: &str,
        name: &str,
    ) -> Result<(), Error> {
        let call = Call::new(
            Method::DELETE,
            "/v1/accesspolicies/{id}",
            &["v1", "accesspolicies", id],
        )
        .region(region);
        ignore_not_found(self.execute(token, call).await).map_err(|source| {
            Error::DeleteAccessPolicy {
                name: name.to_owned(),
                source,
            }
        })
    }

    /// `GET /v1/tokens?region`: the live tokens in `region`, or, with `name`, the tokens of
    /// that name, expired ones included.
    pub async fn list_policy_tokens(
        &self,
        token: &Token,
        region: &str,
        name: Option<&str>,
    ) -> Result<Vec<PolicyToken>, Error> {
        let mut query = vec![("region", region.to_owned())];
        if let Some(name) = name {
            query.push(("name", name.to_owned()));
            query.push(("includeExpired", "true".to_owned()));
        }
        self.list_v1(token, "/v1/tokens", &["v1", "tokens"], query)
            .await
            .map_err(|source| Error::ListPolicyTokens {
                region: region.to_owned(),
                source,
            })
    }

    /// `POST /v1/tokens?region`. The answer is the only copy of the secret. Never retried
    /// after a 5xx or a timeout.
    pub async fn create_policy_token(
        &self,
        token: &Token,
        region: &str,
        policy_id: &str,
        name: &str,
        expires_at: Option<String>,
    ) -> Result<CreatedPolicyToken, Error> {
        let body = CreateTokenBody {
            access_policy_id: policy_id,
            name,
            display_name: name,
            expires_at,
        };
        let call = Call::new(Method::POST, "/v1/tokens", &["v1", "tokens"])
            .json(&body)
            .region(region);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreatePolicyToken {
                name: name.to_owned(),
                source,
            })
    }

    /// `DELETE /v1/tokens/{id}?region`. An absent (or expired and gone) token counts as
    /// deleted.
    pub async fn delete_policy_token(
        &self,
        token: &Token,
        region: &str,
        id: &str,
        name: &str,
    ) -> Result<(), Error> {
        let call =
            Call::new(Method::DELETE, "/v1/tokens/{id}", &["v1", "tokens", id]).region(region);
        ignore_not_found(self.execute(token, call).await).map_err(|source| {
            Error::DeletePolicyToken {
                name: name.to_owned(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grafana::policy_types::{PageMetadata, Pagination};

    fn page(next_page: Option<&str>, cursor: Option<&str>) -> CursorPage<()> {
        CursorPage {
            items: vec![()],
            metadata: Some(PageMetadata {
                pagination: Some(Pagination {
                    page_cursor: cursor.map(str::to_owned),
                    next_page: next_page.map(str::to_owned),
                }),
            }),
        }
    }

    #[test]
    fn the_next_cursor_comes_from_the_next_page_link_or_the_metadata() {
        assert_eq!(
            next_cursor(&page(
                Some("/v1/tokens?region=us&pageCursor=abc"),
                Some("zzz")
            )),
            Some("abc".to_owned())
        );
        assert_eq!(
            next_cursor(&page(Some("/v1/tokens?region=us"), Some("zzz"))),
            Some("zzz".to_owned())
        );
        assert_eq!(next_cursor(&page(None, Some("zzz"))), None, "no next page");
    }
}

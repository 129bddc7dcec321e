//! A stack's service accounts and their tokens, through the grafana.com proxy
//! (`/instances/{stack}/api/serviceaccounts…`), with the grafana.com credentials. Grafana
//! answers a create with 201, a duplicate name with 400, and 503 `Loading` while the stack
//! starts.

use reqwest::Method;

use super::{
    Error, GrafanaClient, Token,
    account_types::{
        AccountPage, AccountToken, CreateAccountBody, CreateAccountTokenBody, CreatedAccountToken,
        ServiceAccount,
    },
    client::Call,
    error::{Failure, RequestError},
    paging::MAX_PAGES,
    stacks::ignore_not_found,
};

/// Accounts asked for per search page.
const PER_PAGE: usize = 100;

impl GrafanaClient {
    /// `GET …/serviceaccounts/search`, every page: the stack's service accounts, or those
    /// whose name or login contains `query`.
    pub async fn list_service_accounts(
        &self,
        token: &Token,
        stack: &str,
        query: Option<&str>,
    ) -> Result<Vec<ServiceAccount>, Error> {
        self.search_accounts(token, stack, query)
            .await
            .map_err(|source| Error::ListServiceAccounts {
                stack: stack.to_owned(),
                source,
            })
    }

    async fn search_accounts(
        &self,
        token: &Token,
        stack: &str,
        query: Option<&str>,
    ) -> Result<Vec<ServiceAccount>, RequestError> {
        let mut accounts = Vec::new();
        let mut last_request_id = String::new();
        for page in 1..=MAX_PAGES {
            let mut call = Call::new(
                Method::GET,
                "/instances/{slug}/api/serviceaccounts/search",
                &["instances", stack, "api", "serviceaccounts", "search"],
            );
            call.query.push(("perpage", PER_PAGE.to_string()));
            call.query.push(("page", page.to_string()));
            if let Some(query) = query {
                call.query.push(("query", query.to_owned()));
            }
            let answer = self.execute(token, call).await?;
            answer.request_id().clone_into(&mut last_request_id);
            let found: AccountPage = answer.json()?;
            let short = found.service_accounts.len() < PER_PAGE;
            accounts.extend(found.service_accounts);
            if short || accounts.len() as u64 >= found.total_count {
                return Ok(accounts);
            }
        }
        Err(RequestError {
            failure: Box::new(Failure::EndlessPaging { pages: MAX_PAGES }),
            request_id: last_request_id,
            attempts: 1,
        })
    }

    /// `POST …/serviceaccounts`. Never retried after a 5xx or a timeout: look the name up
    /// instead.
    pub async fn create_service_account(
        &self,
        token: &Token,
        stack: &str,
        name: &str,
        role: &str,
        is_disabled: bool,
    ) -> Result<ServiceAccount, Error> {
        let body = CreateAccountBody {
            name,
            role,
            is_disabled,
        };
        let call = Call::new(
            Method::POST,
            "/instances/{slug}/api/serviceaccounts",
            &["instances", stack, "api", "serviceaccounts"],
        )
        .json(&body);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreateServiceAccount {
                name: name.to_owned(),
                source,
            })
    }

    /// `DELETE …/serviceaccounts/{id}`, which deletes its tokens too. An absent account
    /// counts as deleted.
    pub async fn delete_service_account(
        &self,
        token: &Token,
        stack: &str,
        id: u64,
        name: &str,
    ) -> Result<(), Error> {
        let id = id.to_string();
        let call = Call::new(
            Method::DELETE,
            "/instances/{slug}/api/serviceaccounts/{id}",
            &["instances", stack, "api", "serviceaccounts", &id],
        );
        ignore_not_found(self.execute(token, call).await).map_err(|source| {
            Error::DeleteServiceAccount {
                name: name.to_owned(),
                source,
            }
        })
    }

    /// `GET …/serviceaccounts/{id}/tokens`: every token of the account, expired ones
    /// included.
    pub async fn list_account_tokens(
        &self,
        token: &Token,
        stack: &str,
        account: u64,
    ) -> Result<Vec<AccountToken>, Error> {
        let id = account.to_string();
        let call = Call::new(
            Method::GET,
            "/instances/{slug}/api/serviceaccounts/{id}/tokens",
            &["instances", stack, "api", "serviceaccounts", &id, "tokens"],
        );
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::ListAccountTokens {
                stack: stack.to_owned(),
                account,
                source,
            })
    }

    /// `POST …/serviceaccounts/{id}/tokens`. The answer is the only copy of the key. Never
    /// retried after a 5xx or a timeout.
    pub async fn create_account_token(
        &self,
        token: &Token,
        stack: &str,
        account: u64,
        name: &str,
        seconds_to_live: Option<u64>,
    ) -> Result<CreatedAccountToken, Error> {
        let id = account.to_string();
        let body = CreateAccountTokenBody {
            name,
            seconds_to_live,
        };
        let call = Call::new(
            Method::POST,
            "/instances/{slug}/api/serviceaccounts/{id}/tokens",
            &["instances", stack, "api", "serviceaccounts", &id, "tokens"],
        )
        .json(&body);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreateAccountToken {
                name: name.to_owned(),
                source,
            })
    }

    /// `DELETE …/serviceaccounts/{id}/tokens/{tokenId}`. An absent token counts as deleted.
    pub async fn delete_account_token(
        &self,
        token: &Token,
        stack: &str,
        account: u64,
        id: u64,
        name: &str,
    ) -> Result<(), Error> {
        let (account, id) = (account.to_string(), id.to_string());
        let call = Call::new(
            Method::DELETE,
            "/instances/{slug}/api/serviceaccounts/{id}/tokens/{tokenId}",
            &[
                "instances",
                stack,
                "api",
                "serviceaccounts",
                &account,
                "tokens",
                &id,
            ],
        );
        ignore_not_found(self.execute(token, call).await).map_err(|source| {
            Error::DeleteAccountToken {
                name: name.to_owned(),
                source,
            }
        })
    }
}

//! Stacks, their readiness and restarts, and their provisioned data sources.

use reqwest::Method;
use serde::Deserialize;

use super::{
    CreateStack, Datasource, Error, GrafanaClient, Stack, Token, UpdateStack,
    client::Call,
    error::RequestError,
    types::{Page, Readiness},
};

impl GrafanaClient {
    /// `GET /orgs/{org}/instances`: every stack of the org, all pages.
    pub async fn list_stacks(&self, token: &Token, org: &str) -> Result<Vec<Stack>, Error> {
        self.list_all(token, "/orgs/{org}/instances", &["orgs", org, "instances"])
            .await
            .map_err(|source| Error::ListStacks {
                org: org.to_owned(),
                source,
            })
    }

    /// `GET /instances/{slug}`: the stack, or `None` when it does not exist.
    /// A stack with status `deleted` is returned as is; see [`Stack::is_deleted`].
    pub async fn get_stack(&self, token: &Token, slug_or_id: &str) -> Result<Option<Stack>, Error> {
        let call = Call::new(Method::GET, "/instances/{slug}", &["instances", slug_or_id]);
        let result = match self.execute(token, call).await {
            Ok(answer) => answer.json().map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        };
        result.map_err(|source| Error::GetStack {
            slug: slug_or_id.to_owned(),
            source,
        })
    }

    /// `POST /instances`. Never retried after a 5xx or a timeout, because the
    /// stack may have been created: read it back with [`Self::get_stack`].
    pub async fn create_stack(&self, token: &Token, stack: &CreateStack) -> Result<Stack, Error> {
        let call = Call::new(Method::POST, "/instances", &["instances"]).json(stack);
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::CreateStack {
                slug: stack.slug.clone(),
                source,
            })
    }

    /// `POST /instances/{slug}`: changes name, description, labels or url.
    pub async fn update_stack(
        &self,
        token: &Token,
        slug: &str,
        update: &UpdateStack,
    ) -> Result<Stack, Error> {
        let call = Call::new(Method::POST, "/instances/{slug}", &["instances", slug])
            .json(update)
            .idempotent();
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json())
            .map_err(|source| Error::UpdateStack {
                slug: slug.to_owned(),
                source,
            })
    }

    /// `DELETE /instances/{slug}`. A stack that is already gone counts as deleted.
    pub async fn delete_stack(&self, token: &Token, slug: &str) -> Result<(), Error> {
        let call = Call::new(Method::DELETE, "/instances/{slug}", &["instances", slug]);
        ignore_not_found(self.execute(token, call).await).map_err(|source| Error::DeleteStack {
            slug: slug.to_owned(),
            source,
        })
    }

    /// `GET /instances/{id}/readiness`: whether the stack is ready to serve.
    pub async fn stack_ready(&self, token: &Token, id: u64) -> Result<bool, Error> {
        let id_text = id.to_string();
        let call = Call::new(
            Method::GET,
            "/instances/{id}/readiness",
            &["instances", &id_text, "readiness"],
        );
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json::<Readiness>())
            .map(|readiness| readiness.ready)
            .map_err(|source| Error::CheckStackReadiness { id, source })
    }

    /// `POST /instances/{slug}/restart`: restarts the stack's Grafana. Not
    /// retried after an unknown outcome, so that one request means one restart.
    pub async fn restart_stack(&self, token: &Token, slug: &str) -> Result<(), Error> {
        let call = Call::new(
            Method::POST,
            "/instances/{slug}/restart",
            &["instances", slug, "restart"],
        );
        self.execute(token, call)
            .await
            .map(drop)
            .map_err(|source| Error::RestartStack {
                slug: slug.to_owned(),
                source,
            })
    }

    /// `GET /instances/{slug}/datasources`: the stack's provisioned data sources.
    pub async fn list_datasources(
        &self,
        token: &Token,
        slug: &str,
    ) -> Result<Vec<Datasource>, Error> {
        let call = Call::new(
            Method::GET,
            "/instances/{slug}/datasources",
            &["instances", slug, "datasources"],
        );
        self.execute(token, call)
            .await
            .and_then(|answer| answer.json::<ItemsOrList<Datasource>>())
            .map(ItemsOrList::into_vec)
            .map_err(|source| Error::ListDatasources {
                slug: slug.to_owned(),
                source,
            })
    }

    /// `DELETE /instances/{slug}/datasources/{id}`. An absent data source counts as deleted.
    pub async fn delete_datasource(&self, token: &Token, slug: &str, id: u64) -> Result<(), Error> {
        let id_text = id.to_string();
        let call = Call::new(
            Method::DELETE,
            "/instances/{slug}/datasources/{id}",
            &["instances", slug, "datasources", &id_text],
        );
        ignore_not_found(self.execute(token, call).await).map_err(|source| {
            Error::DeleteDatasource {
                slug: slug.to_owned(),
                id,
                source,
            }
        })
    }
}

/// Success for anything but an error, and for a 404 (already gone).
pub(crate) fn ignore_not_found<T>(result: Result<T, RequestError>) -> Result<(), RequestError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// The documented `{items: [...]}` envelope, or a bare array.
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemsOrList<T> {
    Page(Page<T>),
    List(Vec<T>),
}

impl<T> ItemsOrList<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::Page(page) => page.items,
            Self::List(list) => list,
        }
    }
}

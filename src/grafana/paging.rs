//! Following the pages of grafana.com list endpoints.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::{
    GrafanaClient, Token,
    client::Call,
    error::{Failure, RequestError},
    types::Page,
};

/// The most pages of one list the client follows.
pub(crate) const MAX_PAGES: usize = 100;

impl GrafanaClient {
    /// GETs every page of a list endpoint that answers `{items, page, pages, nextCursor}`.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        token: &Token,
        endpoint: &'static str,
        path: &[&str],
    ) -> Result<Vec<T>, RequestError> {
        let mut items = Vec::new();
        let mut query: Vec<(&'static str, String)> = Vec::new();
        let mut last_request_id = String::new();
        for _ in 0..MAX_PAGES {
            let mut call = Call::new(Method::GET, endpoint, path);
            call.query.clone_from(&query);
            let answer = self.execute(token, call).await?;
            let page: Page<T> = answer.json()?;
            answer.request_id().clone_into(&mut last_request_id);
            if page.items.is_empty() {
                return Ok(items);
            }
            items.extend(page.items);
            query = match next_page_query(&query, page.page, page.pages, page.next_cursor) {
                Some(next) => next,
                None => return Ok(items),
            };
        }
        // A server that keeps announcing pages: a truncated list would look like missing
        // objects, and missing objects get created again. Fail instead.
        Err(RequestError {
            failure: Box::new(Failure::EndlessPaging { pages: MAX_PAGES }),
            request_id: last_request_id,
            attempts: 1,
        })
    }
}

/// The query for the next page, or `None` when this was the last one (or the
/// server ignored our page request).
fn next_page_query(
    current: &[(&'static str, String)],
    page: Option<u64>,
    pages: Option<u64>,
    next_cursor: Option<u64>,
) -> Option<Vec<(&'static str, String)>> {
    if let Some(cursor) = next_cursor.filter(|c| *c > 0) {
        let next = vec![("cursor", cursor.to_string())];
        return (next != current).then_some(next);
    }
    let (page, pages) = (page?, pages?);
    let requested = current
        .iter()
        .find(|(k, _)| *k == "page")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    if requested.is_some_and(|r| r != page) || page >= pages {
        return None;
    }
    Some(vec![("page", (page + 1).to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn pagination_follows_pages_then_stops() {
        assert_eq!(
            next_page_query(&[], Some(1), Some(3), None),
            Some(query(&[("page", "2")]))
        );
        assert_eq!(
            next_page_query(&query(&[("page", "2")]), Some(2), Some(3), None),
            Some(query(&[("page", "3")]))
        );
        assert_eq!(
            next_page_query(&query(&[("page", "3")]), Some(3), Some(3), None),
            None
        );
        assert_eq!(next_page_query(&[], None, None, None), None);
    }

    #[test]
    fn pagination_stops_when_the_server_ignores_the_page() {
        assert_eq!(
            next_page_query(&query(&[("page", "2")]), Some(1), Some(3), None),
            None
        );
    }

    #[test]
    fn pagination_prefers_a_cursor_and_never_repeats_it() {
        assert_eq!(
            next_page_query(&[], Some(1), Some(1), Some(40)),
            Some(query(&[("cursor", "40")]))
        );
        assert_eq!(
            next_page_query(&query(&[("cursor", "40")]), None, None, Some(40)),
            None
        );
        assert_eq!(next_page_query(&[], Some(1), Some(1), Some(0)), None);
    }
}

#![allow(clippy::unwrap_used)]

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

#[test]
fn error_bodies_keep_code_and_message() {
    let failure = status_failure(
        StatusCode::CONFLICT,
        br#"{"code":"InvalidArgument","message":"slug: invalid","requestId":"x"}"#,
        None,
    );
    let Failure::Status {
        status,
        code,
        message,
        ..
    } = failure
    else {
        panic!("not a status failure");
    };
    assert_eq!(status, 409);
    assert_eq!(code.as_deref(), Some("InvalidArgument"));
    assert_eq!(message.as_deref(), Some("slug: invalid"));
}

#[test]
fn non_json_error_bodies_are_truncated() {
    let html = format!("<html>{}</html>", "x".repeat(1000));
    let Failure::Status { code, message, .. } =
        status_failure(StatusCode::BAD_GATEWAY, html.as_bytes(), None)
    else {
        panic!("not a status failure");
    };
    assert_eq!(code, None);
    assert_eq!(message.map(|m| m.chars().count()), Some(MAX_MESSAGE_CHARS));
    let Failure::Status { message, .. } = status_failure(StatusCode::BAD_GATEWAY, b"", None) else {
        panic!("not a status failure");
    };
    assert_eq!(message, None);
}

#[test]
fn paths_are_appended_to_the_base_url_and_escaped() {
    let client = GrafanaClient::new(
        Url::parse("http://127.0.0.1:1/api").unwrap(),
        ClientOptions::default(),
    )
    .unwrap();
    let call = Call::new(
        Method::DELETE,
        "/orgs/{org}/api-keys/{name}",
        &["orgs", "acme", "api-keys", "team a/b"],
    );
    assert_eq!(
        client.url(&call).as_str(),
        "http://127.0.0.1:1/api/orgs/acme/api-keys/team%20a%2Fb"
    );
    let client = GrafanaClient::new(
        Url::parse("http://127.0.0.1:1/api/").unwrap(),
        ClientOptions::default(),
    )
    .unwrap();
    let mut call = Call::new(
        Method::GET,
        "/orgs/{org}/instances",
        &["orgs", "acme", "instances"],
    );
    call.query = vec![("page", "2".to_owned())];
    assert_eq!(
        client.url(&call).as_str(),
        "http://127.0.0.1:1/api/orgs/acme/instances?page=2"
    );
}

#[test]
fn only_posts_are_non_idempotent_by_default() {
    assert!(Call::new(Method::GET, "/x", &[]).idempotent);
    assert!(Call::new(Method::DELETE, "/x", &[]).idempotent);
    assert!(!Call::new(Method::POST, "/x", &[]).idempotent);
    assert!(Call::new(Method::POST, "/x", &[]).idempotent().idempotent);
}

#[test]
fn builds_an_https_client_with_ring_and_no_global_provider() {
    let client = GrafanaClient::new(
        Url::parse("https://grafana.com/api").unwrap(),
        ClientOptions::default(),
    );
    assert!(client.is_ok(), "{client:?}");
}

#[test]
fn rejects_unusable_base_urls() {
    for url in [
        "ftp://grafana.com/api",
        "https://user:pw@grafana.com/api",
        "https://grafana.com/api?x=1",
    ] {
        let err =
            GrafanaClient::new(Url::parse(url).unwrap(), ClientOptions::default()).unwrap_err();
        assert_eq!(err.category(), "configuration", "{url}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

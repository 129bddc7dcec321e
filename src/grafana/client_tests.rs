#![allow(clippy::unwrap_used)]

use super::*;

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

#[test]
fn grafana_error_bodies_name_their_code_message_id() {
    let Failure::Status { code, message, .. } = status_failure(
        StatusCode::BAD_REQUEST,
        br#"{"message":"service account already exists","messageId":"serviceaccounts.ErrAlreadyExists","statusCode":400}"#,
        None,
    ) else {
        panic!("not a status failure");
    };
    assert_eq!(code.as_deref(), Some("serviceaccounts.ErrAlreadyExists"));
    assert_eq!(message.as_deref(), Some("service account already exists"));
}

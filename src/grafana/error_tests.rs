#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::*;
use crate::grafana::failure::parse_wait_seconds;

fn answered(status: u16, code: Option<&str>, message: Option<&str>) -> RequestError {
    RequestError {
        failure: Box::new(Failure::Status {
            status,
            code: code.map(str::to_owned),
            message: message.map(str::to_owned),
            retry_after: None,
        }),
        request_id: "req-1".to_owned(),
        attempts: 1,
    }
}

fn create(source: RequestError) -> Error {
    Error::CreateStack {
        slug: "acme".to_owned(),
        source,
    }
}

#[test]
fn categories_follow_status_and_code() {
    let cases = [
        (401, Some("InvalidCredentials"), None, "unauthorized"),
        (403, Some("Forbidden"), None, "unauthorized"),
        (404, Some("NotFound"), None, "not_found"),
        (
            409,
            Some("Conflict"),
            Some("That url is not available"),
            "conflict",
        ),
        (
            409,
            Some("InvalidArgument"),
            Some("slug: invalid"),
            "invalid_argument",
        ),
        (400, None, None, "invalid_argument"),
        (429, None, None, "rate_limited"),
        (500, None, None, "server_error"),
        (503, Some("Loading"), None, "server_error"),
        (418, None, None, "client_error"),
    ];
    for (status, code, message, category) in cases {
        assert_eq!(
            create(answered(status, code, message)).category(),
            category,
            "{status} {code:?}"
        );
    }
}

#[test]
fn categories_without_an_answer() {
    let mk = |failure| RequestError {
        failure: Box::new(failure),
        request_id: "r".to_owned(),
        attempts: 3,
    };
    assert_eq!(mk(Failure::Timeout).category(), "timeout");
    assert_eq!(mk(Failure::InvalidToken).category(), "unauthorized");
    let decode = Failure::Decode {
        category: "data",
        line: 1,
        column: 2,
    };
    assert_eq!(mk(decode).category(), "decode");
    let config = Error::InvalidBaseUrl {
        url: "ftp://x".to_owned(),
        reason: "the scheme must be http or https",
    };
    assert_eq!(config.category(), "configuration");
    assert!(config.request().is_none());
}

#[test]
fn deleted_recently_gives_the_wait() {
    let err = create(answered(
        409,
        Some("Conflict"),
        Some("A stack with this slug was deleted recently, please wait for 30s and try again"),
    ));
    assert_eq!(err.deleted_recently_wait(), Some(Duration::from_secs(30)));
    assert!(!err.is_slug_unavailable());
    assert!(!err.is_invalid_argument());
    assert_eq!(err.category(), "conflict");
}

#[test]
fn deleted_recently_is_not_a_taken_slug_even_when_the_url_is_not_available() {
    let err = create(answered(
        409,
        Some("Conflict"),
        Some(
            "That url is not available: a stack with this slug was deleted recently, \
             wait for 12s before creating it again",
        ),
    ));
    assert_eq!(err.deleted_recently_wait(), Some(Duration::from_secs(12)));
    assert!(!err.is_slug_unavailable());
    assert!(!err.is_invalid_argument());
}

#[test]
fn wait_is_read_only_from_a_conflict() {
    let err = create(answered(400, None, Some("wait for 30s")));
    assert_eq!(err.deleted_recently_wait(), None);
}

#[test]
fn wait_parsing_variants() {
    assert_eq!(
        parse_wait_seconds("deleted recently ... wait for 30s"),
        Some(30)
    );
    assert_eq!(parse_wait_seconds("Please WAIT FOR 5 seconds"), Some(5));
    assert_eq!(
        parse_wait_seconds("wait for it, then wait for 12s"),
        Some(12)
    );
    assert_eq!(parse_wait_seconds("wait for 30m"), None);
    assert_eq!(parse_wait_seconds("wait for s"), None);
    assert_eq!(parse_wait_seconds("That url is not available"), None);
    assert_eq!(
        parse_wait_seconds("wait for 99999999999999999999999s"),
        Some(u64::MAX)
    );
}

#[test]
fn an_endless_deleted_recently_wait_is_capped_at_an_hour() {
    let err = create(answered(
        409,
        Some("Conflict"),
        Some("deleted recently, wait for 99999999999999999999999s"),
    ));
    assert_eq!(
        err.deleted_recently_wait(),
        Some(crate::grafana::retry::MAX_SERVER_WAIT)
    );
}

#[test]
fn slug_unavailable_is_recognised_by_message_or_code() {
    assert!(
        create(answered(
            409,
            Some("Conflict"),
            Some("That url is not available")
        ))
        .is_slug_unavailable()
    );
    assert!(create(answered(409, Some("SlugUnavailable"), None)).is_slug_unavailable());
    assert!(!create(answered(400, None, Some("That url is not available"))).is_slug_unavailable());
}

#[test]
fn invalid_argument_from_409_code_message_or_400() {
    assert!(create(answered(409, Some("InvalidArgument"), Some("bad slug"))).is_invalid_argument());
    assert!(
        create(answered(
            409,
            Some("Conflict"),
            Some("Invalid arguments: wrong or missing parameters")
        ))
        .is_invalid_argument()
    );
    assert!(create(answered(400, None, None)).is_invalid_argument());
    assert!(
        !create(answered(
            409,
            Some("Conflict"),
            Some("delete protection is on")
        ))
        .is_invalid_argument()
    );
}

#[test]
fn transient_and_unauthorized() {
    assert!(create(answered(429, None, None)).is_transient());
    assert!(create(answered(502, None, None)).is_transient());
    assert!(!create(answered(409, None, None)).is_transient());
    assert!(!create(answered(401, None, None)).is_transient());
    assert!(create(answered(401, None, None)).is_unauthorized());
    assert!(create(answered(403, None, None)).is_unauthorized());
    assert!(create(answered(403, None, None)).is_forbidden());
    assert!(!create(answered(401, None, None)).is_forbidden());
    assert!(!create(answered(404, None, None)).is_unauthorized());
    assert!(create(answered(404, None, None)).is_not_found());
}

#[test]
fn retry_after_is_exposed() {
    let err = create(RequestError {
        failure: Box::new(Failure::Status {
            status: 429,
            code: None,
            message: None,
            retry_after: Some(Duration::from_secs(120)),
        }),
        request_id: "r".to_owned(),
        attempts: 1,
    });
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(err.status(), Some(429));
}

#[test]
fn display_names_operation_status_code_and_message_and_keeps_the_request_id_apart() {
    let err = create(answered(
        409,
        Some("Conflict"),
        Some("That url is not available"),
    ));
    assert_eq!(
        err.to_string(),
        "failed to create stack acme: grafana.com answered 409 Conflict: That url is not available"
    );
    assert_eq!(err.code(), Some("Conflict"));
    assert_eq!(err.message(), Some("That url is not available"));
    assert_eq!(err.request_id(), Some("req-1"));
    assert_eq!(err.attempts(), Some(1));
}

#[test]
fn a_taken_name_is_a_400_already_exists_from_grafana() {
    let taken = |status, code| Error::CreateServiceAccount {
        name: "ci".to_owned(),
        source: answered(status, code, None),
    };
    assert!(taken(400, Some("serviceaccounts.ErrAlreadyExists")).is_name_taken());
    assert!(taken(400, Some("serviceaccounts.ErrTokenAlreadyExists")).is_name_taken());
    assert!(
        !taken(400, Some("serviceaccounts.ErrInvalidInput")).is_name_taken(),
        "another 400"
    );
    assert!(
        !taken(500, Some("serviceaccounts.ErrAlreadyExists")).is_name_taken(),
        "not a 400"
    );
}

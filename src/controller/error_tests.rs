#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn user_errors_wait_for_a_change() {
    let err = Error::CredentialsSecretMissing {
        namespace: "a".into(),
        name: "b".into(),
    };
    assert_eq!(err.retry_after(3), None);
    assert_eq!(err.reason(), Reason::CredentialsNotFound);
    assert_eq!(err.category(), "credentials");
    let err = Error::InvalidSpec { reason: "x".into() };
    assert_eq!(err.retry_after(0), None);
    assert_eq!(err.reason(), Reason::InvalidSpec);
}

#[test]
fn recently_deleted_slug_waits_for_the_reservation_plus_margin() {
    let err = Error::SlugRecentlyDeleted {
        slug: "s".into(),
        wait: Duration::from_secs(30),
    };
    let wait = err.retry_after(0).unwrap();
    assert!(
        wait >= Duration::from_secs(32) && wait <= Duration::from_secs(35),
        "{wait:?}"
    );
    assert_eq!(err.reason(), Reason::SlugRecentlyDeleted);
}

#[test]
fn an_endless_server_wait_is_capped_at_an_hour_and_a_bit() {
    let err = Error::SlugRecentlyDeleted {
        slug: "s".into(),
        wait: Duration::MAX,
    };
    let wait = err.retry_after(0).unwrap();
    let cap = crate::controller::requeue::MAX_SERVER_WAIT;
    assert!(
        wait >= cap && wait <= cap + cap / 10 + SLUG_WAIT_MARGIN,
        "{wait:?}"
    );
}

#[test]
fn condition_messages_leave_out_request_ids_which_stay_fields() {
    let answer = grafana::RequestError {
        failure: Box::new(grafana::Failure::Status {
            status: 401,
            code: None,
            message: None,
            retry_after: None,
        }),
        request_id: "1f-2e".into(),
        attempts: 2,
    };
    let err = Error::Grafana(grafana::Error::GetStack {
        slug: "a".into(),
        source: answer,
    });
    assert_eq!(
        err.condition_message(),
        "failed to get stack a: grafana.com answered 401"
    );
    assert_eq!(err.request_id(), Some("1f-2e"));
    assert_eq!(err.attempts(), Some(2));
    assert_eq!(Error::MissingNamespace.request_id(), None);
}

#[test]
fn a_forbidden_answer_naming_a_scope_says_the_credentials_lack_it() {
    let answer = |status, message: &str| {
        Error::Grafana(grafana::Error::CreateAccessPolicy {
            name: "p".into(),
            source: grafana::RequestError {
                failure: Box::new(grafana::Failure::Status {
                    status,
                    code: Some("Forbidden".into()),
                    message: Some(message.into()),
                    retry_after: None,
                }),
                request_id: "r".into(),
                attempts: 1,
            },
        })
    };
    let err = answer(403, "missing required scope: accesspolicies:write");
    assert_eq!(err.reason(), Reason::MissingScope);
    assert!(err.condition_message().contains("accesspolicies:write"));
    assert_eq!(answer(403, "Forbidden").reason(), Reason::Unauthorized);
}

#[test]
fn typed_spec_errors_keep_their_source_and_wait_for_a_change() {
    use std::error::Error as _;
    let err = Error::from(RotationError::NoLifetime);
    assert_eq!(err.reason(), Reason::InvalidSpec);
    assert_eq!(err.retry_after(2), None);
    assert!(err.source().is_some());
    let err = Error::SlugUnavailable {
        slug: "s".into(),
        source: None,
    };
    assert_eq!(
        err.to_string(),
        "stack slug s belongs to another organisation or resource"
    );
}

#[test]
fn categories_are_fixed_strings() {
    let errs = [
        Error::MissingNamespace,
        Error::SlugUnavailable {
            slug: "s".into(),
            source: None,
        },
        Error::NoDefaultCredentials {
            namespace: "n".into(),
        },
    ];
    for err in errs {
        assert!(
            err.category()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
        );
    }
}

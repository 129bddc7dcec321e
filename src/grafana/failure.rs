//! Why one grafana.com request failed, after the client's own retries: the answer's
//! status, code and message, or what went wrong on the way.

use std::{fmt, time::Duration};

/// One request that failed, after the client's own retries.
#[derive(Debug, thiserror::Error)]
///
/// The request id and the number of attempts are fields, not part of the message: they
/// are logged as fields, and a condition message stays the same when a failure repeats.
#[error("{failure}")]
pub struct RequestError {
    // Boxed to keep `Error` small on the happy path.
    pub failure: Box<Failure>,
    /// The `x-request-id` sent with every attempt of this call.
    pub request_id: String,
    pub attempts: u32,
}

/// Why a request failed.
#[derive(Debug)]
pub enum Failure {
    /// grafana.com answered with a non-success status.
    Status {
        status: u16,
        code: Option<String>,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// The token cannot be sent in an HTTP header (it holds control characters).
    InvalidToken,
    /// No complete answer within the client timeout.
    Timeout,
    /// The connection could not be made or was dropped.
    Network(reqwest::Error),
    /// Not sent: this replica may no longer hold the leader lease.
    Fenced,
    /// The answer's body was larger than the client reads.
    BodyTooLarge { limit_bytes: usize },
    /// A list kept announcing more pages past the most the client follows.
    EndlessPaging { pages: usize },
    /// The answer was not the JSON we expected. Only the position is kept, so
    /// that no part of the body (possibly a key) ends up in an error message.
    Decode {
        category: &'static str,
        line: usize,
        column: usize,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                status,
                code,
                message,
                ..
            } => {
                write!(f, "grafana.com answered {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            Self::InvalidToken => {
                f.write_str("the token contains characters that cannot be sent in an HTTP header")
            }
            Self::Timeout => f.write_str("the request timed out"),
            Self::Fenced => {
                f.write_str("not sent: this replica may no longer hold the leader lease")
            }
            Self::BodyTooLarge { limit_bytes } => write!(
                f,
                "the response body is larger than {} KiB, more than grafana.com sends",
                limit_bytes / 1024
            ),
            Self::EndlessPaging { pages } => write!(
                f,
                "the list still announced more items after {pages} pages; no partial list is used"
            ),
            Self::Network(source) => {
                write!(f, "the connection failed: {source}")?;
                // reqwest's own message omits the cause ("connection refused", …).
                let mut root: &dyn std::error::Error = source;
                while let Some(inner) = root.source() {
                    root = inner;
                }
                if !std::ptr::addr_eq(root, source as &dyn std::error::Error) {
                    write!(f, ": {root}")?;
                }
                Ok(())
            }
            Self::Decode {
                category,
                line,
                column,
            } => write!(
                f,
                "the response body is not what grafana.com sends ({category} error at line {line} column {column})"
            ),
        }
    }
}

impl RequestError {
    pub fn status(&self) -> Option<u16> {
        match *self.failure {
            Failure::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self.failure.as_ref() {
            Failure::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self.failure.as_ref() {
            Failure::Status { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match *self.failure {
            Failure::Status { retry_after, .. } => retry_after,
            _ => None,
        }
    }

    pub fn category(&self) -> &'static str {
        match self.failure.as_ref() {
            Failure::InvalidToken => "unauthorized",
            Failure::Timeout => "timeout",
            Failure::Fenced => "fenced",
            Failure::Network(_) => "network",
            Failure::Decode { .. }
            | Failure::BodyTooLarge { .. }
            | Failure::EndlessPaging { .. } => "decode",
            Failure::Status { status, .. } => match status {
                401 | 403 => "unauthorized",
                404 => "not_found",
                429 => "rate_limited",
                500..=599 => "server_error",
                _ if self.is_invalid_argument() => "invalid_argument",
                409 => "conflict",
                _ => "client_error",
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(*self.failure, Failure::InvalidToken) || matches!(self.status(), Some(401 | 403))
    }

    pub fn deleted_recently_wait(&self) -> Option<Duration> {
        if self.status() != Some(409) {
            return None;
        }
        self.message()
            .and_then(parse_wait_seconds)
            .map(|seconds| Duration::from_secs(seconds).min(super::retry::MAX_SERVER_WAIT))
    }

    pub fn is_slug_unavailable(&self) -> bool {
        // "That url is not available: … deleted recently, wait for 30s" is
        // temporary, not someone else's slug.
        self.status() == Some(409)
            && self.deleted_recently_wait().is_none()
            && (self.code() == Some("SlugUnavailable")
                || self
                    .message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("url is not available")))
    }

    pub fn is_invalid_argument(&self) -> bool {
        match self.status() {
            Some(400 | 422) => true,
            Some(409) => {
                !self.is_slug_unavailable()
                    && self.deleted_recently_wait().is_none()
                    && (self.code() == Some("InvalidArgument")
                        || self.message().is_some_and(|m| {
                            m.to_ascii_lowercase().starts_with("invalid argument")
                        }))
            }
            _ => false,
        }
    }

    pub fn is_transient(&self) -> bool {
        match self.failure.as_ref() {
            Failure::Timeout | Failure::Network(_) | Failure::Fenced => true,
            Failure::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            Failure::Decode { .. }
            | Failure::InvalidToken
            | Failure::BodyTooLarge { .. }
            | Failure::EndlessPaging { .. } => false,
        }
    }
}

/// Finds `wait for <N>s` in a grafana.com message and returns N.
pub(crate) fn parse_wait_seconds(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    lower.match_indices("wait for").find_map(|(at, needle)| {
        let rest = lower[at + needle.len()..].trim_start();
        let digits: &str = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        let unit = rest[digits.len()..].trim_start();
        // "30s", "30 s", "30 seconds".
        // Digits too many for a u64 still mean "a long time"; the caller caps the wait.
        (!digits.is_empty() && unit.starts_with('s')).then(|| digits.parse().unwrap_or(u64::MAX))
    })
}

//! The HTTP core of the grafana.com client: authentication, request ids,
//! timeouts, retries, error decoding and observation.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use reqwest::{
    Method, StatusCode,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER},
};
use serde::{Deserialize, de::DeserializeOwned};
use url::Url;

use crate::fence::Fence;

use super::{
    ClientOptions, Error, RequestObserver, Token,
    budget::Limiter,
    error::{Failure, RequestError},
    retry::{AttemptOutcome, Decision, RetryPolicy, parse_retry_after},
};

/// A client for the grafana.com API. Cheap to clone: clones share one
/// connection pool. The credentials are passed to every call, never stored.
#[derive(Clone)]
pub struct GrafanaClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    retry: RetryPolicy,
    timeout: Duration,
    observer: Option<Arc<dyn RequestObserver>>,
    limiter: Limiter,
    fence: Option<Fence>,
}

impl fmt::Debug for GrafanaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrafanaClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// One logical call: an endpoint, its path and body, and whether it is safe
/// to repeat after an unknown outcome.
pub(crate) struct Call {
    pub endpoint: &'static str,
    pub method: Method,
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub idempotent: bool,
}

impl Call {
    pub fn new(method: Method, endpoint: &'static str, path: &[&str]) -> Self {
        let idempotent = method != Method::POST;
        Self {
            endpoint,
            method,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            idempotent,
        }
    }

    /// Adds a JSON body. Serializing our own request types cannot fail.
    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    /// Adds the `region` query parameter every `/v1` call carries.
    pub fn region(mut self, region: &str) -> Self {
        self.query.push(("region", region.to_owned()));
        self
    }

    /// Marks a POST as safe to repeat (an update that sets values).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// A successful answer.
pub(crate) struct Answer {
    body: Vec<u8>,
    request_id: String,
    attempts: u32,
}

impl Answer {
    /// The `x-request-id` of the call that got this answer.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RequestError> {
        serde_json::from_slice(&self.body).map_err(|e| RequestError {
            failure: Box::new(Failure::Decode {
                category: match e.classify() {
                    serde_json::error::Category::Io => "io",
                    serde_json::error::Category::Syntax => "syntax",
                    serde_json::error::Category::Data => "data",
                    serde_json::error::Category::Eof => "eof",
                },
                line: e.line(),
                column: e.column(),
            }),
            request_id: self.request_id.clone(),
            attempts: self.attempts,
        })
    }
}

impl GrafanaClient {
    /// Builds a client for `base_url`, such as `https://grafana.com/api`.
    ///
    /// TLS uses rustls with the ring provider and the platform's certificate
    /// verifier; nothing is installed process-wide.
    pub fn new(base_url: Url, options: ClientOptions) -> Result<Self, Error> {
        let invalid = |reason| {
            // Never echo credentials someone put into the URL.
            let mut shown = base_url.clone();
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            Error::InvalidBaseUrl {
                url: shown.to_string(),
                reason,
            }
        };
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base_url.cannot_be_a_base() || base_url.host_str().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if base_url.query().is_some() || !base_url.username().is_empty() {
            return Err(invalid("the URL must not carry a query or credentials"));
        }
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(super::tls::client_config()?)
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(options.user_agent.as_str())
            .build()
            .map_err(|source| Error::BuildClient { source })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                retry: RetryPolicy {
                    max_retries: options.max_retries,
                    backoff_base: options.backoff_base,
                    backoff_max: options.backoff_max,
                    max_retry_after: options.max_retry_after,
                    max_elapsed: options.max_elapsed,
                },
                timeout: options.timeout,
                observer: options.observer,
                limiter: Limiter::new(options.budget),
                fence: options.fence,
            }),
        })
    }

    /// The grafana.com API URL this client talks to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    fn url(&self, call: &Call) -> Url {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(&call.path);
        }
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        url
    }

    /// Runs a call with retries and returns the successful answer or the last failure.
    pub(crate) async fn execute(&self, token: &Token, call: Call) -> Result<Answer, RequestError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let fail = |failure, attempts| RequestError {
            failure: Box::new(failure),
            request_id: request_id.clone(),
            attempts,
        };
        let mut auth = HeaderValue::try_from(format!("Bearer {}", token.expose().trim()))
            .map_err(|_| fail(Failure::InvalidToken, 0))?;
        auth.set_sensitive(true);
        let url = self.url(&call);
        let call_started = Instant::now();
        let mut retries = 0;
        loop {
            let queued = Instant::now();
            self.inner.limiter.acquire(token).await;
            if let Some(observer) = &self.inner.observer {
                observer.budget_waited(queued.elapsed());
            }
            // Checked after the budget wait, right before sending: that wait can be long.
            let fenced = self.inner.fence.as_ref().is_some_and(|f| !f.is_open());
            if fenced && call.method != Method::GET {
                return Err(fail(Failure::Fenced, retries));
            }
            let started = Instant::now();
            let (status, result) = self.attempt(&call, &url, &auth, &request_id).await;
            let elapsed = started.elapsed();
            if let Some(observer) = &self.inner.observer {
                observer.observe(call.endpoint, call.method.as_str(), status, elapsed);
            }
            tracing::debug!(
                endpoint = call.endpoint,
                method = %call.method,
                status,
                request_id = %request_id,
                elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                attempt = retries + 1,
                "grafana.com request"
            );
            let failure = match result {
                Ok(body) => {
                    return Ok(Answer {
                        body,
                        request_id,
                        attempts: retries + 1,
                    });
                }
                Err(failure) => failure,
            };
            let outcome = outcome_of(&failure);
            match self
                .inner
                .retry
                .decide(&outcome, retries, call.idempotent, rand::random())
            {
                Decision::Retry(delay)
                    if self
                        .inner
                        .retry
                        .within_budget(call_started.elapsed(), delay) =>
                {
                    tracing::debug!(
                        endpoint = call.endpoint,
                        method = %call.method,
                        status,
                        request_id = %request_id,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "retrying grafana.com request"
                    );
                    tokio::time::sleep(delay).await;
                    retries += 1;
                }
                Decision::Retry(_) | Decision::GiveUp => return Err(fail(failure, retries + 1)),
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
        auth: &HeaderValue,
        request_id: &str,
    ) -> (Option<u16>, Result<Vec<u8>, Failure>) {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url.clone())
            .header(AUTHORIZATION, auth.clone())
            .header("x-request-id", request_id)
            .header(ACCEPT, "application/json");
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return (None, Err(transport_failure(e))),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = match read_body(response).await {
            Ok(body) => body,
            Err(failure) => return (Some(status.as_u16()), Err(failure)),
        };
        let result = if status.is_success() {
            Ok(body)
        } else {
            Err(status_failure(status, &body, retry_after))
        };
        (Some(status.as_u16()), result)
    }
}

/// The largest response body the client reads: far above any page grafana.com sends, far
/// below what would hurt the operator.
pub(crate) const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Reads the body chunk by chunk, giving up as soon as it grows past [`MAX_BODY_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let too_large = Failure::BodyTooLarge {
        limit_bytes: MAX_BODY_BYTES,
    };
    let announced = response.content_length().unwrap_or(0);
    if usize::try_from(announced).map_or(true, |n| n > MAX_BODY_BYTES) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_failure)? {
        if body.len().saturating_add(chunk.len()) > MAX_BODY_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport_failure(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Network(error)
    }
}

fn outcome_of(failure: &Failure) -> AttemptOutcome<'_> {
    match failure {
        Failure::Status {
            status,
            code,
            retry_after,
            ..
        } => AttemptOutcome {
            status: Some(*status),
            code: code.as_deref(),
            retry_after: *retry_after,
            not_sent: false,
        },
        Failure::Network(e) => AttemptOutcome {
            not_sent: e.is_connect(),
            ..AttemptOutcome::default()
        },
        Failure::Timeout
        | Failure::InvalidToken
        | Failure::Fenced
        | Failure::Decode { .. }
        | Failure::BodyTooLarge { .. }
        | Failure::EndlessPaging { .. } => AttemptOutcome::default(),
    }
}

/// grafana.com's error envelope `{code, message, requestId}`; Grafana's own, through the
/// stack proxy, names its code `messageId`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, alias = "messageId")]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The longest part of a non-JSON error body kept as the message.
const MAX_MESSAGE_CHARS: usize = 200;

pub(crate) fn status_failure(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Failure {
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => (parsed.code, parsed.message),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(MAX_MESSAGE_CHARS).collect();
            (None, (!text.is_empty()).then_some(text))
        }
    };
    Failure::Status {
        status: status.as_u16(),
        code: code.filter(|c| !c.is_empty()),
        message: message.filter(|m| !m.is_empty()),
        retry_after,
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;

//! Fault injection: latency, rate limits, server errors before or after the
//! action, `Loading` on stack-proxied endpoints, and dropped connections.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FaultKind {
    /// Delay by `fixed_ms` plus a random `0..=jitter_ms`: before the action,
    /// or with `after_action` once it was committed (a client that times out
    /// then has changed state without knowing it).
    Latency {
        fixed_ms: u64,
        #[serde(default)]
        jitter_ms: u64,
        #[serde(default)]
        after_action: bool,
    },
    /// Answer 429 with `Retry-After` without acting: `retry_after_secs`, or the header
    /// text `retry_after_text` verbatim where set (`1e30`, an HTTP date, garbage).
    RateLimit {
        retry_after_secs: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_text: Option<String>,
    },
    /// Answer `status` (5xx) without acting.
    ErrorBefore { status: u16 },
    /// Perform the action, commit it, then answer `status` (5xx) anyway.
    ErrorAfter { status: u16 },
    /// Answer 503 `Loading` with `Retry-After`; only stack-proxied endpoints
    /// (`/api/instances/{slug}/api/...` and data sources) match.
    Loading { retry_after_secs: u64 },
    /// Close the connection without a response, before the action or, with
    /// `after_action`, once the action was committed.
    DropConnection {
        #[serde(default)]
        after_action: bool,
    },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::RateLimit { .. } => "rateLimit",
            Self::ErrorBefore { .. } => "errorBefore",
            Self::ErrorAfter { .. } => "errorAfter",
            Self::Loading { .. } => "loading",
            Self::DropConnection { .. } => "dropConnection",
        }
    }
}

/// A fault and the requests it applies to. Unset matchers match anything;
/// `times` limits it to the next N matching requests (unset: until cleared).
///
/// ```
/// use grafana_cloud_simulator::Fault;
/// let fault = Fault::rate_limit(30).on("POST", "/api/instances").times(2);
/// assert_eq!(fault.times, Some(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path template such as `/api/instances/{slug}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The org slug the request authenticated as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(flatten)]
    pub kind: FaultKind,
}

impl Fault {
    pub fn new(kind: FaultKind) -> Self {
        Self {
            method: None,
            template: None,
            org: None,
            times: None,
            kind,
        }
    }

    pub fn latency(fixed: Duration, jitter: Duration) -> Self {
        Self::new(FaultKind::Latency {
            fixed_ms: millis(fixed),
            jitter_ms: millis(jitter),
            after_action: false,
        })
    }

    /// Latency added after the action was committed, before the response.
    pub fn latency_after_action(fixed: Duration, jitter: Duration) -> Self {
        Self::new(FaultKind::Latency {
            fixed_ms: millis(fixed),
            jitter_ms: millis(jitter),
            after_action: true,
        })
    }

    pub fn rate_limit(retry_after_secs: u64) -> Self {
        Self::new(FaultKind::RateLimit {
            retry_after_secs,
            retry_after_text: None,
        })
    }

    /// A 429 whose `Retry-After` header is exactly `text`.
    pub fn rate_limit_with_header(text: &str) -> Self {
        Self::new(FaultKind::RateLimit {
            retry_after_secs: 0,
            retry_after_text: Some(text.to_owned()),
        })
    }

    pub fn error_before(status: u16) -> Self {
        Self::new(FaultKind::ErrorBefore { status })
    }

    pub fn error_after(status: u16) -> Self {
        Self::new(FaultKind::ErrorAfter { status })
    }

    pub fn loading(retry_after_secs: u64) -> Self {
        Self::new(FaultKind::Loading { retry_after_secs })
    }

    pub fn drop_connection() -> Self {
        Self::new(FaultKind::DropConnection {
            after_action: false,
        })
    }

    pub fn drop_connection_after_action() -> Self {
        Self::new(FaultKind::DropConnection { after_action: true })
    }

    /// Only requests with this method and path template.
    pub fn on(mut self, method: &str, template: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self.template = Some(template.to_owned());
        self
    }

    /// Only requests authenticated as this org.
    pub fn for_org(mut self, org: &str) -> Self {
        self.org = Some(org.to_owned());
        self
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, request: &RequestInfo<'_>) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(request.method));
        let template_ok = self
            .template
            .as_deref()
            .is_none_or(|t| Some(t) == request.template);
        let org_ok = self.org.as_deref().is_none_or(|o| Some(o) == request.org);
        let kind_ok = !matches!(self.kind, FaultKind::Loading { .. }) || request.proxied;
        method_ok && template_ok && org_ok && kind_ok
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What the fault engine needs to know about a request.
pub(crate) struct RequestInfo<'a> {
    pub method: &'a str,
    pub template: Option<&'a str>,
    pub org: Option<&'a str>,
    pub proxied: bool,
}

/// What to do with one request.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub latency_after: Duration,
    pub outcome: Option<FaultKind>,
}

/// An injected fault with its id, as listed by the control API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFault {
    pub id: u64,
    #[serde(flatten)]
    pub fault: Fault,
}

/// The injected faults plus the configured base latency.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    base_latency: Duration,
    base_jitter: Duration,
    next_id: u64,
    active: Vec<ActiveFault>,
}

impl Faults {
    pub fn new(base_latency: Duration, base_jitter: Duration) -> Self {
        Self {
            base_latency,
            base_jitter,
            next_id: 1,
            active: Vec::new(),
        }
    }

    pub fn inject(&mut self, fault: Fault) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.active.push(ActiveFault { id, fault });
        id
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.active.len();
        self.active.retain(|f| f.id != id);
        before != self.active.len()
    }

    pub fn list(&self) -> Vec<ActiveFault> {
        self.active.clone()
    }

    /// Decides latency and outcome for a request, consuming `times` budgets.
    pub fn plan(&mut self, request: &RequestInfo<'_>) -> Plan {
        let mut rng = rand::rng();
        let mut plan = Plan {
            latency: self.base_latency + jitter(&mut rng, self.base_jitter),
            ..Plan::default()
        };
        for entry in &mut self.active {
            let fault = &mut entry.fault;
            if fault.times == Some(0) || !fault.matches(request) {
                continue;
            }
            match &fault.kind {
                FaultKind::Latency {
                    fixed_ms,
                    jitter_ms,
                    after_action,
                } => {
                    let delay = Duration::from_millis(*fixed_ms)
                        + jitter(&mut rng, Duration::from_millis(*jitter_ms));
                    if *after_action {
                        plan.latency_after += delay;
                    } else {
                        plan.latency += delay;
                    }
                }
                kind if plan.outcome.is_none() => plan.outcome = Some(kind.clone()),
                _ => continue,
            }
            if let Some(times) = &mut fault.times {
                *times -= 1;
            }
        }
        self.active.retain(|f| f.fault.times != Some(0));
        plan
    }
}

fn jitter(rng: &mut impl Rng, max: Duration) -> Duration {
    if max.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_micros(rng.random_range(0..=millis(max).saturating_mul(1000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(method: &'a str, template: &'a str, proxied: bool) -> RequestInfo<'a> {
        RequestInfo {
            method,
            template: Some(template),
            org: Some("acme"),
            proxied,
        }
    }

    #[test]
    fn counted_faults_apply_to_the_next_n_matching_requests_only() {
        let mut faults = Faults::new(Duration::ZERO, Duration::ZERO);
        faults.inject(Fault::rate_limit(5).on("post", "/api/instances").times(2));
        let other = request("GET", "/api/instances/{slug}", false);
        assert!(faults.plan(&other).outcome.is_none());
        let create = request("POST", "/api/instances", false);
        assert!(faults.plan(&create).outcome.is_some());
        assert!(faults.plan(&create).outcome.is_some());
        assert!(faults.plan(&create).outcome.is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn loading_only_matches_stack_proxied_endpoints() {
        let mut faults = Faults::new(Duration::ZERO, Duration::ZERO);
        faults.inject(Fault::loading(10));
        assert!(
            faults
                .plan(&request("GET", "/api/instances/{slug}", false))
                .outcome
                .is_none()
        );
        let proxied = request("GET", "/api/instances/{slug}/datasources", true);
        assert_eq!(
            faults.plan(&proxied).outcome,
            Some(FaultKind::Loading {
                retry_after_secs: 10
            })
        );
    }

    #[test]
    fn org_matcher_and_latency_accumulate() {
        let mut faults = Faults::new(Duration::from_millis(5), Duration::ZERO);
        faults.inject(Fault::latency(Duration::from_millis(10), Duration::ZERO).for_org("acme"));
        faults.inject(Fault::latency(Duration::from_millis(100), Duration::ZERO).for_org("other"));
        let plan = faults.plan(&request("GET", "/api/instances/{slug}", false));
        assert_eq!(plan.latency, Duration::from_millis(15));
    }

    #[test]
    fn faults_round_trip_through_json() {
        let fault = Fault::drop_connection_after_action().on("DELETE", "/api/instances/{slug}");
        let text = serde_json::to_string(&fault).unwrap_or_default();
        assert!(text.contains(r#""kind":"dropConnection""#), "{text}");
        assert!(text.contains(r#""afterAction":true"#), "{text}");
        let back: Fault = serde_json::from_str(&text).unwrap_or_else(|_| Fault::drop_connection());
        assert_eq!(back, fault);
    }
}

//! Static configuration of a simulator instance.

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::token::Token;

/// An organisation and the bearer token that authenticates as it.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    pub slug: String,
    pub token: Token,
}

/// How a request for another org's stack is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ForeignStack {
    /// 403 `Forbidden` (the default).
    #[default]
    Forbidden,
    /// 404 `NotFound`, as if the stack did not exist.
    NotFound,
}

/// Timings that tests may change while the simulator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// How long after creation a stack's readiness check turns true.
    #[serde(rename = "readinessDelayMs", with = "millis")]
    pub readiness_delay: Duration,
    /// How long a deleted stack's slug stays reserved.
    #[serde(rename = "deletedSlugReservationMs", with = "millis")]
    pub deleted_slug_reservation: Duration,
    /// How long after creation an access-policy token starts to authenticate.
    #[serde(default, rename = "tokenActivationDelayMs", with = "millis")]
    pub token_activation_delay: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            readiness_delay: Duration::from_secs(2),
            deleted_slug_reservation: Duration::from_secs(30),
            token_activation_delay: Duration::ZERO,
        }
    }
}

/// Everything a simulator is started with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub orgs: Vec<OrgConfig>,
    pub timings: Timings,
    pub foreign_stack: ForeignStack,
    /// Latency added to every `/api` request: fixed part and random jitter.
    pub latency: Duration,
    pub jitter: Duration,
    /// How many recorded requests are kept (older ones are dropped).
    pub request_log_capacity: usize,
    /// The most items one page of a `/v1` list holds, whatever `pageSize` asks.
    pub page_size: usize,
    /// Answer the API key routes as grafana.com does today: 404 for org keys, 410 for
    /// stack keys.
    pub api_keys_removed: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            orgs: Vec::new(),
            timings: Timings::default(),
            foreign_stack: ForeignStack::default(),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            request_log_capacity: 100_000,
            page_size: 100,
            api_keys_removed: false,
        }
    }
}

/// Serialises a `Duration` as whole milliseconds (`...Ms` fields in JSON).
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// Parses `250ms`, `2s`, `1m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 250ms, 2s, 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("invalid duration unit {unit:?} in {text:?}")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("").is_err());
    }
}

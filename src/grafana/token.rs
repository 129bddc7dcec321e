//! A grafana.com token or key that never shows up in formatted output.

use std::fmt;

use serde::Deserialize;

const REDACTED: &str = "<redacted>";

/// A secret credential: the grafana.com API token the operator authenticates
/// with, or a key returned by a create call.
///
/// `Debug` and `Display` print `<redacted>`. The only way to read the value is
/// [`Token::expose`], which the client calls when it builds the
/// `Authorization` header and the controllers call when they write a Secret.
/// It deliberately implements neither `Serialize` nor `PartialEq`, so it cannot
/// leak through a status object or a log field by accident.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct Token {
    value: String,
    /// The organisation the token belongs to, where known: its requests share that
    /// organisation's budget with every other token of it.
    org: Option<String>,
}

impl Token {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            org: None,
        }
    }

    /// The same token, known to belong to organisation `org`.
    pub fn with_org(mut self, org: impl Into<String>) -> Self {
        self.org = Some(org.into()).filter(|o: &String| !o.is_empty());
        self
    }

    /// Returns the secret value. Call it only where the value must leave the
    /// process: an HTTP header or a Kubernetes Secret.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether the value is empty (or only whitespace), which is never a usable token.
    pub fn is_empty(&self) -> bool {
        self.value.trim().is_empty()
    }

    /// What the request budget is keyed by: the organisation where known, the token itself
    /// otherwise. The two kinds can never collide.
    pub(crate) fn budget_key(&self) -> (bool, &str) {
        match &self.org {
            Some(org) => (true, org),
            None => (false, &self.value),
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Token")
            .field(&format_args!("{REDACTED}"))
            .finish()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Token {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "glc_very-secret-value";

    #[test]
    fn debug_and_display_redact_the_value() {
        let token = Token::new(SECRET);
        let debug = format!("{token:?}");
        let pretty = format!("{token:#?}");
        let display = token.to_string();
        for out in [&debug, &pretty, &display] {
            assert!(!out.contains(SECRET), "token leaked in {out}");
            assert!(out.contains("<redacted>"), "{out}");
        }
    }

    #[test]
    fn expose_returns_the_value() {
        assert_eq!(Token::new(SECRET).expose(), SECRET);
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let token: Token = serde_json::from_str(&format!("\"{SECRET}\"")).unwrap();
        assert_eq!(token.expose(), SECRET);
    }

    #[test]
    fn whitespace_is_an_empty_token() {
        assert!(Token::new("  \n").is_empty());
        assert!(!Token::new(SECRET).is_empty());
    }
}

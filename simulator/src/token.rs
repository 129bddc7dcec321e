//! Secret values (bearer tokens, issued keys) that must never reach logs.

use std::{borrow::Borrow, fmt};

use rand::{Rng, distr::Alphanumeric};
use serde::{Deserialize, Serialize};

/// A secret string. `Debug` and `Display` print `<redacted>`; call
/// [`Token::expose`] to read the value (tests compare issued tokens with it).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A fresh random token: `prefix` followed by 32 alphanumeric characters.
    pub(crate) fn generate(prefix: &str) -> Self {
        let body: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        Self(format!("{prefix}{body}"))
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

// Lets maps keyed by `Token` be queried with a `&str` (same hash as `String`).
impl Borrow<str> for Token {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_value() {
        let token = Token::new("super-secret");
        assert_eq!(format!("{token:?}"), "<redacted>");
        assert_eq!(format!("{token}"), "<redacted>");
        assert_eq!(token.expose(), "super-secret");
    }

    #[test]
    fn generated_tokens_are_unique_and_prefixed() {
        let a = Token::generate("glc_");
        let b = Token::generate("glc_");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("glc_"));
        assert_eq!(a.expose().len(), 36);
    }
}

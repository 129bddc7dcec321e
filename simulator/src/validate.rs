//! Input rules grafana.com enforces; violations answer 409 `InvalidArgument`.

use std::collections::BTreeMap;

use crate::error::ApiError;

const MAX_SLUG_LEN: usize = 29;
const MAX_LABELS: usize = 10;

/// Slugs match `^[a-z][a-z0-9]{0,28}$`.
pub fn slug(slug: &str) -> Result<(), ApiError> {
    let mut chars = slug.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if first_ok && rest_ok && slug.len() <= MAX_SLUG_LEN {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid slug {slug:?}: it must start with a lowercase letter, contain only \
             lowercase letters and digits, and be at most {MAX_SLUG_LEN} characters long"
        )))
    }
}

/// At most 10 labels; keys and values match `^[a-zA-Z0-9/\-._]+$`.
pub fn labels(labels: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid(format!(
            "Too many labels: at most {MAX_LABELS} are allowed"
        )));
    }
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_'))
    };
    match labels.iter().find(|(k, v)| !valid(k) || !valid(v)) {
        Some((key, _)) => Err(ApiError::invalid(format!(
            "Invalid label {key:?}: keys and values must match ^[a-zA-Z0-9/\\-._]+$"
        ))),
        None => Ok(()),
    }
}

/// Custom stack URLs must be https.
pub fn url(url: &str) -> Result<(), ApiError> {
    match url.strip_prefix("https://") {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Invalid url {url:?}: it must be an https URL"
        ))),
    }
}

/// Stack key roles.
pub fn stack_key_role(role: &str) -> Result<(), ApiError> {
    match role {
        "Viewer" | "Editor" | "Admin" => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Invalid role {role:?}: one of Viewer, Editor, Admin"
        ))),
    }
}

/// Org key roles.
pub fn org_key_role(role: &str) -> Result<(), ApiError> {
    match role {
        "Viewer" | "Editor" | "Admin" | "MetricsPublisher" | "PluginPublisher" => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Invalid role {role:?}: one of Viewer, Editor, Admin, MetricsPublisher, PluginPublisher"
        ))),
    }
}

/// Key names are non-empty.
pub fn key_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        Err(ApiError::invalid("Invalid name: it must not be empty"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules_follow_the_terraform_provider_pattern() {
        assert!(slug("a").is_ok());
        assert!(slug("team1prod").is_ok());
        assert!(slug(&format!("a{}", "b".repeat(28))).is_ok());
        assert!(slug(&format!("a{}", "b".repeat(29))).is_err());
        assert!(slug("").is_err());
        assert!(slug("1abc").is_err());
        assert!(slug("ab-c").is_err());
        assert!(slug("Abc").is_err());
    }

    #[test]
    fn labels_are_limited_in_number_and_charset() {
        let ok: BTreeMap<_, _> = [("team/a".to_owned(), "x.y_z-1".to_owned())].into();
        assert!(labels(&ok).is_ok());
        let bad: BTreeMap<_, _> = [("team a".to_owned(), "x".to_owned())].into();
        assert!(labels(&bad).is_err());
        let many: BTreeMap<_, _> = (0..11).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(labels(&many).is_err());
    }

    #[test]
    fn urls_must_be_https() {
        assert!(url("https://grafana.example.com").is_ok());
        assert!(url("http://grafana.example.com").is_err());
        assert!(url("https://").is_err());
    }
}

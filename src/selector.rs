//! Parses Kubernetes label selector strings (`team=platform,env in (dev,prod),!legacy`).

use std::collections::BTreeSet;

use kube::core::{Expression, Selector};

/// A label selector string that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("failed to parse label selector {selector:?}: {problem}")]
pub struct ParseSelectorError {
    pub selector: String,
    pub problem: &'static str,
}

/// Parses the string form of a label selector, as `kubectl get -l` accepts it.
pub fn parse_selector(text: &str) -> Result<Selector, ParseSelectorError> {
    let fail = |problem| ParseSelectorError {
        selector: text.to_string(),
        problem,
    };
    let mut expressions = Vec::new();
    for term in split_terms(text).map_err(fail)? {
        expressions.push(parse_term(term).map_err(fail)?);
    }
    if expressions.is_empty() {
        return Err(fail("the selector is empty"));
    }
    Ok(expressions.into_iter().collect())
}

/// Splits on commas that are not inside parentheses.
fn split_terms(text: &str) -> Result<Vec<&str>, &'static str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or("unbalanced parentheses")?,
            ',' if depth == 0 => {
                terms.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses");
    }
    terms.push(text[start..].trim());
    Ok(terms.into_iter().filter(|t| !t.is_empty()).collect())
}

fn parse_term(term: &str) -> Result<Expression, &'static str> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok(Expression::DoesNotExist(key_of(key)?));
    }
    for (op, not) in [(" notin ", true), (" in ", false)] {
        if let Some((key, values)) = term.split_once(op) {
            let values = parse_set(values)?;
            let key = key_of(key)?;
            return Ok(if not {
                Expression::NotIn(key, values)
            } else {
                Expression::In(key, values)
            });
        }
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(Expression::NotEqual(key_of(key)?, value_of(value)?));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(Expression::Equal(key_of(key)?, value_of(value)?));
    }
    Ok(Expression::Exists(key_of(term)?))
}

fn parse_set(text: &str) -> Result<BTreeSet<String>, &'static str> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or("a set must be written as (a,b)")?;
    inner.split(',').map(value_of).collect()
}

fn key_of(text: &str) -> Result<String, &'static str> {
    let key = text.trim();
    let valid = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if valid {
        Ok(key.to_string())
    } else {
        Err("invalid label key")
    }
}

fn value_of(text: &str) -> Result<String, &'static str> {
    let value = text.trim();
    let valid = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(value.to_string())
    } else {
        Err("invalid label value")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kube::core::SelectorExt;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equality_terms_all_must_match() {
        let sel = parse_selector("team=platform, env==dev").expect("parses");
        assert!(sel.matches(&labels(&[("team", "platform"), ("env", "dev")])));
        assert!(!sel.matches(&labels(&[("team", "platform")])));
    }

    #[test]
    fn set_and_existence_terms() {
        let sel =
            parse_selector("env in (dev, prod),tier notin (db),managed,!legacy").expect("parses");
        assert!(sel.matches(&labels(&[
            ("env", "prod"),
            ("tier", "web"),
            ("managed", "")
        ])));
        assert!(!sel.matches(&labels(&[("env", "qa"), ("managed", "")])));
        assert!(!sel.matches(&labels(&[("env", "dev"), ("managed", ""), ("legacy", "1")])));
        assert!(!sel.matches(&labels(&[("env", "dev")])));
    }

    #[test]
    fn inequality() {
        let sel = parse_selector("env!=prod").expect("parses");
        assert!(sel.matches(&labels(&[("env", "dev")])));
        assert!(!sel.matches(&labels(&[("env", "prod")])));
    }

    #[test]
    fn bad_selectors_are_rejected() {
        for bad in ["", "env in (dev", "env in dev", "a b=c", "k=v w"] {
            assert!(parse_selector(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}

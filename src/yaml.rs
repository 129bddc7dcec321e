//! YAML for the files the project commits: CRDs and alert rules.

/// `value` as YAML, with every string that has no newline on one line, however long, so that
/// changing one description or expression changes one line of the file. Strings with
/// newlines are literal blocks (`|`).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(value, options)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    #[test]
    fn long_strings_stay_on_one_line_and_multi_line_strings_are_literal_blocks() {
        let long = "word ".repeat(40).trim_end().to_string();
        let yaml = super::to_string(&json!({"long": long, "lines": "one\ntwo\n"})).unwrap();
        assert!(
            yaml.lines().any(|line| line == format!("long: {long}")),
            "a long string is one plain line:\n{yaml}"
        );
        assert!(
            yaml.contains("lines: |\n  one\n  two\n"),
            "a multi-line string is a literal block:\n{yaml}"
        );
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(
            back["long"],
            long.as_str(),
            "the long string reads back whole"
        );
        assert_eq!(back["lines"], "one\ntwo\n", "the block reads back whole");
    }
}

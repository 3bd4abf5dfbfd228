//! `| regexp "(?P<name>...)"`: named groups of the first match become labels (names
//! suffixed `_extracted` on a clash with a stream label); a line that does not match
//! passes unchanged, without labels.

use regex::Regex;

use super::go_regex;
use super::hints::ParserHints;
use super::labels::{DUPLICATE_SUFFIX, LabelsBuilder};

/// The compiled stage.
#[derive(Debug)]
pub(crate) struct RegexpParser {
    regex: Regex,
    /// (group index, label name) of every named group.
    names: Vec<(usize, String)>,
}

impl RegexpParser {
    /// Compiles the stage; the error text is Loki's.
    pub(crate) fn new(src: &str) -> Result<Self, String> {
        let regex = go_regex::compile(src).map_err(|e| format!("error parsing regexp: {e}"))?;
        let mut names = Vec::new();
        for (i, n) in regex.capture_names().enumerate() {
            let Some(n) = n else { continue };
            if !logql::labels::is_valid_label_name(n) {
                return Err(format!("invalid extracted label name '{n}'"));
            }
            if names.iter().any(|(_, x)| x == n) {
                return Err(format!("duplicate extracted label name '{n}'"));
            }
            names.push((i, n.to_owned()));
        }
        if names.is_empty() {
            return Err("at least one named capture must be supplied".to_owned());
        }
        Ok(Self { regex, names })
    }

    /// Extracts the named groups of `line`.
    pub(crate) fn process(
        &self,
        line: &str,
        lbs: &mut LabelsBuilder,
        name: &mut String,
        hints: Option<&ParserHints>,
    ) {
        let Some(caps) = self.regex.captures(line) else {
            return;
        };
        for (i, n) in &self.names {
            if hints.is_some_and(|h| !h.should_extract(n)) {
                continue;
            }
            name.clear();
            name.push_str(n);
            if lbs.base_has(n) {
                name.push_str(DUPLICATE_SUFFIX);
            }
            if !lbs.should_extract(name) {
                continue;
            }
            // Go reports a group that did not take part as an empty value
            let v = caps.get(*i).map_or("", |m| m.as_str());
            lbs.set(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;

    fn run(re: &str, line: &str) -> String {
        let p = RegexpParser::new(re).unwrap();
        let mut lbs = LabelsBuilder::new(LabelSet::from_pairs([("host", "web-1")]));
        p.process(line, &mut lbs, &mut String::new(), None);
        lbs.to_label_set().to_string()
    }

    #[test]
    fn extracts_named_groups() {
        assert_eq!(
            run(
                r#"^(?P<ip>\S+) - (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>\w+) (?P<path>\S+)"#,
                r#"10.0.5.204 - - [20/Nov/2026:00:00:43 +0000] "GET /static/style.css HTTP/1.1""#
            ),
            r#"{host="web-1", ip="10.0.5.204", method="GET", path="/static/style.css", ts="20/Nov/2026:00:00:43 +0000", user="-"}"#
        );
        assert_eq!(
            run("(?P<host>web-[0-9]) (?P<x>a)?", "web-2 b"),
            r#"{host="web-1", host_extracted="web-2", x=""}"#
        );
    }

    #[test]
    fn non_matching_lines_pass_unchanged() {
        assert_eq!(
            run(r"Failed password for (?P<who>\w+)", "kernel: up"),
            r#"{host="web-1"}"#
        );
    }

    #[test]
    fn rejects_regex_without_named_group() {
        assert_eq!(
            RegexpParser::new("nocapture").unwrap_err(),
            "at least one named capture must be supplied"
        );
        assert!(RegexpParser::new("(?P<a>x)(?P<a>y)").is_err());
    }
}

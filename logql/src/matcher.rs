//! Label matchers: the `name op "value"` terms of a stream selector and of string
//! label filters. Regular expressions are fully anchored, as in Loki and Prometheus.

use std::fmt;

use regex::Regex;

use crate::labels::{LabelSet, go_quote};

/// The comparison a matcher applies to a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `=~` (fully anchored regex)
    Re,
    /// `!~` (fully anchored regex)
    Nre,
}

impl MatchOp {
    /// The operator as written in LogQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Neq => "!=",
            MatchOp::Re => "=~",
            MatchOp::Nre => "!~",
        }
    }
}

/// One `name op "value"` term; a missing label matches as the empty string.
#[derive(Clone, Debug)]
pub struct LabelMatcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// The value or regex source as written.
    pub value: String,
    /// Compiled `^(?:value)$` for regex operators.
    regex: Option<Regex>,
}

/// A regex in a matcher did not compile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("error parsing regexp: {0}")]
pub struct MatcherError(pub String);

impl LabelMatcher {
    /// Builds a matcher, compiling (anchored) regexes.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let value = value.into();
        let regex = match op {
            MatchOp::Re | MatchOp::Nre => Some(
                // Go's meaning of `\d`, `\w`, `\s`, `\b` (ASCII), as in Loki
                Regex::new(&format!("^(?:{})$", crate::goregex::translate(&value)))
                    .map_err(|e| MatcherError(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(Self {
            name: name.into(),
            op,
            value,
            regex,
        })
    }

    /// True if `value` (the empty string for a missing label) satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Eq => value == self.value,
            MatchOp::Neq => value != self.value,
            MatchOp::Re => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::Nre => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// True if this matcher accepts the empty string (so it also matches a missing label).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// Applies the matcher to a label set.
    pub fn matches_labels(&self, labels: &LabelSet) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

/// True if every matcher accepts `labels`.
pub fn matches_all(matchers: &[LabelMatcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

impl PartialEq for LabelMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for LabelMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        go_quote(&self.value, &mut s);
        write!(f, "{}{}{}", self.name, self.op.as_str(), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_match_like_go() {
        let m = LabelMatcher::new("app", MatchOp::Re, r"\w+").unwrap();
        assert!(m.matches("api_1"));
        assert!(!m.matches("café"));
    }

    #[test]
    fn regex_is_anchored() {
        let m = LabelMatcher::new("app", MatchOp::Re, "check").unwrap();
        assert!(!m.matches("checkout"));
        assert!(m.matches("check"));
        let m = LabelMatcher::new("team", MatchOp::Eq, "").unwrap();
        assert!(m.matches_labels(&LabelSet::from_pairs([("job", "x")])));
    }
}

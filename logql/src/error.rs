//! Parse and validation errors, worded as Loki words them.

use std::fmt;

/// A query that could not be parsed or is not valid LogQL.
///
/// `Display` gives Loki's exact text (what the HTTP API returns with status 400), e.g.
/// `parse error at line 1, col 12: syntax error: unexpected IDENTIFIER` or
/// `parse error : grouping not allowed for sum_over_time aggregation`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// A syntax or lexical error at a position. Loki reports some positions with line 0
    /// (tokens its lexer finishes with extra reads); line 0 and col 0 together print as
    /// `parse error : msg`.
    Syntax {
        /// 1-based line (or 0, see above).
        line: usize,
        /// 1-based column in characters (or 0).
        col: usize,
        /// Loki's message after the position, e.g. `syntax error: unexpected $end`.
        msg: String,
    },
    /// A semantically invalid query, printed as `parse error : <msg>`, e.g.
    /// `queries require at least one regexp or equality matcher that does not have an empty-compatible value...`.
    Invalid(String),
    /// An error Loki prints without the `parse error` prefix (e.g. a query that is not a
    /// bare selector where only a selector is allowed).
    Other(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Syntax {
                line: 0,
                col: 0,
                msg,
            }
            | ParseError::Invalid(msg) => {
                write!(f, "parse error : {msg}")
            }
            ParseError::Syntax { line, col, msg } => {
                write!(f, "parse error at line {line}, col {col}: {msg}")
            }
            ParseError::Other(msg) => f.write_str(msg),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ParseError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_loki() {
        let e = ParseError::Syntax {
            line: 1,
            col: 12,
            msg: "syntax error: unexpected IDENTIFIER".into(),
        };
        assert_eq!(
            e.to_string(),
            "parse error at line 1, col 12: syntax error: unexpected IDENTIFIER"
        );
        let e = ParseError::Syntax {
            line: 0,
            col: 0,
            msg: "syntax error: unexpected $end".into(),
        };
        assert_eq!(e.to_string(), "parse error : syntax error: unexpected $end");
        assert_eq!(
            ParseError::Invalid("x".into()).to_string(),
            "parse error : x"
        );
    }
}

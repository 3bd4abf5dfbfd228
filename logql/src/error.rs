//! Parse and validation errors, worded as Loki words them.

/// A query that could not be parsed or is not valid LogQL.
///
/// `Display` gives Loki's exact text, e.g.
/// `parse error at line 1, col 12: syntax error: unexpected IDENTIFIER`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// A syntax error at a position (1-based line and column).
    #[error("parse error at line {line}, col {col}: {msg}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Loki's message after the position, e.g. `syntax error: unexpected $end`.
        msg: String,
    },
    /// A semantically invalid query whose message Loki prints without a position,
    /// e.g. `queries require at least one regexp or equality matcher that does not have an empty-compatible value...`.
    #[error("{0}")]
    Invalid(String),
}

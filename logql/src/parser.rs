//! The LogQL parser (chumsky). To be written.

use crate::{Expr, LabelMatcher, ParseError};

/// Parses and validates a whole query.
pub fn parse_expr(_query: &str) -> Result<Expr, ParseError> {
    todo!("logql parser")
}

/// Parses a bare stream selector.
pub fn parse_selector(_query: &str) -> Result<Vec<LabelMatcher>, ParseError> {
    todo!("logql selector parser")
}

//! LogQL for Fenrir: label sets and matchers (the identity of streams), the AST, the
//! chumsky parser that builds it, the canonical printer, and validation.
//!
//! Data flow: query text -> [`parse_expr`] -> [`ast::Expr`] -> (frontend splits/shards it)
//! -> querier evaluates it. [`labels::LabelSet`] and [`matcher::LabelMatcher`] live here
//! because every later crate (storage, ingest, querier) needs them.

pub mod ast;
pub mod error;
pub mod labels;
pub mod matcher;
pub mod parser;
pub mod printer;

pub use ast::Expr;
pub use error::ParseError;
pub use labels::LabelSet;
pub use matcher::{LabelMatcher, MatchOp};

/// Parses and validates a whole LogQL query.
pub fn parse_expr(query: &str) -> Result<Expr, ParseError> {
    parser::parse_expr(query)
}

/// Parses a bare stream selector such as `{job="api", env=~"prod|dev"}` (as used by
/// `/series` `match[]` and `/labels` `query`).
pub fn parse_selector(query: &str) -> Result<Vec<LabelMatcher>, ParseError> {
    parser::parse_selector(query)
}

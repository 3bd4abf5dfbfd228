//! LogQL for Fenrir: label sets and matchers (the identity of streams), the AST, the
//! chumsky parser that builds it, the canonical printer, and validation.
//!
//! Data flow: query text -> [`parse_expr`] -> [`ast::Expr`] -> (frontend splits/shards it)
//! -> querier evaluates it. [`labels::LabelSet`] and [`matcher::LabelMatcher`] live here
//! because every later crate (storage, ingest, querier) needs them.
//!
//! Parsing runs in three steps, each reproducing Loki (2.9.9 where versions differ, as
//! the conformance corpus pins it; Loki 3 syntax is accepted where 2.9 had none):
//! 1. `lexer`: text -> tokens with Loki's positions (Go `text/scanner` semantics);
//! 2. `grammar`: chumsky over the tokens -> a raw tree; failures become goyacc-style
//!    `syntax error: unexpected X, expecting A or B` messages ([`parser`]);
//! 3. [`validate`]: the checks Loki makes while reducing (regexes, unwrap/grouping rules,
//!    parameters, literal folding) and after (empty-compatible selectors).
//!
//! [`printer`] gives Loki's canonical `String()` form through `Display`, and
//! [`format_query`] the prettified form of `/loki/api/v1/format_query`.

pub mod ast;
pub mod error;
pub mod goregex;
mod grammar;
pub mod labels;
mod lexer;
pub mod matcher;
pub mod parser;
mod prettier;
pub mod printer;
pub mod units;
pub mod validate;

pub use ast::Expr;
pub use error::ParseError;
pub use grammar::Dialect;
pub use labels::LabelSet;
pub use matcher::{LabelMatcher, MatchOp};
pub use printer::format_query;

/// Parses and validates a whole LogQL query as Loki 3.x does.
pub fn parse_expr(query: &str) -> Result<Expr, ParseError> {
    parser::parse_expr(query)
}

/// Parses and validates a whole LogQL query in an explicit [`Dialect`] (e.g. Loki 3's
/// `|= "a" or "b"` line filters).
pub fn parse_expr_with(query: &str, dialect: Dialect) -> Result<Expr, ParseError> {
    parser::parse_expr_with(query, dialect)
}

/// Parses a bare stream selector such as `{job="api", env=~"prod|dev"}` (as used by
/// `/series` `match[]` and `/labels` `query`).
pub fn parse_selector(query: &str) -> Result<Vec<LabelMatcher>, ParseError> {
    parser::parse_selector(query)
}

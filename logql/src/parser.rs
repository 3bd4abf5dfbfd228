//! The LogQL parser: text -> `lexer` tokens -> `grammar` (chumsky) raw
//! tree -> [`crate::validate`] -> AST, with Loki's error texts at every step.

use chumsky::error::{Rich, RichPattern, RichReason};

use crate::ast::Expr;
use crate::error::ParseError;
use crate::grammar::{self, Dialect, NOT_METRIC, RMatcher};
use crate::lexer::{self, Lexed, Tok, loki_token_rank};
use crate::matcher::{LabelMatcher, MatchOp};

/// Loki's limit on query length (`len(input) >= 5120` is rejected).
pub const MAX_INPUT_SIZE: usize = 5120;

/// Parses and validates a whole query the way Loki 3.x does.
pub fn parse_expr(query: &str) -> Result<Expr, ParseError> {
    parse_expr_with(query, Dialect::LOKI_3)
}

/// Parses and validates a whole query with an explicit [`Dialect`] (e.g. Loki 3's
/// `|= "a" or "b"`).
pub fn parse_expr_with(query: &str, dialect: Dialect) -> Result<Expr, ParseError> {
    if query.len() >= MAX_INPUT_SIZE {
        return Err(ParseError::Invalid(format!(
            "input size too long ({} > {MAX_INPUT_SIZE})",
            query.len()
        )));
    }
    let lexed = lexer::lex(query);
    let toks: Vec<Tok> = lexed.tokens.iter().map(|t| t.tok.clone()).collect();
    let raw = match grammar::parse_tokens(&toks, dialect) {
        Ok(raw) => raw,
        Err(errs) => {
            let syntax = errs
                .iter()
                .min_by_key(|e| e.span().start)
                .map(|e| syntax_error(&lexed, e))
                .map(|(idx, e)| {
                    (
                        idx,
                        earlier_reduction_error(&toks[..idx.min(toks.len())]).unwrap_or(e),
                    )
                });
            // a lexer error wins unless the parser failed on an earlier token
            return Err(match (&lexed.error, syntax) {
                (Some(le), Some((idx, se))) if idx < le.index => se,
                (Some(le), _) => ParseError::Syntax {
                    line: le.line,
                    col: le.col,
                    msg: le.msg.clone(),
                },
                (None, Some((_, se))) => se,
                (None, None) => ParseError::Syntax {
                    line: lexed.eof.0,
                    col: lexed.eof.1,
                    msg: "syntax error".to_string(),
                },
            });
        }
    };
    if let Some(le) = &lexed.error {
        return Err(ParseError::Syntax {
            line: le.line,
            col: le.col,
            msg: le.msg.clone(),
        });
    }
    crate::validate::convert(raw)
}

/// Parses a bare stream selector such as `{job="api"}` (for `/series` and `/labels`).
pub fn parse_selector(query: &str) -> Result<Vec<LabelMatcher>, ParseError> {
    match parse_expr(query)? {
        Expr::Log(l) if l.pipeline.is_empty() => Ok(l.selector),
        _ => Err(ParseError::Other(
            "only label matchers are supported".to_string(),
        )),
    }
}

/// Loki checks matcher regexes and `regexp`/`pattern` parsers as soon as its parser
/// reduces them, so such an error before a syntax error is the one Loki reports.
fn earlier_reduction_error(toks: &[Tok]) -> Option<ParseError> {
    for (i, w) in toks.windows(2).enumerate() {
        match w {
            [Tok::Regexp, Tok::Str(re)] => {
                if let Err(e) = crate::validate::check_regexp_parser(re) {
                    return Some(e);
                }
            }
            [Tok::Pattern, Tok::Str(p)] => {
                if let Err(e) = crate::validate::check_pattern_parser(p) {
                    return Some(e);
                }
            }
            [Tok::Ident(name), op @ (Tok::Re | Tok::Nre)] => {
                if let Some(Tok::Str(value)) = toks.get(i + 2) {
                    let op = if *op == Tok::Re {
                        MatchOp::Re
                    } else {
                        MatchOp::Nre
                    };
                    let m = RMatcher {
                        name: name.clone(),
                        op,
                        value: value.clone(),
                    };
                    if let Err(e) = crate::validate::matcher(m) {
                        return Some(e);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Turns chumsky's furthest error into Loki's `syntax error: unexpected X[, expecting A or B]`;
/// returns the token index of the error too.
fn syntax_error(lexed: &Lexed, e: &Rich<'_, Tok>) -> (usize, ParseError) {
    let idx = e.span().start;
    let (line, col, found) = match lexed.tokens.get(idx) {
        Some(t) => (t.line, t.col, t.tok.loki_name()),
        None => (lexed.eof.0, lexed.eof.1, "$end"),
    };
    let mut msg = format!("syntax error: unexpected {found}");
    if let RichReason::ExpectedFound { expected, .. } = e.reason() {
        let mut names: Vec<&str> = Vec::new();
        let mut listable = true;
        for p in expected {
            match p {
                RichPattern::Token(t) => names.push(t.loki_name()),
                RichPattern::Label(l) if l == NOT_METRIC => listable = false,
                RichPattern::Label(l) if l.is_empty() => {}
                RichPattern::Label(l) => names.push(l.as_ref()),
                _ => listable = false,
            }
        }
        names.sort_by_key(|n| loki_token_rank(n));
        names.dedup();
        if listable && !names.is_empty() && names.len() <= 4 {
            msg.push_str(", expecting ");
            msg.push_str(&names.join(" or "));
        }
    } else if let RichReason::Custom(c) = e.reason()
        && c != NOT_METRIC
    {
        msg = format!("syntax error: {c}");
    }
    (idx, ParseError::Syntax { line, col, msg })
}

//! The LogQL lexer: query text -> tokens with positions.
//!
//! It reproduces Loki's lexer (Go's `text/scanner` plus Loki's keyword tables) closely
//! enough that error positions and token names match Loki's messages:
//! - keywords are case-insensitive; function names (`rate`, `sum`, `bytes`, ...) are
//!   keywords only when followed by `(` or by `by (`/`without (`, else identifiers;
//! - a number glued to a unit is a DURATION (`5m`, `1.5s`) or BYTES (`20MB`) token;
//! - `[...]` is one RANGE token parsed as a Prometheus duration;
//! - `#` starts a comment to the end of the line, and Go's `//` and `/* */` comments
//!   are skipped as whitespace;
//! - positions are 1-based line and column (in characters) of the token start, with
//!   the line reported as 0 for tokens Loki finishes with extra reads (two-character
//!   operators, durations, bytes, flags, ranges), as Loki does.

use crate::ast::{RangeOp, VectorOp};
use crate::units;

/// A token kind (with its value for literals).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Number(String),
    Duration(i64),
    Range(i64),
    Bytes(u64),
    Flag(String),
    Comma,
    Dot,
    LBrace,
    RBrace,
    Eq,
    Neq,
    Re,
    Nre,
    Npa,
    PipeExact,
    PipeMatch,
    PipePattern,
    Pipe,
    LParen,
    RParen,
    RBracket,
    Or,
    And,
    Unless,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    CmpEq,
    Gt,
    Gte,
    Lt,
    Lte,
    By,
    Without,
    Bool,
    Unwrap,
    LabelReplace,
    Offset,
    On,
    Ignoring,
    GroupLeft,
    GroupRight,
    Json,
    Regexp,
    Logfmt,
    Unpack,
    Pattern,
    LabelFmt,
    LineFmt,
    Ip,
    Decolorize,
    Drop,
    Keep,
    RangeFn(RangeOp),
    VectorFn(VectorOp),
    Vector,
    BytesConv,
    DurationConv,
    DurationSecondsConv,
}

impl Tok {
    /// The name Loki's parser uses for this token in `unexpected X` messages.
    pub(crate) fn loki_name(&self) -> &'static str {
        match self {
            Tok::Ident(_) => "IDENTIFIER",
            Tok::Str(_) => "STRING",
            Tok::Number(_) => "NUMBER",
            Tok::Duration(_) => "DURATION",
            Tok::Range(_) => "RANGE",
            Tok::Bytes(_) => "BYTES",
            Tok::Flag(_) => "PARSER_FLAG",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Re => "=~",
            Tok::Nre => "!~",
            Tok::Npa => "!>",
            Tok::PipeExact => "|=",
            Tok::PipeMatch => "|~",
            Tok::PipePattern => "|>",
            Tok::Pipe => "|",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::RBracket => "]",
            Tok::Or => "or",
            Tok::And => "and",
            Tok::Unless => "unless",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::CmpEq => "==",
            Tok::Gt => ">",
            Tok::Gte => ">=",
            Tok::Lt => "<",
            Tok::Lte => "<=",
            Tok::By => "by",
            Tok::Without => "without",
            Tok::Bool => "bool",
            Tok::Unwrap => "unwrap",
            Tok::LabelReplace => "label_replace",
            Tok::Offset => "offset",
            Tok::On => "on",
            Tok::Ignoring => "ignoring",
            Tok::GroupLeft => "group_left",
            Tok::GroupRight => "group_right",
            Tok::Json => "json",
            Tok::Regexp => "regexp",
            Tok::Logfmt => "logfmt",
            Tok::Unpack => "unpack",
            Tok::Pattern => "pattern",
            Tok::LabelFmt => "label_format",
            Tok::LineFmt => "line_format",
            Tok::Ip => "ip",
            Tok::Decolorize => "decolorize",
            Tok::Drop => "drop",
            Tok::Keep => "keep",
            Tok::RangeFn(op) => match op {
                RangeOp::Count => "COUNT_OVER_TIME",
                RangeOp::Rate => "RATE",
                RangeOp::RateCounter => "RATE_COUNTER",
                RangeOp::Bytes => "BYTES_OVER_TIME",
                RangeOp::BytesRate => "BYTES_RATE",
                RangeOp::Absent => "ABSENT_OVER_TIME",
                RangeOp::Sum => "SUM_OVER_TIME",
                RangeOp::Avg => "AVG_OVER_TIME",
                RangeOp::Min => "MIN_OVER_TIME",
                RangeOp::Max => "MAX_OVER_TIME",
                RangeOp::Stdvar => "STDVAR_OVER_TIME",
                RangeOp::Stddev => "STDDEV_OVER_TIME",
                RangeOp::Quantile => "QUANTILE_OVER_TIME",
                RangeOp::First => "FIRST_OVER_TIME",
                RangeOp::Last => "LAST_OVER_TIME",
            },
            Tok::VectorFn(op) => match op {
                VectorOp::Sum => "SUM",
                VectorOp::Avg => "AVG",
                VectorOp::Min => "MIN",
                VectorOp::Max => "MAX",
                VectorOp::Stddev => "STDDEV",
                VectorOp::Stdvar => "STDVAR",
                VectorOp::Count => "COUNT",
                VectorOp::Topk => "TOPK",
                VectorOp::Bottomk => "BOTTOMK",
                VectorOp::Sort => "SORT",
                VectorOp::SortDesc => "SORT_DESC",
                VectorOp::ApproxTopk => "APPROX_TOPK",
            },
            Tok::Vector => "VECTOR",
            Tok::BytesConv => "BYTES_CONV",
            Tok::DurationConv => "DURATION_CONV",
            Tok::DurationSecondsConv => "DURATION_SECONDS_CONV",
        }
    }
}

/// Loki's token declaration order, used to order `expecting A or B` lists.
pub(crate) fn loki_token_rank(name: &str) -> usize {
    const ORDER: &[&str] = &[
        "BYTES",
        "IDENTIFIER",
        "STRING",
        "NUMBER",
        "PARSER_FLAG",
        "DURATION",
        "RANGE",
        "=",
        "=~",
        "!~",
        "!>",
        "{",
        "}",
        "[",
        "]",
        ",",
        ".",
        "|~",
        "|=",
        "|>",
        "(",
        ")",
        "by",
        "without",
        "COUNT_OVER_TIME",
        "RATE",
        "RATE_COUNTER",
        "SUM",
        "SORT",
        "SORT_DESC",
        "AVG",
        "MAX",
        "MIN",
        "COUNT",
        "STDDEV",
        "STDVAR",
        "BOTTOMK",
        "TOPK",
        "APPROX_TOPK",
        "BYTES_OVER_TIME",
        "BYTES_RATE",
        "bool",
        "json",
        "regexp",
        "logfmt",
        "|",
        "line_format",
        "label_format",
        "unwrap",
        "AVG_OVER_TIME",
        "SUM_OVER_TIME",
        "MIN_OVER_TIME",
        "MAX_OVER_TIME",
        "STDVAR_OVER_TIME",
        "STDDEV_OVER_TIME",
        "QUANTILE_OVER_TIME",
        "BYTES_CONV",
        "DURATION_CONV",
        "DURATION_SECONDS_CONV",
        "FIRST_OVER_TIME",
        "LAST_OVER_TIME",
        "ABSENT_OVER_TIME",
        "VECTOR",
        "label_replace",
        "unpack",
        "offset",
        "pattern",
        "ip",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "decolorize",
        "drop",
        "keep",
        "or",
        "and",
        "unless",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
    ];
    ORDER.iter().position(|n| *n == name).unwrap_or(ORDER.len())
}

/// A token with its position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based line, or 0 when Loki reports it as 0 (see module docs).
    pub line: usize,
    /// 1-based column in characters.
    pub col: usize,
}

/// A lexer error: the message Loki prints, where, and how many tokens came before it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LexError {
    pub index: usize,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

/// The lexer's output: tokens up to the first error, the error, and where `$end` is.
#[derive(Debug)]
pub(crate) struct Lexed {
    pub tokens: Vec<Token>,
    pub error: Option<LexError>,
    /// Position Loki reports for an unexpected end of input.
    pub eof: (usize, usize),
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    col: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
}

fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn is_duration_rune(c: char) -> bool {
    matches!(c, 'n' | 'u' | 'µ' | 'm' | 's' | 'h' | 'd' | 'w' | 'y')
}

fn is_bytes_rune(c: char) -> bool {
    matches!(c, 'B' | 'i' | 'k' | 'K' | 'M' | 'G' | 'T' | 'P')
}

fn function_token(lower: &str) -> Option<Tok> {
    Some(match lower {
        "rate" => Tok::RangeFn(RangeOp::Rate),
        "rate_counter" => Tok::RangeFn(RangeOp::RateCounter),
        "count_over_time" => Tok::RangeFn(RangeOp::Count),
        "bytes_rate" => Tok::RangeFn(RangeOp::BytesRate),
        "bytes_over_time" => Tok::RangeFn(RangeOp::Bytes),
        "avg_over_time" => Tok::RangeFn(RangeOp::Avg),
        "sum_over_time" => Tok::RangeFn(RangeOp::Sum),
        "min_over_time" => Tok::RangeFn(RangeOp::Min),
        "max_over_time" => Tok::RangeFn(RangeOp::Max),
        "stdvar_over_time" => Tok::RangeFn(RangeOp::Stdvar),
        "stddev_over_time" => Tok::RangeFn(RangeOp::Stddev),
        "quantile_over_time" => Tok::RangeFn(RangeOp::Quantile),
        "first_over_time" => Tok::RangeFn(RangeOp::First),
        "last_over_time" => Tok::RangeFn(RangeOp::Last),
        "absent_over_time" => Tok::RangeFn(RangeOp::Absent),
        "vector" => Tok::Vector,
        "sum" => Tok::VectorFn(VectorOp::Sum),
        "avg" => Tok::VectorFn(VectorOp::Avg),
        "max" => Tok::VectorFn(VectorOp::Max),
        "min" => Tok::VectorFn(VectorOp::Min),
        "count" => Tok::VectorFn(VectorOp::Count),
        "stddev" => Tok::VectorFn(VectorOp::Stddev),
        "stdvar" => Tok::VectorFn(VectorOp::Stdvar),
        "bottomk" => Tok::VectorFn(VectorOp::Bottomk),
        "topk" => Tok::VectorFn(VectorOp::Topk),
        "sort" => Tok::VectorFn(VectorOp::Sort),
        "sort_desc" => Tok::VectorFn(VectorOp::SortDesc),
        "approx_topk" => Tok::VectorFn(VectorOp::ApproxTopk),
        "label_replace" => Tok::LabelReplace,
        "bytes" => Tok::BytesConv,
        "duration" => Tok::DurationConv,
        "duration_seconds" => Tok::DurationSecondsConv,
        "ip" => Tok::Ip,
        _ => return None,
    })
}

fn keyword_token(lower: &str) -> Option<Tok> {
    Some(match lower {
        "," => Tok::Comma,
        "." => Tok::Dot,
        "{" => Tok::LBrace,
        "}" => Tok::RBrace,
        "=" => Tok::Eq,
        "!=" => Tok::Neq,
        "=~" => Tok::Re,
        "!~" => Tok::Nre,
        "!>" => Tok::Npa,
        "|=" => Tok::PipeExact,
        "|~" => Tok::PipeMatch,
        "|>" => Tok::PipePattern,
        "|" => Tok::Pipe,
        "unwrap" => Tok::Unwrap,
        "(" => Tok::LParen,
        ")" => Tok::RParen,
        "by" => Tok::By,
        "without" => Tok::Without,
        "bool" => Tok::Bool,
        "]" => Tok::RBracket,
        "label_replace" => Tok::LabelReplace,
        "offset" => Tok::Offset,
        "on" => Tok::On,
        "ignoring" => Tok::Ignoring,
        "group_left" => Tok::GroupLeft,
        "group_right" => Tok::GroupRight,
        "or" => Tok::Or,
        "and" => Tok::And,
        "unless" => Tok::Unless,
        "+" => Tok::Add,
        "-" => Tok::Sub,
        "*" => Tok::Mul,
        "/" => Tok::Div,
        "%" => Tok::Mod,
        "^" => Tok::Pow,
        "==" => Tok::CmpEq,
        ">" => Tok::Gt,
        ">=" => Tok::Gte,
        "<" => Tok::Lt,
        "<=" => Tok::Lte,
        "json" => Tok::Json,
        "regexp" => Tok::Regexp,
        "logfmt" => Tok::Logfmt,
        "unpack" => Tok::Unpack,
        "pattern" => Tok::Pattern,
        "label_format" => Tok::LabelFmt,
        "line_format" => Tok::LineFmt,
        "ip" => Tok::Ip,
        "decolorize" => Tok::Decolorize,
        "drop" => Tok::Drop,
        "keep" => Tok::Keep,
        _ => return None,
    })
}

/// Loki's `isFunction`: the next non-space text is `(`, or `by`/`without` then `(`.
fn is_function(rest: &str) -> bool {
    let r = rest.trim_start_matches(char::is_whitespace);
    if r.starts_with('(') {
        return true;
    }
    let lower: String = r.chars().take(7).collect::<String>().to_lowercase();
    for kw in ["by", "without"] {
        if lower.starts_with(kw) {
            let after = r[kw.len()..].trim_start_matches(char::is_whitespace);
            return after.starts_with('(');
        }
    }
    false
}

/// Lexes the whole query, stopping at the first error.
pub(crate) fn lex(src: &str) -> Lexed {
    let mut sc = Scanner {
        src,
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut tokens = Vec::new();
    let eof = if src.is_empty() {
        (0, 0)
    } else {
        let line = src.matches('\n').count() + 1;
        let last = src.rsplit('\n').next().unwrap_or("");
        (line, last.chars().count() + 1)
    };
    let err = |tokens: &Vec<Token>, line: usize, col: usize, msg: String| LexError {
        index: tokens.len(),
        line,
        col,
        msg,
    };
    loop {
        // skip whitespace and Go comments
        loop {
            match sc.peek() {
                Some(c) if is_go_space(c) => {
                    sc.bump();
                }
                Some('/') if sc.peek_at(1) == Some('/') => {
                    while let Some(c) = sc.peek() {
                        if c == '\n' {
                            break;
                        }
                        sc.bump();
                    }
                }
                Some('/') if sc.peek_at(1) == Some('*') => {
                    let (l, c) = (sc.line, sc.col);
                    sc.bump();
                    sc.bump();
                    let mut closed = false;
                    while let Some(ch) = sc.bump() {
                        if ch == '*' && sc.peek() == Some('/') {
                            sc.bump();
                            closed = true;
                            break;
                        }
                    }
                    if !closed {
                        let e = err(&tokens, l, c, "comment not terminated".to_string());
                        return Lexed {
                            tokens,
                            error: Some(e),
                            eof,
                        };
                    }
                }
                _ => break,
            }
        }
        let (line, col) = (sc.line, sc.col);
        let start = sc.pos;
        let Some(c) = sc.bump() else {
            break;
        };
        let push = |tokens: &mut Vec<Token>, tok: Tok, zero_line: bool| {
            tokens.push(Token {
                tok,
                line: if zero_line { 0 } else { line },
                col,
            });
        };
        match c {
            '#' => {
                while let Some(ch) = sc.peek() {
                    if ch == '\n' {
                        break;
                    }
                    sc.bump();
                }
            }
            '"' | '`' => match scan_string(&mut sc, c) {
                Ok(v) => push(&mut tokens, Tok::Str(v), false),
                Err(msg) => {
                    let e = err(&tokens, line, col, msg);
                    return Lexed {
                        tokens,
                        error: Some(e),
                        eof,
                    };
                }
            },
            '\'' => {
                // Go char literal: Loki turns it into an identifier.
                while let Some(ch) = sc.peek() {
                    if ch == '\n' {
                        break;
                    }
                    sc.bump();
                    if ch == '\\' {
                        sc.bump();
                    } else if ch == '\'' {
                        break;
                    }
                }
                push(
                    &mut tokens,
                    Tok::Ident(src[start..sc.pos].to_string()),
                    false,
                );
            }
            '[' => {
                let body_start = sc.pos;
                let mut closed = None;
                while let Some(ch) = sc.bump() {
                    if ch == ']' {
                        closed = Some(sc.pos - 1);
                        break;
                    }
                }
                let Some(end) = closed else {
                    let e = err(
                        &tokens,
                        0,
                        col,
                        "missing closing ']' in duration".to_string(),
                    );
                    return Lexed {
                        tokens,
                        error: Some(e),
                        eof,
                    };
                };
                match units::parse_prom_duration(&src[body_start..end]) {
                    Ok(d) => push(&mut tokens, Tok::Range(d), true),
                    Err(msg) => {
                        let e = err(&tokens, 0, col, msg);
                        return Lexed {
                            tokens,
                            error: Some(e),
                            eof,
                        };
                    }
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && sc.peek().is_some_and(|d| d.is_ascii_digit())) =>
            {
                scan_number(&mut sc, c);
                let text = &src[start..sc.pos];
                if let Some((d, used)) = try_suffix(&src[sc.pos..], text, true) {
                    advance(&mut sc, used);
                    push(&mut tokens, Tok::Duration(d as i64), true);
                } else if let Some((b, used)) = try_suffix(&src[sc.pos..], text, false) {
                    advance(&mut sc, used);
                    push(&mut tokens, Tok::Bytes(b), true);
                } else {
                    push(&mut tokens, Tok::Number(text.to_string()), false);
                }
            }
            '-' if sc.peek() == Some('-') && try_flag(&src[sc.pos..]).is_some() => {
                let used = try_flag(&src[sc.pos..]).unwrap_or(0);
                advance(&mut sc, used);
                push(&mut tokens, Tok::Flag(src[start..sc.pos].to_string()), true);
            }
            '-' if try_suffix(&src[sc.pos..], "-", true).is_some() => {
                let (d, used) = try_suffix(&src[sc.pos..], "-", true).unwrap_or((0, 0));
                advance(&mut sc, used);
                push(&mut tokens, Tok::Duration(d as i64), true);
            }
            c if is_ident_start(c) => {
                while sc.peek().is_some_and(is_ident_char) {
                    sc.bump();
                }
                let text = &src[start..sc.pos];
                let lower = text.to_lowercase();
                let tok = if let Some(t) = function_token(&lower) {
                    if is_function(&src[sc.pos..]) {
                        t
                    } else {
                        Tok::Ident(text.to_string())
                    }
                } else if let Some(t) = keyword_token(&lower) {
                    t
                } else {
                    Tok::Ident(text.to_string())
                };
                push(&mut tokens, tok, false);
            }
            c => {
                // punctuation: two-character operators first
                let mut two = String::new();
                two.push(c);
                if let Some(n) = sc.peek() {
                    two.push(n);
                }
                if two.chars().count() == 2
                    && let Some(t) = keyword_token(&two)
                {
                    sc.bump();
                    push(&mut tokens, t, true);
                } else if let Some(t) = keyword_token(&c.to_string()) {
                    push(&mut tokens, t, false);
                } else {
                    push(&mut tokens, Tok::Ident(c.to_string()), false);
                }
            }
        }
    }
    Lexed {
        tokens,
        error: None,
        eof,
    }
}

fn advance(sc: &mut Scanner<'_>, bytes: usize) {
    let target = sc.pos + bytes;
    while sc.pos < target {
        if sc.bump().is_none() {
            break;
        }
    }
}

/// Go's number scanning (decimal, hex, fractions, exponents); `first` is already read.
fn scan_number(sc: &mut Scanner<'_>, first: char) {
    if first == '0' && matches!(sc.peek(), Some('x' | 'X')) {
        sc.bump();
        while sc
            .peek()
            .is_some_and(|c| c.is_ascii_hexdigit() || c == '_' || c == '.')
        {
            sc.bump();
        }
        if matches!(sc.peek(), Some('p' | 'P')) {
            sc.bump();
            if matches!(sc.peek(), Some('+' | '-')) {
                sc.bump();
            }
            while sc.peek().is_some_and(|c| c.is_ascii_digit()) {
                sc.bump();
            }
        }
        return;
    }
    let mut seen_dot = first == '.';
    while let Some(c) = sc.peek() {
        if c.is_ascii_digit() || c == '_' {
            sc.bump();
        } else if c == '.' && !seen_dot {
            seen_dot = true;
            sc.bump();
        } else {
            break;
        }
    }
    if matches!(sc.peek(), Some('e' | 'E')) {
        // only an exponent when digits follow (Go would report an error otherwise)
        let after = sc.peek_at(1);
        let after2 = sc.peek_at(2);
        let ok = after.is_some_and(|c| c.is_ascii_digit())
            || (matches!(after, Some('+' | '-')) && after2.is_some_and(|c| c.is_ascii_digit()));
        if ok {
            sc.bump();
            if matches!(sc.peek(), Some('+' | '-')) {
                sc.bump();
            }
            while sc.peek().is_some_and(|c| c.is_ascii_digit()) {
                sc.bump();
            }
        }
    }
}

/// Loki's `tryScanDuration` / `tryScanBytes`: the text after a number up to a space,
/// made of unit characters; returns the value and the bytes consumed.
fn try_suffix(rest: &str, number: &str, duration: bool) -> Option<(u64, usize)> {
    let mut end = 0;
    for c in rest.chars() {
        if c.is_whitespace() {
            break;
        }
        let unit_ok = if duration {
            is_duration_rune(c)
        } else {
            is_bytes_rune(c)
        };
        if !(c.is_numeric() || unit_ok || c == '.') {
            break;
        }
        end += c.len_utf8();
    }
    if end == 0 {
        return None;
    }
    let text = format!("{number}{}", &rest[..end]);
    if duration {
        units::parse_loki_duration(&text).map(|d| (d as u64, end))
    } else {
        units::parse_humanize_bytes(&text).map(|b| (b, end))
    }
}

/// Loki's `tryScanFlag`: `--strict` or `--keep-empty`; returns the bytes after the first `-`.
fn try_flag(rest: &str) -> Option<usize> {
    let mut end = 0;
    for c in rest.chars() {
        if !(c.is_alphabetic() || c == '-') {
            break;
        }
        end += c.len_utf8();
    }
    match &rest[..end] {
        "-strict" | "-keep-empty" => Some(end),
        _ => None,
    }
}

/// Scans a quoted string whose opening quote was read; returns the unquoted value or
/// the message Loki gives (`literal not terminated`, `invalid char escape`, ...).
fn scan_string(sc: &mut Scanner<'_>, quote: char) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4];
    if quote == '`' {
        loop {
            match sc.bump() {
                None => return Err("literal not terminated".to_string()),
                Some('`') => break,
                Some('\r') => {} // Go drops carriage returns in raw strings
                Some(c) => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            }
        }
        return Ok(bytes_to_string(out));
    }
    let mut escape_error = false;
    // escapes the scanner accepts but Go's unquoting rejects (`\777`, `\ud800`)
    let mut value_error = false;
    loop {
        let Some(c) = sc.bump() else {
            return Err("literal not terminated".to_string());
        };
        match c {
            '"' => break,
            '\n' => return Err("literal not terminated".to_string()),
            '\\' => {
                let Some(e) = sc.bump() else {
                    return Err("literal not terminated".to_string());
                };
                match e {
                    'a' => out.push(0x07),
                    'b' => out.push(0x08),
                    'f' => out.push(0x0c),
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    'v' => out.push(0x0b),
                    '\\' => out.push(b'\\'),
                    '"' => out.push(b'"'),
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match sc.peek().and_then(|d| d.to_digit(8)) {
                                Some(d) => {
                                    sc.bump();
                                    v = v * 8 + d;
                                }
                                None => {
                                    escape_error = true;
                                    break;
                                }
                            }
                        }
                        if v > 255 {
                            value_error = true;
                        }
                        out.push(v as u8);
                    }
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v: u32 = 0;
                        for _ in 0..n {
                            match sc.peek().and_then(|d| d.to_digit(16)) {
                                Some(d) => {
                                    sc.bump();
                                    v = v.wrapping_mul(16).wrapping_add(d);
                                }
                                None => {
                                    escape_error = true;
                                    break;
                                }
                            }
                        }
                        if e == 'x' {
                            out.push(v as u8);
                        } else {
                            match char::from_u32(v) {
                                Some(ch) => {
                                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes())
                                }
                                None => value_error = true,
                            }
                        }
                    }
                    '\n' => return Err("literal not terminated".to_string()),
                    _ => escape_error = true,
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    if escape_error {
        return Err("invalid char escape".to_string());
    }
    if value_error {
        return Err("invalid syntax".to_string());
    }
    Ok(bytes_to_string(out))
}

fn bytes_to_string(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<Tok> {
        lex(q).tokens.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn selector_and_filters() {
        assert_eq!(
            kinds(r#"{job="api"} |= "x" != `y` |~ "a" !~ "b" |> "c" !> "d""#),
            vec![
                Tok::LBrace,
                Tok::Ident("job".into()),
                Tok::Eq,
                Tok::Str("api".into()),
                Tok::RBrace,
                Tok::PipeExact,
                Tok::Str("x".into()),
                Tok::Neq,
                Tok::Str("y".into()),
                Tok::PipeMatch,
                Tok::Str("a".into()),
                Tok::Nre,
                Tok::Str("b".into()),
                Tok::PipePattern,
                Tok::Str("c".into()),
                Tok::Npa,
                Tok::Str("d".into()),
            ]
        );
    }

    #[test]
    fn functions_only_before_paren() {
        assert_eq!(
            kinds("sum by (a) (rate x"),
            vec![
                Tok::VectorFn(VectorOp::Sum),
                Tok::By,
                Tok::LParen,
                Tok::Ident("a".into()),
                Tok::RParen,
                Tok::LParen,
                Tok::Ident("rate".into()),
                Tok::Ident("x".into()),
            ]
        );
        assert_eq!(
            kinds("SUM("),
            vec![Tok::VectorFn(VectorOp::Sum), Tok::LParen]
        );
    }

    #[test]
    fn numbers_durations_bytes() {
        assert_eq!(
            kinds("5 1.5 5m 1.5s 20MB -5m 5xyz"),
            vec![
                Tok::Number("5".into()),
                Tok::Number("1.5".into()),
                Tok::Duration(300_000_000_000),
                Tok::Duration(1_500_000_000),
                Tok::Bytes(20_000_000),
                Tok::Duration(-300_000_000_000),
                Tok::Number("5".into()),
                Tok::Ident("xyz".into()),
            ]
        );
        assert_eq!(kinds("[5m]"), vec![Tok::Range(300_000_000_000)]);
        assert_eq!(kinds("--strict"), vec![Tok::Flag("--strict".into())]);
        assert_eq!(kinds("- 1"), vec![Tok::Sub, Tok::Number("1".into())]);
    }

    #[test]
    fn positions() {
        let l = lex(r#"{a="b"} |= "x""#);
        assert_eq!((l.tokens[0].line, l.tokens[0].col), (1, 1));
        assert_eq!((l.tokens[5].line, l.tokens[5].col), (0, 9));
        assert_eq!(l.eof, (1, 15));
        assert_eq!(lex("").eof, (0, 0));
    }

    #[test]
    fn errors() {
        let l = lex(r#"rate({job="api"}[5x])"#);
        let e = l.error.unwrap();
        assert_eq!((e.line, e.col), (0, 17));
        assert_eq!(e.msg, r#"unknown unit "x" in duration "5x""#);
        assert_eq!(lex(r#"{a="b"#).error.unwrap().msg, "literal not terminated");
        assert_eq!(lex(r#"{a="\q"}"#).error.unwrap().msg, "invalid char escape");
    }

    #[test]
    fn comments() {
        assert_eq!(
            kinds("{a=\"b\"} # comment\n|= \"x\""),
            vec![
                Tok::LBrace,
                Tok::Ident("a".into()),
                Tok::Eq,
                Tok::Str("b".into()),
                Tok::RBrace,
                Tok::PipeExact,
                Tok::Str("x".into()),
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            kinds(r#""a\"b\n\x41\u00e9""#),
            vec![Tok::Str("a\"b\nAé".into())]
        );
    }
}

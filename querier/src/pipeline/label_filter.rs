//! Label filters: `level="error"`, `status >= 400`, `duration > 1s`, `size > 5KB`,
//! `addr = ip("10.0.0.0/8")`, combined with `and`/`or`/parentheses.
//!
//! Loki's rules: numeric, duration, bytes and ip filters let every entry that already
//! carries `__error__` through (only string matchers can filter errors out); an entry
//! without the label is dropped; a value that does not convert sets
//! `__error__="LabelFilterErr"` (details: Go's conversion error) and keeps the entry.
//! `and` evaluates both sides (so both can record errors); `or` stops at a true left side.

use std::sync::Arc;

use logql::MatchOp;
use logql::ast::{CmpOp, LabelFilter as Ast};
use regex::Regex;

use super::convert::{parse_bytes, parse_duration, parse_float};
use super::go_regex::{self, Simple};
use super::ip::IpMatcher;
use super::labels::{ERR_LABEL_FILTER, ERROR_DETAILS_LABEL, ERROR_LABEL, LabelsBuilder};
use super::line_filter::{contains_lower, go_lower};

/// A compiled label filter expression.
#[derive(Debug)]
pub(crate) enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    Str {
        name: String,
        negated: bool,
        test: ValueTest,
    },
    Number {
        name: String,
        op: CmpOp,
        value: f64,
    },
    Duration {
        name: String,
        op: CmpOp,
        value: i64,
    },
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    Ip {
        name: String,
        negated: bool,
        matcher: IpMatcher,
    },
}

/// How a string matcher tests a value. Loki replaces regexes made of literals with
/// literal tests; a leg written with `.*` (`a.*|b.*`) becomes a substring test, so
/// `user=~"a.*"` matches `carol` in Loki 2.9 and therefore here.
#[derive(Debug)]
pub(crate) enum ValueTest {
    /// `= "v"`.
    Equal(String),
    /// A regex Loki runs anchored.
    Regex(Regex),
    /// `.*`/empty regex: every value.
    Always,
    /// `.+`: non-empty values.
    NonEmpty,
    /// Literal legs: (text, lower-cased text for case-insensitive legs, substring?).
    Legs(Vec<(String, Option<String>, bool)>),
}

impl ValueTest {
    fn new(op: MatchOp, value: &str) -> Result<Self, String> {
        if matches!(op, MatchOp::Eq | MatchOp::Neq) {
            return Ok(ValueTest::Equal(value.to_owned()));
        }
        Ok(match go_regex::simple_literals(value) {
            Some(Simple::True) => ValueTest::Always,
            Some(Simple::Exists) => ValueTest::NonEmpty,
            Some(Simple::Literals(lits)) => ValueTest::Legs(
                lits.into_iter()
                    .map(|(text, ci, sub)| {
                        let lower = ci.then(|| go_lower(&text));
                        (text, lower, sub)
                    })
                    .collect(),
            ),
            None => ValueTest::Regex(
                Regex::new(&format!("^(?:{})$", go_regex::translate(value)))
                    .map_err(|e| format!("error parsing regexp: {e}"))?,
            ),
        })
    }

    fn test(&self, v: &str) -> bool {
        match self {
            ValueTest::Equal(e) => v == e,
            ValueTest::Regex(r) => r.is_match(v),
            ValueTest::Always => true,
            ValueTest::NonEmpty => !v.is_empty(),
            ValueTest::Legs(legs) => legs.iter().any(|(text, lower, sub)| match (lower, sub) {
                (None, false) => v == text,
                (None, true) => v.contains(text.as_str()),
                (Some(l), false) => v.len() == l.len() && contains_lower(v, l),
                (Some(l), true) => contains_lower(v, l),
            }),
        }
    }
}

fn cmp<T: PartialOrd>(op: CmpOp, a: T, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Neq => a != b,
        CmpOp::Gt => a > b,
        CmpOp::Gte => a >= b,
        CmpOp::Lt => a < b,
        CmpOp::Lte => a <= b,
    }
}

impl LabelFilter {
    /// Compiles a label filter; errors carry Loki's text.
    pub(crate) fn new(ast: &Ast) -> Result<Self, String> {
        Ok(match ast {
            Ast::And(a, b) => LabelFilter::And(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
            Ast::Or(a, b) => LabelFilter::Or(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
            Ast::Paren(inner) => Self::new(inner)?,
            Ast::Matcher(m) => LabelFilter::Str {
                name: m.name.clone(),
                negated: matches!(m.op, MatchOp::Neq | MatchOp::Nre),
                test: ValueTest::new(m.op, &m.value)?,
            },
            Ast::Number { name, op, value } => LabelFilter::Number {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            Ast::Duration { name, op, value } => LabelFilter::Duration {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            Ast::Bytes { name, op, value } => LabelFilter::Bytes {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            Ast::Ip {
                name,
                negated,
                pattern,
            } => LabelFilter::Ip {
                name: name.clone(),
                negated: *negated,
                matcher: IpMatcher::parse(pattern)?,
            },
        })
    }

    /// True when the entry passes; may record a conversion error in `lbs`.
    pub(crate) fn process(&self, lbs: &mut LabelsBuilder) -> bool {
        match self {
            LabelFilter::And(a, b) => {
                let l = a.process(lbs);
                let r = b.process(lbs);
                l && r
            }
            LabelFilter::Or(a, b) => a.process(lbs) || b.process(lbs),
            LabelFilter::Str {
                name,
                negated,
                test,
            } => {
                let v = match name.as_str() {
                    ERROR_LABEL => lbs.err(),
                    ERROR_DETAILS_LABEL => lbs.err_details(),
                    n => lbs.get(n).unwrap_or(""),
                };
                test.test(v) != *negated
            }
            LabelFilter::Number { name, op, value } => {
                convert_and_compare(lbs, name, parse_float, |v| cmp(*op, v, *value))
            }
            LabelFilter::Duration { name, op, value } => {
                convert_and_compare(lbs, name, parse_duration, |v| cmp(*op, v, *value))
            }
            LabelFilter::Bytes { name, op, value } => {
                convert_and_compare(lbs, name, parse_bytes, |v| cmp(*op, v, *value))
            }
            LabelFilter::Ip {
                name,
                negated,
                matcher,
            } => {
                if lbs.has_err() {
                    return true;
                }
                match lbs.get(name) {
                    None => false,
                    Some(v) => matcher.matches_in(v.as_bytes()) != *negated,
                }
            }
        }
    }
}

/// A label filter that directly follows a parser and reads one label: its verdict
/// depends on that label's value alone, and a parser never overwrites a label it already
/// set on an entry, so the parser may drop the line as soon as it sets the label to a
/// rejected value instead of parsing the rest (the filter still runs as a stage for the
/// lines that pass).
///
/// String matchers qualify anywhere. A single numeric, duration or bytes comparison lets
/// an entry that carries `__error__` through, so it rejects early only where the parser
/// knows the entry will carry no error when the filter runs (see [`Early`]); it qualifies
/// only when no filter before it in the chain can record a conversion error.
#[derive(Debug, Clone)]
pub(crate) struct EarlyFilter {
    /// The label the filter reads.
    pub name: String,
    /// The filter.
    pub filter: Arc<LabelFilter>,
    /// True for a comparison that lets entries with an error through.
    errors_pass: bool,
}

/// The verdict of the early filters on one label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Early {
    /// No filter rejects the value.
    Pass,
    /// A string matcher rejects it: drop the line.
    Reject,
    /// A comparison rejects it: drop the line unless the entry carries `__error__` when
    /// the filter runs (an error from an earlier stage, or one the parser records later
    /// in the line).
    RejectUnlessError,
}

impl Early {
    /// True when the line is to be dropped now, for a parser that knows whether the
    /// entry will be `error_free` when the filter runs.
    #[inline]
    pub(crate) fn drops(self, error_free: bool) -> bool {
        match self {
            Early::Pass => false,
            Early::Reject => true,
            Early::RejectUnlessError => error_free,
        }
    }
}

impl EarlyFilter {
    /// The early forms of the label filters `chain` (the filters that directly follow a
    /// parser, in order), for those that qualify.
    pub(crate) fn of_chain<'f>(chain: impl IntoIterator<Item = &'f Arc<LabelFilter>>) -> Vec<Self> {
        let mut out = Vec::new();
        // a comparison before may record a conversion error, which lets later
        // comparisons pass whatever they read
        let mut may_have_err = false;
        for filter in chain {
            if let Some(e) = Self::of(filter) {
                out.push(e);
            } else if let Some(name) = filter.comparison_label()
                && !may_have_err
            {
                out.push(Self {
                    name: name.to_owned(),
                    filter: filter.clone(),
                    errors_pass: true,
                });
            }
            if filter.string_only_label().is_none() {
                may_have_err = true;
            }
        }
        out
    }

    /// The early form of the string-only `filter`, when it qualifies.
    pub(crate) fn of(filter: &Arc<LabelFilter>) -> Option<Self> {
        let name = filter.string_only_label()?;
        if name == ERROR_LABEL || name == ERROR_DETAILS_LABEL {
            return None;
        }
        Some(Self {
            name: name.to_owned(),
            filter: filter.clone(),
            errors_pass: false,
        })
    }

    /// True when some filter of `early` reads `name` (so its value is worth converting).
    #[inline]
    pub(crate) fn reads(early: &[EarlyFilter], name: &str) -> bool {
        early.iter().any(|e| e.name == name)
    }

    /// True when some string filter of `early` on `name` rejects `value`.
    pub(crate) fn rejects(early: &[EarlyFilter], name: &str, value: &str) -> bool {
        Self::verdict(early, name, value) == Early::Reject
    }

    /// What the filters of `early` on `name` make of `value`.
    #[inline]
    pub(crate) fn verdict(early: &[EarlyFilter], name: &str, value: &str) -> Early {
        let mut verdict = Early::Pass;
        for e in early.iter().filter(|e| e.name == name) {
            if e.filter.rejects_value(value) {
                if !e.errors_pass {
                    return Early::Reject;
                }
                verdict = Early::RejectUnlessError;
            }
        }
        verdict
    }
}

impl LabelFilter {
    /// The single label this filter reads when it is made of string matchers only.
    fn string_only_label(&self) -> Option<&str> {
        match self {
            LabelFilter::Str { name, .. } => Some(name),
            LabelFilter::And(a, b) | LabelFilter::Or(a, b) => {
                let (a, b) = (a.string_only_label()?, b.string_only_label()?);
                (a == b).then_some(a)
            }
            _ => None,
        }
    }

    /// The label of a single numeric, duration or bytes comparison.
    fn comparison_label(&self) -> Option<&str> {
        match self {
            LabelFilter::Number { name, .. }
            | LabelFilter::Duration { name, .. }
            | LabelFilter::Bytes { name, .. } => Some(name),
            _ => None,
        }
    }

    /// For a string-only filter or a single comparison: true when an entry whose label
    /// holds `value` fails it (a comparison only when `value` converts; one that does not
    /// records an error and keeps the entry).
    fn rejects_value(&self, value: &str) -> bool {
        match self {
            LabelFilter::Str { negated, test, .. } => test.test(value) == *negated,
            LabelFilter::And(a, b) => a.rejects_value(value) || b.rejects_value(value),
            LabelFilter::Or(a, b) => a.rejects_value(value) && b.rejects_value(value),
            LabelFilter::Number { op, value: v, .. } => {
                parse_float(value).is_ok_and(|x| !cmp(*op, x, *v))
            }
            LabelFilter::Duration { op, value: v, .. } => {
                parse_duration(value).is_ok_and(|x| !cmp(*op, x, *v))
            }
            LabelFilter::Bytes { op, value: v, .. } => {
                parse_bytes(value).is_ok_and(|x| !cmp(*op, x, *v))
            }
            LabelFilter::Ip { .. } => false,
        }
    }
}

fn convert_and_compare<T>(
    lbs: &mut LabelsBuilder,
    name: &str,
    convert: impl Fn(&str) -> Result<T, String>,
    test: impl Fn(T) -> bool,
) -> bool {
    if lbs.has_err() {
        return true;
    }
    let Some(raw) = lbs.get(name) else {
        return false;
    };
    match convert(raw) {
        Ok(v) => test(v),
        Err(e) => {
            lbs.set_err(ERR_LABEL_FILTER);
            lbs.set_err_details(&e);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::{LabelMatcher, LabelSet};

    fn lbs(pairs: &[(&str, &str)]) -> LabelsBuilder {
        let mut b = LabelsBuilder::new(LabelSet::from_pairs([("app", "api")]));
        for (k, v) in pairs {
            b.set(k, v);
        }
        b
    }

    fn num(name: &str, op: CmpOp, value: f64) -> Ast {
        Ast::Number {
            name: name.into(),
            op,
            value,
        }
    }

    fn s(name: &str, op: MatchOp, v: &str) -> Ast {
        Ast::Matcher(LabelMatcher::new(name, op, v).unwrap())
    }

    fn run(f: &Ast, b: &mut LabelsBuilder) -> bool {
        LabelFilter::new(f).unwrap().process(b)
    }

    #[test]
    fn numeric_comparisons_and_missing_labels() {
        let f = num("latency_ms", CmpOp::Gt, 300.0);
        assert!(run(&f, &mut lbs(&[("latency_ms", "321")])));
        assert!(!run(&f, &mut lbs(&[("latency_ms", "300")])));
        assert!(!run(&f, &mut lbs(&[])));
        let mut b = lbs(&[("latency_ms", "fast")]);
        assert!(run(&f, &mut b));
        assert_eq!(
            b.to_label_set().to_string(),
            r#"{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"fast\": invalid syntax", app="api", latency_ms="fast"}"#
        );
    }

    #[test]
    fn entries_with_errors_pass_non_string_filters() {
        let mut b = lbs(&[]);
        b.set_err("JSONParserErr");
        assert!(run(&num("status", CmpOp::Gte, 500.0), &mut b));
        assert!(!run(&s("__error__", MatchOp::Eq, ""), &mut b));
        assert!(run(&s("__error__", MatchOp::Re, "JSON.*"), &mut b));
    }

    #[test]
    fn duration_bytes_and_ip() {
        let d = Ast::Duration {
            name: "duration".into(),
            op: CmpOp::Gte,
            value: 2_000_000_000,
        };
        assert!(run(&d, &mut lbs(&[("duration", "2m3.5s")])));
        assert!(!run(&d, &mut lbs(&[("duration", "250ms")])));
        let by = Ast::Bytes {
            name: "size".into(),
            op: CmpOp::Gt,
            value: 5000,
        };
        assert!(run(&by, &mut lbs(&[("size", "5.1KB")])));
        assert!(!run(&by, &mut lbs(&[("size", "963B")])));
        let ip = Ast::Ip {
            name: "ip".into(),
            negated: true,
            pattern: "10.0.0.0/8".into(),
        };
        assert!(run(&ip, &mut lbs(&[("ip", "192.168.1.1")])));
        assert!(!run(&ip, &mut lbs(&[("ip", "10.1.1.1")])));
    }

    #[test]
    fn and_or_and_anchored_regex() {
        let f = Ast::Or(
            Box::new(Ast::And(
                Box::new(num("status", CmpOp::Gte, 500.0)),
                Box::new(s("method", MatchOp::Eq, "POST")),
            )),
            Box::new(Ast::Paren(Box::new(s("user", MatchOp::Re, r"\w+x")))),
        );
        assert!(run(&f, &mut lbs(&[("status", "503"), ("method", "POST")])));
        assert!(!run(&f, &mut lbs(&[("status", "503"), ("method", "GET")])));
        assert!(run(&f, &mut lbs(&[("user", "alex")])));
        assert!(!run(&f, &mut lbs(&[("user", "alexa")])));
        assert!(!run(
            &s("user", MatchOp::Re, "ali|bo"),
            &mut lbs(&[("user", "alice")])
        ));
        assert!(run(
            &s("user", MatchOp::Re, "(?i)ALICE"),
            &mut lbs(&[("user", "alice")])
        ));
        assert!(run(&s("user", MatchOp::Nre, ".+"), &mut lbs(&[])));
    }

    #[test]
    fn literal_regex_with_wildcards_is_a_substring_test_like_loki() {
        // Loki 2.9 turns `a.*|b.*` into "contains a or contains b"
        let f = s("user", MatchOp::Re, "a.*|b.*");
        assert!(run(&f, &mut lbs(&[("user", "carol")])));
        assert!(!run(&f, &mut lbs(&[("user", "eve")])));
    }
}

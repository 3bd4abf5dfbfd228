//! The hinted walk of `| json`: the common line of a metric query, taken in one tight
//! pass.
//!
//! With parser hints (`sum by (level) (rate({..} | json | latency_ms > 500 [5m]))`) the
//! json stage needs two or three top-level members of each line and stops once it has
//! them. The general walk ([`super::json`]) pays for jsonparser's full generality on
//! every member (callbacks, nested prefixes, sanitized names, errors); this walk takes
//! the ordinary line, a flat object with plain keys, and leaves everything else to the
//! general walk: it changes nothing until it knows the line is ordinary, so falling back
//! repeats no effect. Labels are set in the order the general walk sets them, with the
//! same values, so the answers are the same.

use super::hints::{KeyMatch, ParserHints};
use super::json_scan::{self, ValueType};
use super::label_filter::{Early, EarlyFilter};
use super::labels::{DUPLICATE_SUFFIX, LabelsBuilder, label_bytes_prefix, starts_label_name};
use super::utf8;

/// Labels the walk holds before setting them; a line with more wanted members goes to
/// the general walk.
const MAX_FOUND: usize = 8;

/// What the hinted walk made of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HintedWalk {
    /// The labels are set; the line goes on.
    Kept,
    /// An early label filter rejected a member: the line is dropped.
    Dropped,
    /// Not an ordinary line (escaped or unusual keys, nested objects, malformed JSON):
    /// nothing was changed, the general walk must parse it.
    Fallback,
}

/// A wanted member: the required label `name` (with `_extracted` when `in_stream`) and
/// its raw value (a string without quotes; `escaped` when it holds a backslash).
#[derive(Debug, Clone, Copy)]
struct Found<'a> {
    name: &'a str,
    in_stream: bool,
    value: &'a [u8],
    ty: ValueType,
    escaped: bool,
}

impl Found<'_> {
    /// True when this label is called `full`.
    fn is_named(&self, full: &str) -> bool {
        if self.in_stream {
            full.len() == self.name.len() + DUPLICATE_SUFFIX.len()
                && full.starts_with(self.name)
                && full.ends_with(DUPLICATE_SUFFIX)
        } else {
            full == self.name
        }
    }

    /// Writes the label's full name into `buf`.
    fn full_name(&self, buf: &mut String) {
        buf.clear();
        buf.push_str(self.name);
        if self.in_stream {
            buf.push_str(DUPLICATE_SUFFIX);
        }
    }

    /// The label value, as the general walk converts it.
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self.ty {
            ValueType::String if self.escaped => json_scan::unescape_value(self.value),
            ValueType::String => utf8::clean(self.value).unwrap_or_default().into(),
            _ => utf8::lossy(self.value),
        }
    }
}

/// Index of the first non-whitespace byte at or after `i` (`data.len()` if none).
#[inline]
fn skip_space(data: &[u8], i: usize) -> usize {
    match data.get(i..).and_then(json_scan::next_token) {
        Some(n) => i + n,
        None => data.len(),
    }
}

/// Walks `line` for the labels `hints` require and sets them on `lbs` (dropping the line
/// when one of `early` rejects one); `name` is a scratch buffer.
pub(crate) fn walk(
    line: &[u8],
    hints: &ParserHints,
    early: &[EarlyFilter],
    lbs: &mut LabelsBuilder,
    name: &mut String,
) -> HintedWalk {
    let mut found: [Option<Found<'_>>; MAX_FOUND] = [None; MAX_FOUND];
    let mut n = 0;
    // a comparison that rejects a value drops the line only if the walk ends where the
    // general walk records no error (it falls back wherever that one might), and no
    // earlier stage recorded one
    let error_free = !lbs.has_err();
    let mut rejected = false;
    let mut i = skip_space(line, 0);
    if line.get(i) != Some(&b'{') {
        return HintedWalk::Fallback;
    }
    i = skip_space(line, i + 1);
    if line.get(i) == Some(&b'}') {
        return HintedWalk::Kept;
    }
    'members: loop {
        // the key: a plain string
        if line.get(i) != Some(&b'"') {
            return HintedWalk::Fallback;
        }
        // a key of label bytes is read and judged plain in one pass; others need the
        // string scan
        let key_start = i + 1;
        let plain_len = label_bytes_prefix(&line[key_start..]);
        let (key, plain) = if line.get(key_start + plain_len) == Some(&b'"') {
            i = key_start + plain_len + 1;
            let key = &line[key_start..key_start + plain_len];
            (key, starts_label_name(key))
        } else {
            let Some((key_len, false)) = json_scan::string_end(&line[key_start..]) else {
                return HintedWalk::Fallback;
            };
            i = key_start + key_len;
            (&line[key_start..key_start + key_len - 1], false)
        };
        i = skip_space(line, i);
        if line.get(i) != Some(&b':') {
            return HintedWalk::Fallback;
        }
        i = skip_space(line, i + 1);
        // the value
        let (value, ty, escaped) = match line.get(i) {
            Some(b'"') => match json_scan::string_end(&line[i + 1..]) {
                Some((len, escaped)) => {
                    let value = &line[i + 1..i + len];
                    i += len + 1;
                    (value, ValueType::String, escaped)
                }
                None => return HintedWalk::Fallback,
            },
            Some(b'{') | None => return HintedWalk::Fallback,
            // a number: jsonparser's token up to the next delimiter
            Some(b'0'..=b'9' | b'-') => {
                let len = json_scan::token_end(&line[i..]);
                let value = &line[i..i + len];
                i += len;
                (value, ValueType::Number, false)
            }
            Some(_) => match json_scan::get(&line[i..]) {
                Ok((value, ty, end)) => {
                    i += end;
                    (value, ty, false)
                }
                Err(_) => return HintedWalk::Fallback,
            },
        };
        if matches!(
            ty,
            ValueType::String | ValueType::Number | ValueType::Boolean
        ) {
            let key_match = if plain {
                hints.match_plain_key(key)
            } else {
                hints.match_key(key)
            };
            match key_match {
                KeyMatch::Skip => {}
                KeyMatch::Sanitize => return HintedWalk::Fallback,
                KeyMatch::Required {
                    name: required,
                    in_stream,
                } => {
                    let f = Found {
                        name: required,
                        in_stream,
                        value,
                        ty,
                        escaped,
                    };
                    // the label's name (built only when it takes the suffix)
                    let name: &str = if in_stream {
                        f.full_name(name);
                        name
                    } else {
                        required
                    };
                    // the first of duplicate keys wins, and labels an earlier stage set
                    // stay
                    let seen = found[..n].iter().flatten().any(|g| g.is_named(name));
                    if !seen && !lbs.was_extracted(name) {
                        if n == MAX_FOUND {
                            return HintedWalk::Fallback;
                        }
                        found[n] = Some(f);
                        n += 1;
                        if EarlyFilter::reads(early, name) {
                            match EarlyFilter::verdict(early, name, &f.text()) {
                                Early::Pass => {}
                                Early::Reject => return HintedWalk::Dropped,
                                Early::RejectUnlessError => rejected = error_free,
                            }
                        }
                        let held = &found[..n];
                        if hints.all_extracted_or(lbs, n, |r| {
                            held.iter().flatten().any(|g| g.is_named(r))
                        }) {
                            break 'members;
                        }
                    }
                }
            }
        }
        // after the value: the next member or the end
        i = skip_space(line, i);
        match line.get(i) {
            Some(b'}') => break 'members,
            Some(b',') => i = skip_space(line, i + 1),
            _ => return HintedWalk::Fallback,
        }
    }
    if rejected {
        return HintedWalk::Dropped;
    }
    for f in found[..n].iter().flatten() {
        f.full_name(name);
        lbs.set(name, &f.text());
    }
    HintedWalk::Kept
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::json::JsonParser;
    use crate::pipeline::label_filter::LabelFilter;
    use crate::pipeline::test_support::{
        assert_same_outcomes, builder, filtered, range_query, stream,
    };

    /// The json stage of the metric query `q` (with its early filters), its hints and
    /// the label filters after it.
    fn stage(q: &str) -> (JsonParser, ParserHints, Vec<Arc<LabelFilter>>) {
        let query = range_query(q);
        let mut parser = JsonParser::new();
        parser.set_early(EarlyFilter::of_chain(&query.filters));
        (parser, query.hints, query.filters)
    }

    /// The labels and verdict of `line` after `parser` (by the given walk) and the label
    /// filters, on a builder in the state `pre`.
    fn outcome(
        (parser, hints, filters): &(JsonParser, ParserHints, Vec<Arc<LabelFilter>>),
        line: &str,
        pre: Option<(&str, &str)>,
        general: bool,
    ) -> (bool, String) {
        let mut lbs = builder(pre);
        let (mut prefix, mut name) = (String::new(), String::new());
        let parsed = if general {
            parser.walk_general(line, &mut lbs, &mut prefix, &mut name, Some(hints))
        } else {
            parser.process(line, &mut lbs, &mut prefix, &mut name, Some(hints))
        };
        (
            filtered(parsed, filters, &mut lbs),
            lbs.to_label_set().to_string(),
        )
    }

    const QUERIES: [&str; 6] = [
        r#"sum by (level) (rate({app="x"} | json | latency_ms > 500 [5m]))"#,
        r#"sum by (level) (rate({app="x"} | json | latency_ms > 500 | level != "x" [5m]))"#,
        r#"sum by (level) (rate({app="x"} | json | level > 1 | latency_ms > 500 [5m]))"#,
        r#"sum by (host_extracted, level) (count_over_time({app="x"} | json [5m]))"#,
        r#"sum by (latency_ms) (count_over_time({app="x"} | json | level="error" [5m]))"#,
        r#"sum by (host) (count_over_time({app="x"} | json [5m]))"#,
    ];

    const LINES: [&str; 28] = [
        r#"{"ts":"2026-11-20T00:00:00.123Z","level":"info","msg":"request completed","status":200,"latency_ms":12.3,"path":"/v1/users","user":"user-01234","trace_id":"0af7"}"#,
        r#"{"ts":"t","level":"error","latency_ms":612.5,"host":"h2"}"#,
        r#" { "level" : "warn" , "latency_ms" : 600 } "#,
        "{\"level\":\"error\",\n\t\"latency_ms\":7}",
        r#"{"level":"er\"ror","latency_ms":700}"#,
        r#"{"level":"caf\u00e9","latency_ms":1}"#,
        r#"{"le\u0076el":"x","latency_ms":1}"#,
        r#"{"level":"a","level":"b","latency_ms":2,"latency_ms":3}"#,
        r#"{"a":{"level":"n"},"level":"x","latency_ms":3}"#,
        r#"{"msg":"x"}"#,
        r#"{"level":"a","latency_ms":5,"x":}"#,
        r#"{"level":"error","x":nope,"latency_ms":5}"#,
        r#"{"tags":["a","b"],"level":"c","latency_ms":600}"#,
        r#"{"level":true,"latency_ms":null,"host":false}"#,
        "Nov 20 00:01 kernel: x",
        "{}",
        "{",
        r#"{"level":"a",}"#,
        r#"{"host":"h2","level":"x"}"#,
        "{\"level\":\"a\u{FFFD}b\",\"latency_ms\":-4e2}",
        r#"{"latency-ms":5,"level":"x","1x":1}"#,
        r#"{"level":"error","latency_ms":"12"#,
        r#"{"level":"x","latency_ms":"slow"}"#,
        r#"{"latency_ms":5,"level":"x",bad}"#,
        r#"{"latency_ms":5,bad,"level":"x"}"#,
        r#"{"level":"1e3","latency_ms":900}"#,
        r#"{"":1,"level":"x","latency_ms":600}"#,
        r#"{"lev\"el":"x","level":"y","latency_ms":600}"#,
    ];

    #[test]
    fn gives_what_the_general_walk_gives() {
        for q in QUERIES {
            let stage = stage(q);
            assert_same_outcomes(q, LINES, |line, pre, general| {
                outcome(&stage, line, pre, general)
            });
        }
    }

    #[test]
    fn takes_ordinary_lines_and_leaves_the_rest() {
        let (_, hints, filters) = stage(QUERIES[0]);
        let walk_of = |line: &str, early: &[EarlyFilter], lbs: &mut LabelsBuilder| {
            walk(line.as_bytes(), &hints, early, lbs, &mut String::new())
        };
        let fresh = || LabelsBuilder::new(stream());
        for line in &LINES[..6] {
            assert_eq!(walk_of(line, &[], &mut fresh()), HintedWalk::Kept, "{line}");
        }
        for line in [LINES[6], LINES[8], LINES[11], LINES[14], LINES[20]] {
            assert_eq!(
                walk_of(line, &[], &mut fresh()),
                HintedWalk::Fallback,
                "{line}"
            );
        }
        // a comparison drops the line once the walk ends where the general walk records
        // no error, and not when an earlier stage recorded one
        let early = EarlyFilter::of_chain(&filters);
        assert_eq!(walk_of(LINES[0], &early, &mut fresh()), HintedWalk::Dropped);
        assert_eq!(
            walk_of(LINES[23], &early, &mut fresh()),
            HintedWalk::Dropped
        );
        assert_eq!(
            walk_of(LINES[24], &early, &mut fresh()),
            HintedWalk::Fallback
        );
        let mut with_err = fresh();
        with_err.set_err("JSONParserErr");
        assert_eq!(walk_of(LINES[0], &early, &mut with_err), HintedWalk::Kept);
        // a value that does not convert is the filter stage's (it records the error)
        assert_eq!(walk_of(LINES[22], &early, &mut fresh()), HintedWalk::Kept);
        // a string matcher drops the line at the member it rejects
        let (parser, hints, filters) = stage(QUERIES[4]);
        let verdict = walk(
            LINES[0].as_bytes(),
            &hints,
            &EarlyFilter::of_chain(&filters),
            &mut fresh(),
            &mut String::new(),
        );
        assert_eq!(verdict, HintedWalk::Dropped);
        assert!(!outcome(&(parser, hints, filters), LINES[0], None, true).0);
        // after a comparison, whose conversion error lets later ones pass, a comparison
        // is not early
        let (_, _, filters) = stage(QUERIES[2]);
        let early = EarlyFilter::of_chain(&filters);
        assert_eq!(early.len(), 1);
        assert_eq!(early[0].name, "level");
    }
}

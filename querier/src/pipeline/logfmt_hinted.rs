//! The hinted walk of `| logfmt`: the ordinary pairs of a metric query's line, taken in
//! one tight pass.
//!
//! With parser hints (`quantile_over_time(0.99, {..} | logfmt | unwrap duration(duration)
//! [5m]) by (host)`) the logfmt stage needs one or two keys of each line and stops once
//! it has them. The general decoder ([`super::logfmt::Decoder`]) pays per pair for
//! go-logfmt's full generality (error positions, invalid keys, escapes) and the stage
//! then sanitizes or matches every key. This walk reads an ordinary pair (a plain key,
//! `=`, and a bare or quoted value without escapes) in one pass, testing the key's
//! bytes while it finds its end. At the first pair that is not ordinary it hands the
//! rest of the line to the general decoder, which starts there exactly as if it had
//! read the pairs before: every pair ends where the decoder's would, and the walk sets
//! labels as the stage does (same order, values, early filters and stop).
//!
//! It serves the non-strict parser without `--keep-empty` only: there a pair with an
//! empty value has no effect, and errors are never reported.

use super::hints::{KeyMatch, ParserHints};
use super::label_filter::EarlyFilter;
use super::labels::{DUPLICATE_SUFFIX, LabelsBuilder, label_bytes_prefix, starts_label_name};
use super::logfmt::token_end;
use super::{swar, utf8};

/// What the hinted walk made of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HintedWalk {
    /// The line is read (or everything required is set); the line goes on.
    Kept,
    /// An early label filter rejected a value: the line is dropped.
    Dropped,
    /// The pair at this byte offset is not ordinary: the general decoder goes on from
    /// there.
    HandOver(usize),
}

/// One ordinary pair: its key and its raw value (empty for a bare key or `k=`).
struct Pair<'a> {
    key: &'a [u8],
    value: &'a [u8],
}

/// Reads the pair starting at `start` (a byte above space); returns it and the offset
/// after it, or `None` when the pair is not ordinary.
#[inline]
fn ordinary_pair(line: &[u8], start: usize) -> Option<(Pair<'_>, usize)> {
    let rest = &line[start..];
    let key_len = label_bytes_prefix(rest);
    let key = &rest[..key_len];
    match rest.get(key_len) {
        // a bare key: the decoder's pair without a value
        None => {
            return Some((Pair { key, value: &[] }, line.len()));
        }
        Some(&c) if c <= b' ' && key_len > 0 => {
            return Some((Pair { key, value: &[] }, start + key_len));
        }
        // a key with a leading digit sanitizes to another name
        Some(b'=') if starts_label_name(key) => {}
        _ => return None,
    }
    let value_start = start + key_len + 1;
    let Some(&first) = line.get(value_start) else {
        return Some((Pair { key, value: &[] }, line.len()));
    };
    if first <= b' ' {
        return Some((Pair { key, value: &[] }, value_start));
    }
    if first == b'"' {
        let body = &line[value_start + 1..];
        let end = swar::find_quote_or_backslash(body)?;
        if body[end] != b'"' {
            return None;
        }
        let value = &body[..end];
        return Some((Pair { key, value }, value_start + end + 2));
    }
    let rest = &line[value_start..];
    match token_end(rest) {
        None => Some((Pair { key, value: rest }, line.len())),
        Some(p) if rest[p] <= b' ' => Some((
            Pair {
                key,
                value: &rest[..p],
            },
            value_start + p,
        )),
        // `k=a=b` or `k=a"b`: a syntax error the decoder skips its own way
        Some(_) => None,
    }
}

/// Walks `line` for the labels `hints` require and sets them on `lbs` (dropping the line
/// when one of `early` rejects one), until the first pair that is not ordinary; `name`
/// is a scratch buffer.
pub(crate) fn walk(
    line: &[u8],
    hints: &ParserHints,
    early: &[EarlyFilter],
    lbs: &mut LabelsBuilder,
    name: &mut String,
) -> HintedWalk {
    let mut i = 0;
    loop {
        // the decoder's "garbage" between pairs
        while line.get(i).is_some_and(|&c| c <= b' ') {
            i += 1;
        }
        if i >= line.len() {
            return HintedWalk::Kept;
        }
        let Some((pair, next)) = ordinary_pair(line, i) else {
            return HintedWalk::HandOver(i);
        };
        let start = i;
        i = next;
        if pair.value.is_empty() {
            continue;
        }
        let (required, in_stream) = match hints.match_plain_key(pair.key) {
            KeyMatch::Skip => continue,
            KeyMatch::Sanitize => return HintedWalk::HandOver(start),
            KeyMatch::Required { name, in_stream } => (name, in_stream),
        };
        name.clear();
        name.push_str(required);
        if in_stream {
            name.push_str(DUPLICATE_SUFFIX);
        }
        if !lbs.should_extract(name) {
            continue;
        }
        let value = utf8::clean(pair.value).unwrap_or_default();
        if value.is_empty() {
            continue;
        }
        lbs.set(name, value);
        // the non-strict parser records no error
        if EarlyFilter::verdict(early, name, value).drops(!lbs.has_err()) {
            return HintedWalk::Dropped;
        }
        if hints.nothing_left_to_extract(lbs) {
            return HintedWalk::Kept;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use logql::ast::{Parser, Stage};

    use super::*;
    use crate::pipeline::label_filter::LabelFilter;
    use crate::pipeline::logfmt::{Decoder, LogfmtParser};
    use crate::pipeline::test_support::{
        assert_same_outcomes, builder, filtered, range_query, stream, xorshift,
    };

    /// The logfmt stage of a metric query with its early filters, the same stage
    /// without them, its hints, and the label filters after it.
    struct Stages {
        parser: LogfmtParser,
        plain: LogfmtParser,
        hints: ParserHints,
        filters: Vec<Arc<LabelFilter>>,
    }

    fn stage(q: &str) -> Stages {
        let query = range_query(q);
        let new_parser = || match query.stages.iter().find(|s| matches!(s, Stage::Parser(_))) {
            Some(Stage::Parser(Parser::Logfmt {
                strict,
                keep_empty,
                params,
            })) => LogfmtParser::new(*strict, *keep_empty, params).unwrap(),
            _ => panic!("no logfmt stage: {q}"),
        };
        let mut parser = new_parser();
        parser.set_early(EarlyFilter::of_chain(&query.filters));
        Stages {
            parser,
            plain: new_parser(),
            hints: query.hints,
            filters: query.filters,
        }
    }

    /// The labels and verdict of `line` after the logfmt stage and the label filters, on
    /// a builder in the state `pre`: by the stage as queries run it, or (`general`) by
    /// the general decoder without early filters.
    fn outcome(s: &Stages, line: &str, pre: Option<(&str, &str)>, general: bool) -> (bool, String) {
        let mut lbs = builder(pre);
        let mut name = String::new();
        let parsed = if general {
            let dec = Decoder::new(line.as_bytes());
            s.plain
                .decode_pairs(dec, &mut lbs, &mut name, Some(&s.hints))
        } else {
            s.parser.process(line, &mut lbs, &mut name, Some(&s.hints))
        };
        (
            filtered(parsed, &s.filters, &mut lbs),
            lbs.to_label_set().to_string(),
        )
    }

    const QUERIES: [&str; 8] = [
        r#"quantile_over_time(0.99, {app="x"} | logfmt | unwrap duration(duration) [5m]) by (host)"#,
        r#"sum by (level) (rate({app="x"} | logfmt | duration > 1s [5m]))"#,
        r#"sum by (host_extracted, level) (count_over_time({app="x"} | logfmt [5m]))"#,
        r#"sum by (msg) (count_over_time({app="x"} | logfmt | level="error" [5m]))"#,
        r#"sum by (level) (count_over_time({app="x"} | logfmt --keep-empty [5m]))"#,
        r#"sum by (level) (rate({app="x"} | logfmt --strict | duration > 1s [5m]))"#,
        r#"sum by (level) (rate({app="x"} | logfmt | level > 1 | duration > 1s [5m]))"#,
        r#"sum by (msg) (rate({app="x"} | logfmt | duration < 3s | level != "x" [5m]))"#,
    ];

    const LINES: [&str; 28] = [
        r#"ts=2026-11-20T00:00:00.013Z level=info caller=worker/queue.go:41 msg="job finished" queue=emails job_id=0af7 duration=12.3ms bytes=512"#,
        "level=error duration=2s host=h2 msg=x",
        "  level=warn\tduration=1.5s   ",
        r#"level="error" duration="3s""#,
        r#"msg="a \"quoted\" word" level=error duration=5s"#,
        r#"msg="unterminated level=error duration=5s"#,
        "level=a=b duration=2s",
        r#"level=a"b duration=2s"#,
        r#"le"vel=x duration=2s"#,
        "=x level=error duration=2s",
        "1level=x level=error duration=2s",
        "caf\u{e9}=1 level=error duration=2s",
        "level=caf\u{e9} duration=2s",
        "level= duration=2s",
        r#"level="" duration=2s"#,
        "level duration",
        "level=a level=b duration=1s duration=2s",
        "host=h9 level=x",
        "host_extracted=pre level=x",
        "my-key=1 level=x duration=3s",
        "level=x msg=\"\"",
        "",
        "   ",
        "level",
        "duration=",
        "msg=\"x\"level=error",
        "level=1e3 duration=slow",
        "duration=2s level=9 msg=\"unterminated",
    ];

    #[test]
    fn gives_what_the_general_decoder_gives() {
        for q in QUERIES {
            let stages = stage(q);
            assert_same_outcomes(q, LINES, |line, pre, general| {
                outcome(&stages, line, pre, general)
            });
        }
    }

    /// Lines of random tokens, most of them unusual, against the general decoder.
    #[test]
    fn random_lines_agree_with_the_general_decoder() {
        const TOKENS: [&str; 16] = [
            "level", "duration", "host", "msg", "=", "\"", " ", "\t", "\\", "x", "1", "2s",
            "error", "\u{e9}", "-", "=\"",
        ];
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for q in QUERIES {
            let stages = stage(q);
            let lines: Vec<String> = (0..3000)
                .map(|_| {
                    let n = 1 + (next() % 14) as usize;
                    (0..n)
                        .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
                        .collect()
                })
                .collect();
            assert_same_outcomes(q, lines.iter().map(String::as_str), |line, pre, general| {
                outcome(&stages, line, pre, general)
            });
        }
    }

    #[test]
    fn takes_ordinary_pairs_and_hands_over_at_the_first_other() {
        let hints = stage(QUERIES[0]).hints;
        let walk_of = |line: &str| {
            let mut lbs = LabelsBuilder::new(stream());
            let verdict = walk(line.as_bytes(), &hints, &[], &mut lbs, &mut String::new());
            (verdict, lbs.get("duration").map(str::to_owned))
        };
        assert_eq!(walk_of(LINES[0]), (HintedWalk::Kept, Some("12.3ms".into())));
        assert_eq!(walk_of(LINES[3]), (HintedWalk::Kept, Some("3s".into())));
        assert_eq!(walk_of("level duration"), (HintedWalk::Kept, None));
        // the escape in msg, and the pairs from there on, are the decoder's
        assert_eq!(walk_of(LINES[4]), (HintedWalk::HandOver(0), None));
        assert_eq!(walk_of(LINES[6]), (HintedWalk::HandOver(0), None));
        assert_eq!(walk_of(LINES[10]), (HintedWalk::HandOver(0), None));
        assert_eq!(
            walk_of("a=1 my-key=1 duration=3s"),
            (HintedWalk::HandOver(4), None)
        );
        // early filters drop the line at the value they reject: a string matcher always,
        // a comparison unless an earlier stage recorded an error
        let s = stage(QUERIES[1]);
        let early = EarlyFilter::of_chain(&s.filters);
        let walk_early = |line: &str, lbs: &mut LabelsBuilder| {
            walk(line.as_bytes(), &s.hints, &early, lbs, &mut String::new())
        };
        let fresh = || LabelsBuilder::new(stream());
        assert_eq!(
            walk_early("duration=1s level=x", &mut fresh()),
            HintedWalk::Dropped
        );
        assert_eq!(
            walk_early("duration=2s level=x", &mut fresh()),
            HintedWalk::Kept
        );
        assert_eq!(
            walk_early("duration=x level=x", &mut fresh()),
            HintedWalk::Kept
        );
        let mut with_err = fresh();
        with_err.set_err("JSONParserErr");
        assert_eq!(
            walk_early("duration=1s level=x", &mut with_err),
            HintedWalk::Kept
        );
        let s = stage(QUERIES[3]);
        let mut lbs = fresh();
        let line = "level=info msg=x";
        assert!(
            !s.parser
                .process(line, &mut lbs, &mut String::new(), Some(&s.hints))
        );
        let mut lbs = fresh();
        let line = "level=error msg=x";
        assert!(
            s.parser
                .process(line, &mut lbs, &mut String::new(), Some(&s.hints))
        );
        assert_eq!(lbs.get("msg"), Some("x"));
    }
}

//! Whole-pipeline tests: stage order, the batch filter, and entries through several
//! stages, with expectations taken from Loki 2.9.9 answers in the conformance corpus.

use logql::ast::{
    LabelFilter, LineFilter, LineFilterOp, LineFilterValue, NamedOrMatcher, Parser, Stage, Unwrap,
    UnwrapConv,
};
use logql::{LabelMatcher, LabelSet, MatchOp};
use storage::arrow::array::StringViewArray;

use super::*;

fn contains(op: LineFilterOp, s: &str) -> Stage {
    Stage::LineFilter(LineFilter {
        op,
        values: vec![LineFilterValue::Str(s.to_owned())],
    })
}

fn json() -> Stage {
    Stage::Parser(Parser::Json(vec![]))
}

fn logfmt() -> Stage {
    Stage::Parser(Parser::Logfmt {
        strict: false,
        keep_empty: false,
        params: vec![],
    })
}

fn label_eq(name: &str, v: &str) -> Stage {
    Stage::LabelFilter(LabelFilter::Matcher(
        LabelMatcher::new(name, MatchOp::Eq, v).unwrap(),
    ))
}

fn stream() -> LabelSet {
    LabelSet::from_pairs([("app", "edge"), ("job", "edge")])
}

fn batch(p: &Pipeline, lines: &[&str]) -> Vec<bool> {
    let arr = StringViewArray::from(lines.to_vec());
    match p.filter_batch(&arr) {
        Some(b) => b.iter().map(|v| v.unwrap_or(false)).collect(),
        None => vec![true; lines.len()],
    }
}

#[test]
fn filters_only_pipeline_is_fast_path() {
    let p = Pipeline::new(
        &[
            contains(LineFilterOp::Contains, "POST"),
            contains(LineFilterOp::NotContains, "/login"),
            contains(LineFilterOp::Contains, ""),
        ],
        None,
    )
    .unwrap();
    assert!(p.is_filter_only());
    assert_eq!(
        batch(&p, &["POST /a", "POST /login", "GET /a"]),
        [true, false, false]
    );
    let empty = Pipeline::new(&[], None).unwrap();
    assert!(empty.is_filter_only());
    assert!(
        empty
            .filter_batch(&StringViewArray::from(vec!["x"]))
            .is_none()
    );
}

#[test]
fn line_filters_move_before_parsers_and_decolorize_but_not_line_format() {
    // `| json | level="info" |= "x"`: the filter runs first, in the batch
    let p = Pipeline::new(
        &[
            json(),
            label_eq("level", "info"),
            contains(LineFilterOp::Contains, "x"),
        ],
        None,
    )
    .unwrap();
    assert!(!p.is_filter_only());
    assert_eq!(
        batch(&p, &[r#"{"level":"info"}"#, r#"{"x":1}"#]),
        [false, true]
    );
    // decolorize then filter: the filter sees the raw line (Loki's quirk)
    let p = Pipeline::new(
        &[
            Stage::Decolorize,
            contains(LineFilterOp::Contains, "\u{1b}[1;31mERROR"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(
        batch(&p, &["\u{1b}[1;31mERROR\u{1b}[0m x", "ERROR x"]),
        [true, false]
    );
    let mut sp = p.for_stream(&stream());
    let e = sp.process(1, "\u{1b}[1;31mERROR\u{1b}[0m x", &[]).unwrap();
    assert_eq!(e.line, "ERROR x");
    // after unpack the filter sees the unpacked line and is not in the batch
    let p = Pipeline::new(
        &[
            Stage::Parser(Parser::Unpack),
            contains(LineFilterOp::Contains, "msg=\"edge started\""),
        ],
        None,
    )
    .unwrap();
    assert!(p.filter_batch(&StringViewArray::from(vec!["x"])).is_none());
    let mut sp = p.for_stream(&stream());
    let e = sp
        .process(
            1,
            r#"{"_entry":"level=info msg=\"edge started\"","pod":"p1"}"#,
            &[],
        )
        .unwrap();
    assert_eq!(e.line, r#"level=info msg="edge started""#);
    assert_eq!(
        e.labels.to_string(),
        r#"{app="edge", job="edge", pod="p1"}"#
    );
    assert!(
        sp.process(1, r#"{"_entry":"other","pod":"p1"}"#, &[])
            .is_none()
    );
}

#[test]
fn parse_then_filter_then_drop() {
    let p = Pipeline::new(
        &[
            logfmt(),
            Stage::LabelFilter(LabelFilter::Number {
                name: "rows".into(),
                op: logql::ast::CmpOp::Gt,
                value: 45000.0,
            }),
            Stage::Drop(vec![NamedOrMatcher::Name("caller".into())]),
        ],
        None,
    )
    .unwrap();
    let mut sp = p.for_stream(&stream());
    let line = "level=info caller=x.go:1 rows=50000";
    let e = sp.process(5, line, &[]).unwrap();
    assert!(matches!(e.line, Cow::Borrowed(_)));
    assert_eq!(e.value, None);
    assert_eq!(
        e.labels.to_string(),
        r#"{app="edge", job="edge", level="info", rows="50000"}"#
    );
    assert!(sp.process(6, "level=info rows=10", &[]).is_none());
    assert!(sp.process(7, "level=info", &[]).is_none());
}

#[test]
fn structured_metadata_becomes_labels() {
    let p = Pipeline::new(&[label_eq("trace", "t1")], None).unwrap();
    let mut sp = p.for_stream(&stream());
    let e = sp
        .process(1, "x", &[("trace".to_owned(), "t1".to_owned())])
        .unwrap();
    assert_eq!(
        e.labels.to_string(),
        r#"{app="edge", job="edge", trace="t1"}"#
    );
    assert!(sp.process(1, "x", &[]).is_none());
}

#[test]
fn unwrap_through_pipeline() {
    let u = Unwrap {
        label: "latency_ms".into(),
        conv: UnwrapConv::None,
        post_filters: vec![],
    };
    let p = Pipeline::new(&[json(), label_eq("__error__", "")], Some(&u)).unwrap();
    assert!(!p.is_filter_only());
    let mut sp = p.for_stream(&stream());
    let e = sp
        .process(1, r#"{"latency_ms":39.5,"level":"info"}"#, &[])
        .unwrap();
    assert_eq!(e.value, Some(39.5));
    // the range aggregation's grouping removes the unwrapped label, not the pipeline
    assert_eq!(
        e.labels.to_string(),
        r#"{app="edge", job="edge", latency_ms="39.5", level="info"}"#
    );
    // a line that fails json parsing has no latency_ms: skipped without error
    assert!(sp.process(2, "panic: boom", &[]).is_none());
}

#[test]
fn bad_stages_are_rejected() {
    let err = Pipeline::new(&[Stage::Parser(Parser::Regexp("nocapture".into()))], None)
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "parse error : invalid regexp parser: at least one named capture must be supplied"
    );
    assert!(
        Pipeline::new(
            &[Stage::LineFilter(LineFilter {
                op: LineFilterOp::Contains,
                values: vec![LineFilterValue::Ip("nope".into())],
            })],
            None
        )
        .is_err()
    );
}

#[test]
fn later_parser_does_not_overwrite_labels_set_earlier_on_the_entry() {
    // Loki 2.9.9: `| unpack | logfmt` keeps the packed `level`, not the line's
    let p = Pipeline::new(&[Stage::Parser(Parser::Unpack), logfmt()], None).unwrap();
    let mut sp = p.for_stream(&stream());
    let e = sp
        .process(
            1,
            r#"{"_entry":"level=error msg=\"tls\" src=10.0.0.1","level":"info"}"#,
            &[],
        )
        .unwrap();
    assert_eq!(
        e.labels.to_string(),
        r#"{app="edge", job="edge", level="info", msg="tls", src="10.0.0.1"}"#
    );
}

#[test]
fn pipelines_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pipeline>();
    send_sync::<StreamPipeline<'static>>();
}

#[test]
fn finite_regex_filters_match_as_the_regex_does() {
    let lines = [
        "GET /api/v1/users 200",
        "POST /api/v2/orders",
        "x GET /api/v2",
        "GET /api/v3/users",
        "ends with GET /api/v",
        "1 starts the next row",
        "",
        "get /api/v1",
        "GET /api/v3 before GET /api/v2",
        "GET /api/v",
        "2 GET /api/v9",
    ];
    for (op, pattern) in [
        (LineFilterOp::Match, "GET /api/v[12]"),
        (LineFilterOp::NotMatch, "GET /api/v[12]"),
        (LineFilterOp::Match, "(GET|POST) /api/v(1|2)"),
    ] {
        let p = Pipeline::new(&[contains(op, pattern)], None).unwrap();
        let re = regex::Regex::new(pattern).unwrap();
        let expected: Vec<bool> = lines
            .iter()
            .map(|l| re.is_match(l) != (op == LineFilterOp::NotMatch))
            .collect();
        assert_eq!(batch(&p, &lines), expected, "{pattern}");
        let one_by_one: Vec<bool> = lines.iter().map(|l| batch(&p, &[l])[0]).collect();
        assert_eq!(one_by_one, expected, "{pattern}");
    }
}

//! Grammar tests, one group per area of the language: each asserts the exact AST (or the
//! canonical form, which is derived from the whole AST).

use logql::ast::*;
use logql::{Dialect, Expr, LabelMatcher, MatchOp, parse_expr, parser::parse_expr_with};

fn m(name: &str, op: MatchOp, value: &str) -> LabelMatcher {
    LabelMatcher::new(name, op, value).unwrap()
}

fn log(q: &str) -> LogExpr {
    match parse_expr(q).unwrap() {
        Expr::Log(l) => l,
        other => panic!("not a log query: {other:?}"),
    }
}

fn metric(q: &str) -> MetricExpr {
    match parse_expr(q).unwrap() {
        Expr::Metric(m) => m,
        other => panic!("not a metric query: {other:?}"),
    }
}

fn canon(q: &str) -> String {
    parse_expr(q).unwrap().to_string()
}

fn err(q: &str) -> String {
    parse_expr(q).unwrap_err().to_string()
}

#[test]
fn selectors() {
    let l = log(r#"{job="api", env!="dev", app=~"a|b", host!~"x.*"}"#);
    assert_eq!(
        l.selector,
        vec![
            m("job", MatchOp::Eq, "api"),
            m("env", MatchOp::Neq, "dev"),
            m("app", MatchOp::Re, "a|b"),
            m("host", MatchOp::Nre, "x.*"),
        ]
    );
    assert!(l.pipeline.is_empty());
    assert_eq!(
        log("{job=`a\\b`}").selector,
        vec![m("job", MatchOp::Eq, "a\\b")]
    );
    assert_eq!(
        log(r#"{job="a\"b\n"}"#).selector,
        vec![m("job", MatchOp::Eq, "a\"b\n")]
    );
    assert_eq!(
        log(r#"( {job="api"} |= "x" )"#).pipeline.len(),
        1,
        "parenthesised log query"
    );
    assert_eq!(
        logql::parse_selector(r#"{a="b"}"#).unwrap(),
        vec![m("a", MatchOp::Eq, "b")]
    );
    assert_eq!(
        logql::parse_selector(r#"{a="b"} |= "x""#)
            .unwrap_err()
            .to_string(),
        "only label matchers are supported"
    );
}

#[test]
fn line_filters() {
    let l =
        log(r#"{a="b"} |= "x" != "y" |~ "z+" !~ "w" |> "<_> foo" !> "bar" |= ip("10.0.0.0/8")"#);
    let f = |op, v: &str| {
        Stage::LineFilter(LineFilter {
            op,
            values: vec![LineFilterValue::Str(v.into())],
        })
    };
    assert_eq!(
        l.pipeline,
        vec![
            f(LineFilterOp::Contains, "x"),
            f(LineFilterOp::NotContains, "y"),
            f(LineFilterOp::Match, "z+"),
            f(LineFilterOp::NotMatch, "w"),
            f(LineFilterOp::Pattern, "<_> foo"),
            f(LineFilterOp::NotPattern, "bar"),
            Stage::LineFilter(LineFilter {
                op: LineFilterOp::Contains,
                values: vec![LineFilterValue::Ip("10.0.0.0/8".into())]
            }),
        ]
    );
}

#[test]
fn line_filter_or_is_loki3_syntax() {
    let loki3 = Dialect {
        line_filter_or: true,
    };
    let q = r#"{a="b"} |= "x" or "y" or ip("::1")"#;
    let Expr::Log(l) = parse_expr_with(q, loki3).unwrap() else {
        panic!()
    };
    assert_eq!(
        l.pipeline,
        vec![Stage::LineFilter(LineFilter {
            op: LineFilterOp::Contains,
            values: vec![
                LineFilterValue::Str("x".into()),
                LineFilterValue::Str("y".into()),
                LineFilterValue::Ip("::1".into())
            ]
        })]
    );
    // negative alternatives become separate filters, printed as Loki prints them
    let e = parse_expr_with(r#"{a="b"} != "x" or "y""#, loki3).unwrap();
    assert_eq!(e.to_string(), r#"{a="b"} != "x" != "y""#);
    assert_eq!(
        parse_expr_with(r#"{a="b"} |= "x" or "y""#, loki3)
            .unwrap()
            .to_string(),
        r#"{a="b"} |= "x" or "y""#
    );
    // the default is Loki 3; the Loki 2.9 dialect rejects it with Loki 2.9's text
    assert_eq!(
        parse_expr(r#"{a="b"} |= "x" or "y""#).unwrap(),
        parse_expr_with(r#"{a="b"} |= "x" or "y""#, loki3).unwrap()
    );
    assert_eq!(
        parse_expr_with(r#"{a="b"} |= "x" or "y""#, Dialect::LOKI_2_9)
            .unwrap_err()
            .to_string(),
        "parse error at line 1, col 19: syntax error: unexpected STRING"
    );
}

#[test]
fn parsers() {
    let l = log(
        r#"{a="b"} | json | json x="a.b", y="c[0]", z=`["k"]` | logfmt | logfmt --strict --keep-empty a, b="c" | regexp "(?P<x>.)" | pattern "<x> <_>" | unpack"#,
    );
    assert_eq!(
        l.pipeline,
        vec![
            Stage::Parser(Parser::Json(vec![])),
            Stage::Parser(Parser::Json(vec![
                ("x".into(), "a.b".into()),
                ("y".into(), "c[0]".into()),
                ("z".into(), "[\"k\"]".into()),
            ])),
            Stage::Parser(Parser::Logfmt {
                strict: false,
                keep_empty: false,
                params: vec![]
            }),
            Stage::Parser(Parser::Logfmt {
                strict: true,
                keep_empty: true,
                params: vec![("a".into(), "a".into()), ("b".into(), "c".into())]
            }),
            Stage::Parser(Parser::Regexp("(?P<x>.)".into())),
            Stage::Parser(Parser::Pattern("<x> <_>".into())),
            Stage::Parser(Parser::Unpack),
        ]
    );
}

#[test]
fn label_filters() {
    let l = log(
        r#"{a="b"} | s="x" | n >= 400 | n == -1.5 | d > 5s | d <= 1h30m | b < 20MB | b != 1KiB | ip = ip("1.2.3.4") | ip != ip("::1")"#,
    );
    assert_eq!(
        l.pipeline,
        vec![
            Stage::LabelFilter(LabelFilter::Matcher(m("s", MatchOp::Eq, "x"))),
            Stage::LabelFilter(LabelFilter::Number {
                name: "n".into(),
                op: CmpOp::Gte,
                value: 400.0
            }),
            Stage::LabelFilter(LabelFilter::Number {
                name: "n".into(),
                op: CmpOp::Eq,
                value: -1.5
            }),
            Stage::LabelFilter(LabelFilter::Duration {
                name: "d".into(),
                op: CmpOp::Gt,
                value: 5_000_000_000
            }),
            Stage::LabelFilter(LabelFilter::Duration {
                name: "d".into(),
                op: CmpOp::Lte,
                value: 5_400_000_000_000
            }),
            Stage::LabelFilter(LabelFilter::Bytes {
                name: "b".into(),
                op: CmpOp::Lt,
                value: 20_000_000
            }),
            Stage::LabelFilter(LabelFilter::Bytes {
                name: "b".into(),
                op: CmpOp::Neq,
                value: 1024
            }),
            Stage::LabelFilter(LabelFilter::Ip {
                name: "ip".into(),
                negated: false,
                pattern: "1.2.3.4".into()
            }),
            Stage::LabelFilter(LabelFilter::Ip {
                name: "ip".into(),
                negated: true,
                pattern: "::1".into()
            }),
        ]
    );
}

#[test]
fn label_filter_precedence_follows_loki() {
    // `and` binds tighter than `or`; `,` and juxtaposition take everything to their right
    assert_eq!(
        canon(r#"{a="b"} | x="1" and y="2" or z="3""#),
        r#"{a="b"} | ( ( x="1" , y="2" ) or z="3" )"#
    );
    assert_eq!(
        canon(r#"{a="b"} | x="1" or y="2" and z="3""#),
        r#"{a="b"} | ( x="1" or ( y="2" , z="3" ) )"#
    );
    assert_eq!(
        canon(r#"{a="b"} | x="1" and y="2", z="3""#),
        r#"{a="b"} | ( x="1" , ( y="2" , z="3" ) )"#
    );
    assert_eq!(
        canon(r#"{a="b"} | x="1" y="2" or z="3""#),
        r#"{a="b"} | ( x="1" , ( y="2" or z="3" ) )"#
    );
    assert_eq!(
        canon(r#"{a="b"} | (x="1" or y="2") and z="3""#),
        r#"{a="b"} | ( ( x="1" or y="2" ) , z="3" )"#
    );
}

#[test]
fn formatting_stages() {
    let l = log(
        r#"{a="b"} | line_format "{{.a}}" | label_format x=y, z="{{.w}}" | decolorize | drop a, b="c" | keep d, e=~"f.*""#,
    );
    assert_eq!(
        l.pipeline,
        vec![
            Stage::LineFormat("{{.a}}".into()),
            Stage::LabelFormat(vec![
                LabelFormatOp::Rename {
                    dst: "x".into(),
                    src: "y".into()
                },
                LabelFormatOp::Template {
                    dst: "z".into(),
                    template: "{{.w}}".into()
                },
            ]),
            Stage::Decolorize,
            Stage::Drop(vec![
                NamedOrMatcher::Name("a".into()),
                NamedOrMatcher::Matcher(m("b", MatchOp::Eq, "c"))
            ]),
            Stage::Keep(vec![
                NamedOrMatcher::Name("d".into()),
                NamedOrMatcher::Matcher(m("e", MatchOp::Re, "f.*"))
            ]),
        ]
    );
}

#[test]
fn range_aggregations() {
    for (q, op) in [
        ("count_over_time", RangeOp::Count),
        ("rate", RangeOp::Rate),
        ("bytes_over_time", RangeOp::Bytes),
        ("bytes_rate", RangeOp::BytesRate),
        ("absent_over_time", RangeOp::Absent),
    ] {
        let MetricExpr::Range(r) = metric(&format!(r#"{q}({{job="api"}} |= "x" [5m])"#)) else {
            panic!()
        };
        assert_eq!(r.op, op);
        assert_eq!(r.range.range, 300_000_000_000);
        assert_eq!(r.range.log.pipeline.len(), 1);
        assert_eq!(r.range.unwrap, None);
    }
    // range before the pipeline, offset, unwrap with conversion and post filter
    let MetricExpr::Range(r) = metric(
        r#"quantile_over_time(0.99, {a="b"}[1h] offset 5m | logfmt | unwrap duration_seconds(d) | __error__="") by (x)"#,
    ) else {
        panic!()
    };
    assert_eq!(r.op, RangeOp::Quantile);
    assert_eq!(r.param, Some(0.99));
    assert_eq!(r.range.range, 3_600_000_000_000);
    assert_eq!(r.range.offset, 300_000_000_000);
    assert_eq!(r.range.log.pipeline.len(), 1);
    assert_eq!(
        r.range.unwrap,
        Some(Unwrap {
            label: "d".into(),
            conv: UnwrapConv::Duration,
            post_filters: vec![LabelFilter::Matcher(m("__error__", MatchOp::Eq, ""))]
        })
    );
    assert_eq!(
        r.grouping,
        Some(Grouping {
            without: false,
            labels: vec!["x".into()]
        })
    );
    // every accepted placement prints the same canonical form
    let want = r#"sum_over_time({a="b"} | json | unwrap bytes(s)[5m] offset 1m0s)"#;
    for q in [
        r#"sum_over_time({a="b"} | json | unwrap bytes(s) [5m] offset 1m)"#,
        r#"sum_over_time({a="b"}[5m] offset 1m | json | unwrap bytes(s))"#,
        r#"sum_over_time(({a="b"} | json | unwrap bytes(s))[5m] offset 1m)"#,
        r#"sum_over_time((({a="b"} | json | unwrap bytes(s))[5m] offset 1m))"#,
    ] {
        assert_eq!(canon(q), want, "{q}");
    }
    assert_eq!(
        canon(r#"rate({a="b"}[5m] offset -1h)"#),
        r#"rate({a="b"}[5m] offset -1h0m0s)"#
    );
}

#[test]
fn vector_aggregations() {
    for (name, op) in [
        ("sum", VectorOp::Sum),
        ("avg", VectorOp::Avg),
        ("min", VectorOp::Min),
        ("max", VectorOp::Max),
        ("stddev", VectorOp::Stddev),
        ("stdvar", VectorOp::Stdvar),
        ("count", VectorOp::Count),
        ("sort", VectorOp::Sort),
        ("sort_desc", VectorOp::SortDesc),
    ] {
        let MetricExpr::Vector(v) = metric(&format!(r#"{name}(rate({{a="b"}}[1m]))"#)) else {
            panic!()
        };
        assert_eq!(v.op, op);
        assert_eq!(v.param, None);
        assert_eq!(v.grouping, None);
    }
    let MetricExpr::Vector(v) = metric(r#"topk(3, rate({a="b"}[1m])) by (x, y)"#) else {
        panic!()
    };
    assert_eq!((v.op, v.param), (VectorOp::Topk, Some(3)));
    assert_eq!(
        v.grouping,
        Some(Grouping {
            without: false,
            labels: vec!["x".into(), "y".into()]
        })
    );
    assert_eq!(
        canon(r#"bottomk without (a) (2, rate({a="b"}[1m]))"#),
        r#"bottomk without (a)(2,rate({a="b"}[1m]))"#
    );
    assert_eq!(
        canon(r#"approx_topk(5, rate({a="b"}[1m]))"#),
        r#"approx_topk(5,rate({a="b"}[1m]))"#
    );
    assert_eq!(
        canon(r#"SUM BY (a) (RATE({a="b"}[1m]))"#),
        r#"sum by (a)(rate({a="b"}[1m]))"#
    );
}

#[test]
fn binary_operators() {
    let r = r#"rate({a="b"}[1m])"#;
    // precedence: * over +, comparison below arithmetic, and/or lowest
    assert_eq!(
        canon(&format!("{r} + {r} * 2 > 1 and {r} or {r}")),
        format!(
            "((((rate({{a=\"b\"}}[1m]) + (rate({{a=\"b\"}}[1m]) * 2)) > 1) and rate({{a=\"b\"}}[1m])) or rate({{a=\"b\"}}[1m]))"
        )
    );
    // left associative, except ^
    assert_eq!(
        canon(&format!("{r} - 1 - 2")),
        format!("((rate({{a=\"b\"}}[1m]) - 1) - 2)")
    );
    assert_eq!(
        canon(&format!("{r} ^ 2 ^ 3")),
        format!("(rate({{a=\"b\"}}[1m]) ^ 8)")
    );
    let MetricExpr::Binary(b) = metric(&format!("{r} / bool ignoring(x, y) group_right(z) {r}"))
    else {
        panic!()
    };
    assert_eq!(b.op, BinOp::Div);
    assert!(b.return_bool);
    assert_eq!(
        b.matching,
        Some(VectorMatching {
            on: false,
            labels: vec!["x".into(), "y".into()],
            card: Cardinality::OneToMany(vec!["z".into()])
        })
    );
    assert_eq!(
        canon(&format!("{r} * on() group_left {r}")),
        format!("({r} * on () group_left {r})")
    );
    // literals fold like Loki's parser does
    assert_eq!(metric("1 + 2 * 3"), MetricExpr::Literal(7.0));
    assert_eq!(metric("-2 ^ 2"), MetricExpr::Literal(4.0));
    assert_eq!(metric("2 > 1"), MetricExpr::Literal(1.0));
    assert!(matches!(metric("1 / 0"), MetricExpr::Literal(v) if v.is_nan()));
    assert_eq!(metric("(1 + 1) * 3"), MetricExpr::Literal(6.0));
}

#[test]
fn literals_vector_label_replace_and_comments() {
    assert_eq!(metric("-1.5e3"), MetricExpr::Literal(-1500.0));
    assert_eq!(metric("+4"), MetricExpr::Literal(4.0));
    assert_eq!(metric(".5"), MetricExpr::Literal(0.5));
    assert_eq!(metric("vector(2)"), MetricExpr::VectorLiteral(2.0));
    let MetricExpr::LabelReplace(l) =
        metric(r#"label_replace(rate({a="b"}[1m]), "dst", "$1-x", "src", "(.*)")"#)
    else {
        panic!()
    };
    assert_eq!(
        (
            l.dst.as_str(),
            l.replacement.as_str(),
            l.src.as_str(),
            l.regex.as_str()
        ),
        ("dst", "$1-x", "src", "(.*)")
    );
    assert_eq!(
        canon("sum(rate({a=\"b\"}[1m])) # a comment\n  by (x) # another"),
        r#"sum by (x)(rate({a="b"}[1m]))"#
    );
}

#[test]
fn keywords_are_case_insensitive_and_functions_need_parens() {
    assert_eq!(
        canon(r#"{a="b"} | JSON | Rate > 5 | count="x""#),
        r#"{a="b"} | json | Rate>5 | count="x""#
    );
}

#[test]
fn validation_errors() {
    assert_eq!(
        err(r#"{a=~".*"}"#),
        r#"parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will"#
    );
    assert_eq!(
        err(r#"sort by (a) (rate({a="b"}[1m]))"#),
        "parse error : sort and sort_desc doesn't allow grouping by "
    );
    assert_eq!(
        err(r#"topk(0, rate({a="b"}[1m]))"#),
        "parse error : invalid parameter (must be greater than 0) topk(0"
    );
    assert_eq!(
        err(r#"topk(1.5, rate({a="b"}[1m]))"#),
        "parse error : invalid parameter topk(1.5,"
    );
    assert_eq!(
        err(r#"sum(2, rate({a="b"}[1m]))"#),
        "parse error : unsupported parameter for operation sum(2,"
    );
    assert_eq!(
        err(r#"rate(2, {a="b"}[1m])"#),
        "parse error : parameter 2 not supported for operation rate"
    );
    assert_eq!(
        err(r#"quantile_over_time({a="b"} | unwrap x [1m])"#),
        "parse error : parameter required for operation quantile_over_time"
    );
    assert_eq!(
        err(r#"rate({a="b"}[1m]) and 1"#),
        "parse error : unexpected literal for right leg of logical/set binary operation (and): 1.000000"
    );
    assert_eq!(
        err(r#"{a="b"} or rate({a="b"}[1m])"#),
        "parse error : unexpected type for left leg of binary operation (or): *syntax.MatchersExpr"
    );
    assert_eq!(
        err(r#"{a="b"} | regexp "(?P<a>x)(?P<a>y)""#),
        "parse error : invalid regexp parser: duplicate extracted label name 'a'"
    );
    assert_eq!(
        err(r#"{a=~"("}"#),
        "parse error : error parsing regexp: missing closing ): `^(?:()$`"
    );
    assert_eq!(
        err(&format!("{{a=\"{}\"}}", "x".repeat(5200))),
        "parse error : input size too long (5206 > 5120)"
    );
}

#[test]
fn deep_nesting_fits_a_small_thread_stack() {
    // the deepest trees that fit in Loki's 5,120-byte limit, on a tokio-sized stack
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let sums = format!(
                "{}rate({{a=\"b\"}}[1m]){}",
                "sum(".repeat(1000),
                ")".repeat(1000)
            );
            let e = parse_expr(&sums).unwrap();
            assert_eq!(e.to_string(), sums);
            assert!(logql::format_query(&e).starts_with("sum(\n  sum(\n"));
            let chain = format!("rate({{a=\"b\"}}[1m]){}", "+1".repeat(2540));
            let e = parse_expr(&chain).unwrap();
            // printing adds a pair of parentheses per operator
            assert_eq!(e.to_string().len(), 15_257);
            let parens = format!("{}1{}", "(".repeat(2500), ")".repeat(2500));
            assert_eq!(
                parse_expr(&parens).unwrap(),
                Expr::Metric(MetricExpr::Literal(1.0))
            );
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn errors_come_in_loki_order() {
    // Loki rejects a bad regex as soon as it reduces the matcher, before a later syntax error
    assert_eq!(
        err(r#"{job=~"("} |="#),
        "parse error : error parsing regexp: missing closing ): `^(?:()$`"
    );
    assert_eq!(
        err(r#"{job="a"} | regexp "x" |="#),
        "parse error : invalid regexp parser: at least one named capture must be supplied"
    );
    // ... but a syntax error before it wins
    assert_eq!(
        err(r#"{job="a"} |= | regexp "x""#),
        "parse error at line 1, col 14: syntax error: unexpected |, expecting STRING or ip"
    );
    // a lexer error after a syntax error loses; before it, wins
    assert_eq!(
        err(r#"{job="a" x} |= "\q""#),
        "parse error at line 1, col 10: syntax error: unexpected IDENTIFIER, expecting } or ,"
    );
    assert_eq!(
        err(r#"{job="\q" x}"#),
        "parse error at line 1, col 6: invalid char escape"
    );
}

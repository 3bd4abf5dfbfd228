//! Snapshot of the error text for a catalogue of invalid queries (insta). Each line is
//! `query  =>  error`; review changes to the snapshot against Loki's behaviour.

const QUERIES: &[&str] = &[
    "",
    "   ",
    "{",
    "{}",
    r#"{job="nginx""#,
    r#"{job="nginx",}"#,
    r#"{job=nginx}"#,
    r#"{job="a} |= "x""#,
    r#"{job="\q"}"#,
    r#"{job=~"("}"#,
    r#"{job=~".*"}"#,
    r#"{job="a", env!="b"}"#,
    r#"{job="a"} |="#,
    r#"{job="a"} |= 5"#,
    r#"{job="a"} | json |"#,
    r#"{job="a"} | line_format"#,
    r#"{job="a"} | regexp "nocapture""#,
    r#"{job="a"} | regexp "(?P<1a>x)""#,
    r#"{job="a"} | pattern "nocapture""#,
    r#"{job="a"} | pattern "<a><b>""#,
    r#"{job="a"} | json | status >"#,
    r#"{job="a"} | json | status > 5xyz"#,
    r#"{job="a"} | json | status > "5""#,
    r#"{job="a"} | label_format a"#,
    r#"{job="a"} | drop"#,
    r#"count_over_time({job="a"})"#,
    r#"count_over_time({job="a"}[5x])"#,
    r#"count_over_time({job="a"}[5m)"#,
    r#"count_over_time({job="a"}[])"#,
    r#"count_over_time({job="a"}[5m] offset)"#,
    r#"count_over_time({job="a"} | unwrap x [5m])"#,
    r#"sum_over_time({job="a"}[5m])"#,
    r#"sum_over_time({job="a"} | unwrap x [5m]) by (app)"#,
    r#"absent_over_time({job="a"}[5m]) by (app)"#,
    r#"quantile_over_time({job="a"} | unwrap x [5m])"#,
    r#"quantile_over_time(0.9, {job="a"}[5m])"#,
    r#"rate(1, {job="a"}[5m])"#,
    r#"foo_over_time({job="a"}[5m])"#,
    r#"sum({job="a"})"#,
    r#"sum(rate({job="a"}[5m])"#,
    r#"sum by (app (rate({job="a"}[5m]))"#,
    r#"sum by (app) (rate({job="a"}[5m])) by (env)"#,
    r#"sum(2, rate({job="a"}[5m]))"#,
    r#"topk(rate({job="a"}[5m]))"#,
    r#"topk(x, rate({job="a"}[5m]))"#,
    r#"topk(0, rate({job="a"}[5m]))"#,
    r#"topk(-1, rate({job="a"}[5m]))"#,
    r#"sort by (a) (rate({job="a"}[5m]))"#,
    r#"-sum(rate({job="a"}[5m]))"#,
    r#"rate({job="a"}[5m]) +"#,
    r#"rate({job="a"}[5m]) + on"#,
    r#"rate({job="a"}[5m]) + on(a) group_left(b"#,
    r#"rate({job="a"}[5m]) + rate({job="a"}[5m]) group_left"#,
    r#"rate({job="a"}[5m]) and 1"#,
    r#"1 or rate({job="a"}[5m])"#,
    r#"{job="a"} + 1"#,
    r#"1 + {job="a"} |= "x""#,
    r#"{job="a"} |= "x" or "y""#,
    r#"vector(x)"#,
    r#"vector()"#,
    r#"label_replace(rate({job="a"}[5m]), "x", "$1", "app", "(")"#,
    r#"label_replace(rate({job="a"}[5m]), "x", "$1", "app")"#,
    r#"(rate({job="a"}[5m])"#,
    r#"rate({job="a"}[5m]))"#,
    "{job=\"a\"}\n| json\n| status >",
    r#"{job="a"} # only a comment |= "x" (ignored)"#,
];

#[test]
fn error_messages() {
    let mut out = String::new();
    for q in QUERIES {
        let res = match logql::parse_expr_with(q, logql::Dialect::LOKI_2_9) {
            Ok(e) => format!("OK {e}"),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!("{q:?}\n    => {res}\n"));
    }
    insta::assert_snapshot!("error_messages", out);
}

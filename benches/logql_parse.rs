//! Micro-benchmark: LogQL parsing of a selector, a line-filter query and a metric query.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// The three representative queries: selector, line filters, metric with parsers.
const QUERIES: [(&str, &str); 3] = [
    (
        "selector",
        r#"{app="nginx", env=~"prod|staging", pod!="x"}"#,
    ),
    (
        "line_filter",
        r#"{app="nginx"} |= "GET" != "healthz" |~ "/api/v[12]" !~ "(?i)bot""#,
    ),
    (
        "metric_json_unwrap_by",
        r#"sum by (status, method) (rate({app="nginx"} | json | status >= 400 | unwrap duration_ms [5m])) / 1000"#,
    ),
];

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("logql_parse");
    for (name, query) in QUERIES {
        assert!(logql::parse_expr(query).is_ok(), "{name} must parse");
        group.bench_function(name, |b| b.iter(|| logql::parse_expr(black_box(query))));
    }
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);

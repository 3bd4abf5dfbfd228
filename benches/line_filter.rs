//! Micro-benchmark: hoisted line filters over one Arrow column of ~100k nginx lines
//! (`Pipeline::filter_batch`, the engine's vectorised fast path).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logql::Expr;
use querier::pipeline::Pipeline;
use std::hint::black_box;
use storage::arrow::array::StringViewArray;

/// Lines in the column.
const LINES: usize = 100_000;

/// (bench name, query whose pipeline is only line filters).
const FILTERS: [(&str, &str); 4] = [
    ("literal_contains", r#"{app="nginx"} |= "/api/v2/orders""#),
    ("literal_not_contains", r#"{app="nginx"} != "healthz""#),
    ("regex", r#"{app="nginx"} |~ "GET /api/v[12]""#),
    (
        "case_insensitive_regex",
        r#"{app="nginx"} |~ "(?i)googlebot""#,
    ),
];

/// Compiles the pipeline of a log query.
fn pipeline(query: &str) -> Pipeline {
    let Expr::Log(log) = logql::parse_expr(query).unwrap() else {
        panic!("{query} is not a log query");
    };
    Pipeline::new(&log.pipeline, None).unwrap()
}

fn bench_filters(c: &mut Criterion) {
    let lines = common::nginx_lines(LINES);
    let bytes = common::total_bytes(&lines);
    let column = StringViewArray::from_iter_values(lines.iter());
    let mut group = c.benchmark_group("line_filter_100k");
    group.throughput(Throughput::Bytes(bytes));
    for (name, query) in FILTERS {
        let p = pipeline(query);
        let kept = p.filter_batch(&column).unwrap().true_count();
        assert!(
            kept > 0 && kept < LINES,
            "{name} must keep some lines, kept {kept}"
        );
        group.bench_function(name, |b| b.iter(|| p.filter_batch(black_box(&column))));
    }
    group.finish();
}

criterion_group!(benches, bench_filters);
criterion_main!(benches);

//! Micro-benchmark: parser stages (`json`, `logfmt`, `pattern`) over 10k lines through
//! `Pipeline::for_stream(..).process`, the per-entry path of every parsed query.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logql::Expr;
use logql::ast::{Grouping, Stage};
use querier::pipeline::{ParserHints, Pipeline};
use std::hint::black_box;

/// Lines per iteration.
const LINES: usize = 10_000;

/// The stages of the log query `query`.
fn stages(query: &str) -> Vec<Stage> {
    let Expr::Log(log) = logql::parse_expr(query).unwrap() else {
        panic!("{query} is not a log query");
    };
    log.pipeline
}

/// Compiles the pipeline of a log query.
fn pipeline(query: &str) -> Pipeline {
    Pipeline::new(&stages(query), None).unwrap()
}

/// Compiles the pipeline of a log query as the range aggregation of a metric query
/// grouped `by (by)` runs it: parsers limited to the labels the query can observe.
fn hinted_pipeline(query: &str, by: &str) -> Pipeline {
    let stages = stages(query);
    let grouping = Grouping {
        without: false,
        labels: vec![by.to_string()],
    };
    let hints = ParserHints::for_range(&stages, None, Some(&grouping));
    assert!(hints.is_some(), "{query} gets no hints");
    Pipeline::new(&stages, None).unwrap().with_hints(hints)
}

/// Runs every line through `p`; returns how many survived (so nothing is optimised out).
fn run(p: &Pipeline, lines: &[String]) -> usize {
    let stream = common::labels(&[("app", "bench")]);
    let mut sp = p.for_stream(&stream);
    let mut kept = 0;
    for (i, line) in lines.iter().enumerate() {
        if let Some(out) = sp.process(i as i64, line, &[]) {
            kept += out.labels.len();
        }
    }
    kept
}

fn bench_parsers(c: &mut Criterion) {
    let cases = [
        ("json", r#"{app="bench"} | json"#, common::json_lines(LINES)),
        (
            "logfmt",
            r#"{app="bench"} | logfmt"#,
            common::logfmt_lines(LINES),
        ),
        (
            "pattern",
            r#"{app="bench"} | pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status> <size> <_>""#,
            common::nginx_lines(LINES),
        ),
        (
            "json_label_filter",
            r#"{app="bench"} | json | status >= 400"#,
            common::json_lines(LINES),
        ),
    ];
    let mut group = c.benchmark_group("parser_10k");
    // the parsers as `sum by (level) (rate({..} | json | duration_ms > 1500 [5m]))` runs
    // them: only `level` and `duration_ms` are extracted, the walk stops once both are
    let hinted = [
        (
            "json_hinted",
            r#"{app="bench"} | json | duration_ms > 1500"#,
            common::json_lines(LINES),
        ),
        (
            "logfmt_hinted",
            r#"{app="bench"} | logfmt | duration_ms > 1500"#,
            common::logfmt_lines(LINES),
        ),
    ];
    for (name, query, lines) in &hinted {
        let p = hinted_pipeline(query, "level");
        assert!(run(&p, lines) > 0, "{name} kept nothing");
        group.throughput(Throughput::Bytes(common::total_bytes(lines)));
        group.bench_function(*name, |b| b.iter(|| run(&p, black_box(lines))));
    }
    for (name, query, lines) in &cases {
        let p = pipeline(query);
        // every parser must extract labels beyond the one stream label
        assert!(run(&p, lines) > lines.len(), "{name} extracted nothing");
        group.throughput(Throughput::Bytes(common::total_bytes(lines)));
        group.bench_function(*name, |b| b.iter(|| run(&p, black_box(lines))));
    }
    group.finish();
}

criterion_group!(benches, bench_parsers);
criterion_main!(benches);

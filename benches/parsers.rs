//! Micro-benchmark: parser stages (`json`, `logfmt`, `pattern`) over 10k lines through
//! `Pipeline::for_stream(..).process`, the per-entry path of every parsed query.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logql::Expr;
use querier::pipeline::Pipeline;
use std::hint::black_box;

/// Lines per iteration.
const LINES: usize = 10_000;

/// Compiles the pipeline of a log query.
fn pipeline(query: &str) -> Pipeline {
    let Expr::Log(log) = logql::parse_expr(query).unwrap() else {
        panic!("{query} is not a log query");
    };
    Pipeline::new(&log.pipeline, None).unwrap()
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

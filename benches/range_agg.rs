//! Micro-benchmark: range aggregations over ~1M entries through the whole querier engine
//! (`Querier::query_range` on a `MemorySource`), 5m step over 6h.

mod common;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use querier::source::{LogSource, MemorySource};
use querier::{Direction, Querier, QueryData, QueryLimits, RangeQuery};

/// Streams in the source.
const STREAMS: usize = 10;
/// Entries per stream (10 x 100k = 1M).
const PER_STREAM: usize = 100_000;
/// Queried range: 6h.
const RANGE: i64 = 6 * 3600 * common::SEC;
/// Step: 5m.
const STEP: i64 = 300 * common::SEC;

/// (bench name, metric query).
const QUERIES: [(&str, &str); 3] = [
    ("count_over_time", r#"count_over_time({app="nginx"}[5m])"#),
    ("sum_by_rate", r#"sum by (level) (rate({app="nginx"}[5m]))"#),
    (
        "sum_count_filtered",
        r#"sum(count_over_time({app="nginx"} |= "GET" [5m]))"#,
    ),
];

fn bench_range_agg(c: &mut Criterion) {
    let rt = common::runtime();
    let lines = common::nginx_lines(PER_STREAM);
    let bytes = common::total_bytes(&lines) * STREAMS as u64;
    let spacing = RANGE / PER_STREAM as i64;
    let source = MemorySource::new();
    for s in 0..STREAMS {
        let level = ["info", "warn", "error"][s % 3];
        let pod = format!("pod-{s}");
        let labels = common::labels(&[("app", "nginx"), ("level", level), ("pod", pod.as_str())]);
        // streams are offset by a few ns so their timestamps interleave
        let entries = common::entries(&lines, common::T0 + s as i64, spacing);
        source.push("fake", &labels, &entries).unwrap();
    }
    drop(lines);
    let querier = Querier::with_sources(
        vec![Arc::new(source) as Arc<dyn LogSource>],
        QueryLimits::default(),
    );
    let mut group = c.benchmark_group("range_agg_1m");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    for (name, query) in QUERIES {
        let q = RangeQuery {
            query: query.to_string(),
            start: common::T0 + STEP,
            end: common::T0 + RANGE,
            step: STEP,
            interval: None,
            limit: 100,
            direction: Direction::Backward,
        };
        let resp = rt.block_on(querier.query_range("fake", &q)).unwrap();
        let QueryData::Matrix(series) = &resp.data else {
            panic!("{name}: expected a matrix");
        };
        assert!(!series.is_empty(), "{name}: empty result");
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(querier.query_range("fake", &q)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_range_agg);
criterion_main!(benches);

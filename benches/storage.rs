//! Micro-benchmarks of storage: segment encoding (`storage::segment::encode_segment`),
//! the trigram page filters built with it (`storage::grams::FilterBuilder`),
//! segment reading/decoding (`Storage::read` on a local filesystem store, page cache
//! warm), and index lookups (`Storage::series` over many streams).

mod common;

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use storage::{Storage, StorageConfig, StreamData};

/// Streams in the encode/decode segment.
const SEG_STREAMS: usize = 10;
/// Entries per stream in the encode/decode segment (10 x 10k = 100k).
const SEG_PER_STREAM: usize = 10_000;
/// Spacing of entries: 10k entries span ~2.8h.
const SEG_SPACING: i64 = common::SEC;

/// Streams in the index-lookup store.
const INDEX_STREAMS: usize = 10_000;
/// Segments the index-lookup streams are spread over.
const INDEX_SEGMENTS: usize = 5;

/// `SEG_STREAMS` streams of nginx lines.
fn segment_streams() -> Vec<StreamData> {
    let lines = common::nginx_lines(SEG_PER_STREAM);
    (0..SEG_STREAMS)
        .map(|s| {
            let pod = format!("pod-{s}");
            let labels = common::labels(&[("app", "nginx"), ("pod", pod.as_str())]);
            StreamData::from_entries(
                labels,
                common::entries(&lines, common::T0 + s as i64, SEG_SPACING),
            )
        })
        .collect()
}

/// Opens a filesystem store under `root` whose index never re-lists during the bench.
fn open(rt: &tokio::runtime::Runtime, root: &std::path::Path) -> Storage {
    rt.block_on(Storage::open(&StorageConfig::Filesystem {
        root: root.to_path_buf(),
    }))
    .unwrap()
    .with_refresh_interval(Duration::from_secs(3600))
}

fn bench_segment(c: &mut Criterion) {
    let streams = segment_streams();
    let bytes: u64 = streams.iter().map(StreamData::line_bytes).sum();
    let rows = (SEG_STREAMS * SEG_PER_STREAM) as i64;
    let encoded = storage::segment::encode_segment("bench", streams.clone())
        .unwrap()
        .unwrap();
    eprintln!(
        "segment: {rows} rows, {bytes} line bytes -> {} bytes encoded",
        encoded.data.len()
    );

    let mut group = c.benchmark_group("segment_100k_rows");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("encode", |b| {
        b.iter_batched(
            || streams.clone(),
            |s| storage::segment::encode_segment("bench", s).unwrap(),
            BatchSize::LargeInput,
        )
    });

    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&rt, dir.path());
    rt.block_on(store.write_segment("fake", streams.clone()))
        .unwrap();
    let fps: Vec<u64> = streams.iter().map(|s| s.fingerprint).collect();
    let end = common::T0 + SEG_PER_STREAM as i64 * SEG_SPACING + 1;
    let read_rows = |fps: &[u64], start: i64, end: i64| -> usize {
        rt.block_on(store.read("fake", fps, start, end))
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum()
    };
    assert_eq!(read_rows(&fps[..], common::T0, end) as i64, rows);
    group.bench_function("read_all", |b| {
        b.iter(|| read_rows(black_box(&fps[..]), common::T0, end))
    });
    group.finish();

    // one stream, a 1h window in the middle: page pruning plus the ts row filter
    let one = [fps[3]];
    let (w_start, w_end) = (
        common::T0 + 3600 * common::SEC,
        common::T0 + 7200 * common::SEC,
    );
    assert_eq!(read_rows(&one[..], w_start, w_end), 3600);
    let mut group = c.benchmark_group("segment_read_1_stream_1h");
    group.throughput(Throughput::Bytes(
        bytes / SEG_STREAMS as u64 * 3600 / SEG_PER_STREAM as u64,
    ));
    group.bench_function("read", |b| {
        b.iter(|| read_rows(black_box(&one[..]), w_start, w_end))
    });
    group.finish();
}

fn bench_index(c: &mut Criterion) {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&rt, dir.path());
    let per_segment = INDEX_STREAMS / INDEX_SEGMENTS;
    for seg in 0..INDEX_SEGMENTS {
        let streams: Vec<StreamData> = (seg * per_segment..(seg + 1) * per_segment)
            .map(|i| {
                let app = format!("app-{}", i % 50);
                let pod = format!("pod-{i}");
                let env = if i % 4 == 0 { "dev" } else { "prod" };
                let labels =
                    common::labels(&[("app", app.as_str()), ("env", env), ("pod", pod.as_str())]);
                StreamData::from_entries(
                    labels,
                    common::entries(&[format!("line {i}")], common::T0, 1),
                )
            })
            .collect();
        rt.block_on(store.write_segment("fake", streams)).unwrap();
    }
    let (start, end) = (
        common::T0 - 3600 * common::SEC,
        common::T0 + 3600 * common::SEC,
    );
    // (bench name, selector, expected stream count)
    let cases = [
        ("eq_200_of_10k", r#"{app="app-7"}"#, 200),
        (
            "regex_and_eq_1700_of_10k",
            r#"{app=~"app-1.*", env="prod"}"#,
            1700,
        ),
        ("eq_1_of_10k", r#"{pod="pod-1234"}"#, 1),
    ];
    let mut group = c.benchmark_group("index_series_10k_streams");
    for (name, selector, expected) in cases {
        let matchers = logql::parse_selector(selector).unwrap();
        let n = rt
            .block_on(store.series("fake", &matchers, start, end))
            .unwrap()
            .len();
        assert_eq!(n, expected, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(store.series("fake", black_box(&matchers), start, end)))
        });
    }
    group.finish();
}

/// Trigram filters over 100k mixed lines in blocks of about 1 MiB, as a flush builds them.
fn bench_page_filters(c: &mut Criterion) {
    let mut owned = common::nginx_lines(50_000);
    owned.extend(common::json_lines(50_000));
    let lines: Vec<&str> = owned.iter().map(String::as_str).collect();
    let bytes = common::total_bytes(&owned);
    let per_block = (lines.len() as u64 * (1 << 20) / bytes).max(1);
    let blocks: Vec<std::ops::Range<u64>> = (0..lines.len() as u64)
        .step_by(per_block as usize)
        .map(|s| s..(s + per_block).min(lines.len() as u64))
        .collect();
    let mut group = c.benchmark_group("page_filters_100k_lines");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("build", |b| {
        let mut builder = storage::grams::FilterBuilder::default();
        b.iter(|| builder.build(black_box(&lines), &blocks))
    });
    group.finish();
}

criterion_group!(benches, bench_segment, bench_page_filters, bench_index);
criterion_main!(benches);

//! Micro-benchmarks of the write path: push body decoding (JSON, protobuf+snappy) with
//! the server's own decoders, and synced WAL appends through `Ingester::push`.

mod common;

use std::cell::Cell;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fenrir::server::logproto;
use fenrir::server::push::{PushFormat, decode_push};
use ingest::IngesterConfig;
use ingest::PushStream;
use ingest::ingester::Ingester;
use prost::Message;
use std::hint::black_box;
use storage::{Storage, StorageConfig};

/// Streams per push body.
const STREAMS: usize = 10;
/// Lines per stream in a push body (and per WAL push).
const PER_STREAM: usize = 1_000;
/// Decoder size cap (Loki's default 100MB is irrelevant here; just larger than the body).
const MAX_SIZE: usize = 256 << 20;

/// Stream label text and (ts, line) pairs of the push bodies.
fn body_streams() -> Vec<(String, Vec<(i64, String)>)> {
    let lines = common::nginx_lines(STREAMS * PER_STREAM);
    lines
        .chunks(PER_STREAM)
        .enumerate()
        .map(|(s, chunk)| {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, l)| (common::T0 + i as i64 * 1_000_000, l.clone()))
                .collect();
            (format!(r#"{{app="nginx", pod="pod-{s}"}}"#), entries)
        })
        .collect()
}

/// The v1 JSON push body.
fn json_body(streams: &[(String, Vec<(i64, String)>)]) -> Vec<u8> {
    let streams: Vec<serde_json::Value> = streams
        .iter()
        .enumerate()
        .map(|(s, (_, entries))| {
            let values: Vec<serde_json::Value> = entries
                .iter()
                .map(|(ts, line)| serde_json::json!([ts.to_string(), line]))
                .collect();
            serde_json::json!({"stream": {"app": "nginx", "pod": format!("pod-{s}")}, "values": values})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "streams": streams })).unwrap()
}

/// The snappy-compressed protobuf push body, as Promtail/Alloy send it.
fn protobuf_body(streams: &[(String, Vec<(i64, String)>)]) -> Vec<u8> {
    let req = logproto::PushRequest {
        streams: streams
            .iter()
            .map(|(labels, entries)| logproto::StreamAdapter {
                labels: labels.clone().into_bytes(),
                entries: entries
                    .iter()
                    .map(|(ts, line)| logproto::EntryAdapter {
                        timestamp: Some(logproto::Timestamp {
                            seconds: ts / common::SEC,
                            nanos: (ts % common::SEC) as i32,
                        }),
                        line: line.clone().into_bytes(),
                        structured_metadata: Vec::new(),
                    })
                    .collect(),
                hash: 0,
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn bench_push_decode(c: &mut Criterion) {
    let streams = body_streams();
    let line_bytes: u64 = streams
        .iter()
        .flat_map(|(_, e)| e.iter().map(|(_, l)| l.len() as u64))
        .sum();
    let cases = [
        (
            "json",
            json_body(&streams),
            PushFormat {
                media_type: "application/json".to_string(),
                encoding: String::new(),
                legacy: false,
            },
        ),
        (
            "protobuf_snappy",
            protobuf_body(&streams),
            PushFormat {
                media_type: "application/x-protobuf".to_string(),
                encoding: String::new(),
                legacy: false,
            },
        ),
    ];
    let mut group = c.benchmark_group("push_decode_10k_lines");
    group.throughput(Throughput::Bytes(line_bytes));
    for (name, body, format) in &cases {
        let decoded = decode_push(body, format, MAX_SIZE).unwrap();
        let n: usize = decoded
            .request
            .streams
            .iter()
            .map(|s| s.entries.len())
            .sum();
        assert_eq!(n, STREAMS * PER_STREAM, "{name}");
        eprintln!("push_decode/{name}: body {} bytes", body.len());
        group.bench_function(*name, |b| {
            b.iter(|| decode_push(black_box(body), format, MAX_SIZE).unwrap())
        });
    }
    group.finish();
}

fn bench_wal_append(c: &mut Criterion) {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let storage = rt
        .block_on(Storage::open(&StorageConfig::Filesystem {
            root: dir.path().join("store"),
        }))
        .unwrap();
    let ingester = rt
        .block_on(Ingester::open(
            IngesterConfig::with_wal_dir(dir.path().join("wal")),
            Arc::new(storage),
        ))
        .unwrap();
    let lines = common::nginx_lines(PER_STREAM);
    let labels = common::labels(&[("app", "nginx"), ("pod", "pod-0")]);
    let next_ts = Cell::new(common::T0);
    let batch = || {
        let start = next_ts.get();
        next_ts.set(start + PER_STREAM as i64 * 1_000_000);
        vec![PushStream {
            labels: labels.clone(),
            entries: common::entries(&lines, start, 1_000_000),
        }]
    };
    let mut group = c.benchmark_group("wal_append");
    group.throughput(Throughput::Bytes(common::total_bytes(&lines)));
    group.bench_function("synced_push_1000_lines", |b| {
        b.iter_batched(
            &batch,
            |streams| rt.block_on(ingester.push("fake", streams)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_push_decode, bench_wal_append);
criterion_main!(benches);

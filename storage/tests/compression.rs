//! Stored bytes per raw byte and encode/decode throughput on realistic log lines.
//! Run with `--nocapture` to see the figures.

use std::time::Instant;

use logql::LabelSet;
use storage::arrow::array::AsArray;
use storage::arrow::record_batch::RecordBatch;
use storage::segment::encode_segment;
use storage::{Entry, LiteralQuery, ReadOptions, Storage, StorageConfig, StreamData};

/// A small deterministic PRNG (xorshift64*), so the data set is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const PATHS: &[&str] = &[
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v1/orders/search",
    "/healthz",
    "/metrics",
    "/static/app.js",
    "/static/style.css",
    "/login",
    "/logout",
    "/api/v2/cart/items",
];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const STATUS: &[&str] = &[
    "200", "200", "200", "200", "201", "204", "301", "404", "500", "503",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
    "curl/8.4.0",
    "Go-http-client/1.1",
    "kube-probe/1.28",
];
const LEVELS: &[&str] = &["info", "info", "info", "debug", "warn", "error"];
const MSGS: &[&str] = &[
    "request completed",
    "cache miss",
    "retrying upstream call",
    "connection reset by peer",
    "user authenticated",
    "order created",
    "payment declined",
    "slow query detected",
];

/// One stream's labels and entries.
type Generated = (LabelSet, Vec<Entry>);

/// Realistic lines: nginx access logs and logfmt application logs, ~150-250 bytes each.
fn generate(streams: usize, per_stream: usize) -> Vec<Generated> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let base = 1_704_067_200_000_000_000i64;
    (0..streams)
        .map(|s| {
            let labels = LabelSet::from_pairs([
                ("app", format!("svc-{}", s % 7)),
                ("namespace", "prod".to_string()),
                ("pod", format!("svc-{}-7d9f8b-{:05}", s % 7, s)),
            ]);
            let mut ts = base;
            let entries = (0..per_stream)
                .map(|_| {
                    ts += (rng.next() % 50_000_000) as i64;
                    let line = if s % 2 == 0 {
                        let ip = rng.next();
                        format!(
                            "{}.{}.{}.{} - - [01/Jan/2024:00:{:02}:{:02} +0000] \"{} {}?id={} HTTP/1.1\" {} {} \"-\" \"{}\" rt={:.3}",
                            ip & 0xff, (ip >> 8) & 0xff, (ip >> 16) & 0xff, (ip >> 24) & 0xff,
                            rng.next() % 60, rng.next() % 60,
                            rng.pick(METHODS), rng.pick(PATHS), rng.next() % 100_000,
                            rng.pick(STATUS), rng.next() % 50_000, rng.pick(AGENTS),
                            (rng.next() % 5000) as f64 / 1000.0,
                        )
                    } else {
                        format!(
                            "ts=2024-01-01T00:{:02}:{:02}.{:03}Z level={} caller=handler.go:{} msg=\"{}\" trace_id={:016x} user_id={} duration_ms={}",
                            rng.next() % 60, rng.next() % 60, rng.next() % 1000,
                            rng.pick(LEVELS), rng.next() % 400, rng.pick(MSGS),
                            rng.next(), rng.next() % 10_000, rng.next() % 2000,
                        )
                    };
                    Entry { ts, line, metadata: vec![] }
                })
                .collect();
            (labels, entries)
        })
        .collect()
}

/// The streams as a flush hands them to storage.
fn columns(generated: &[Generated]) -> Vec<StreamData> {
    generated
        .iter()
        .map(|(labels, entries)| StreamData::from_entries(labels.clone(), entries.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_store_less_than_a_quarter_of_raw_bytes() {
    let generated = generate(40, 5_000);
    let streams = columns(&generated);
    let raw: usize = generated
        .iter()
        .flat_map(|(_, entries)| entries.iter())
        .map(|e| e.line.len())
        .sum();
    let rows: usize = streams.iter().map(StreamData::len).sum();

    let t = Instant::now();
    let encoded = encode_segment("00000000000000000000-0000000000000000", streams.clone())
        .unwrap()
        .unwrap();
    let encode_secs = t.elapsed().as_secs_f64();
    let index_bytes = encoded.record.encode().unwrap().len();
    let stored = encoded.data.len() + index_bytes;
    let ratio = stored as f64 / raw as f64;

    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&StorageConfig::Filesystem {
        root: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    storage
        .write_segment("fake", streams.clone())
        .await
        .unwrap();
    let fps: Vec<u64> = streams.iter().map(|s| s.fingerprint).collect();
    let t = Instant::now();
    let batches = storage.read("fake", &fps, 0, i64::MAX).await.unwrap();
    let decode_secs = t.elapsed().as_secs_f64();
    let read_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    // a narrow read: one stream, a tenth of its time range
    let one = &streams[3];
    let (lo, hi) = (one.ts.value(2000), one.ts.value(2500));
    assert_eq!(storage.read_stats().fallbacks, 0);
    let before = storage.read_stats().bytes_fetched;
    let t = Instant::now();
    let narrow = storage
        .read("fake", &[one.fingerprint], lo, hi)
        .await
        .unwrap();
    let narrow_secs = t.elapsed().as_secs_f64();
    let narrow_rows: usize = narrow.iter().map(|b| b.num_rows()).sum();
    let narrow_bytes = storage.read_stats().bytes_fetched - before;
    assert_eq!(storage.read_stats().fallbacks, 0);
    assert!(
        narrow_bytes * 20 < encoded.data.len() as u64,
        "narrow read fetched {narrow_bytes} of {} bytes",
        encoded.data.len()
    );
    // Loki's chunk format for comparison: per stream, 256 KiB blocks of
    // (varint ts, varint len, line) entries, snappy-compressed
    let mut loki = 0usize;
    for (_, entries) in &generated {
        let mut block = Vec::new();
        let mut flush = |block: &mut Vec<u8>| {
            loki += snap::raw::Encoder::new().compress_vec(block).unwrap().len();
            block.clear();
        };
        for e in entries {
            block.extend_from_slice(&e.ts.to_le_bytes()[..6]);
            block.extend_from_slice(&(e.line.len() as u16).to_le_bytes());
            block.extend_from_slice(e.line.as_bytes());
            if block.len() >= 256 * 1024 {
                flush(&mut block);
            }
        }
        if !block.is_empty() {
            flush(&mut block);
        }
    }
    println!(
        "loki-like snappy blocks: {loki} bytes ({:.4} per raw byte); fenrir stores {:.1}% of that",
        loki as f64 / raw as f64,
        100.0 * stored as f64 / loki as f64
    );

    let mb = raw as f64 / 1e6;
    println!(
        "segment: {rows} rows, {mb:.1} MB raw -> {stored} bytes stored (index {index_bytes}): \
         {ratio:.4} bytes stored per raw byte ({:.1}x); encode {:.1} MB/s, full decode {:.1} MB/s, \
         narrow read of {narrow_rows} rows {:.1} ms fetching {narrow_bytes} bytes (debug build)",
        1.0 / ratio,
        mb / encode_secs,
        mb / decode_secs,
        narrow_secs * 1e3,
    );
    assert_eq!(read_rows, rows);
    assert_eq!(narrow_rows, 500);
    assert!(ratio < 0.25, "compression ratio {ratio}");
}

/// A needle in one line of 200 000: a read that only wants lines holding it fetches the
/// one page that can, returns the same rows a full read would keep, and a segment
/// without its filter object is read whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_filters_skip_pages_that_cannot_hold_a_literal() {
    let mut generated = generate(40, 5_000);
    let needle = "needle-7f3a9c";
    generated[7].1[1234].line.push_str(" needle-7f3a9c");
    let streams = columns(&generated);
    let fps: Vec<u64> = streams.iter().map(|s| s.fingerprint).collect();
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&StorageConfig::Filesystem {
        root: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    storage.write_segment("fake", streams).await.unwrap();

    let query = LiteralQuery::new([[needle.as_bytes().to_vec()]]);
    let options = ReadOptions {
        lines: true,
        literals: Some(&query),
    };
    let matching = |batches: &[RecordBatch]| -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                let lines = b.column(2).as_string_view();
                (0..b.num_rows())
                    .map(|i| lines.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|l| l.contains(needle))
            .collect()
    };

    let full = storage.read("fake", &fps, 0, i64::MAX).await.unwrap();
    let full_bytes = storage.read_stats().bytes_fetched;
    let full_rows: usize = full.iter().map(|b| b.num_rows()).sum();
    let narrowed = storage
        .read_columns("fake", &fps, 0, i64::MAX, options)
        .await
        .unwrap();
    let stats = storage.read_stats();
    let narrowed_rows: usize = narrowed.iter().map(|b| b.num_rows()).sum();
    let narrowed_bytes = stats.bytes_fetched - full_bytes;
    println!(
        "needle read: {narrowed_rows} of {full_rows} rows, {narrowed_bytes} of {full_bytes} bytes fetched"
    );
    assert_eq!(matching(&narrowed), matching(&full));
    assert_eq!(matching(&narrowed).len(), 1);
    assert_eq!(stats.rows_skipped, (full_rows - narrowed_rows) as u64);
    assert!(narrowed_rows < 10_000, "{narrowed_rows} rows read");
    assert!(
        narrowed_bytes * 20 < full_bytes,
        "{narrowed_bytes} bytes fetched"
    );

    // without its filter object (a segment written before filters existed, seen by a
    // fresh reader) the segment is read whole
    let mut removed = 0;
    for entry in walk(dir.path()) {
        if entry.extension().is_some_and(|e| e == "grams") {
            std::fs::remove_file(entry).unwrap();
            removed += 1;
        }
    }
    assert_eq!(removed, 1);
    let fresh = Storage::open(&StorageConfig::Filesystem {
        root: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    let unfiltered = fresh
        .read_columns("fake", &fps, 0, i64::MAX, options)
        .await
        .unwrap();
    let rows: usize = unfiltered.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, full_rows);
    assert_eq!(fresh.read_stats().rows_skipped, 0);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

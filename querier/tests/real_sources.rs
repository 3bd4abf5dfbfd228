//! The querier over the real ingester and storage: data in ingester memory, in flushed
//! segments, and in both at once (exact duplicates must appear once).

use std::sync::Arc;

use ingest::ingester::Ingester;
use ingest::{IngesterConfig, PushStream};
use logql::LabelSet;
use querier::{Direction, InstantQuery, Querier, QueryData, QueryLimits, RangeQuery};
use storage::{Entry, Storage, StorageConfig, StreamData};

const S: i64 = 1_000_000_000;

fn entry(ts: i64, line: &str) -> Entry {
    Entry {
        ts,
        line: line.to_string(),
        metadata: Vec::new(),
    }
}

/// One stream's entries as storage takes them.
fn stream_data(labels: &LabelSet, entries: Vec<Entry>) -> StreamData {
    StreamData::from_entries(labels.clone(), entries)
}

/// A range query with limit 100 (no interval).
fn range_query(
    query: &str,
    (start, end, step): (i64, i64, i64),
    direction: Direction,
) -> RangeQuery {
    RangeQuery {
        query: query.into(),
        start,
        end,
        step,
        interval: None,
        limit: 100,
        direction,
    }
}

fn lines(r: querier::QueryResponse) -> Vec<(i64, String)> {
    let QueryData::Streams(streams) = r.data else {
        panic!("expected streams")
    };
    assert_eq!(streams.len(), 1);
    streams.into_iter().next().unwrap().entries
}

/// Real storage on a temp dir and an ingester writing its WAL there.
async fn open_sources() -> (tempfile::TempDir, Arc<Storage>, Arc<Ingester>) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(
        Storage::open(&StorageConfig::Filesystem {
            root: dir.path().join("chunks"),
        })
        .await
        .unwrap(),
    );
    let ingester = Ingester::open(
        IngesterConfig::with_wal_dir(dir.path().join("wal")),
        storage.clone(),
    )
    .await
    .unwrap();
    (dir, storage, ingester)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_ingester_and_storage_and_dedups() {
    let (_dir, storage, ingester) = open_sources().await;
    let labels = LabelSet::from_pairs([("job", "api")]);
    // flushed segment: 1s and 2s
    storage
        .write_segment(
            "t",
            vec![stream_data(
                &labels,
                vec![entry(S, "one"), entry(2 * S, "two")],
            )],
        )
        .await
        .unwrap();
    // ingester memory: 2s again (duplicate of the segment) and 3s
    ingester
        .push(
            "t",
            vec![PushStream {
                labels: labels.clone(),
                entries: vec![entry(2 * S, "two"), entry(3 * S, "three")],
            }],
        )
        .await
        .unwrap();
    let q = Querier::new(storage, ingester, QueryLimits::default());
    let r = q
        .query_range(
            "t",
            &range_query(r#"{job="api"}"#, (0, 10 * S, S), Direction::Forward),
        )
        .await
        .unwrap();
    assert_eq!(
        lines(r),
        vec![
            (S, "one".to_string()),
            (2 * S, "two".to_string()),
            (3 * S, "three".to_string())
        ]
    );
    assert_eq!(
        q.label_values("t", "job", 0, 10 * S, None).await.unwrap(),
        vec!["api".to_string()]
    );
}

fn metric_at(r: querier::QueryResponse) -> Vec<(String, f64)> {
    let QueryData::Vector(v) = r.data else {
        panic!("expected a vector")
    };
    v.into_iter()
        .map(|s| (s.labels.to_string(), s.value))
        .collect()
}

/// Counting queries skip the line column; entries sharing a timestamp (possible
/// duplicates between sources) make the querier read the lines after all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_reads_no_lines_yet_drops_duplicates() {
    let (_dir, storage, ingester) = open_sources().await;
    let dup = LabelSet::from_pairs([("job", "dup")]);
    let same_ts = LabelSet::from_pairs([("job", "same_ts")]);
    let solo = LabelSet::from_pairs([("job", "solo")]);
    // incompressible lines, so that skipping them shows in the bytes fetched
    let long = |i: i64| {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let words: Vec<String> = (0..100)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect();
        format!("{i} {}", words.join(" "))
    };
    let solo_entries: Vec<Entry> = (1..=200).map(|i| entry(i * S / 100, &long(i))).collect();
    storage
        .write_segment(
            "t",
            vec![
                stream_data(&dup, vec![entry(S, "one"), entry(2 * S, "two")]),
                stream_data(&same_ts, vec![entry(S, "a"), entry(S, "b")]),
                stream_data(&solo, solo_entries),
            ],
        )
        .await
        .unwrap();
    ingester
        .push(
            "t",
            vec![PushStream {
                labels: dup.clone(),
                entries: vec![entry(2 * S, "two"), entry(3 * S, "three")],
            }],
        )
        .await
        .unwrap();
    let q = Querier::new(storage.clone(), ingester, QueryLimits::default());
    let instant = |query: &str| querier::InstantQuery {
        query: query.into(),
        time: 5 * S,
        limit: 100,
        direction: Direction::Backward,
    };
    let r = q
        .query_instant("t", &instant(r#"count_over_time({job=~".+"}[5s])"#))
        .await
        .unwrap();
    assert_eq!(
        metric_at(r),
        vec![
            (r#"{job="dup"}"#.to_string(), 3.0),
            (r#"{job="same_ts"}"#.to_string(), 2.0),
            (r#"{job="solo"}"#.to_string(), 200.0),
        ]
    );
    // the solo stream alone: no tie, so its lines are never fetched
    let before = storage.read_stats().bytes_fetched;
    let r = q
        .query_instant("t", &instant(r#"sum(rate({job="solo"}[5s]))"#))
        .await
        .unwrap();
    assert_eq!(metric_at(r), vec![("{}".to_string(), 40.0)]);
    let counting = storage.read_stats().bytes_fetched - before;
    let before = storage.read_stats().bytes_fetched;
    let r = q
        .query_instant("t", &instant(r#"sum(bytes_over_time({job="solo"}[5s]))"#))
        .await
        .unwrap();
    let bytes: usize = (1..=200).map(|i| long(i).len()).sum();
    assert_eq!(metric_at(r), vec![("{}".to_string(), bytes as f64)]);
    let with_lines = storage.read_stats().bytes_fetched - before;
    assert!(
        counting * 4 < with_lines,
        "counting fetched {counting} bytes, reading lines {with_lines}"
    );
}

/// The ingester applies a query's leading line filters while it copies rows out; the
/// stats still count every line it looked at, as Loki's do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingester_filters_lines_while_reading_and_counts_all_scanned() {
    let (_dir, storage, ingester) = open_sources().await;
    let labels = LabelSet::from_pairs([("job", "api")]);
    let entries: Vec<Entry> = (0..100)
        .map(|i| {
            let line = if i == 42 {
                "GET /x needle-1".to_string()
            } else {
                format!("GET /x {i}")
            };
            entry(i * S / 10, &line)
        })
        .collect();
    let total_bytes: usize = entries.iter().map(|e| e.line.len()).sum();
    ingester
        .push(
            "t",
            vec![PushStream {
                labels: labels.clone(),
                entries,
            }],
        )
        .await
        .unwrap();
    let q = Querier::new(storage, ingester, QueryLimits::default());
    let r = q
        .query_range(
            "t",
            &range_query(
                r#"{job="api"} |= "needle" != "nothing""#,
                (0, 20 * S, S),
                Direction::Forward,
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.stats.lines_processed, 100);
    assert_eq!(r.stats.bytes_processed, total_bytes as u64);
    assert_eq!(lines(r), vec![(42 * S / 10, "GET /x needle-1".to_string())]);
}

/// A literal line filter over flushed data reads only the pages whose trigram filters
/// admit it, and answers exactly what a full scan would (log and metric queries,
/// substring and regex filters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literal_filters_skip_pages_that_cannot_match() {
    let (_dir, storage, ingester) = open_sources().await;
    let labels = LabelSet::from_pairs([("job", "api")]);
    let entries: Vec<Entry> = (0..60_000i64)
        .map(|i| {
            let line = match i {
                59_001 => "GET /x 59001 needle-7f3a9c found".to_string(),
                _ => format!("GET /x {i} status={} took={}ms", i % 7, i % 101),
            };
            entry(i * S / 100, &line)
        })
        .collect();
    storage
        .write_segment("t", vec![stream_data(&labels, entries)])
        .await
        .unwrap();
    let q = Querier::new(storage.clone(), ingester, QueryLimits::default());
    let range = |query: &str| range_query(query, (0, 700 * S, 700 * S), Direction::Backward);
    let expected = vec![(
        59_001 * S / 100,
        "GET /x 59001 needle-7f3a9c found".to_string(),
    )];
    for query in [
        r#"{job="api"} |= "needle-7f3a9c""#,
        r#"{job="api"} |~ "needle-[0-9a-f]+ found""#,
        r#"{job="api"} |= "needle" or "not-there-at-all""#,
    ] {
        let before = storage.read_stats().rows_skipped;
        let r = q.query_range("t", &range(query)).await.unwrap();
        assert_eq!(lines(r), expected, "{query}");
        let skipped = storage.read_stats().rows_skipped - before;
        assert!(skipped >= 30_000, "{query}: {skipped} rows skipped");
    }
    let r = q
        .query_instant(
            "t",
            &InstantQuery {
                query: r#"count_over_time({job="api"} |= "needle-7f3a9c" [700s])"#.into(),
                time: 700 * S,
                limit: 100,
                direction: Direction::Backward,
            },
        )
        .await
        .unwrap();
    assert_eq!(metric_at(r), vec![(r#"{job="api"}"#.to_string(), 1.0)]);
    // a filter every page may satisfy skips nothing and still answers exactly
    let before = storage.read_stats().rows_skipped;
    let r = q
        .query_range("t", &range(r#"{job="api"} |= "status=3 took=100ms""#))
        .await
        .unwrap();
    let expected = (0..60_000)
        .filter(|i| i % 7 == 3 && i % 101 == 100 && *i != 59_001)
        .count();
    assert_eq!(lines(r).len(), expected);
    assert_eq!(storage.read_stats().rows_skipped - before, 0);
}

/// Counting queries over minute-aligned windows come from the index's per-minute
/// rollups (no segment is read) and answer exactly what reading the rows answers:
/// entries on minute boundaries, segments plus ingester memory, rates and bytes,
/// grouping; segments that overlap in time (possible duplicates) fall back to rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_queries_use_rollups_and_match_the_row_path() {
    const M: i64 = 60 * S;
    let (_dir, storage, ingester) = open_sources().await;
    let stream = |job: &str, pod: &str| LabelSet::from_pairs([("job", job), ("pod", pod)]);
    let entries = |from: i64, to: i64, every: i64, tag: &str| -> Vec<Entry> {
        (from..to)
            .step_by(every as usize)
            .map(|t| {
                entry(
                    t,
                    &format!("{tag} line at {t} {}", "x".repeat((t % 7) as usize)),
                )
            })
            .collect()
    };
    // segment 1: minutes 0-20, entries every 7 s and exactly on minute boundaries
    let mut first = entries(0, 20 * M, 7 * S, "a");
    first.extend((1..20).map(|k| entry(k * M, "on the minute")));
    first.sort_by_key(|e| e.ts);
    first.dedup_by_key(|e| e.ts);
    let a = stream("api", "a");
    let b = stream("api", "b");
    storage
        .write_segment(
            "t",
            vec![
                stream_data(&a, first),
                stream_data(&b, entries(3 * S, 20 * M, 11 * S, "b")),
            ],
        )
        .await
        .unwrap();
    // segment 2: minutes 20-40 of stream a only
    storage
        .write_segment(
            "t",
            vec![stream_data(&a, entries(20 * M + S, 40 * M, 13 * S, "a2"))],
        )
        .await
        .unwrap();
    // ingester memory: minutes 40-50 of both
    ingester
        .push(
            "t",
            vec![
                PushStream {
                    labels: a.clone(),
                    entries: entries(40 * M + 500_000_000, 50 * M, 5 * S, "a3"),
                },
                PushStream {
                    labels: b.clone(),
                    entries: entries(40 * M, 50 * M, 17 * S, "b3"),
                },
            ],
        )
        .await
        .unwrap();
    let q = Querier::new(storage.clone(), ingester, QueryLimits::default());
    let range = |query: String, start: i64, end: i64, step: i64| {
        range_query(&query, (start, end, step), Direction::Backward)
    };
    let matrix = |r: querier::QueryResponse| {
        let QueryData::Matrix(m) = r.data else {
            panic!("expected a matrix")
        };
        m
    };
    for (func, grouping) in [
        ("count_over_time", ""),
        ("rate", ""),
        ("bytes_over_time", ""),
        ("bytes_rate", ""),
        ("count_over_time", "sum by (pod)"),
        ("bytes_over_time", "sum"),
    ] {
        for (window, step, offset) in [
            ("5m", 5 * M, ""),
            ("10m", 5 * M, ""),
            ("1m", M, " offset 2m"),
        ] {
            let inner = |pipeline: &str| {
                let r = format!(r#"{func}({{job="api"}}{pipeline} [{window}]{offset})"#);
                if grouping.is_empty() {
                    r
                } else {
                    format!("{grouping} ({r})")
                }
            };
            // the query ending at 17m ends on an entry exactly on the minute
            let end = if offset.is_empty() { 55 * M } else { 17 * M };
            let before = storage.read_stats().bytes_fetched;
            let rolled = q
                .query_range("t", &range(inner(""), 0, end, step))
                .await
                .unwrap();
            assert_eq!(
                storage.read_stats().bytes_fetched,
                before,
                "{} read segments",
                inner("")
            );
            // `|= ""` keeps every line but makes the query read rows
            let rows = q
                .query_range("t", &range(inner(r#" |= """#), 0, end, step))
                .await
                .unwrap();
            assert!(storage.read_stats().bytes_fetched > before);
            assert_eq!(rolled.stats.lines_processed, rows.stats.lines_processed);
            let (rolled, rows) = (matrix(rolled), matrix(rows));
            assert!(!rows.is_empty());
            assert_eq!(rolled, rows, "{}", inner(""));
        }
    }
    // windows that do not end on whole minutes read rows
    let before = storage.read_stats().bytes_fetched;
    q.query_range(
        "t",
        &range(
            r#"count_over_time({job="api"}[5m])"#.into(),
            30 * S,
            55 * M,
            5 * M,
        ),
    )
    .await
    .unwrap();
    assert!(storage.read_stats().bytes_fetched > before);

    // a segment overlapping another in time (the same entries flushed twice) makes
    // the query read rows, which drop the duplicates
    storage
        .write_segment(
            "t",
            vec![stream_data(&b, entries(3 * S, 20 * M, 11 * S, "b"))],
        )
        .await
        .unwrap();
    let query = r#"sum(count_over_time({job="api", pod="b"}[20m]))"#;
    let before = storage.read_stats().bytes_fetched;
    let r = q
        .query_range("t", &range(query.into(), 20 * M, 20 * M, M))
        .await
        .unwrap();
    assert!(storage.read_stats().bytes_fetched > before);
    let expected = entries(3 * S, 20 * M, 11 * S, "b").len() as f64;
    let got: Vec<f64> = matrix(r)
        .iter()
        .flat_map(|s| s.points.iter().map(|v| v.1))
        .collect();
    assert_eq!(got, vec![expected]);
}

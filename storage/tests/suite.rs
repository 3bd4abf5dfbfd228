//! The backend-agnostic storage test suite, run against the local filesystem and (when
//! `FENRIR_TEST_S3_ENDPOINT` is set) against S3.

use std::collections::HashSet;
use std::time::Duration;

use logql::{LabelMatcher, LabelSet, MatchOp};
use storage::arrow::array::{Array, AsArray};
use storage::arrow::datatypes::{Int64Type, UInt64Type};
use storage::arrow::record_batch::RecordBatch;
use storage::layout::PERIOD_NANOS;
use storage::{Entry, Storage, StorageConfig, StreamData, StreamInfo, log_schema};

/// One row as the tests compare them: (fingerprint, ts, line, metadata JSON).
type Row = (u64, i64, String, Option<String>);

/// 2024-01-01T00:00:00Z, the start of period 19723.
const DAY: i64 = 1_704_067_200_000_000_000;

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

fn stream(pairs: &[(&str, &str)], entries: Vec<Entry>) -> StreamData {
    StreamData::from_entries(labels(pairs), entries)
}

fn entry(ts: i64, line: &str) -> Entry {
    Entry {
        ts,
        line: line.to_string(),
        metadata: vec![],
    }
}

fn entry_md(ts: i64, line: &str, md: &[(&str, &str)]) -> Entry {
    Entry {
        ts,
        line: line.to_string(),
        metadata: md
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn m(name: &str, op: MatchOp, value: &str) -> LabelMatcher {
    LabelMatcher::new(name, op, value).unwrap()
}

/// Rows of `streams` with `start <= ts < end` among `fps`, sorted.
fn expected(streams: &[StreamData], fps: &[u64], start: i64, end: i64) -> Vec<Row> {
    let mut rows: Vec<Row> = streams
        .iter()
        .filter(|s| fps.contains(&s.fingerprint))
        .flat_map(|s| {
            (0..s.len()).map(move |i| {
                let md = s
                    .metadata
                    .is_valid(i)
                    .then(|| s.metadata.value(i).to_string());
                (
                    s.fingerprint,
                    s.ts.value(i),
                    s.lines.value(i).to_string(),
                    md,
                )
            })
        })
        .filter(|r| r.1 >= start && r.1 < end)
        .collect();
    rows.sort();
    rows
}

/// All rows of `batches`, sorted; asserts the schema and each batch's (fp, ts) order.
fn rows_of(batches: &[RecordBatch]) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in batches {
        assert_eq!(b.schema(), log_schema());
        let fp = b.column(0).as_primitive::<UInt64Type>();
        let ts = b.column(1).as_primitive::<Int64Type>();
        let line = b.column(2).as_string_view();
        let md = b.column(3).as_string::<i32>();
        let mut last = None;
        for i in 0..b.num_rows() {
            let key = (fp.value(i), ts.value(i));
            assert!(last.is_none_or(|l| l <= key), "batch not sorted at row {i}");
            last = Some(key);
            rows.push((
                fp.value(i),
                ts.value(i),
                line.value(i).to_string(),
                md.is_valid(i).then(|| md.value(i).to_string()),
            ));
        }
    }
    rows.sort();
    rows
}

fn fps(series: &[StreamInfo]) -> Vec<u64> {
    series.iter().map(|s| s.fingerprint).collect()
}

fn label_strings(series: &[StreamInfo]) -> Vec<String> {
    series.iter().map(|s| s.labels.to_string()).collect()
}

/// A tenant name unique to this run, so a shared bucket never mixes runs.
fn unique_tenant(name: &str) -> String {
    format!("{name}-{}", storage::layout::new_segment_id())
}

/// The suite every backend must pass.
async fn storage_test_suite(config: StorageConfig) {
    let t1 = unique_tenant("team-a");
    let t2 = unique_tenant("team-b");
    // an instance that exists before any write and lists on every call
    let watcher = Storage::open(&config)
        .await
        .unwrap()
        .with_refresh_interval(Duration::ZERO);
    let s1 = Storage::open(&config).await.unwrap();

    // --- round trip: several streams, metadata, many rows
    let api = stream(
        &[("app", "api"), ("env", "prod")],
        (0..1000)
            .map(|i| {
                if i % 3 == 0 {
                    entry_md(
                        DAY + i * 1000,
                        &format!("GET /api/{i} 200"),
                        &[("trace_id", "abc"), ("user", "u\"1")],
                    )
                } else {
                    entry(DAY + i * 1000, &format!("GET /api/{i} 200"))
                }
            })
            .collect(),
    );
    let web = stream(
        &[("app", "web"), ("env", "dev"), ("team", "x")],
        vec![
            entry(DAY + 5, "web one"),
            entry(DAY + 5, "web one dup ts"),
            entry(DAY + 10, "web two"),
            entry(DAY + 999_000, "web last"),
        ],
    );
    let db = stream(&[("app", "db")], vec![entry(DAY + 500_000, "db only")]);
    let all = vec![api.clone(), web.clone(), db.clone()];
    let all_fps: Vec<u64> = all.iter().map(|s| s.fingerprint).collect();
    s1.write_segment(&t1, all.clone()).await.unwrap();
    // empty writes are accepted and store nothing
    s1.write_segment(&t1, vec![]).await.unwrap();
    s1.write_segment(&t1, vec![stream(&[("app", "empty")], vec![])])
        .await
        .unwrap();

    let (start, end) = (DAY, DAY + 1_000_000);
    let got = s1.read(&t1, &all_fps, start, end).await.unwrap();
    assert_eq!(rows_of(&got), expected(&all, &all_fps, start, end));
    assert_eq!(rows_of(&got).len(), 1005);

    // --- time range edges: start inclusive, end exclusive
    let got = s1
        .read(&t1, &[web.fingerprint], DAY + 5, DAY + 10)
        .await
        .unwrap();
    let lines: Vec<String> = rows_of(&got).into_iter().map(|r| r.2).collect();
    assert_eq!(lines, vec!["web one", "web one dup ts"]);
    let got = s1
        .read(&t1, &[web.fingerprint], DAY + 6, DAY + 11)
        .await
        .unwrap();
    let lines: Vec<String> = rows_of(&got).into_iter().map(|r| r.2).collect();
    assert_eq!(lines, vec!["web two"]);
    assert!(
        s1.read(&t1, &all_fps, DAY + 999_001, DAY + 999_001)
            .await
            .unwrap()
            .is_empty()
    );
    let got = s1
        .read(&t1, &[api.fingerprint], DAY + 2000, DAY + 5000)
        .await
        .unwrap();
    assert_eq!(
        rows_of(&got),
        expected(&all, &[api.fingerprint], DAY + 2000, DAY + 5000)
    );
    assert_eq!(rows_of(&got).len(), 3);
    // unknown fingerprints and duplicates are harmless
    let got = s1
        .read(&t1, &[42, db.fingerprint, db.fingerprint], start, end)
        .await
        .unwrap();
    assert_eq!(rows_of(&got), expected(&all, &[db.fingerprint], start, end));

    // --- series and matchers
    let everything = [m("app", MatchOp::Re, ".+")];
    let got = s1.series(&t1, &everything, start, end).await.unwrap();
    assert_eq!(
        label_strings(&got),
        vec![
            r#"{app="api", env="prod"}"#,
            r#"{app="db"}"#,
            r#"{app="web", env="dev", team="x"}"#
        ]
    );
    let cases: Vec<(Vec<LabelMatcher>, Vec<u64>)> = vec![
        (vec![m("app", MatchOp::Eq, "api")], vec![api.fingerprint]),
        (
            vec![m("app", MatchOp::Neq, "api")],
            vec![db.fingerprint, web.fingerprint],
        ),
        (
            vec![m("app", MatchOp::Re, "a.*|d.")],
            vec![api.fingerprint, db.fingerprint],
        ),
        (vec![m("app", MatchOp::Re, "ap")], vec![]), // anchored
        (
            vec![m("app", MatchOp::Nre, "api|web")],
            vec![db.fingerprint],
        ),
        // empty matcher: matches streams without the label
        (
            vec![m("app", MatchOp::Re, ".+"), m("env", MatchOp::Eq, "")],
            vec![db.fingerprint],
        ),
        (
            vec![m("env", MatchOp::Neq, "")],
            vec![api.fingerprint, web.fingerprint],
        ),
        (
            vec![m("team", MatchOp::Re, "")],
            vec![api.fingerprint, db.fingerprint],
        ),
        (
            vec![
                m("env", MatchOp::Re, "prod|dev"),
                m("team", MatchOp::Nre, "x"),
            ],
            vec![api.fingerprint],
        ),
        (vec![m("app", MatchOp::Eq, "nope")], vec![]),
    ];
    for (matchers, want) in cases {
        let got = s1.series(&t1, &matchers, start, end).await.unwrap();
        let got: HashSet<u64> = fps(&got).into_iter().collect();
        let want: HashSet<u64> = want.into_iter().collect();
        assert_eq!(got, want, "matchers {matchers:?}");
    }
    // series time overlap: db has only ts DAY+500_000
    let got = s1
        .series(&t1, &everything, DAY + 500_001, DAY + 998_000)
        .await
        .unwrap();
    assert_eq!(
        fps(&got).into_iter().collect::<HashSet<_>>(),
        HashSet::from([api.fingerprint, web.fingerprint])
    );
    let got = s1
        .series(&t1, &everything, DAY + 500_000, DAY + 500_001)
        .await
        .unwrap();
    assert_eq!(
        fps(&got).into_iter().collect::<HashSet<_>>(),
        HashSet::from([api.fingerprint, db.fingerprint, web.fingerprint])
    );
    let got = s1
        .series(&t1, &everything, DAY + 999_001, DAY + 2_000_000)
        .await
        .unwrap();
    assert!(got.is_empty());

    // --- tenant isolation
    let other = stream(
        &[("app", "api"), ("env", "prod")],
        vec![entry(DAY + 1, "tenant two")],
    );
    s1.write_segment(&t2, vec![other.clone()]).await.unwrap();
    let got = s1.series(&t2, &everything, start, end).await.unwrap();
    assert_eq!(fps(&got), vec![other.fingerprint]);
    let got = s1
        .read(&t2, &[other.fingerprint], start, end)
        .await
        .unwrap();
    let lines: Vec<String> = rows_of(&got).into_iter().map(|r| r.2).collect();
    assert_eq!(lines, vec!["tenant two"]); // not the api rows of t1 with the same labels
    let got = s1
        .read(&t1, &[api.fingerprint], DAY + 1, DAY + 2)
        .await
        .unwrap();
    assert!(rows_of(&got).is_empty());
    let stranger = unique_tenant("nobody");
    assert!(
        s1.series(&stranger, &everything, start, end)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s1.read(&stranger, &all_fps, start, end)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s1.series("", &everything, start, end).await.is_err());

    // --- a second instance sees the first's writes on refresh
    let got = watcher.series(&t1, &everything, start, end).await.unwrap();
    assert_eq!(got.len(), 3);
    let got = watcher.read(&t1, &all_fps, start, end).await.unwrap();
    assert_eq!(rows_of(&got), expected(&all, &all_fps, start, end));

    // --- a segment spanning a period boundary is found from either period
    let boundary = DAY + PERIOD_NANOS;
    let span = stream(
        &[("app", "span")],
        vec![
            entry(boundary - 10, "before midnight"),
            entry(boundary + 10, "after midnight"),
        ],
    );
    s1.write_segment(&t1, vec![span.clone()]).await.unwrap();
    // the watcher lists only the second period for this query
    let got = watcher
        .series(
            &t1,
            &[m("app", MatchOp::Eq, "span")],
            boundary,
            boundary + 100,
        )
        .await
        .unwrap();
    assert_eq!(fps(&got), vec![span.fingerprint]);
    let got = watcher
        .read(&t1, &[span.fingerprint], boundary, boundary + 100)
        .await
        .unwrap();
    let lines: Vec<String> = rows_of(&got).into_iter().map(|r| r.2).collect();
    assert_eq!(lines, vec!["after midnight"]);
    let got = watcher
        .read(&t1, &[span.fingerprint], boundary - 100, boundary)
        .await
        .unwrap();
    let lines: Vec<String> = rows_of(&got).into_iter().map(|r| r.2).collect();
    assert_eq!(lines, vec!["before midnight"]);
    // a wide range (many periods) lists the whole tenant
    let got = watcher
        .read(&t1, &[span.fingerprint, db.fingerprint], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(rows_of(&got).len(), 3);

    // --- more segments for the same streams: reads merge across segments
    let api2 = stream(
        &[("app", "api"), ("env", "prod")],
        vec![entry(DAY + 2_000_000, "later api")],
    );
    s1.write_segment(&t1, vec![api2.clone()]).await.unwrap();
    let got = s1
        .read(&t1, &[api.fingerprint], DAY, DAY + 3_000_000)
        .await
        .unwrap();
    assert_eq!(rows_of(&got).len(), 1001);

    // --- reopen: a new instance on the same store sees everything
    let reopened = Storage::open(&config).await.unwrap();
    let got = reopened
        .series(&t1, &everything, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    let mut all_after = all.clone();
    all_after.push(span.clone());
    all_after.push(api2.clone());
    let fps_after: Vec<u64> = all_after.iter().map(|s| s.fingerprint).collect();
    let got = reopened.read(&t1, &fps_after, 0, i64::MAX).await.unwrap();
    assert_eq!(rows_of(&got), expected(&all_after, &fps_after, 0, i64::MAX));
    let got = reopened
        .read(&t2, &[other.fingerprint], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(rows_of(&got).len(), 1);

    // --- with the default refresh interval, other writes show up within ~2s
    let late = stream(&[("app", "late")], vec![entry(DAY + 7, "late line")]);
    s1.write_segment(&t1, vec![late.clone()]).await.unwrap();
    tokio::time::sleep(storage::DEFAULT_REFRESH_INTERVAL + Duration::from_millis(200)).await;
    let got = reopened
        .series(&t1, &[m("app", MatchOp::Eq, "late")], start, end)
        .await
        .unwrap();
    assert_eq!(fps(&got), vec![late.fingerprint]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_backend_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("chunks"); // created by open
    storage_test_suite(StorageConfig::Filesystem { root }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backend_passes_the_suite() {
    let Ok(endpoint) = std::env::var("FENRIR_TEST_S3_ENDPOINT") else {
        if std::env::var("FENRIR_REQUIRE_S3").as_deref() == Ok("1") {
            panic!(
                "FENRIR_REQUIRE_S3=1 but FENRIR_TEST_S3_ENDPOINT is not set \
                 (also set FENRIR_TEST_S3_BUCKET, FENRIR_TEST_S3_ACCESS_KEY, FENRIR_TEST_S3_SECRET_KEY)"
            );
        }
        println!("skipped: s3 suite (set FENRIR_TEST_S3_ENDPOINT to run it)");
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let config = StorageConfig::S3 {
        insecure: endpoint.starts_with("http://"),
        endpoint,
        bucket: var("FENRIR_TEST_S3_BUCKET"),
        region: var("FENRIR_TEST_S3_REGION"),
        access_key_id: var("FENRIR_TEST_S3_ACCESS_KEY"),
        secret_access_key: var("FENRIR_TEST_S3_SECRET_KEY"),
        force_path_style: true,
    };
    storage_test_suite(config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_index_records_and_orphan_segments_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig::Filesystem {
        root: dir.path().to_path_buf(),
    };
    let s = Storage::open(&config).await.unwrap();
    let good = stream(&[("app", "ok")], vec![entry(DAY + 1, "fine")]);
    s.write_segment("fake", vec![good.clone()]).await.unwrap();
    // a torn/corrupt index record and an orphan segment without an index record
    let period_dir = dir.path().join("index/fake/19723");
    let bad_id = storage::layout::new_segment_id();
    std::fs::write(period_dir.join(format!("{bad_id}.json.zst")), b"torn").unwrap();
    let orphan_dir = dir.path().join("segments/fake/19723");
    std::fs::write(
        orphan_dir.join("00000000000000000001-0000000000000001.parquet"),
        b"x",
    )
    .unwrap();

    let reopened = Storage::open(&config).await.unwrap();
    let got = reopened
        .series("fake", &[m("app", MatchOp::Re, ".*")], DAY, DAY + 10)
        .await
        .unwrap();
    assert_eq!(fps(&got), vec![good.fingerprint]);
    let got = reopened
        .read("fake", &[good.fingerprint], DAY, DAY + 10)
        .await
        .unwrap();
    let lines: Vec<String> = rows_of(&got).into_iter().map(|r| r.2).collect();
    assert_eq!(lines, vec!["fine"]);
}

//! The querier over the real ingester and storage: data in ingester memory, in flushed
//! segments, and in both at once (exact duplicates must appear once).

use std::sync::Arc;

use ingest::ingester::Ingester;
use ingest::{IngesterConfig, PushStream};
use logql::LabelSet;
use querier::{Direction, Querier, QueryData, QueryLimits, RangeQuery};
use storage::{Entry, Storage, StorageConfig, StreamData};

const S: i64 = 1_000_000_000;

fn entry(ts: i64, line: &str) -> Entry {
    Entry {
        ts,
        line: line.to_string(),
        metadata: Vec::new(),
    }
}

fn lines(r: querier::QueryResponse) -> Vec<(i64, String)> {
    let QueryData::Streams(streams) = r.data else {
        panic!("expected streams")
    };
    assert_eq!(streams.len(), 1);
    streams.into_iter().next().unwrap().entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_ingester_and_storage_and_dedups() {
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
    let labels = LabelSet::from_pairs([("job", "api")]);
    // flushed segment: 1s and 2s
    storage
        .write_segment(
            "t",
            vec![StreamData {
                labels: labels.clone(),
                fingerprint: labels.fingerprint(),
                entries: vec![entry(S, "one"), entry(2 * S, "two")],
            }],
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
            &RangeQuery {
                query: r#"{job="api"}"#.into(),
                start: 0,
                end: 10 * S,
                step: S,
                interval: None,
                limit: 100,
                direction: Direction::Forward,
            },
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

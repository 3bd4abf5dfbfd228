//! Data survives restarts: a graceful SIGTERM (flush on shutdown), and a POST /flush
//! followed by a restart without the WAL (the data must come from segments).

mod common;

use std::time::Duration;

use common::{Config, Fenrir, files_under, values};
use serde_json::{Value, json};

const S: i64 = 1_000_000_000;

/// Pushes two streams and returns (start, end, expected forward answer of `{job="r"}`).
async fn push_fixture(f: &Fenrir) -> (i64, i64, Value) {
    let base = common::whole_second_ago(Duration::from_secs(300));
    let body = json!({"streams": [
        {"stream": {"job": "r", "host": "a"},
         "values": [[(base + S).to_string(), "a one"], [(base + 2 * S).to_string(), "a two"]]},
        {"stream": {"job": "r", "host": "b"},
         "values": [[(base + 3 * S).to_string(), "b one"]]}
    ]});
    f.push_ok(None, &body).await;
    let expected = json!([
        {"stream": {"host": "a", "job": "r"},
         "values": values(&[(base + S, "a one"), (base + 2 * S, "a two")])},
        {"stream": {"host": "b", "job": "r"},
         "values": values(&[(base + 3 * S, "b one")])}
    ]);
    (base, base + 10 * S, expected)
}

#[tokio::test]
async fn sigterm_exits_zero_and_data_survives_restart() {
    let mut f = Fenrir::start(Config::new()).await;
    let (start, end, expected) = push_fixture(&f).await;
    let q = r#"{job="r"}"#;
    assert_eq!(
        f.streams(None, q, start, end, 100, "forward").await,
        expected
    );

    let status = f.sigterm().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    f.restart().await;
    assert_eq!(
        f.streams(None, q, start, end, 100, "forward").await,
        expected
    );

    // a second cycle with more data on top
    let more = json!({"streams": [{"stream": {"job": "r", "host": "b"},
        "values": [[(start + 4 * S).to_string(), "b two"]]}]});
    f.push_ok(None, &more).await;
    let status = f.sigterm().await;
    assert!(status.success(), "exit after second SIGTERM: {status}");
    f.restart().await;
    let mut expected2 = expected.clone();
    expected2[1]["values"] = values(&[(start + 3 * S, "b one"), (start + 4 * S, "b two")]);
    assert_eq!(
        f.streams(None, q, start, end, 100, "forward").await,
        expected2
    );
}

#[tokio::test]
async fn flush_writes_segments_that_a_restart_without_wal_reads() {
    let mut f = Fenrir::start(Config::new()).await;
    let (start, end, expected) = push_fixture(&f).await;
    f.flush().await;
    assert!(
        !files_under(&f.chunks_dir()).is_empty(),
        "POST /flush wrote nothing under {}",
        f.chunks_dir().display()
    );
    // flushed data must still be visible before the restart
    let q = r#"{job="r"}"#;
    assert_eq!(
        f.streams(None, q, start, end, 100, "forward").await,
        expected
    );

    // no graceful shutdown, and no WAL: only the segments can answer
    f.kill9();
    std::fs::remove_dir_all(f.wal_dir()).ok();
    f.restart().await;
    assert_eq!(
        f.streams(None, q, start, end, 100, "forward").await,
        expected
    );
    let range = [("start", start.to_string()), ("end", end.to_string())];
    let labels = common::data_of(&f.get("/loki/api/v1/labels", &range, None).await);
    assert_eq!(labels, json!(["host", "job"]));
    let hosts = common::data_of(&f.get("/loki/api/v1/label/host/values", &range, None).await);
    assert_eq!(hosts, json!(["a", "b"]));
}

#[tokio::test]
async fn data_in_segments_and_wal_merge_after_restart() {
    let mut f = Fenrir::start(Config::new()).await;
    let (start, end, expected) = push_fixture(&f).await;
    f.flush().await;
    // a newer entry only in the WAL, plus an exact duplicate of a flushed entry
    let more = json!({"streams": [{"stream": {"job": "r", "host": "a"},
        "values": [[(start + 5 * S).to_string(), "a three"],
                   [(start + 2 * S).to_string(), "a two"]]}]});
    f.push_ok(None, &more).await;
    f.kill9();
    f.restart().await;
    let mut want = expected.clone();
    want[0]["values"] = values(&[
        (start + S, "a one"),
        (start + 2 * S, "a two"),
        (start + 5 * S, "a three"),
    ]);
    assert_eq!(
        f.streams(None, r#"{job="r"}"#, start, end, 100, "forward")
            .await,
        want
    );
}

//! Segments in a real S3-compatible server (moto): push, POST /flush, objects appear in
//! the bucket, restart with the local data directory deleted, query from S3.
//!
//! Needs `FENRIR_TEST_S3_ENDPOINT` (e.g. `http://127.0.0.1:9000`); `.ci/test.sh` starts
//! moto and sets it. Optional: `FENRIR_TEST_S3_ACCESS_KEY`,
//! `FENRIR_TEST_S3_SECRET_KEY`, `FENRIR_TEST_S3_REGION`. The test creates its own
//! bucket (moto accepts unsigned requests).

mod common;

use std::time::Duration;

use common::{Config, Fenrir, values};
use serde_json::json;

const S: i64 = 1_000_000_000;

fn endpoint() -> String {
    std::env::var("FENRIR_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "FENRIR_TEST_S3_ENDPOINT is not set. This test needs an S3-compatible server; \
             run the whole suite with `bash .ci/test.sh` (it starts moto), or start one by hand: \
             `python3 -m venv .ci-work/venv && .ci-work/venv/bin/pip install 'moto[server]' && \
             .ci-work/venv/bin/moto_server -H 127.0.0.1 -p 9000 &` and then \
             `FENRIR_TEST_S3_ENDPOINT=http://127.0.0.1:9000 cargo nextest run --test s3`"
        )
    })
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Object keys of `bucket`, via ListObjectsV2 (unsigned; moto accepts it).
async fn list_keys(endpoint: &str, bucket: &str) -> Vec<String> {
    let url = format!("{endpoint}/{bucket}?list-type=2");
    let r = reqwest::get(&url).await.expect("list bucket");
    assert_eq!(r.status().as_u16(), 200, "list {url}");
    let xml = r.text().await.unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn flush_to_s3_then_restart_reads_from_s3() {
    let endpoint = endpoint().trim_end_matches('/').to_string();
    let bucket = format!(
        "fenrir-test-{}-{}",
        std::process::id(),
        common::now_ns() % 1_000_000_000
    );
    let client = reqwest::Client::new();
    let r = client
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("S3 server at {endpoint} unreachable: {e}"));
    assert!(r.status().is_success(), "create bucket: {}", r.status());

    let config = Config::new()
        .set("common.storage.s3.endpoint", endpoint.clone())
        .set("common.storage.s3.bucketnames", bucket.clone())
        .set(
            "common.storage.s3.region",
            env_or("FENRIR_TEST_S3_REGION", "us-east-1"),
        )
        .set(
            "common.storage.s3.access_key_id",
            env_or("FENRIR_TEST_S3_ACCESS_KEY", "test"),
        )
        .set(
            "common.storage.s3.secret_access_key",
            env_or("FENRIR_TEST_S3_SECRET_KEY", "testsecret"),
        )
        .set("common.storage.s3.insecure", true)
        .set("common.storage.s3.s3forcepathstyle", true);
    let mut f = Fenrir::start(config).await;

    let base = common::whole_second_ago(Duration::from_secs(300));
    f.push_ok(
        None,
        &json!({"streams": [
            {"stream": {"job": "s3", "pod": "p1"},
             "values": [[(base + S).to_string(), "to s3 one"], [(base + 2 * S).to_string(), "to s3 two"]]},
            {"stream": {"job": "s3", "pod": "p2"},
             "values": [[(base + 3 * S).to_string(), "to s3 three"]]}
        ]}),
    )
    .await;
    let before = list_keys(&endpoint, &bucket).await;
    f.flush().await;
    let keys = list_keys(&endpoint, &bucket).await;
    assert!(
        keys.len() > before.len(),
        "no new objects in bucket {bucket} after POST /flush: before {before:?}, after {keys:?}"
    );

    let expected = json!([
        {"stream": {"job": "s3", "pod": "p1"},
         "values": values(&[(base + S, "to s3 one"), (base + 2 * S, "to s3 two")])},
        {"stream": {"job": "s3", "pod": "p2"}, "values": values(&[(base + 3 * S, "to s3 three")])}
    ]);
    // no graceful shutdown and no local data at all: only the bucket can answer
    f.kill9();
    std::fs::remove_dir_all(f.data_dir()).ok();
    f.restart().await;
    let q = r#"{job="s3"}"#;
    assert_eq!(
        f.streams(None, q, base, base + 10 * S, 100, "forward")
            .await,
        expected,
        "after restart without local data, from bucket {bucket} with keys {keys:?}"
    );
    let range = [
        ("start", base.to_string()),
        ("end", (base + 10 * S).to_string()),
    ];
    assert_eq!(
        common::data_of(&f.get("/loki/api/v1/label/pod/values", &range, None).await),
        json!(["p1", "p2"])
    );
}

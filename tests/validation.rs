//! Push validation answers 400 (429 for rate limits) with Loki's exact texts
//! (grafana/loki pkg/validation/validate.go, pkg/distributor/validator.go), and valid
//! entries of the same request are still written.

mod common;

use std::time::Duration;

use common::{Config, Fenrir, values};
use serde_json::json;

const S: i64 = 1_000_000_000;

fn one(labels: serde_json::Value, ts: i64, line: &str) -> serde_json::Value {
    json!({"streams": [{"stream": labels, "values": [[ts.to_string(), line]]}]})
}

/// Go's `time.RFC3339` of a whole-second ns timestamp in UTC.
fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp(ns.div_euclid(S), 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test]
async fn too_long_line_is_rejected_with_lokis_text_and_valid_entries_are_kept() {
    let f = Fenrir::start(Config::new().set("limits_config.max_line_size", 100)).await;
    let base = common::whole_second_ago(Duration::from_secs(300));
    let long = "x".repeat(101);
    let exact = "y".repeat(100);
    let body = json!({"streams": [{"stream": {"job": "v"}, "values": [
        [(base + S).to_string(), exact],
        [(base + 2 * S).to_string(), long],
        [(base + 3 * S).to_string(), "short"]
    ]}]});
    f.push_json(None, &body).await.assert_error(
        400,
        "Max entry size '100' bytes exceeded for stream '{job=\"v\"}' while adding an entry with length '101' bytes",
    );
    assert_eq!(
        f.streams(None, r#"{job="v"}"#, base, base + 10 * S, 100, "forward")
            .await,
        json!([{"stream": {"job": "v"},
                "values": values(&[(base + S, &exact), (base + 3 * S, "short")])}])
    );
}

#[tokio::test]
async fn old_and_future_samples_are_rejected_with_lokis_text() {
    let config = Config::new()
        .set("limits_config.reject_old_samples", true)
        .set("limits_config.reject_old_samples_max_age", "1h");
    let f = Fenrir::start(config).await;

    let old = common::whole_second_ago(Duration::from_secs(2 * 3600));
    let before = common::now_ns();
    let r = f
        .push_json(None, &one(json!({"job": "v"}), old, "old"))
        .await;
    let after = common::now_ns();
    assert_eq!(r.status, 400, "{}", r.body);
    let prefix = format!(
        "entry for stream '{{job=\"v\"}}' has timestamp too old: {}, oldest acceptable timestamp is: ",
        rfc3339(old)
    );
    let body = r.body.trim_end();
    let Some(oldest) = body.strip_prefix(&prefix) else {
        panic!("want prefix {prefix:?}, got {body:?}");
    };
    // the cut-off is now - 1h at the time of the request, printed as RFC 3339
    let lo = rfc3339(before - 3600 * S - S);
    let hi = rfc3339(after - 3600 * S + S);
    assert!(
        oldest.len() == lo.len() && lo.as_str() <= oldest && oldest <= hi.as_str(),
        "oldest acceptable timestamp {oldest:?} not within [{lo}, {hi}]"
    );

    let future = common::whole_second_ago(Duration::ZERO) + 3600 * S;
    f.push_json(None, &one(json!({"job": "v"}), future, "future"))
        .await
        .assert_error(
            400,
            &format!(
                "entry for stream '{{job=\"v\"}}' has timestamp too new: {}",
                rfc3339(future)
            ),
        );

    // 30 minutes old is fine with a 1h max age
    let ok = common::whole_second_ago(Duration::from_secs(1800));
    f.push_ok(None, &one(json!({"job": "v"}), ok, "fine")).await;
    assert_eq!(
        f.streams(
            None,
            r#"{job="v"}"#,
            ok - 3 * 3600 * S,
            ok + 2 * 3600 * S,
            100,
            "forward"
        )
        .await,
        json!([{"stream": {"job": "v"}, "values": values(&[(ok, "fine")])}])
    );
}

#[tokio::test]
async fn bad_labels_are_rejected_with_lokis_text() {
    let f = Fenrir::start(Config::new()).await;
    let ts = common::whole_second_ago(Duration::from_secs(60));

    f.push_json(None, &one(json!({}), ts, "no labels"))
        .await
        .assert_error(400, "error at least one label pair is required per stream");

    let long_name = "n".repeat(1025);
    f.push_json(
        None,
        &one(json!({"job": "v", long_name.clone(): "x"}), ts, "l"),
    )
    .await
    .assert_error(
        400,
        &format!(
            "stream '{{job=\"v\", {long_name}=\"x\"}}' has label name too long: '{long_name}'"
        ),
    );

    let long_value = "v".repeat(2049);
    f.push_json(
        None,
        &one(json!({"job": "v", "k": long_value.clone()}), ts, "l"),
    )
    .await
    .assert_error(
        400,
        &format!(
            "stream '{{job=\"v\", k=\"{long_value}\"}}' has label value too long: '{long_value}'"
        ),
    );

    // Loki parses the label string with the PromQL parser; the parser's own error text
    // follows Loki's prefix
    let r = f
        .push_json(None, &one(json!({"foo-bar": "x"}), ts, "l"))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .starts_with("Error parsing labels '{foo-bar=\"x\"}' with error: "),
        "got {:?}",
        r.body
    );

    // a bad stream does not stop the good stream of the same request
    let body = json!({"streams": [
        {"stream": {"job": "good"}, "values": [[ts.to_string(), "kept"]]},
        {"stream": {"job": "v", "k": long_value.clone()}, "values": [[ts.to_string(), "dropped"]]}
    ]});
    assert_eq!(f.push_json(None, &body).await.status, 400);
    assert_eq!(
        f.streams(
            None,
            r#"{job=~".+"}"#,
            ts - 60 * S,
            ts + 60 * S,
            100,
            "forward"
        )
        .await,
        json!([{"stream": {"job": "good"}, "values": values(&[(ts, "kept")])}])
    );
}

#[tokio::test]
async fn too_many_label_names_is_rejected_with_lokis_text() {
    let f = Fenrir::start(Config::new().set("limits_config.max_label_names_per_series", 2)).await;
    let ts = common::whole_second_ago(Duration::from_secs(60));
    f.push_json(None, &one(json!({"c": "3", "a": "1", "b": "2"}), ts, "l"))
        .await
        .assert_error(
            400,
            "entry for stream '{a=\"1\", b=\"2\", c=\"3\"}' has 3 label names; limit 2",
        );
    f.push_ok(None, &one(json!({"a": "1", "b": "2"}), ts, "l"))
        .await;
}

#[tokio::test]
async fn ingestion_rate_limit_is_429_with_lokis_text() {
    let config = Config::new()
        .set("limits_config.ingestion_rate_mb", 0.01)
        .set("limits_config.ingestion_burst_size_mb", 0.01);
    let f = Fenrir::start(config).await;
    let ts = common::whole_second_ago(Duration::from_secs(60));
    let line = "r".repeat(5000);
    let body = json!({"streams": [{"stream": {"job": "rate"}, "values": [
        [ts.to_string(), line], [(ts + 1).to_string(), line], [(ts + 2).to_string(), line]
    ]}]});
    // 0.01 MB = 10485.76 bytes/s, burst 10485 bytes: 15000 bytes never fit
    f.push_json(None, &body).await.assert_error(
        429,
        "Ingestion rate limit exceeded for user fake (limit: 10485 bytes/sec) while attempting to ingest '3' lines totaling '15000' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
    );
    // a small push fits the burst
    f.push_ok(None, &one(json!({"job": "rate"}), ts, "small"))
        .await;
}

//! Every push format Loki clients use is accepted and reads back exactly.
//!
//! Formats: JSON, JSON with `Content-Encoding: gzip`, protobuf `logproto.PushRequest` in
//! snappy block format (what Promtail and winston-loki send), and the legacy
//! `/api/prom/push` JSON (what python-logging-loki sends by default). Answers of
//! query_range, query, labels, label values and series are compared exactly.

mod common;

use std::time::Duration;

use common::{Config, Fenrir, data_of, gzip, label_key, rfc3339_nano, values, vector_of};
use prost::Message;
use serde_json::{Value, json};

/// Loki's `logproto.PushRequest` (pkg/push/push.proto), as clients encode it.
#[derive(Clone, PartialEq, prost::Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: labels in `{a="b"}` form and the entries.
#[derive(Clone, PartialEq, prost::Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

const S: i64 = 1_000_000_000;

fn proto_entry(ts: i64, line: &str) -> EntryAdapter {
    EntryAdapter {
        timestamp: Some(Timestamp {
            seconds: ts.div_euclid(S),
            nanos: i32::try_from(ts.rem_euclid(S)).unwrap(),
        }),
        line: line.to_string(),
        structured_metadata: vec![],
    }
}

/// Test data: all entries lie in `[base, base + 10s)`.
struct Data {
    base: i64,
}

impl Data {
    fn new() -> Self {
        Data {
            base: common::whole_second_ago(Duration::from_secs(600)),
        }
    }

    fn t(&self, offset_ns: i64) -> i64 {
        self.base + offset_ns
    }

    /// Plain JSON; values deliberately out of order.
    async fn push_json(&self, f: &Fenrir) {
        let body = json!({"streams": [
            {"stream": {"job": "json", "level": "info"},
             "values": [[self.t(2 * S).to_string(), "json two"], [self.t(S).to_string(), "json one"]]},
            {"stream": {"job": "json", "level": "error"},
             "values": [[self.t(3 * S).to_string(), "json error"]]}
        ]});
        f.push_ok(None, &body).await;
    }

    fn json_streams_forward(&self) -> Value {
        json!([
            {"stream": {"job": "json", "level": "error"},
             "values": values(&[(self.t(3 * S), "json error")])},
            {"stream": {"job": "json", "level": "info"},
             "values": values(&[(self.t(S), "json one"), (self.t(2 * S), "json two")])}
        ])
    }

    /// JSON with `Content-Encoding: gzip`; ns precision timestamps.
    async fn push_gzip(&self, f: &Fenrir) {
        let body = json!({"streams": [
            {"stream": {"job": "gzip"},
             "values": [[self.t(S + 500_000_123).to_string(), "gzip one"],
                        [self.t(4 * S).to_string(), "gzip two \u{1F43A} \"quoted\""]]}
        ]});
        let raw = gzip(&serde_json::to_vec(&body).unwrap());
        let r = f
            .send(f.post_raw(
                "/loki/api/v1/push",
                None,
                "application/json",
                Some("gzip"),
                raw,
            ))
            .await;
        assert_eq!(r.status, 204, "gzip push: {}", r.body);
    }

    fn gzip_streams(&self) -> Value {
        json!([
            {"stream": {"job": "gzip"},
             "values": values(&[(self.t(S + 500_000_123), "gzip one"),
                                (self.t(4 * S), "gzip two \u{1F43A} \"quoted\"")])}
        ])
    }

    /// Protobuf `PushRequest`, snappy block format, no Content-Encoding (as Promtail).
    async fn push_proto(&self, f: &Fenrir) {
        let req = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{job="proto", level="warn"}"#.to_string(),
                entries: vec![
                    proto_entry(self.t(5 * S + 7), "proto one"),
                    proto_entry(self.t(6 * S), "proto two"),
                ],
                hash: 0,
            }],
        };
        let raw = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        let r = f
            .send(f.post_raw(
                "/loki/api/v1/push",
                None,
                "application/x-protobuf",
                None,
                raw,
            ))
            .await;
        assert_eq!(r.status, 204, "protobuf push: {}", r.body);
    }

    fn proto_streams(&self) -> Value {
        json!([
            {"stream": {"job": "proto", "level": "warn"},
             "values": values(&[(self.t(5 * S + 7), "proto one"), (self.t(6 * S), "proto two")])}
        ])
    }

    /// Legacy `/api/prom/push`: label string and RFC 3339 timestamps.
    async fn push_legacy(&self, f: &Fenrir) {
        let body = json!({"streams": [
            {"labels": "{job=\"legacy\"}",
             "entries": [{"ts": rfc3339_nano(self.t(7 * S + 250_000_000)), "line": "legacy one"},
                         {"ts": rfc3339_nano(self.t(8 * S)), "line": "legacy two"}]}
        ]});
        let r = f
            .send(f.post_raw(
                "/api/prom/push",
                None,
                "application/json",
                None,
                serde_json::to_vec(&body).unwrap(),
            ))
            .await;
        assert_eq!(r.status, 204, "legacy push: {}", r.body);
    }

    fn legacy_streams(&self) -> Value {
        json!([
            {"stream": {"job": "legacy"},
             "values": values(&[(self.t(7 * S + 250_000_000), "legacy one"),
                                (self.t(8 * S), "legacy two")])}
        ])
    }

    async fn push_all(&self, f: &Fenrir) {
        self.push_json(f).await;
        self.push_gzip(f).await;
        self.push_proto(f).await;
        self.push_legacy(f).await;
    }

    async fn forward(&self, f: &Fenrir, query: &str) -> Value {
        f.streams(None, query, self.base, self.t(10 * S), 100, "forward")
            .await
    }
}

/// `values` of every stream reversed: the backward answer of a forward one.
fn reversed(streams: &Value) -> Value {
    let mut out = streams.clone();
    for s in out.as_array_mut().unwrap() {
        s["values"].as_array_mut().unwrap().reverse();
    }
    out
}

#[tokio::test]
async fn json_push_reads_back_exactly_in_both_directions() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_json(&f).await;
    assert_eq!(
        d.forward(&f, r#"{job="json"}"#).await,
        d.json_streams_forward()
    );
    let backward = f
        .streams(
            None,
            r#"{job="json"}"#,
            d.base,
            d.t(10 * S),
            100,
            "backward",
        )
        .await;
    assert_eq!(backward, reversed(&d.json_streams_forward()));
}

#[tokio::test]
async fn log_query_limit_keeps_newest_backward_and_oldest_forward() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_json(&f).await;
    let q = r#"{job="json"}"#;
    let backward = f.streams(None, q, d.base, d.t(10 * S), 2, "backward").await;
    assert_eq!(
        backward,
        json!([
            {"stream": {"job": "json", "level": "error"}, "values": values(&[(d.t(3 * S), "json error")])},
            {"stream": {"job": "json", "level": "info"}, "values": values(&[(d.t(2 * S), "json two")])}
        ])
    );
    let forward = f.streams(None, q, d.base, d.t(10 * S), 2, "forward").await;
    assert_eq!(
        forward,
        json!([
            {"stream": {"job": "json", "level": "info"},
             "values": values(&[(d.t(S), "json one"), (d.t(2 * S), "json two")])}
        ])
    );
    // [start, end): an entry exactly at `end` is excluded, one exactly at `start` included
    let edge = f.streams(None, q, d.t(S), d.t(3 * S), 100, "forward").await;
    assert_eq!(
        edge,
        json!([
            {"stream": {"job": "json", "level": "info"},
             "values": values(&[(d.t(S), "json one"), (d.t(2 * S), "json two")])}
        ])
    );
}

#[tokio::test]
async fn gzip_json_push_reads_back_exactly() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_gzip(&f).await;
    assert_eq!(d.forward(&f, r#"{job="gzip"}"#).await, d.gzip_streams());
}

#[tokio::test]
async fn protobuf_snappy_push_reads_back_exactly() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_proto(&f).await;
    assert_eq!(d.forward(&f, r#"{job="proto"}"#).await, d.proto_streams());
}

#[tokio::test]
async fn legacy_prom_push_reads_back_exactly() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_legacy(&f).await;
    assert_eq!(d.forward(&f, r#"{job="legacy"}"#).await, d.legacy_streams());
}

#[tokio::test]
async fn labels_label_values_and_series_after_all_formats() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_all(&f).await;
    let range = [
        ("start", d.base.to_string()),
        ("end", d.t(10 * S).to_string()),
    ];

    let labels = data_of(&f.get("/loki/api/v1/labels", &range, None).await);
    assert_eq!(labels, json!(["job", "level"]));

    let jobs = data_of(&f.get("/loki/api/v1/label/job/values", &range, None).await);
    assert_eq!(jobs, json!(["gzip", "json", "legacy", "proto"]));
    let levels = data_of(&f.get("/loki/api/v1/label/level/values", &range, None).await);
    assert_eq!(levels, json!(["error", "info", "warn"]));

    let mut params = range.to_vec();
    params.push(("match[]", r#"{job=~"json|proto"}"#.to_string()));
    params.push(("match[]", r#"{job="legacy"}"#.to_string()));
    let mut series = data_of(&f.get("/loki/api/v1/series", &params, None).await)
        .as_array()
        .expect("series list")
        .clone();
    series.sort_by_key(label_key);
    assert_eq!(
        Value::Array(series),
        json!([
            {"job": "json", "level": "error"},
            {"job": "json", "level": "info"},
            {"job": "legacy"},
            {"job": "proto", "level": "warn"}
        ])
    );

    // every format's streams together, exactly
    let mut all: Vec<Value> = Vec::new();
    for part in [
        d.gzip_streams(),
        d.json_streams_forward(),
        d.legacy_streams(),
        d.proto_streams(),
    ] {
        all.extend(part.as_array().unwrap().iter().cloned());
    }
    assert_eq!(d.forward(&f, r#"{job=~".+"}"#).await, Value::Array(all));
}

#[tokio::test]
async fn instant_metric_query_counts_every_format() {
    let f = Fenrir::start(Config::new()).await;
    let d = Data::new();
    d.push_all(&f).await;
    let time = d.t(60 * S);
    let r = f
        .get(
            "/loki/api/v1/query",
            &[
                (
                    "query",
                    r#"sum by (job) (count_over_time({job=~".+"}[5m]))"#.to_string(),
                ),
                ("time", time.to_string()),
            ],
            None,
        )
        .await;
    let t = json!(time / S);
    assert_eq!(
        vector_of(&r),
        json!([
            {"metric": {"job": "gzip"}, "value": [t, "2"]},
            {"metric": {"job": "json"}, "value": [t, "3"]},
            {"metric": {"job": "legacy"}, "value": [t, "2"]},
            {"metric": {"job": "proto"}, "value": [t, "2"]}
        ])
    );
}

//! Syntax newer than Loki 2.9, written from Loki 3.x's documentation, against the real
//! server with its default (`loki-3`) dialect; and the `loki-2.9` dialect rejecting it
//! with Loki 2.9's exact error.

mod common;

use common::{Config, Fenrir, values};
use serde_json::json;

const BASE: i64 = 1_795_132_800_000_000_000;

async fn pushed(config: Config) -> Fenrir {
    let f = Fenrir::start(config.set("limits_config.reject_old_samples", false)).await;
    let body = json!({"streams": [{
        "stream": {"job": "l3"},
        "values": values(&[
            (BASE, "GET /a 200"),
            (BASE + 1, "POST /b 500"),
            (BASE + 2, "PUT /c 404"),
            (BASE + 3, "GET /d 500"),
        ]),
    }]});
    f.push_ok(None, &body).await;
    f
}

fn lines(streams: &serde_json::Value) -> Vec<String> {
    streams[0]["values"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|e| e[1].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn or_line_filters_and_pattern_filters_work_by_default() {
    let f = pushed(Config::new()).await;
    let q = |query: &'static str| {
        let f = &f;
        async move {
            lines(
                &f.streams(None, query, BASE, BASE + 10, 100, "forward")
                    .await,
            )
        }
    };
    assert_eq!(
        q(r#"{job="l3"} |= "POST" or "PUT""#).await,
        ["POST /b 500", "PUT /c 404"]
    );
    assert_eq!(q(r#"{job="l3"} != "GET" or "PUT""#).await, ["POST /b 500"]);
    assert_eq!(
        q(r#"{job="l3"} |> "<_> <_> 500""#).await,
        ["POST /b 500", "GET /d 500"]
    );
    assert_eq!(
        q(r#"{job="l3"} !> "GET <_>""#).await,
        ["POST /b 500", "PUT /c 404"]
    );
}

#[tokio::test]
async fn loki_2_9_dialect_rejects_or_with_loki_2_9_error() {
    let f = pushed(Config::new().set("querier.logql_dialect", "loki-2.9")).await;
    let r = f
        .query_range(
            None,
            r#"{job="l3"} |= "x" or "y""#,
            BASE,
            BASE + 10,
            100,
            "forward",
        )
        .await;
    r.assert_error(
        400,
        "parse error at line 1, col 22: syntax error: unexpected STRING",
    );
}

#[tokio::test]
async fn structured_metadata_becomes_labels_in_queries() {
    let f = Fenrir::start(Config::new().set("limits_config.reject_old_samples", false)).await;
    let body = json!({"streams": [{
        "stream": {"job": "sm"},
        "values": [
            [BASE.to_string(), "with metadata", {"trace_id": "abc"}],
            [(BASE + 1).to_string(), "without metadata"],
        ],
    }]});
    f.push_ok(None, &body).await;
    // as Loki 3 answers without `categorize-labels`: metadata joins the stream labels
    // (streams_of sorts by the label key)
    let want = json!([
        {"stream": {"job": "sm", "trace_id": "abc"}, "values": [[BASE.to_string(), "with metadata"]]},
        {"stream": {"job": "sm"}, "values": [[(BASE + 1).to_string(), "without metadata"]]},
    ]);
    let streams = f
        .streams(None, r#"{job="sm"}"#, BASE, BASE + 10, 100, "forward")
        .await;
    assert_eq!(streams, want);
    // the same from a segment: the flush carries each entry's metadata (or none) along
    f.flush().await;
    let streams = f
        .streams(None, r#"{job="sm"}"#, BASE, BASE + 10, 100, "forward")
        .await;
    assert_eq!(streams, want, "after flush");
    let filtered = f
        .streams(
            None,
            r#"{job="sm"} | trace_id="abc""#,
            BASE,
            BASE + 10,
            100,
            "forward",
        )
        .await;
    assert_eq!(lines(&filtered), ["with metadata"]);
    let r = f
        .get(
            "/loki/api/v1/query",
            &[
                (
                    "query",
                    r#"sum by (trace_id) (count_over_time({job="sm"}[1m]))"#.to_string(),
                ),
                ("time", (BASE + 1_000_000_000).to_string()),
            ],
            None,
        )
        .await;
    assert_eq!(
        common::vector_of(&r),
        json!([
            {"metric": {"trace_id": "abc"}, "value": [1_795_132_801, "1"]},
            {"metric": {}, "value": [1_795_132_801, "1"]},
        ])
    );
}

#[tokio::test]
async fn approx_topk_answers_instant_queries_and_refuses_range_queries() {
    let f = Fenrir::start(Config::new().set("limits_config.reject_old_samples", false)).await;
    let stream = |s: &str, n: i64| {
        let entries: Vec<(i64, String)> = (0..n).map(|i| (BASE + i, format!("{s} {i}"))).collect();
        json!({"stream": {"job": "ak", "s": s}, "values": entries
            .iter()
            .map(|(t, l)| json!([t.to_string(), l]))
            .collect::<Vec<_>>()})
    };
    let body = json!({"streams": [stream("a", 3), stream("b", 5), stream("c", 1)]});
    f.push_ok(None, &body).await;
    let query = r#"approx_topk(2, sum by (s) (count_over_time({job="ak"}[1m])))"#;
    let instant = f
        .get(
            "/loki/api/v1/query",
            &[
                ("query", query.to_string()),
                ("time", (BASE + 1_000_000_000).to_string()),
            ],
            None,
        )
        .await;
    // as for topk, the instant vector comes back in label order
    assert_eq!(
        common::vector_of(&instant),
        json!([
            {"metric": {"s": "a"}, "value": [1_795_132_801, "3"]},
            {"metric": {"s": "b"}, "value": [1_795_132_801, "5"]},
        ])
    );
    // Loki evaluates the count-min sketch only for instant queries and answers a range
    // query with a 500 naming the operator.
    let range = f
        .query_range(None, query, BASE, BASE + 60_000_000_000, 100, "forward")
        .await;
    range.assert_error(
        500,
        "approx_topk error: count min sketches are only supported on instant queries",
    );
}

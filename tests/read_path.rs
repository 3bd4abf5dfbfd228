//! The query frontend in single-binary mode, against the real server: per-tenant queues
//! with Loki's 429, fairness between tenants, cancellation when the client goes away,
//! and the results cache.

mod common;

#[path = "common/conformance.rs"]
mod conformance;

use std::time::Duration;

use common::{Config, Fenrir, Resp};

/// The dataset's first entry is at 1795132800 (2026-11-19T00:00:00Z); it spans 3h.
const T0: i64 = 1_795_132_800;
const NS: i64 = 1_000_000_000;

async fn loaded(config: Config) -> Fenrir {
    let f = Fenrir::start(config).await;
    let dir = conformance::corpus_dir();
    for body in conformance::dataset_bodies(&dir) {
        let r = f.push_json(Some("tenant-a"), &body).await;
        assert_eq!(r.status, 204, "push: {}", r.body);
        let r = f.push_json(Some("tenant-b"), &body).await;
        assert_eq!(r.status, 204, "push: {}", r.body);
    }
    f
}

/// A `query_range` from `start` for `hours` with a 60s step.
async fn metric(f: &Fenrir, tenant: &str, query: &str, start: i64, hours: i64) -> Resp {
    f.get(
        "/loki/api/v1/query_range",
        &[
            ("query", query.to_string()),
            ("start", (start * NS).to_string()),
            ("end", ((start + hours * 3600) * NS).to_string()),
            ("step", "60".to_string()),
        ],
        Some(tenant),
    )
    .await
}

/// The value of a metric sample line in the Prometheus text at `/metrics`, 0 if absent.
async fn metric_value(f: &Fenrir, series: &str) -> f64 {
    let r = f.get("/metrics", &[], None).await;
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

const COUNT_BY_APP: &str = r#"sum by (app) (count_over_time({env=~".+"}[5m]))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tenant_gets_429_while_another_tenant_is_served() {
    let config = Config::conformance()
        .set("auth_enabled", true)
        // 20 > the 16 shards of one instant-sized query, < the 32 sub-queries a day-long
        // query puts in flight
        .set("frontend.max_outstanding_per_tenant", 20)
        .set("querier.max_concurrent", 1);
    let f = std::sync::Arc::new(loaded(config).await);
    // reference answer for tenant b, before the flood
    let short = metric(&f, "tenant-b", COUNT_BY_APP, T0 + 3600, 0)
        .await
        .ok_json();
    assert!(
        short["data"]["result"]
            .as_array()
            .is_some_and(|r| r.len() > 3)
    );
    // tenant a: 24h queries split into 48 sub-queries each, many at once
    let flood: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(
                async move { metric(&f, "tenant-a", COUNT_BY_APP, T0 - 12 * 3600, 24).await },
            )
        })
        .collect();
    // tenant b keeps querying (one split each) during the flood
    for _ in 0..10 {
        let r = metric(&f, "tenant-b", COUNT_BY_APP, T0 + 3600, 0).await;
        assert_eq!(
            r.status, 200,
            "tenant b refused during the flood: {}",
            r.body
        );
        assert_eq!(r.json()["data"]["result"], short["data"]["result"]);
    }
    let mut refused = 0;
    for h in flood {
        let r = h.await.expect("flood task");
        if r.status == 429 {
            r.assert_error(429, "too many outstanding requests");
            refused += 1;
        } else {
            assert_eq!(r.status, 200, "unexpected answer: {}", r.body);
        }
    }
    assert!(refused > 0, "the flooding tenant was never refused");
    let discarded = metric_value(
        &f,
        "cortex_query_frontend_discarded_requests_total{user=\"tenant-a\"}",
    )
    .await;
    // every refused query was counted (a query can be refused by several of its splits)
    assert!(discarded >= f64::from(refused), "{discarded} < {refused}");
    let discarded_b = metric_value(
        &f,
        "cortex_query_frontend_discarded_requests_total{user=\"tenant-b\"}",
    )
    .await;
    assert_eq!(discarded_b, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_metric_query_is_answered_from_the_results_cache() {
    let config = Config::conformance()
        .set("auth_enabled", true)
        .set("query_range.cache_results", true);
    let f = loaded(config).await;
    let start = T0 - 1800;
    let first = metric(&f, "tenant-a", COUNT_BY_APP, start, 6)
        .await
        .ok_json();
    let fetched = metric_value(
        &f,
        "loki_cache_fetched_keys{name=\"frontend.results-cache\"}",
    )
    .await;
    let hits = metric_value(&f, "loki_cache_hits{name=\"frontend.results-cache\"}").await;
    // 6h at 60s steps from a 30m boundary: 12 half-hour splits and the last step alone,
    // all older than max_cache_freshness_per_query (10m)
    assert_eq!((fetched, hits), (13.0, 0.0));
    let second = metric(&f, "tenant-a", COUNT_BY_APP, start, 6)
        .await
        .ok_json();
    assert_eq!(second["data"]["result"], first["data"]["result"]);
    let hits = metric_value(&f, "loki_cache_hits{name=\"frontend.results-cache\"}").await;
    assert_eq!(hits, 13.0);
    // another tenant does not see tenant a's cache entries
    let other = metric(&f, "tenant-b", COUNT_BY_APP, start, 6)
        .await
        .ok_json();
    assert_eq!(other["data"]["result"], first["data"]["result"]);
    let hits = metric_value(&f, "loki_cache_hits{name=\"frontend.results-cache\"}").await;
    assert_eq!(hits, 13.0);
    let series = first["data"]["result"].as_array().map_or(0, Vec::len);
    assert!(series > 3, "expected several apps, got {series}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_cancels_its_sub_queries() {
    // one worker and one-minute splits: a week-long query has ~10k sub-queries
    let config = Config::conformance()
        .set("auth_enabled", true)
        .set("querier.max_concurrent", 1)
        .set("limits_config.split_queries_by_interval", "1m")
        .set("limits_config.max_query_parallelism", 4);
    let f = loaded(config).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let url = format!("{}/loki/api/v1/query_range", f.base_url());
    let r = impatient
        .get(&url)
        .header("X-Scope-OrgID", "tenant-a")
        .query(&[
            ("query", COUNT_BY_APP.to_string()),
            ("start", ((T0 - 7 * 86400) * NS).to_string()),
            ("end", ((T0 + 3600) * NS).to_string()),
            ("step", "60".to_string()),
        ])
        .send()
        .await;
    assert!(r.is_err(), "the week-long query finished within 500ms");
    let cancelled =
        common::eventually(Duration::from_secs(10), "sub-queries cancelled", || async {
            let v = metric_value(&f, "fenrir_frontend_subqueries_cancelled_total").await;
            (v > 0.0).then_some(v)
        })
        .await;
    assert!(
        cancelled <= 4.0,
        "at most max_query_parallelism sub-queries were waiting: {cancelled}"
    );
    // the worker is free again: a small query is answered at once
    let r = metric(&f, "tenant-a", COUNT_BY_APP, T0 + 3600, 0).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let total: f64 = r.json()["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["values"][0][1].as_str()?.parse::<f64>().ok())
        .sum();
    assert!(total > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_query_stops_at_the_first_split_that_fills_its_limit() {
    let f = loaded(Config::conformance().set("auth_enabled", true)).await;
    let successes = || metric_value(&f, "fenrir_frontend_subqueries_total{outcome=\"success\"}");
    let before = successes().await;
    let r = f
        .query_range(
            Some("tenant-a"),
            r#"{env=~".+"}"#,
            T0 * NS,
            (T0 + 3 * 3600) * NS,
            10,
            "backward",
        )
        .await;
    let streams = r.ok_json()["data"]["result"].clone();
    let mut ts: Vec<i64> = streams
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v[0].as_str()?.parse().ok())
        .collect();
    assert_eq!(ts.len(), 10);
    ts.sort_unstable();
    // the newest entries, all in the last half hour: one sub-query of six was enough
    assert!(ts[0] >= (T0 + 5 * 1800) * NS, "{ts:?}");
    assert_eq!(successes().await - before, 1.0);
}

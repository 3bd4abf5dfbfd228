//! Fenrir as separate processes on 127.0.0.1, as Loki runs in microservices mode: one
//! write process (distributor + ingester), a query frontend, and querier processes that
//! pull sub-queries from the frontend over gRPC and read the ingester's memory over gRPC
//! and flushed data from the shared path prefix.

mod common;

#[path = "common/conformance.rs"]
mod conformance;

use std::time::Duration;

use common::{Config, Fenrir};
use serde_json::json;

const T0: i64 = 1_795_132_800;
const NS: i64 = 1_000_000_000;

/// The processes of one cluster and the directory they share.
struct Cluster {
    write: Fenrir,
    frontend: Fenrir,
    queriers: Vec<Fenrir>,
    _shared: tempfile::TempDir,
}

/// Starts a write process, a query frontend and `queriers` querier processes; `tune`
/// adjusts every process's config.
async fn cluster(queriers: usize, tune: impl Fn(Config) -> Config) -> Cluster {
    let shared = tempfile::Builder::new()
        .prefix("fenrir-cluster-")
        .tempdir()
        .expect("shared dir");
    let prefix = shared.path().join("data").display().to_string();
    let base = |target: &str| {
        tune(Config::conformance())
            .set("target", target)
            .set("common.path_prefix", prefix.clone())
    };
    let write = Fenrir::start(base("write")).await;
    let frontend = Fenrir::start(base("query-frontend")).await;
    let mut qs = Vec::new();
    for i in 0..queriers {
        let q = Fenrir::start(
            base("querier")
                .set(
                    "frontend_worker.frontend_address",
                    format!("127.0.0.1:{}", frontend.grpc_port),
                )
                .set("frontend_worker.id", format!("querier-{i}"))
                .set(
                    "ingester_client.addresses",
                    json!([format!("127.0.0.1:{}", write.grpc_port)]),
                ),
        )
        .await;
        qs.push(q);
    }
    Cluster {
        write,
        frontend,
        queriers: qs,
        _shared: shared,
    }
}

/// Pushes the conformance dataset to the write process.
async fn push_dataset(c: &Cluster) {
    let dir = conformance::corpus_dir();
    for body in conformance::dataset_bodies(&dir) {
        c.write.push_ok(None, &body).await;
    }
}

/// Waits until the frontend has `n` querier worker connections.
async fn wait_for_queriers(c: &Cluster, n: usize) {
    let line = format!("cortex_query_frontend_connected_clients {n}");
    common::eventually(Duration::from_secs(20), &line, || async {
        let r = c.frontend.get("/metrics", &[], None).await;
        r.body.lines().any(|l| l == line).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frontend_two_queriers_and_a_write_process_answer_the_whole_corpus() {
    let c = cluster(2, |c| c.set("querier.max_concurrent", 4)).await;
    wait_for_queriers(&c, 8).await;
    push_dataset(&c).await;
    let dir = conformance::corpus_dir();
    if let Err(e) = conformance::run(&dir, &c.frontend.base_url(), false, None) {
        panic!(
            "{e}\n--- frontend log ---\n{}\n--- querier 0 log ---\n{}",
            c.frontend.log(),
            c.queriers[0].log()
        );
    }
    // after a flush the same answers come from the shared storage
    c.write.flush().await;
    if let Err(e) = conformance::run(&dir, &c.frontend.base_url(), false, Some("metric_")) {
        panic!("after flush: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_querier_mid_query_still_gives_the_right_answer() {
    // one-minute splits: a day-long query is ~1440 sub-queries spread over both queriers
    let mut c = cluster(2, |c| {
        c.set("limits_config.split_queries_by_interval", "1m")
            .set("querier.max_concurrent", 1)
    })
    .await;
    wait_for_queriers(&c, 2).await;
    push_dataset(&c).await;
    let query = [
        (
            "query",
            r#"sum by (app) (count_over_time({env=~".+"} |= "a" [5m]))"#.to_string(),
        ),
        ("start", ((T0 - 20 * 3600) * NS).to_string()),
        ("end", ((T0 + 4 * 3600) * NS).to_string()),
        ("step", "60".to_string()),
    ];
    let reference = c
        .frontend
        .get("/loki/api/v1/query_range", &query, None)
        .await
        .ok_json();
    let series = reference["data"]["result"].as_array().map_or(0, Vec::len);
    assert!(series > 3, "expected several apps, got {series}");
    let frontend_url = c.frontend.base_url();
    let running = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let r = client
            .get(format!("{frontend_url}/loki/api/v1/query_range"))
            .query(&query)
            .send()
            .await
            .expect("query");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.queriers[0].kill9();
    let (status, body) = running.await.expect("query task");
    assert_eq!(status, 200, "{body}");
    let got: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(got["data"]["result"], reference["data"]["result"]);
}

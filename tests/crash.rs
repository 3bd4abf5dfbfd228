//! Durability: every push answered 204 survives `kill -9`.
//!
//! Eight writers push small batches concurrently; the server is killed with SIGKILL while
//! they are still pushing, restarted on the same data directory, and every acknowledged
//! entry must be readable exactly once. Entries whose push got no answer may or may not
//! be there, but nothing that was never sent may appear.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Config, Fenrir};
use serde_json::json;

const WRITERS: usize = 8;
const BATCHES: usize = 150;
const PER_BATCH: usize = 5;
/// Kill once this many batches were acknowledged (well before all are sent).
const KILL_AFTER_ACKS: usize = 300;

fn line(w: usize, b: usize, e: usize) -> String {
    format!("w{w} b{b} e{e}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_push_survives_kill_9() {
    let config = Config::new()
        .set("limits_config.ingestion_rate_mb", 100)
        .set("limits_config.ingestion_burst_size_mb", 200)
        .set("limits_config.max_entries_limit_per_query", 100_000);
    let mut f = Fenrir::start(config).await;
    let base = common::whole_second_ago(Duration::from_secs(600));
    let url = format!("{}/loki/api/v1/push", f.base_url());
    let acked_batches = Arc::new(AtomicUsize::new(0));

    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let url = url.clone();
        let acked_batches = acked_batches.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            // (timestamp, line) of every acknowledged entry of this writer
            let mut acked: Vec<(i64, String)> = Vec::new();
            for b in 0..BATCHES {
                let entries: Vec<(i64, String)> = (0..PER_BATCH)
                    .map(|e| {
                        let ts = base + i64::try_from(b * PER_BATCH + e).unwrap() * 1_000_000;
                        (ts, line(w, b, e))
                    })
                    .collect();
                let body = json!({"streams": [{
                    "stream": {"job": "crash", "writer": w.to_string()},
                    "values": entries.iter().map(|(ts, l)| json!([ts.to_string(), l])).collect::<Vec<_>>()
                }]});
                match client.post(&url).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 204 => {
                        acked.extend(entries);
                        acked_batches.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        panic!("writer {w} batch {b}: unexpected {status}: {text}");
                    }
                    // the server died under us: this batch is not acknowledged
                    Err(_) => break,
                }
            }
            acked
        }));
    }

    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while acked_batches.load(Ordering::SeqCst) < KILL_AFTER_ACKS {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} batches acknowledged in 120 s",
            acked_batches.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f.kill9();

    let mut acked: BTreeMap<String, BTreeSet<(i64, String)>> = BTreeMap::new();
    for (w, t) in tasks.into_iter().enumerate() {
        acked.insert(w.to_string(), t.await.unwrap().into_iter().collect());
    }
    let total_acked: usize = acked.values().map(|s| s.len()).sum();
    assert!(total_acked >= KILL_AFTER_ACKS * PER_BATCH);
    println!(
        "killed with {total_acked} of {} entries acknowledged",
        WRITERS * BATCHES * PER_BATCH
    );

    f.restart().await;
    let end = base + i64::try_from(BATCHES * PER_BATCH).unwrap() * 1_000_000 + 1;
    let streams = f
        .streams(None, r#"{job="crash"}"#, base, end, 100_000, "forward")
        .await;
    let mut found: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for s in streams.as_array().unwrap() {
        assert_eq!(s["stream"]["job"], "crash");
        let w = s["stream"]["writer"].as_str().unwrap().to_string();
        let entries = found.entry(w).or_default();
        for v in s["values"].as_array().unwrap() {
            let ts: i64 = v[0].as_str().unwrap().parse().unwrap();
            entries.push((ts, v[1].as_str().unwrap().to_string()));
        }
    }

    let mut missing = 0;
    for (w, want) in &acked {
        let got = found.get(w).cloned().unwrap_or_default();
        let got_set: BTreeSet<(i64, String)> = got.iter().cloned().collect();
        assert_eq!(
            got.len(),
            got_set.len(),
            "writer {w}: duplicated entries after replay"
        );
        missing += want.difference(&got_set).count();
        for (ts, l) in &got_set {
            // anything present must be something this writer sent, at its timestamp
            let idx = usize::try_from((ts - base) / 1_000_000).unwrap();
            assert_eq!(
                l,
                &line(w.parse().unwrap(), idx / PER_BATCH, idx % PER_BATCH),
                "writer {w}: unexpected entry"
            );
        }
    }
    assert_eq!(
        missing, 0,
        "{missing} of {total_acked} acknowledged entries lost after kill -9"
    );
}

#[tokio::test]
async fn one_push_survives_kill_9_right_after_its_204() {
    let mut f = Fenrir::start(Config::new()).await;
    let ts = common::whole_second_ago(Duration::from_secs(60));
    f.push_ok(
        None,
        &json!({"streams": [{"stream": {"job": "once"}, "values": [[ts.to_string(), "acked"]]}]}),
    )
    .await;
    f.kill9();
    f.restart().await;
    assert_eq!(
        f.streams(None, r#"{job="once"}"#, ts, ts + 1, 100, "forward")
            .await,
        json!([{"stream": {"job": "once"}, "values": common::values(&[(ts, "acked")])}])
    );
}

//! Golden LogQL tests: each file in `tests/golden/` holds a small dataset and queries
//! with their expected answers. Run with `GOLDEN_UPDATE=1` to rewrite the expected
//! answers after a deliberate behaviour change (then review the diff).

use std::path::Path;
use std::sync::Arc;

use logql::LabelSet;
use querier::source::{LogSource, MemorySource};
use querier::{Direction, InstantQuery, Querier, QueryData, QueryLimits, RangeQuery};
use serde_json::{Value, json};
use storage::Entry;

fn load(src: &MemorySource, data: &Value) {
    for s in data.as_array().unwrap() {
        let labels = LabelSet::from_pairs(
            s["stream"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
        );
        let entries: Vec<Entry> = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Entry {
                ts: v[0].as_i64().unwrap(),
                line: v[1].as_str().unwrap().to_string(),
                metadata: Vec::new(),
            })
            .collect();
        src.push("t", &labels, &entries).unwrap();
    }
}

fn labels_json(l: &LabelSet) -> Value {
    Value::Object(l.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        json!(v.to_string())
    }
}

fn answer(r: querier::Result<querier::QueryResponse>) -> Value {
    match r {
        Err(e) => json!({"status": e.http_status(), "error": e.to_string()}),
        Ok(r) => match r.data {
            QueryData::Streams(s) => json!({"streams": s.iter().map(|s| json!({
                "stream": labels_json(&s.labels),
                "values": s.entries.iter().map(|(t, l)| json!([t, l])).collect::<Vec<_>>()
            })).collect::<Vec<_>>()}),
            QueryData::Matrix(m) => json!({"matrix": m.iter().map(|s| json!({
                "metric": labels_json(&s.labels),
                "values": s.points.iter().map(|(t, v)| json!([t, num(*v)])).collect::<Vec<_>>()
            })).collect::<Vec<_>>()}),
            QueryData::Vector(v) => json!({"vector": v.iter().map(|s| json!({
                "metric": labels_json(&s.labels),
                "value": [s.ts, num(s.value)]
            })).collect::<Vec<_>>()}),
            QueryData::Scalar(t, v) => json!({"scalar": [t, num(v)]}),
        },
    }
}

fn run_file(path: &Path, update: bool) -> Vec<String> {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let src = MemorySource::new();
    load(&src, &doc["data"]);
    let sources: Vec<Arc<dyn LogSource>> = vec![Arc::new(src)];
    let q = Querier::with_sources(sources, QueryLimits::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for case in doc["cases"].as_array_mut().unwrap() {
        let query = case["query"].as_str().unwrap().to_string();
        let dir = if case["direction"] == "forward" {
            Direction::Forward
        } else {
            Direction::Backward
        };
        let limit = case["limit"].as_u64().unwrap_or(100) as u32;
        let got = if let Some(time) = case["time"].as_i64() {
            answer(rt.block_on(q.query_instant(
                "t",
                &InstantQuery {
                    query: query.clone(),
                    time,
                    limit,
                    direction: dir,
                },
            )))
        } else {
            answer(rt.block_on(q.query_range(
                "t",
                &RangeQuery {
                    query: query.clone(),
                    start: case["start"].as_i64().unwrap(),
                    end: case["end"].as_i64().unwrap(),
                    step: case["step"].as_i64().unwrap_or(1),
                    interval: None,
                    limit,
                    direction: dir,
                },
            )))
        };
        // Compare as the file stores it: serde_json's default float parsing can be one
        // ulp off, so the answer goes through the same text round trip as the file.
        let got: Value = serde_json::from_str(&got.to_string()).unwrap();
        if update {
            case["expected"] = got;
        } else if case["expected"] != got {
            failures.push(format!(
                "{}: {query}\n  expected {}\n  got      {}",
                path.display(),
                case["expected"],
                got
            ));
        }
    }
    if update {
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    failures
}

#[test]
fn golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var("GOLDEN_UPDATE").is_ok();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files in {}", dir.display());
    let failures: Vec<String> = files.iter().flat_map(|f| run_file(f, update)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

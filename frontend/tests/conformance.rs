//! In-process conformance harness: loads the conformance dataset into an in-memory
//! source, runs every case of `../shared/conformance/cases` through [`Frontend`] with the
//! case's parameters (parsed as Loki's HTTP layer parses them) and compares with Loki's
//! recorded answer using `run.py`'s normalisation rules. Prints `N passed, M failed`.
//!
//! Run: `cargo test -p frontend --test conformance -- --nocapture`
//! (`CONFORMANCE_ONLY=substr` restricts the cases, `CONFORMANCE_VERBOSE=1` prints diffs;
//! `CONFORMANCE_MIN_PASS=n` fails the test below n passes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use frontend::{Frontend, FrontendConfig, FrontendMetrics};
use logql::LabelSet;
use querier::source::{LogSource, MemorySource};
use querier::{
    Direction, InstantQuery, Querier, QueryData, QueryError, QueryLimits, QueryResponse, RangeQuery,
};
use serde_json::{Value, json};
use storage::Entry;

const TENANT: &str = "fake";

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

fn load_dataset(src: &MemorySource, path: &Path) {
    let bodies: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for body in bodies {
        for s in body["streams"].as_array().unwrap() {
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
                    ts: v[0].as_str().unwrap().parse().unwrap(),
                    line: v[1].as_str().unwrap().to_string(),
                    metadata: Vec::new(),
                })
                .collect();
            src.push(TENANT, &labels, &entries).unwrap();
        }
    }
}

/// A request failure with Loki's status and text.
struct Failure(u16, String);

impl From<QueryError> for Failure {
    fn from(e: QueryError) -> Self {
        Failure(e.http_status(), e.to_string())
    }
}

/// Loki's `parseTimestamp`.
fn parse_time(v: Option<&Value>, default: i64) -> Result<i64, Failure> {
    let Some(s) = v.and_then(Value::as_str) else {
        return Ok(default);
    };
    if s.is_empty() {
        return Ok(default);
    }
    if s.contains('.')
        && let Ok(f) = s.parse::<f64>()
    {
        let secs = f.trunc();
        let frac = ((f - secs) * 1000.0).round() / 1000.0;
        return Ok(secs as i64 * 1_000_000_000 + (frac * 1e9) as i64);
    }
    match s.parse::<i64>() {
        Ok(n) if s.len() <= 10 => Ok(n * 1_000_000_000),
        Ok(n) => Ok(n),
        Err(_) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .ok_or_else(|| Failure(400, format!("cannot parse {s:?} to a valid timestamp"))),
    }
}

/// Loki's step parameter: float seconds or a duration.
fn parse_step(s: &str) -> Result<i64, Failure> {
    if let Ok(f) = s.parse::<f64>() {
        return Ok((f * 1e9).round() as i64);
    }
    humantime::parse_duration(s)
        .map(|d| d.as_nanos() as i64)
        .map_err(|_| Failure(400, format!("cannot parse {s:?} to a valid duration")))
}

fn param<'a>(p: &'a Value, k: &str) -> Option<&'a str> {
    p.get(k).and_then(Value::as_str)
}

fn limit_dir(p: &Value) -> Result<(u32, Direction), Failure> {
    let limit = match param(p, "limit") {
        None => 100,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| Failure(400, format!("cannot parse {s:?} to a valid limit")))?,
    };
    if limit <= 0 {
        return Err(Failure(400, "limit must be a positive value".into()));
    }
    let dir = match param(p, "direction").map(str::to_lowercase).as_deref() {
        None | Some("backward") => Direction::Backward,
        Some("forward") => Direction::Forward,
        Some(_) => {
            return Err(Failure(
                400,
                format!(
                    "invalid direction '{}'",
                    param(p, "direction").unwrap_or_default()
                ),
            ));
        }
    };
    Ok((limit as u32, dir))
}

const NOW: i64 = 1_795_143_600_000_000_000;

async fn run_case(fe: &Frontend, case: &Value) -> Result<Value, Failure> {
    let p = &case["params"];
    match case["endpoint"].as_str().unwrap() {
        "query_range" => {
            let end = parse_time(p.get("end"), NOW)?;
            let start = parse_time(p.get("start"), end - 3_600_000_000_000)?;
            let (limit, direction) = limit_dir(p)?;
            if end < start {
                return Err(Failure(
                    400,
                    "end timestamp must not be before or equal to start time".into(),
                ));
            }
            let step = match param(p, "step") {
                Some(s) => parse_step(s)?,
                None => ((end - start) / 1_000_000_000 / 250).max(1) * 1_000_000_000,
            };
            if step <= 0 {
                return Err(Failure(
                    400,
                    "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
                ));
            }
            if (end - start) / step > 11000 {
                return Err(Failure(
                    400,
                    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
                ));
            }
            let q = RangeQuery {
                query: param(p, "query").unwrap_or_default().to_string(),
                start,
                end,
                step,
                interval: None,
                limit,
                direction,
            };
            Ok(normalize(case, fe.query_range(TENANT, &q).await?))
        }
        "query" => {
            let time = parse_time(p.get("time"), NOW)?;
            let (limit, direction) = limit_dir(p)?;
            let q = InstantQuery {
                query: param(p, "query").unwrap_or_default().to_string(),
                time,
                limit,
                direction,
            };
            Ok(normalize(case, fe.query_instant(TENANT, &q).await?))
        }
        "labels" | "label_values" => {
            let end = parse_time(p.get("end"), NOW)?;
            let start = parse_time(p.get("start"), end - 6 * 3_600_000_000_000)?;
            let query = param(p, "query");
            let list = if case["endpoint"] == "labels" {
                fe.label_names(TENANT, start, end, query).await?
            } else {
                let name = case["label"].as_str().unwrap();
                fe.label_values(TENANT, name, start, end, query).await?
            };
            let mut list: Vec<Value> = list.into_iter().map(Value::String).collect();
            list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            Ok(Value::Array(list))
        }
        "series" => {
            let end = parse_time(p.get("end"), NOW)?;
            let start = parse_time(p.get("start"), end - 6 * 3_600_000_000_000)?;
            let sels: Vec<String> = match &p["match[]"] {
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            let sets = fe.series(TENANT, &sels, start, end).await?;
            let mut out: Vec<Value> = sets.iter().map(labels_json).collect();
            out.sort_by_key(label_key);
            Ok(Value::Array(out))
        }
        other => panic!("unknown endpoint {other}"),
    }
}

fn labels_json(l: &LabelSet) -> Value {
    Value::Object(l.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

fn label_key(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| {
            let mut pairs: Vec<(String, String)> = o
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            pairs.sort();
            pairs
        })
        .unwrap_or_default()
}

fn normalize(case: &Value, r: QueryResponse) -> Value {
    let secs = |ns: i64| ns as f64 / 1e9;
    match r.data {
        QueryData::Streams(streams) => {
            let mut res: Vec<Value> = streams
                .iter()
                .map(|s| {
                    json!({"stream": labels_json(&s.labels),
                           "values": s.entries.iter().map(|(t, l)| json!([t.to_string(), l])).collect::<Vec<_>>()})
                })
                .collect();
            res.sort_by_key(|s| label_key(&s["stream"]));
            json!({"resultType": "streams", "result": res})
        }
        QueryData::Matrix(series) => {
            let mut res: Vec<Value> = series
                .iter()
                .map(|s| {
                    json!({"metric": labels_json(&s.labels),
                           "values": s.points.iter().map(|(t, v)| json!([secs(*t), fmt(*v)])).collect::<Vec<_>>()})
                })
                .collect();
            res.sort_by_key(|s| label_key(&s["metric"]));
            json!({"resultType": "matrix", "result": res})
        }
        QueryData::Vector(samples) => {
            let mut res: Vec<Value> = samples
                .iter()
                .map(|s| json!({"metric": labels_json(&s.labels), "value": [secs(s.ts), fmt(s.value)]}))
                .collect();
            if !case["order_sensitive"].as_bool().unwrap_or(false) {
                res.sort_by_key(|s| label_key(&s["metric"]));
            }
            json!({"resultType": "vector", "result": res})
        }
        QueryData::Scalar(t, v) => {
            json!({"resultType": "scalar", "result": [(t / 1_000_000) as f64, fmt(v)]})
        }
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "+Inf" | "Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            s => s.parse().ok(),
        },
        _ => None,
    }
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= (rel * a.abs().max(b.abs())).max(abs)
}

fn cmp_sample(e: &Value, g: &Value, path: &str, diffs: &mut Vec<String>) {
    let (Some(et), Some(gt)) = (as_f64(&e[0]), as_f64(&g[0])) else {
        diffs.push(format!("{path}: bad sample {g}"));
        return;
    };
    if !close(et, gt, 0.0, 1e-6) {
        diffs.push(format!("{path}: timestamp expected {}, got {}", e[0], g[0]));
    }
    let (Some(ev), Some(gv)) = (as_f64(&e[1]), as_f64(&g[1])) else {
        diffs.push(format!("{path}: bad value {g}"));
        return;
    };
    if !close(ev, gv, 1e-6, 1e-9) {
        diffs.push(format!("{path}: value expected {}, got {}", e[1], g[1]));
    }
}

fn compare(case: &Value, got: &Result<Value, Failure>) -> Vec<String> {
    let mut diffs = Vec::new();
    let exp_status = case["expect_status"].as_u64().unwrap() as u16;
    let exp = &case["expected"];
    let got = match got {
        Err(Failure(st, msg)) => {
            if *st != exp_status {
                diffs.push(format!("status: expected {exp_status}, got {st}: {msg}"));
            } else if exp.as_str() != Some(msg.as_str()) {
                diffs.push(format!("error: expected {exp}, got {msg:?}"));
            }
            return diffs;
        }
        Ok(v) => v,
    };
    if exp_status != 200 {
        diffs.push(format!("status: expected {exp_status}, got 200"));
        return diffs;
    }
    if exp.is_array() {
        if exp != got {
            diffs.push(format!("list differs: expected {exp}, got {got}"));
        }
        return diffs;
    }
    let rt = exp["resultType"].as_str().unwrap_or_default();
    if got["resultType"].as_str() != Some(rt) {
        diffs.push(format!(
            "resultType: expected {rt}, got {}",
            got["resultType"]
        ));
        return diffs;
    }
    let (er, gr) = (&exp["result"], &got["result"]);
    match rt {
        "streams" => {
            let (ea, ga) = (er.as_array().unwrap(), gr.as_array().unwrap());
            let ek: Vec<_> = ea.iter().map(|s| label_key(&s["stream"])).collect();
            let gk: Vec<_> = ga.iter().map(|s| label_key(&s["stream"])).collect();
            if ek != gk {
                diffs.push(format!("streams: expected {ek:?}, got {gk:?}"));
                return diffs;
            }
            for (e, g) in ea.iter().zip(ga) {
                let (ev, gv) = (
                    e["values"].as_array().unwrap(),
                    g["values"].as_array().unwrap(),
                );
                if ev != gv {
                    let i = ev
                        .iter()
                        .zip(gv)
                        .position(|(a, b)| a != b)
                        .unwrap_or(ev.len().min(gv.len()));
                    diffs.push(format!(
                        "stream {}: expected {} entries, got {}; first difference at {i}: {:?} vs {:?}",
                        e["stream"], ev.len(), gv.len(), ev.get(i), gv.get(i)
                    ));
                }
            }
        }
        "scalar" => cmp_sample(er, gr, "scalar", &mut diffs),
        _ => {
            let (ea, ga) = (er.as_array().unwrap(), gr.as_array().unwrap());
            let ek: Vec<_> = ea.iter().map(|s| label_key(&s["metric"])).collect();
            let gk: Vec<_> = ga.iter().map(|s| label_key(&s["metric"])).collect();
            if ek != gk {
                diffs.push(format!("series: expected {ek:?}, got {gk:?}"));
                return diffs;
            }
            for (e, g) in ea.iter().zip(ga) {
                let path = format!("{}", e["metric"]);
                if rt == "vector" {
                    cmp_sample(&e["value"], &g["value"], &path, &mut diffs);
                } else {
                    let (ev, gv) = (
                        e["values"].as_array().unwrap(),
                        g["values"].as_array().unwrap(),
                    );
                    if ev.len() != gv.len() {
                        diffs.push(format!(
                            "{path}: expected {} points, got {} (first {:?} vs {:?})",
                            ev.len(),
                            gv.len(),
                            ev.first(),
                            gv.first()
                        ));
                        continue;
                    }
                    for (a, b) in ev.iter().zip(gv) {
                        cmp_sample(a, b, &path, &mut diffs);
                        if diffs.len() > 5 {
                            break;
                        }
                    }
                }
            }
        }
    }
    diffs
}

#[test]
fn conformance_cases() {
    let dir = conformance_dir();
    let cases_dir = dir.join("cases");
    if !cases_dir.exists() {
        eprintln!(
            "conformance corpus not found at {}; skipping",
            dir.display()
        );
        return;
    }
    let src = MemorySource::new();
    load_dataset(&src, &dir.join("dataset.json"));
    let sources: Vec<Arc<dyn LogSource>> = vec![Arc::new(src)];
    let querier = Arc::new(Querier::with_sources(
        sources,
        QueryLimits {
            dialect: logql::Dialect::LOKI_2_9,
            ..QueryLimits::default()
        },
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // the frontend's workers run on the runtime; splitting by 30m is on (Loki's default)
    let _runtime = rt.enter();
    let fe = Frontend::new(
        Some(querier),
        FrontendConfig::default(),
        FrontendMetrics::new().unwrap(),
    );
    let only = std::env::var("CONFORMANCE_ONLY").unwrap_or_default();
    let verbose = std::env::var("CONFORMANCE_VERBOSE").is_ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| p.to_string_lossy().contains(&only))
        .collect();
    files.sort();
    let (mut passed, mut failed) = (0, Vec::new());
    let mut by_area: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for f in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap().to_string();
        let area = case["area"].as_str().unwrap_or_default().to_string();
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(run_case(&fe, &case))
        }));
        if std::env::var("CONFORMANCE_DUMP").is_ok()
            && let Ok(Ok(v)) = &got
        {
            eprintln!("GOT {name}: {v}");
        }
        let diffs = match got {
            Ok(got) => compare(&case, &got),
            Err(p) => vec![format!(
                "panic: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )],
        };
        let e = by_area.entry(area).or_default();
        if diffs.is_empty() {
            passed += 1;
            e.0 += 1;
        } else {
            e.1 += 1;
            if verbose {
                eprintln!("FAIL {name}");
                for d in diffs.iter().take(6) {
                    let d: String = d.chars().take(400).collect();
                    eprintln!("    {d}");
                }
            }
            failed.push(name);
        }
    }
    for (area, (p, f)) in &by_area {
        eprintln!("{area:>20}: {p} passed, {f} failed");
    }
    eprintln!("failing: {}", failed.join(" "));
    eprintln!("{} passed, {} failed", passed, failed.len());
    if let Ok(min) = std::env::var("CONFORMANCE_MIN_PASS") {
        assert!(
            passed >= min.parse::<usize>().unwrap(),
            "fewer than {min} cases passed"
        );
    }
}

//! Replays the public conformance cases whose answer is a set of log streams: every
//! entry Loki returned is found in the pushed dataset by timestamp, run through the
//! pipeline with its stream labels, and must pass and come out with exactly Loki's
//! labels and line. (Entries Loki dropped are not in the answers, so this checks what
//! passes, not what is filtered out.) Skipped when the corpus is not present.

use std::collections::HashMap;
use std::path::Path;

use logql::LabelSet;
use logql::ast::Expr;
use storage::arrow::array::StringViewArray;

use super::Pipeline;

const DIR: &str = "/work/shared/conformance";

/// Timestamp -> (stream labels, line) of every pushed entry.
fn dataset() -> Option<HashMap<String, Vec<(LabelSet, String)>>> {
    let text = std::fs::read_to_string(Path::new(DIR).join("dataset.json")).ok()?;
    let bodies: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut out: HashMap<String, Vec<(LabelSet, String)>> = HashMap::new();
    for body in bodies.as_array()? {
        for s in body["streams"].as_array()? {
            let labels = LabelSet::from_pairs(
                s["stream"]
                    .as_object()?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())),
            );
            for v in s["values"].as_array()? {
                let ts = v[0].as_str()?.to_owned();
                let line = v[1].as_str()?.to_owned();
                out.entry(ts).or_default().push((labels.clone(), line));
            }
        }
    }
    Some(out)
}

#[test]
fn loki_answers_for_log_queries() {
    let Some(data) = dataset() else { return };
    let Ok(dir) = std::fs::read_dir(Path::new(DIR).join("cases")) else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(case) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if case["expect_status"] != 200 || case["expected"]["resultType"] != "streams" {
            continue;
        }
        let Some(query) = case["params"]["query"].as_str() else {
            continue;
        };
        let Ok(Expr::Log(log)) = logql::parse_expr(query) else {
            continue;
        };
        let p = Pipeline::new(&log.pipeline, None).unwrap();
        let Some(streams) = case["expected"]["result"].as_array() else {
            continue;
        };
        for s in streams {
            let Some(obj) = s["stream"].as_object() else {
                continue;
            };
            let expected = LabelSet::from_pairs(
                obj.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())),
            );
            for v in s["values"].as_array().into_iter().flatten() {
                let (Some(ts), Some(want_line)) = (v[0].as_str(), v[1].as_str()) else {
                    continue;
                };
                let ts_ns: i64 = ts.parse().unwrap_or(0);
                checked += 1;
                let candidates = data.get(ts).map(Vec::as_slice).unwrap_or_default();
                let mut got = Vec::new();
                let ok = candidates.iter().any(|(labels, line)| {
                    let passes = p
                        .filter_batch(&StringViewArray::from(vec![line.as_str()]))
                        .is_none_or(|m| m.value(0));
                    if !passes {
                        got.push("dropped by filter_batch".to_owned());
                        return false;
                    }
                    match p.for_stream(labels).process(ts_ns, line, &[]) {
                        None => {
                            got.push("dropped".to_owned());
                            false
                        }
                        Some(e) => {
                            let same = e.labels == expected && e.line == want_line;
                            if !same {
                                got.push(format!("{} {:?}", e.labels, e.line));
                            }
                            same
                        }
                    }
                });
                if !ok {
                    failures.push(format!(
                        "{query} @{ts}\n   want {expected} {want_line:?}\n   got  {got:?}"
                    ));
                }
            }
        }
    }
    let shown: Vec<&String> = failures.iter().take(12).collect();
    assert!(
        failures.is_empty(),
        "{} of {checked} entries differ from Loki:\n{shown:#?}",
        failures.len()
    );
}

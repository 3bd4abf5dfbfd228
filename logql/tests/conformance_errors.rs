//! Every conformance case that expects a 400 whose text comes from parsing or validation
//! must get Loki's exact text from `parse_expr`.

use std::path::PathBuf;

/// Cases whose 400 comes from request validation or evaluation, not from the parser.
const NOT_PARSER: &[&str] = &[
    "invalid_bad_direction_378",       // `direction` parameter
    "invalid_end_before_start_376",    // time range parameters
    "invalid_limit_zero_373",          // `limit` parameter
    "invalid_step_zero_374",           // `step` parameter
    "invalid_json_pipeline_error_381", // evaluation: pipeline error
];

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/cases")
}

#[test]
fn parser_errors_match_loki() {
    let dir = cases_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("conformance corpus not found at {}", dir.display());
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let case: serde_json::Value = serde_json::from_str(&text).unwrap();
        if case["expect_status"] != 400 {
            continue;
        }
        let name = case["name"].as_str().unwrap().to_string();
        if NOT_PARSER.contains(&name.as_str()) {
            continue;
        }
        let query = case["params"]["query"].as_str().unwrap_or("");
        let expected = case["expected"].as_str().unwrap();
        checked += 1;
        match logql::parse_expr_with(query, logql::Dialect::LOKI_2_9) {
            Ok(e) => failures.push(format!("{name}: parsed OK ({e:?}), want {expected:?}")),
            Err(e) if e.to_string() == expected => {}
            Err(e) => failures.push(format!(
                "{name}: got {:?}\n   want {expected:?}",
                e.to_string()
            )),
        }
    }
    assert!(checked >= 15, "only {checked} cases checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_200_query_parses() {
    let dir = cases_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut failures = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        let text = std::fs::read_to_string(&path).unwrap();
        let case: serde_json::Value = serde_json::from_str(&text).unwrap();
        if case["expect_status"] != 200 {
            continue;
        }
        let name = case["name"].as_str().unwrap().to_string();
        let mut queries: Vec<String> = Vec::new();
        if let Some(q) = case["params"]["query"].as_str() {
            queries.push(q.to_string());
        }
        if let Some(ms) = case["params"]["match[]"].as_array() {
            queries.extend(ms.iter().filter_map(|m| m.as_str().map(String::from)));
        }
        for q in queries {
            if let Err(e) = logql::parse_expr_with(&q, logql::Dialect::LOKI_2_9) {
                failures.push(format!("{name}: {q}\n   {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! Real Loki client libraries push to Fenrir and their entries are queryable with the
//! right labels: python-logging-loki (legacy `version="0"` and v1 JSON) and winston-loki
//! (protobuf + snappy, and `json: true` with structured metadata).
//!
//! The client scripts live in tests/clients/. Needs a Python with `logging_loki`
//! (`FENRIR_TEST_PYTHON`, default `.ci-work/venv/bin/python`) and tests/clients/node with
//! its node_modules; `.ci/test.sh` sets both up.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{Config, Fenrir, repo_root};
use serde_json::{Value, json};

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("FENRIR_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".ci-work/venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with python-logging-loki: run `bash .ci/test.sh`, or \
         `python3 -m venv .ci-work/venv && .ci-work/venv/bin/pip install python-logging-loki`, \
         or set FENRIR_TEST_PYTHON"
    );
    venv
}

fn node_dir() -> PathBuf {
    let dir = repo_root().join("tests/clients/node");
    assert!(
        dir.join("node_modules/winston-loki").exists(),
        "winston-loki is not installed: run `bash .ci/test.sh` or `npm ci --prefix tests/clients/node`"
    );
    dir
}

/// Runs a client script and asserts it exits 0.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The streams of run `run` between `start` and `end`, with every timestamp checked to
/// lie in that window, returned as `(labels, lines)` sorted by labels.
async fn streams_of_run(f: &Fenrir, run: &str, start: i64, end: i64) -> Value {
    let q = format!("{{run=\"{run}\"}}");
    let streams = f.streams(None, &q, start, end, 1000, "forward").await;
    let mut out = Vec::new();
    for s in streams.as_array().unwrap() {
        let mut lines = Vec::new();
        for v in s["values"].as_array().unwrap() {
            let ts: i64 = v[0].as_str().unwrap().parse().unwrap();
            assert!(
                ts >= start && ts < end,
                "timestamp {ts} outside the run's window"
            );
            lines.push(v[1].clone());
        }
        out.push(json!({"stream": s["stream"], "lines": lines}));
    }
    Value::Array(out)
}

async fn window<F: FnOnce()>(push: F) -> (i64, i64) {
    let start = common::now_ns() - 5_000_000_000;
    push();
    // the clients may stamp entries with a clock read slightly later than ours
    tokio::time::sleep(Duration::from_millis(10)).await;
    (start, common::now_ns() + 5_000_000_000)
}

#[tokio::test]
async fn python_logging_loki_legacy_v0_and_v1() {
    let python = python();
    let f = Fenrir::start(Config::new()).await;
    let script = repo_root().join("tests/clients/python_logging_loki_push.py");
    for version in ["0", "1"] {
        let run_id = format!("py-v{version}");
        let (start, end) = window(|| {
            run(Command::new(&python)
                .arg(&script)
                .arg(f.base_url())
                .arg(version)
                .arg(&run_id))
        })
        .await;
        let labels = |severity: &str| json!({"app": "pyclient", "logger": "fenrir-test", "run": run_id, "severity": severity});
        let mut error_labels = labels("error");
        error_labels["extra_tag"] = json!("x");
        assert_eq!(
            streams_of_run(&f, &run_id, start, end).await,
            json!([
                {"stream": error_labels, "lines": ["third line"]},
                {"stream": labels("info"), "lines": [format!("hello from python v{version}")]},
                {"stream": labels("warning"), "lines": ["second line with \"quotes\" and unicode \u{2713}"]}
            ]),
            "python-logging-loki version {version}"
        );
    }
}

#[tokio::test]
async fn winston_loki_protobuf_and_json() {
    let dir = node_dir();
    let f = Fenrir::start(Config::new()).await;
    for mode in ["proto", "json"] {
        let run_id = format!("node-{mode}");
        let (start, end) = window(|| {
            run(Command::new("node")
                .current_dir(&dir)
                .arg("winston_push.js")
                .arg(f.base_url())
                .arg(mode)
                .arg(&run_id))
        })
        .await;
        let labels = |level: &str| json!({"app": "nodeclient", "level": level, "run": run_id});
        // winston-loki appends the log's remaining metadata ({"level": ...}) to the line
        assert_eq!(
            streams_of_run(&f, &run_id, start, end).await,
            json!([
                {"stream": labels("error"), "lines": ["third line {\"level\":\"error\"}"]},
                {"stream": labels("info"),
                 "lines": [format!("hello from winston {mode} {{\"level\":\"info\"}}")]},
                {"stream": labels("warn"),
                 "lines": ["second line with \"quotes\" and unicode \u{2713} {\"level\":\"warn\"}"]}
            ]),
            "winston-loki {mode}"
        );
    }
}

//! Runs the conformance corpus' runner (`run.py`) against a server, and reads its dataset.

#![allow(dead_code)] // each test binary uses a part of it

use std::path::PathBuf;
use std::process::Command;

/// The corpus directory: `FENRIR_CONFORMANCE_DIR`, else `../shared/conformance` relative
/// to the repository root.
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var("FENRIR_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| super::common::repo_root().join("../shared/conformance"));
    assert!(
        dir.join("run.py").exists() && dir.join("cases").is_dir(),
        "conformance corpus not found at {} (set FENRIR_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

/// `python3 run.py --url URL --cases DIR/cases [--push DIR/dataset.json] [--only X]`;
/// prints the runner's output and returns it as the error when the exit code is not 0.
pub fn run(dir: &std::path::Path, url: &str, push: bool, only: Option<&str>) -> Result<(), String> {
    let mut cmd = Command::new("python3");
    cmd.arg(dir.join("run.py"))
        .arg("--url")
        .arg(url)
        .arg("--cases")
        .arg(dir.join("cases"));
    if push {
        cmd.arg("--push").arg(dir.join("dataset.json"));
    }
    if let Some(only) = only {
        cmd.arg("--only").arg(only);
    }
    let out = cmd.output().map_err(|e| format!("run {cmd:?}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("$ {cmd:?}\n{text}");
    if out.status.success() {
        Ok(())
    } else {
        let summary = text.lines().last().unwrap_or("");
        let failing: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
        Err(format!(
            "--only {}: {} ({summary}); full output above\n{}",
            only.unwrap_or("(all)"),
            out.status,
            failing.join("\n")
        ))
    }
}

/// The push bodies of the corpus' `dataset.json`, in push order.
pub fn dataset_bodies(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("dataset.json")).expect("read dataset.json");
    serde_json::from_str(&text).expect("dataset.json is a list of push bodies")
}

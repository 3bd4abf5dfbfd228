//! Config files: the shipped example starts a working server; unknown options fail
//! start-up with a message naming the option.

mod common;

use std::time::Duration;

use common::{Fenrir, fenrir_bin, free_port, repo_root, values};
use serde_json::json;
use serde_yaml::Value as Yaml;

/// Sets `path` (a list of mapping keys) in a YAML document, creating mappings as needed.
fn yaml_set(doc: &mut Yaml, path: &[&str], value: Yaml) {
    let mut cur = doc;
    for (i, key) in path.iter().enumerate() {
        if !cur.is_mapping() {
            *cur = Yaml::Mapping(Default::default());
        }
        let map = cur.as_mapping_mut().unwrap();
        let k = Yaml::String((*key).to_string());
        if i + 1 == path.len() {
            map.insert(k, value);
            return;
        }
        if !map.contains_key(&k) {
            map.insert(k.clone(), Yaml::Mapping(Default::default()));
        }
        cur = map.get_mut(&k).unwrap();
    }
}

/// Waits for `/ready` on `port` while `child` runs.
async fn wait_ready(child: &mut std::process::Child, port: u16, log: &std::path::Path) {
    let url = format!("http://127.0.0.1:{port}/ready");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "example config: fenrir exited with {status}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Ok(r) = reqwest::get(&url).await
            && r.status().as_u16() == 200
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "example config: /ready never answered 200\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn example_config_starts_and_serves() {
    let example = repo_root().join("fenrir.example.yaml");
    let text = std::fs::read_to_string(&example)
        .unwrap_or_else(|e| panic!("read {}: {e}", example.display()));
    let mut doc: Yaml = serde_yaml::from_str(&text).expect("example is YAML");
    // only relocate it: ports, listen addresses and data directories
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = dir.path().join("data");
    yaml_set(&mut doc, &["server", "http_listen_port"], Yaml::from(port));
    yaml_set(
        &mut doc,
        &["server", "grpc_listen_port"],
        Yaml::from(free_port()),
    );
    yaml_set(
        &mut doc,
        &["server", "http_listen_address"],
        Yaml::from("127.0.0.1"),
    );
    yaml_set(
        &mut doc,
        &["server", "grpc_listen_address"],
        Yaml::from("127.0.0.1"),
    );
    let data_s = data.display().to_string();
    yaml_set(
        &mut doc,
        &["common", "path_prefix"],
        Yaml::from(data_s.clone()),
    );
    for (key, sub) in [("chunks_directory", "chunks"), ("rules_directory", "rules")] {
        let has = doc
            .get("common")
            .and_then(|c| c.get("storage"))
            .and_then(|s| s.get("filesystem"))
            .and_then(|f| f.get(key))
            .is_some();
        if has {
            yaml_set(
                &mut doc,
                &["common", "storage", "filesystem", key],
                Yaml::from(format!("{data_s}/{sub}")),
            );
        }
    }
    if doc
        .get("ingester")
        .and_then(|i| i.get("wal"))
        .and_then(|w| w.get("dir"))
        .is_some()
    {
        yaml_set(
            &mut doc,
            &["ingester", "wal", "dir"],
            Yaml::from(format!("{data_s}/wal")),
        );
    }
    let cfg = dir.path().join("example.yaml");
    std::fs::write(&cfg, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let log = dir.path().join("out.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = std::process::Command::new(fenrir_bin())
        .arg(format!("-config.file={}", cfg.display()))
        .current_dir(dir.path())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(child);
    wait_ready(&mut child.0, port, &log).await;

    let base = format!("http://127.0.0.1:{port}");
    let ts = common::whole_second_ago(Duration::from_secs(60));
    let tenant = if doc.get("auth_enabled").and_then(Yaml::as_bool) == Some(true) {
        Some("example")
    } else {
        None
    };
    let client = reqwest::Client::new();
    let mut req = client
        .post(format!("{base}/loki/api/v1/push"))
        .json(&json!({"streams": [{"stream": {"job": "example"}, "values": [[ts.to_string(), "hello"]]}]}));
    if let Some(t) = tenant {
        req = req.header("X-Scope-OrgID", t);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().await.unwrap());
    let mut req = client
        .get(format!("{base}/loki/api/v1/query_range"))
        .query(&[
            ("query", r#"{job="example"}"#.to_string()),
            ("start", (ts - 60_000_000_000).to_string()),
            ("end", (ts + 60_000_000_000).to_string()),
        ]);
    if let Some(t) = tenant {
        req = req.header("X-Scope-OrgID", t);
    }
    let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    assert_eq!(
        v["data"]["result"],
        json!([{"stream": {"job": "example"}, "values": values(&[(ts, "hello")])}])
    );
    drop(child);
}

#[test]
fn unknown_top_level_option_fails_naming_it() {
    let (status, out) = common::run_expecting_failure(
        "auth_enabled: false\nnot_a_loki_option: 1\nserver:\n  http_listen_address: 127.0.0.1\n  http_listen_port: 0\n",
    );
    assert!(!status.success(), "exit status {status}");
    assert!(
        out.contains("not_a_loki_option"),
        "message does not name the key:\n{out}"
    );
}

#[test]
fn unknown_nested_option_fails_naming_it() {
    let (status, out) = common::run_expecting_failure(
        "auth_enabled: false\nserver:\n  http_listen_address: 127.0.0.1\n  http_listen_port: 0\nlimits_config:\n  max_line_sise: 100\n",
    );
    assert!(!status.success(), "exit status {status}");
    assert!(
        out.contains("max_line_sise"),
        "message does not name the key:\n{out}"
    );
}

#[test]
fn missing_config_file_fails_naming_it() {
    let out = std::process::Command::new(fenrir_bin())
        .arg("-config.file=/nonexistent/fenrir-test.yaml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("/nonexistent/fenrir-test.yaml"), "{text}");
}

#[tokio::test]
async fn harness_config_serves_ready_and_metrics() {
    let f = Fenrir::start(common::Config::new()).await;
    let r = f.get("/ready", &[], None).await;
    assert_eq!((r.status, r.body.trim_end()), (200, "ready"));
    let m = f.get("/metrics", &[], None).await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert!(
        m.body.contains("# TYPE "),
        "not Prometheus text:\n{}",
        m.body
    );
}

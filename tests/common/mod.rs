//! Shared harness of the integration tests: starts the real `fenrir` binary.
//!
//! Every test gets its own server: a temp directory holding the config file, the data
//! directory (`common.path_prefix`) and the server's log, plus free ports on 127.0.0.1.
//! [`Fenrir`] offers push and query helpers over HTTP, `kill -9`, SIGTERM and a restart on
//! the same data directory and ports. Dropping it kills the process; if the test is
//! panicking, the server's log is printed so that failures are diagnosable.
//!
//! The config is built as JSON (`serde_json::Value`) and written as YAML, so tests set
//! options with [`Config::set`] using Loki's dotted paths (`limits_config.max_line_size`).

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// How long a server may take to answer `/ready` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM (it flushes first).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);
/// Per-request timeout of the HTTP client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Path of the binary under test, built by cargo for integration tests.
pub fn fenrir_bin() -> &'static str {
    env!("CARGO_BIN_EXE_fenrir")
}

/// Root of the repository (the `fenrir` package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_nanos()).expect("time fits i64")
}

/// A whole second `ago` before now, in ns: test data timestamps that every default limit
/// accepts and that print without a fraction.
pub fn whole_second_ago(ago: Duration) -> i64 {
    let ns = now_ns() - i64::try_from(ago.as_nanos()).expect("duration fits i64");
    ns - ns.rem_euclid(1_000_000_000)
}

/// RFC 3339 form of a ns timestamp as Go's `time.RFC3339Nano` prints it in UTC.
pub fn rfc3339_nano(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).expect("nanos fit u32");
    let t = chrono::DateTime::from_timestamp(secs, nanos).expect("timestamp in range");
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; a race with other processes is
/// handled by [`Fenrir::start`] retrying on new ports).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// A server config, edited with Loki's dotted option paths.
///
/// The harness fills in `server.*` (127.0.0.1 and free ports) and `common.path_prefix`
/// (the test's temp directory) when it starts the server.
#[derive(Clone, Debug)]
pub struct Config {
    root: Value,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// `auth_enabled: false` and Loki's defaults for everything else.
    pub fn new() -> Self {
        Self {
            root: json!({ "auth_enabled": false }),
        }
    }

    /// Sets the option at a dotted path (`limits_config.max_line_size`) to `value`.
    pub fn set(mut self, path: &str, value: impl Into<Value>) -> Self {
        set_path(&mut self.root, path, value.into());
        self
    }

    /// Settings under which the conformance dataset (Nov 2026, 7.8 MB) is accepted whole
    /// and kept in memory, as the corpus README prescribes.
    pub fn conformance() -> Self {
        Self::new()
            .set("limits_config.reject_old_samples", false)
            .set("limits_config.max_entries_limit_per_query", 5000)
            .set("limits_config.ingestion_rate_mb", 100)
            .set("limits_config.ingestion_burst_size_mb", 200)
            .set("ingester.chunk_idle_period", "12h")
            .set("ingester.max_chunk_age", "24h")
            // the corpus was recorded from Loki 2.9.9, which rejects Loki 3-only syntax
            .set("querier.logql_dialect", "loki-2.9")
    }

    /// True when the option at a dotted path is set.
    pub fn has(&self, path: &str) -> bool {
        let mut cur = &self.root;
        for part in path.split('.') {
            match cur.get(part) {
                Some(v) => cur = v,
                None => return false,
            }
        }
        true
    }

    /// The YAML text of this config.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.root).expect("config serialises")
    }
}

fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut cur = root;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().expect("object");
        if parts.peek().is_none() {
            obj.insert(part.to_string(), value);
            return;
        }
        cur = obj.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

/// An HTTP answer: status and body text.
#[derive(Debug, Clone)]
pub struct Resp {
    /// HTTP status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
}

impl Resp {
    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// Asserts status 200 and returns the JSON body.
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, body: {}", self.body);
        self.json()
    }

    /// Asserts `status` and the body text (Loki's `http.Error` adds a trailing newline,
    /// which is ignored).
    pub fn assert_error(&self, status: u16, text: &str) {
        assert_eq!(
            (self.status, self.body.trim_end_matches('\n')),
            (status, text),
            "unexpected error answer"
        );
    }
}

/// A running (or stopped) `fenrir` process with its temp directory.
pub struct Fenrir {
    dir: tempfile::TempDir,
    config: Config,
    /// HTTP port on 127.0.0.1.
    pub port: u16,
    /// gRPC port on 127.0.0.1.
    pub grpc_port: u16,
    child: Option<Child>,
    client: reqwest::Client,
    log_path: PathBuf,
}

impl Fenrir {
    /// Starts a server with `config` and waits until `/ready` answers 200.
    pub async fn start(config: Config) -> Fenrir {
        let dir = tempfile::Builder::new()
            .prefix("fenrir-test-")
            .tempdir()
            .expect("temp dir");
        let log_path = dir.path().join("fenrir.log");
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("http client");
        let mut f = Fenrir {
            dir,
            config,
            port: 0,
            grpc_port: 0,
            child: None,
            client,
            log_path,
        };
        // A port picked by `free_port` can be taken by someone else before the server
        // binds it: retry on fresh ports when the process dies during start-up.
        let mut last = String::new();
        for _ in 0..3 {
            f.port = free_port();
            f.grpc_port = free_port();
            match f.spawn_and_wait().await {
                Ok(()) => return f,
                Err(e) => last = e,
            }
        }
        panic!(
            "fenrir did not start: {last}\n--- server log ---\n{}",
            f.log()
        );
    }

    /// Temp directory of this server (config, data, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `common.path_prefix`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Where the WAL lives (`<path_prefix>/wal`).
    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir().join("wal")
    }

    /// Where filesystem segments live (`<path_prefix>/chunks`).
    pub fn chunks_dir(&self) -> PathBuf {
        self.data_dir().join("chunks")
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The whole server log so far (stdout and stderr of every start).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn write_config(&self) -> PathBuf {
        let mut cfg = self
            .config
            .clone()
            .set("server.http_listen_address", "127.0.0.1")
            .set("server.http_listen_port", self.port)
            .set("server.grpc_listen_address", "127.0.0.1")
            .set("server.grpc_listen_port", self.grpc_port);
        // processes of one cluster share a path prefix set by the test
        if !cfg.has("common.path_prefix") {
            cfg = cfg.set("common.path_prefix", self.data_dir().display().to_string());
        }
        let path = self.dir.path().join("fenrir.yaml");
        fs::write(&path, cfg.to_yaml()).expect("write config");
        path
    }

    async fn spawn_and_wait(&mut self) -> Result<(), String> {
        let config_path = self.write_config();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open log");
        writeln!(
            log,
            "--- harness: starting {} -config.file={} (http {}) ---",
            fenrir_bin(),
            config_path.display(),
            self.port
        )
        .expect("write log");
        let child = Command::new(fenrir_bin())
            .arg(format!("-config.file={}", config_path.display()))
            .current_dir(self.dir.path())
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", fenrir_bin()))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/ready", self.base_url());
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!("process exited during start-up with {status}"));
            }
            if let Ok(r) = self.client.get(&url).send().await
                && r.status().as_u16() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill9();
                return Err(format!("/ready not 200 after {READY_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: the process gets no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit (the server flushes before exiting).
    pub async fn sigterm(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
        // SAFETY: plain kill(2) on our own child, which has not been reaped yet
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(
            rc,
            0,
            "kill(SIGTERM) failed: {}",
            std::io::Error::last_os_error()
        );
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no exit {SHUTDOWN_TIMEOUT:?} after SIGTERM\n--- server log ---\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process again on the same config, ports and data directory.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server before restarting");
        if let Err(e) = self.spawn_and_wait().await {
            panic!("restart failed: {e}\n--- server log ---\n{}", self.log());
        }
    }

    /// Sends a request and returns status and body; panics on transport errors.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}\n--- server log ---\n{}", self.log()));
        let status = r.status().as_u16();
        let body = r.text().await.expect("read body");
        Resp { status, body }
    }

    fn with_tenant(req: reqwest::RequestBuilder, tenant: Option<&str>) -> reqwest::RequestBuilder {
        match tenant {
            Some(t) => req.header("X-Scope-OrgID", t),
            None => req,
        }
    }

    /// A POST of raw bytes to `path` with the given content type and optional encoding.
    pub fn post_raw(
        &self,
        path: &str,
        tenant: Option<&str>,
        content_type: &str,
        content_encoding: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .client
            .post(format!("{}{}", self.base_url(), path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(enc) = content_encoding {
            req = req.header("Content-Encoding", enc);
        }
        Self::with_tenant(req, tenant)
    }

    /// POSTs a JSON push body to `/loki/api/v1/push`.
    pub async fn push_json(&self, tenant: Option<&str>, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        self.send(self.post_raw("/loki/api/v1/push", tenant, "application/json", None, bytes))
            .await
    }

    /// POSTs a JSON push body and asserts Loki's 204.
    pub async fn push_ok(&self, tenant: Option<&str>, body: &Value) {
        let r = self.push_json(tenant, body).await;
        assert_eq!(r.status, 204, "push failed: {}", r.body);
    }

    /// GET `path` with query parameters (repeated names allowed, e.g. `match[]`).
    pub async fn get(&self, path: &str, params: &[(&str, String)], tenant: Option<&str>) -> Resp {
        let req = self
            .client
            .get(format!("{}{}", self.base_url(), path))
            .query(params);
        self.send(Self::with_tenant(req, tenant)).await
    }

    /// POST `/flush` and assert 204.
    pub async fn flush(&self) {
        let r = self
            .send(self.client.post(format!("{}/flush", self.base_url())))
            .await;
        assert_eq!(r.status, 204, "POST /flush: {}", r.body);
    }

    /// `/loki/api/v1/query_range` of a log query over `[start, end)`.
    pub async fn query_range(
        &self,
        tenant: Option<&str>,
        query: &str,
        start: i64,
        end: i64,
        limit: usize,
        direction: &str,
    ) -> Resp {
        self.get(
            "/loki/api/v1/query_range",
            &[
                ("query", query.to_string()),
                ("start", start.to_string()),
                ("end", end.to_string()),
                ("limit", limit.to_string()),
                ("direction", direction.to_string()),
            ],
            tenant,
        )
        .await
    }

    /// The streams of a log query, asserted to be a successful `streams` answer, sorted by
    /// label set (Loki does not order streams).
    pub async fn streams(
        &self,
        tenant: Option<&str>,
        query: &str,
        start: i64,
        end: i64,
        limit: usize,
        direction: &str,
    ) -> Value {
        let r = self
            .query_range(tenant, query, start, end, limit, direction)
            .await;
        streams_of(&r)
    }
}

impl Drop for Fenrir {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!(
                "--- fenrir log ({}) ---\n{}",
                self.log_path.display(),
                tail(&self.log_path, 20_000)
            );
        }
    }
}

/// The last `max` bytes of a file, as text.
fn tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Checks a log query answer: status 200, `status: success`, `resultType: streams`, no
/// `data` keys besides `resultType`, `result`, `stats`; returns `result` sorted by labels.
pub fn streams_of(r: &Resp) -> Value {
    let v = r.ok_json();
    assert_eq!(v["status"], "success", "{v}");
    let data = v["data"].as_object().expect("data object");
    for k in data.keys() {
        assert!(
            ["resultType", "result", "stats"].contains(&k.as_str()),
            "unexpected data key {k}"
        );
    }
    assert_eq!(data["resultType"], "streams", "{v}");
    let mut result = data["result"].as_array().expect("result array").clone();
    result.sort_by_key(|s| label_key(&s["stream"]));
    Value::Array(result)
}

/// Checks a vector answer and returns `result` sorted by metric labels.
pub fn vector_of(r: &Resp) -> Value {
    let v = r.ok_json();
    assert_eq!(v["status"], "success", "{v}");
    assert_eq!(v["data"]["resultType"], "vector", "{v}");
    let mut result = v["data"]["result"]
        .as_array()
        .expect("result array")
        .clone();
    result.sort_by_key(|s| label_key(&s["metric"]));
    Value::Array(result)
}

/// Checks a `{"status":"success","data":[...]}` answer (labels, label values, series) and
/// returns `data` exactly as sent.
pub fn data_of(r: &Resp) -> Value {
    let v = r.ok_json();
    let obj = v.as_object().expect("object");
    assert_eq!(obj.len(), 2, "only status and data expected: {v}");
    assert_eq!(v["status"], "success", "{v}");
    v["data"].clone()
}

/// A sortable key of a JSON label map: its `{k="v", ...}` form with sorted keys.
pub fn label_key(labels: &Value) -> String {
    let Some(obj) = labels.as_object() else {
        return String::new();
    };
    let mut pairs: Vec<_> = obj.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// The `[ts, line]` pairs of a stream, as JSON (`["<ns>", "line"]`).
pub fn values(entries: &[(i64, &str)]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|(ts, line)| json!([ts.to_string(), line]))
            .collect(),
    )
}

/// Gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// Runs the binary with `config_yaml` expecting it to fail at start-up; returns the exit
/// status and everything it printed. Panics if it is still running after 30 s.
pub fn run_expecting_failure(config_yaml: &str) -> (ExitStatus, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("bad.yaml");
    fs::write(&cfg, config_yaml).expect("write config");
    let log_path = dir.path().join("out.log");
    let log = File::create(&log_path).expect("log");
    let mut child = Command::new(fenrir_bin())
        .arg(format!("-config.file={}", cfg.display()))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("spawn fenrir");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = fs::read_to_string(&log_path).unwrap_or_default();
            return (status, out);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "fenrir kept running with an invalid config:\n{config_yaml}\n--- output ---\n{}",
                fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lists files (recursively) under `dir`; empty when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

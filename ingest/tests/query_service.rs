//! The ingester's query service over a real tonic server: a `RemoteIngester` must answer
//! exactly as the local `Ingester` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::IngestError;
use ingest::ingester::Ingester;
use ingest::query_service::{IngesterQueryServer, RemoteError, RemoteIngester};
use ingest::{IngesterConfig, PushStream};
use logql::{LabelMatcher, LabelSet, MatchOp};
use storage::{Entry, Storage, StorageConfig};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// A real ingester on temp dirs, served on a free local port.
struct Fixture {
    ingester: Arc<Ingester>,
    addr: String,
    server: tokio::task::JoinHandle<()>,
    _dirs: (TempDir, TempDir),
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn open_ingester() -> (Arc<Ingester>, (TempDir, TempDir)) {
    let wal = TempDir::new().unwrap();
    let store = TempDir::new().unwrap();
    let storage = Arc::new(
        Storage::open(&StorageConfig::Filesystem {
            root: store.path().to_path_buf(),
        })
        .await
        .unwrap(),
    );
    let ingester = Ingester::open(
        IngesterConfig::with_wal_dir(wal.path().to_path_buf()),
        storage,
    )
    .await
    .unwrap();
    (ingester, (wal, store))
}

/// Serves `ingester` on `listener` until the task is aborted.
fn serve(ingester: Arc<Ingester>, listener: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(IngesterQueryServer::new(ingester))
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    })
}

async fn start() -> Fixture {
    let (ingester, dirs) = open_ingester().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = serve(ingester.clone(), listener);
    Fixture {
        ingester,
        addr,
        server,
        _dirs: dirs,
    }
}

fn ls(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

fn stream(labels: &[(&str, &str)], entries: &[(i64, &str)]) -> PushStream {
    PushStream {
        labels: ls(labels),
        entries: entries
            .iter()
            .map(|(ts, line)| Entry {
                ts: *ts,
                line: line.to_string(),
                metadata: vec![],
            })
            .collect(),
    }
}

fn m(name: &str, op: MatchOp, value: &str) -> LabelMatcher {
    LabelMatcher::new(name, op, value).unwrap()
}

/// Timestamps near now so the ingester accepts them.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Pushes four streams to tenant `a` and one to tenant `b`; returns the base timestamp.
async fn push_fixture(ing: &Ingester) -> i64 {
    let t = now_ns() - 60_000_000_000;
    ing.push(
        "a",
        vec![
            stream(
                &[("app", "api"), ("env", "prod")],
                &[(t, "GET /a"), (t + 2, "GET /b"), (t + 1, "GET /c")],
            ),
            stream(&[("app", "api"), ("env", "dev")], &[(t + 3, "dev line")]),
            stream(&[("app", "web"), ("env", "prod")], &[(t + 4, "web line")]),
            stream(&[("app", "db")], &[(t + 5, "db line \u{e9}")]),
        ],
    )
    .await
    .unwrap();
    let mut with_meta = stream(&[("app", "api"), ("env", "prod")], &[]);
    with_meta.entries.push(Entry {
        ts: t + 6,
        line: "with metadata".into(),
        metadata: vec![("trace_id".into(), "abc".into())],
    });
    ing.push("a", vec![with_meta]).await.unwrap();
    ing.push(
        "b",
        vec![stream(
            &[("app", "api"), ("env", "prod")],
            &[(t, "tenant b")],
        )],
    )
    .await
    .unwrap();
    t
}

fn label_sets(infos: &[storage::StreamInfo]) -> Vec<String> {
    infos.iter().map(|s| s.labels.to_string()).collect()
}

#[tokio::test]
async fn series_matches_local_for_all_matcher_kinds() {
    let f = start().await;
    let t = push_fixture(&f.ingester).await;
    let remote = RemoteIngester::connect_lazy(&f.addr).unwrap();
    let cases: Vec<(Vec<LabelMatcher>, Vec<&str>)> = vec![
        (
            vec![m("app", MatchOp::Eq, "api")],
            vec![r#"{app="api", env="dev"}"#, r#"{app="api", env="prod"}"#],
        ),
        (
            vec![m("app", MatchOp::Neq, "api")],
            vec![r#"{app="db"}"#, r#"{app="web", env="prod"}"#],
        ),
        (
            vec![m("app", MatchOp::Re, "a.*|d\\w")],
            vec![
                r#"{app="api", env="dev"}"#,
                r#"{app="api", env="prod"}"#,
                r#"{app="db"}"#,
            ],
        ),
        (
            vec![m("app", MatchOp::Re, ".+"), m("env", MatchOp::Nre, "pro.")],
            vec![r#"{app="api", env="dev"}"#, r#"{app="db"}"#],
        ),
        (
            vec![m("app", MatchOp::Re, "ap")], // anchored: no match
            vec![],
        ),
        (vec![m("env", MatchOp::Eq, "")], vec![r#"{app="db"}"#]),
    ];
    for (matchers, want) in cases {
        let local = f.ingester.series("a", &matchers, t, t + 100);
        let got = remote.series("a", &matchers, t, t + 100).await.unwrap();
        assert_eq!(got, local, "{matchers:?}");
        let mut names = label_sets(&got);
        names.sort();
        assert_eq!(names, want, "{matchers:?}");
        for s in &got {
            assert_eq!(s.fingerprint, s.labels.fingerprint());
        }
    }
    // the time range is honoured: only the streams with entries in [t+4, t+6)
    let all = [m("app", MatchOp::Re, ".+")];
    let got = remote.series("a", &all, t + 4, t + 6).await.unwrap();
    assert_eq!(got, f.ingester.series("a", &all, t + 4, t + 6));
    let mut names = label_sets(&got);
    names.sort();
    assert_eq!(names, vec![r#"{app="db"}"#, r#"{app="web", env="prod"}"#]);
}

#[tokio::test]
async fn read_returns_the_local_batches() {
    let f = start().await;
    let t = push_fixture(&f.ingester).await;
    let remote = RemoteIngester::connect_lazy(&f.addr).unwrap();
    let all = [m("app", MatchOp::Re, ".*")];
    let fps: Vec<u64> = f
        .ingester
        .series("a", &all, i64::MIN, i64::MAX)
        .iter()
        .map(|s| s.fingerprint)
        .collect();
    assert_eq!(fps.len(), 4);
    for (start, end) in [(t, t + 100), (t + 1, t + 3), (t + 50, t + 60)] {
        let local = f.ingester.read("a", &fps, start, end).unwrap();
        let got = remote.read("a", &fps, start, end).await.unwrap();
        assert_eq!(got, local, "[{start}, {end})");
    }
    // exact content of one stream, metadata included, sorted by time
    let api_prod = ls(&[("app", "api"), ("env", "prod")]).fingerprint();
    let got = remote.read("a", &[api_prod], t, t + 100).await.unwrap();
    assert_eq!(got.len(), 1);
    let b = &got[0];
    assert_eq!(b.schema(), storage::log_schema());
    use storage::arrow::array::{Array, AsArray};
    use storage::arrow::datatypes::{Int64Type, UInt64Type};
    let ts: Vec<i64> = b.column(1).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(ts, vec![t, t + 1, t + 2, t + 6]);
    let lines: Vec<&str> = b.column(2).as_string_view().iter().flatten().collect();
    assert_eq!(lines, vec!["GET /a", "GET /c", "GET /b", "with metadata"]);
    let fp = b.column(0).as_primitive::<UInt64Type>();
    assert!(fp.values().iter().all(|v| *v == api_prod));
    let meta = b.column(3).as_string::<i32>();
    assert!(meta.is_null(0));
    assert_eq!(
        meta.value(3),
        f.ingester.read("a", &[api_prod], t + 6, t + 7).unwrap()[0]
            .column(3)
            .as_string::<i32>()
            .value(0)
    );
    // nothing in range and unknown streams give no batches
    assert!(
        remote
            .read("a", &fps, t + 50, t + 60)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        remote
            .read("a", &[42], t, t + 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn large_reads_cross_the_wire_intact() {
    let f = start().await;
    let t = now_ns() - 60_000_000_000;
    let line = "x".repeat(200);
    let entries: Vec<(i64, String)> = (0..100_000)
        .map(|i| (t + i, format!("{i} {line}")))
        .collect();
    for chunk in entries.chunks(10_000) {
        let refs: Vec<(i64, &str)> = chunk.iter().map(|(ts, l)| (*ts, l.as_str())).collect();
        f.ingester
            .push("big", vec![stream(&[("app", "big")], &refs)])
            .await
            .unwrap();
    }
    let remote = RemoteIngester::connect_lazy(&f.addr).unwrap();
    let fp = ls(&[("app", "big")]).fingerprint();
    let local = f.ingester.read("big", &[fp], t, t + 200_000).unwrap();
    let got = remote.read("big", &[fp], t, t + 200_000).await.unwrap();
    let rows: usize = got.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 100_000);
    assert_eq!(got, local);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let f = start().await;
    let t = push_fixture(&f.ingester).await;
    let remote = RemoteIngester::connect_lazy(&f.addr).unwrap();
    let api = [m("app", MatchOp::Eq, "api"), m("env", MatchOp::Eq, "prod")];
    let fp = ls(&[("app", "api"), ("env", "prod")]).fingerprint();

    let b = remote.series("b", &api, t, t + 100).await.unwrap();
    assert_eq!(label_sets(&b), vec![r#"{app="api", env="prod"}"#]);
    let rows = remote.read("b", &[fp], t, t + 100).await.unwrap();
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert_eq!(rows, f.ingester.read("b", &[fp], t, t + 100).unwrap());

    // tenant b cannot see tenant a's other streams, even by fingerprint
    let db = ls(&[("app", "db")]).fingerprint();
    assert!(
        remote
            .series("b", &[m("app", MatchOp::Eq, "db")], t, t + 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        remote
            .read("b", &[db], t, t + 100)
            .await
            .unwrap()
            .is_empty()
    );
    // an unknown tenant sees nothing
    assert!(
        remote
            .series("c", &api, t, t + 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        remote
            .read("c", &[fp], t, t + 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unreachable_address_fails_fast() {
    // a port that was just free: connection refused
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let remote = RemoteIngester::connect_lazy(&addr).unwrap();
    let t0 = Instant::now();
    let err = remote.series("a", &[], 0, 10).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let r = RemoteError::find(&err).unwrap_or_else(|| panic!("not a remote error: {err}"));
    assert_eq!(r.code, tonic::Code::Unavailable);
    let prefix = format!("rpc error: code = Unavailable desc = ingester {addr}: ");
    assert!(r.message.starts_with(&prefix), "{}", r.message);
    assert!(r.is_retryable());
    assert!(matches!(err, IngestError::Wal(_)));
    assert!(remote.read("a", &[1], 0, 10).await.is_err());
}

#[tokio::test]
async fn unroutable_address_does_not_hang() {
    // TEST-NET-1 (RFC 5737) is never routed: the SYN goes unanswered (or the network
    // says unreachable at once); either way the call must end within the timeout
    let remote = RemoteIngester::connect_lazy("192.0.2.1:9095").unwrap();
    let t0 = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(10), remote.series("a", &[], 0, 10)).await;
    let err = res
        .expect("call hung past the connect timeout")
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(RemoteError::find(&err).is_some(), "{err}");
}

#[tokio::test]
async fn silent_server_fails_with_deadline_exceeded() {
    // accepts TCP connections but never speaks HTTP/2
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            held.push(sock);
        }
    });
    let remote = RemoteIngester::connect_lazy(&addr)
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    let t0 = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(10), remote.read("a", &[1], 0, 10)).await;
    let err = res.expect("call hung past its deadline").unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    let r = RemoteError::find(&err).unwrap();
    assert_eq!(r.code, tonic::Code::DeadlineExceeded);
    assert_eq!(
        r.message,
        format!(
            "rpc error: code = DeadlineExceeded desc = ingester {addr}: context deadline exceeded"
        )
    );
    silent.abort();
}

#[tokio::test]
async fn querier_can_start_before_the_ingester() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let remote = RemoteIngester::connect_lazy(&addr.to_string()).unwrap();
    assert!(remote.series("a", &[], 0, 10).await.is_err());

    let (ingester, _dirs) = open_ingester().await;
    let t = push_fixture(&ingester).await;
    let listener = TcpListener::bind(addr).await.unwrap();
    let server = serve(ingester.clone(), listener);
    let all = [m("app", MatchOp::Re, ".+")];
    let got = remote.series("a", &all, t, t + 100).await.unwrap();
    assert_eq!(got, ingester.series("a", &all, t, t + 100));
    assert_eq!(got.len(), 4);
    server.abort();
}

#[tokio::test]
async fn bad_regex_is_rejected_by_the_server_with_logql_text() {
    let f = start().await;
    let remote = RemoteIngester::connect_lazy(&f.addr).unwrap();
    // a valid local matcher whose regex the server must recompile identically
    let ok = remote
        .series("a", &[m("app", MatchOp::Re, "\\d+")], 0, 10)
        .await;
    assert!(ok.unwrap().is_empty());
    // the regex is recompiled by the server: an invalid one is a bad request there
    // (LabelMatcher cannot hold an invalid regex, so build the request by hand)
    let mut bad = ingest::query_service::proto::SeriesRequest {
        tenant: "a".into(),
        matchers: vec![ingest::query_service::proto::Matcher {
            name: "app".into(),
            op: ingest::query_service::proto::MatchType::Re as i32,
            value: "(".into(),
        }],
        start: 0,
        end: 10,
    };
    let err = raw_series(&f.addr, bad.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let local = LabelMatcher::new("app", MatchOp::Re, "(").unwrap_err();
    assert_eq!(err.message(), local.to_string());
    bad.matchers[0].op = 9;
    let err = raw_series(&f.addr, bad).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(err.message(), "unknown matcher type 9 for label \"app\"");
}

/// A raw `Series` call, to send requests a `LabelMatcher` cannot express.
async fn raw_series(
    addr: &str,
    req: ingest::query_service::proto::SeriesRequest,
) -> Result<ingest::query_service::proto::SeriesResponse, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::default();
    grpc.unary(
        tonic::Request::new(req),
        tonic::codegen::http::uri::PathAndQuery::from_static("/fenrir.ingester.Querier/Series"),
        codec,
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn unknown_method_is_unimplemented() {
    let f = start().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", f.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<
        ingest::query_service::proto::ReadRequest,
        ingest::query_service::proto::ReadResponse,
    >::default();
    let err = grpc
        .unary(
            tonic::Request::new(Default::default()),
            tonic::codegen::http::uri::PathAndQuery::from_static("/fenrir.ingester.Querier/Nope"),
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
}

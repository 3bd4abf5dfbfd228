//! The frontend <-> querier gRPC transport over a real tonic server on 127.0.0.1: remote
//! answers equal local ones, a lost querier's job is answered with a retryable 500, an
//! abandoned job is cancelled on the querier, and workers reconnect after a restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use frontend::execute::execute;
use frontend::grpc::{FrontendGrpc, StopSessions, run_querier_worker};
use frontend::{Job, RequestQueue, SubError, SubRequest, SubResponse, SubResult};
use futures::future::BoxFuture;
use logql::{LabelMatcher, LabelSet};
use prometheus::IntCounter;
use querier::source::{LogSource, MemorySource, SourceKind};
use querier::{Direction, InstantQuery, Querier, QueryLimits, RangeQuery};
use storage::arrow::record_batch::RecordBatch;
use storage::{Entry, StreamInfo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

const TENANT: &str = "team-a";
const SEC: i64 = 1_000_000_000;
/// 2024-01-01T00:00:00Z
const T0: i64 = 1_704_067_200 * SEC;
const WAIT: Duration = Duration::from_secs(10);

/// A source that holds every `read` for `delay` before answering, and counts reads that
/// started and reads dropped before they finished.
struct SlowSource {
    inner: MemorySource,
    delay: Duration,
    started: AtomicUsize,
    abandoned: Arc<AtomicUsize>,
}

/// Counts a read as abandoned unless it finished.
struct ReadGuard {
    finished: bool,
    abandoned: Arc<AtomicUsize>,
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl LogSource for SlowSource {
    fn kind(&self) -> SourceKind {
        self.inner.kind()
    }

    fn series<'a>(
        &'a self,
        tenant: &'a str,
        matchers: &'a [LabelMatcher],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, querier::Result<Vec<StreamInfo>>> {
        self.inner.series(tenant, matchers, start, end)
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, querier::Result<Vec<RecordBatch>>> {
        Box::pin(async move {
            self.started.fetch_add(1, Ordering::SeqCst);
            let mut guard = ReadGuard {
                finished: false,
                abandoned: self.abandoned.clone(),
            };
            tokio::time::sleep(self.delay).await;
            let batches = self.inner.read(tenant, fingerprints, start, end).await;
            guard.finished = true;
            batches
        })
    }
}

fn dataset() -> MemorySource {
    let src = MemorySource::new();
    let streams = [
        (
            &[("app", "api"), ("level", "info")][..],
            &["GET /a 200", "GET /b 200", "POST /c 201"][..],
        ),
        (
            &[("app", "api"), ("level", "error")],
            &["GET /a 500", "boom"],
        ),
        (
            &[("app", "db"), ("level", "info")],
            &["checkpoint", "GET ignored"],
        ),
    ];
    for (labels, lines) in streams {
        let labels = LabelSet::from_pairs(labels.iter().copied());
        let entries: Vec<Entry> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| Entry {
                ts: T0 + (i as i64 * 40 + 7) * SEC,
                line: line.to_string(),
                metadata: Vec::new(),
            })
            .collect();
        src.push(TENANT, &labels, &entries).unwrap();
    }
    src
}

fn fast_querier() -> Arc<Querier> {
    Arc::new(Querier::with_sources(
        vec![Arc::new(dataset())],
        QueryLimits::default(),
    ))
}

fn slow_querier(delay: Duration) -> (Arc<Querier>, Arc<SlowSource>) {
    let source = Arc::new(SlowSource {
        inner: dataset(),
        delay,
        started: AtomicUsize::new(0),
        abandoned: Arc::new(AtomicUsize::new(0)),
    });
    let querier = Querier::with_sources(vec![source.clone()], QueryLimits::default());
    (Arc::new(querier), source)
}

fn metric_request() -> SubRequest {
    SubRequest::Range {
        query: RangeQuery {
            query: r#"sum by (level) (count_over_time({app="api"}[1m]))"#.to_string(),
            start: T0,
            end: T0 + 120 * SEC,
            step: 30 * SEC,
            interval: None,
            limit: 100,
            direction: Direction::Backward,
        },
        shard: None,
        through_end: false,
    }
}

fn log_request() -> SubRequest {
    SubRequest::Range {
        query: RangeQuery {
            query: r#"{level=~"info|error"} |= "GET""#.to_string(),
            start: T0,
            end: T0 + 300 * SEC,
            step: 0,
            interval: None,
            limit: 3,
            direction: Direction::Forward,
        },
        shard: None,
        through_end: false,
    }
}

fn label_names() -> SubRequest {
    SubRequest::LabelNames {
        start: T0,
        end: T0 + 300 * SEC,
        query: None,
    }
}

/// Wall time differs between two runs of the same query.
fn without_exec_time(mut r: SubResult) -> SubResult {
    if let Ok(SubResponse::Query(q)) = &mut r {
        q.stats.exec_time_secs = 0.0;
    }
    r
}

/// A running frontend gRPC server.
struct TestServer {
    addr: SocketAddr,
    stopper: StopSessions,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl TestServer {
    async fn start(queue: Arc<RequestQueue>, cancels: IntCounter, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let grpc = FrontendGrpc::new(queue, Some(cancels));
        let stopper = grpc.stopper();
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(
            Server::builder()
                .add_service(grpc.into_service())
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = signal.await;
                }),
        );
        Self {
            addr,
            stopper,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// Ends the process streams and shuts the server down gracefully.
    async fn stop(mut self) {
        self.stopper.stop();
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("server shuts down once its streams end")
            .unwrap()
            .unwrap();
    }
}

fn counter() -> IntCounter {
    IntCounter::new("fenrir_frontend_subqueries_cancelled_total", "test").unwrap()
}

fn spawn_worker(addr: SocketAddr, querier: Arc<Querier>, streams: usize) -> JoinHandle<()> {
    tokio::spawn(run_querier_worker(
        addr.to_string(),
        "querier-1".to_string(),
        streams,
        querier,
        std::future::pending(),
    ))
}

/// Queues `req` and waits for its answer.
async fn ask(queue: &RequestQueue, req: SubRequest) -> SubResult {
    let (job, rx) = Job::new(TENANT, req);
    queue.enqueue(job).unwrap();
    tokio::time::timeout(WAIT, rx)
        .await
        .expect("answered in time")
        .expect("answered, not dropped")
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_worker_answers_exactly_as_local_execute() {
    let queue = Arc::new(RequestQueue::new(100, 0));
    let server = TestServer::start(queue.clone(), counter(), any_port()).await;
    let querier = fast_querier();
    let worker = spawn_worker(server.addr, querier.clone(), 2);

    let requests = [
        metric_request(),
        log_request(),
        label_names(),
        SubRequest::Instant {
            query: InstantQuery {
                query: r#"sum(count_over_time({app=~".+"}[5m]))"#.to_string(),
                time: T0 + 300 * SEC,
                limit: 100,
                direction: Direction::Backward,
            },
            shard: None,
        },
        SubRequest::Series {
            selectors: vec![r#"{level="info"}"#.to_string()],
            start: T0,
            end: T0 + 300 * SEC,
        },
        // errors travel with their status and text
        SubRequest::Range {
            query: RangeQuery {
                query: "sum(".to_string(),
                ..match metric_request() {
                    SubRequest::Range { query, .. } => query,
                    _ => unreachable!(),
                }
            },
            shard: None,
            through_end: true,
        },
    ];
    for req in requests {
        let local = without_exec_time(execute(&querier, TENANT, &req).await);
        let remote = without_exec_time(ask(&queue, req.clone()).await);
        assert_eq!(remote, local, "{req:?}");
    }
    // the two queries of the brief really produced data
    let Ok(SubResponse::Query(metric)) = ask(&queue, metric_request()).await else {
        panic!("metric query failed");
    };
    assert!(matches!(&metric.data, querier::QueryData::Matrix(s) if s.len() == 2));
    let Ok(SubResponse::Query(logs)) = ask(&queue, log_request()).await else {
        panic!("log query failed");
    };
    let querier::QueryData::Streams(streams) = &logs.data else {
        panic!("not streams: {logs:?}");
    };
    let lines: Vec<&str> = streams
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.1.as_str()))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");

    worker.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_killed_mid_job_answers_the_job_with_a_retryable_500() {
    let queue = Arc::new(RequestQueue::new(100, 0));
    let server = TestServer::start(queue.clone(), counter(), any_port()).await;
    let (querier, source) = slow_querier(Duration::from_secs(3600));
    let worker = spawn_worker(server.addr, querier, 1);

    let (job, rx) = Job::new(TENANT, metric_request());
    queue.enqueue(job).unwrap();
    wait_until("the querier to start reading", || {
        source.started.load(Ordering::SeqCst) > 0
    })
    .await;
    worker.abort();

    let answer = tokio::time::timeout(WAIT, rx).await.unwrap().unwrap();
    let expected = SubError {
        status: 500,
        message: "querier querier-1 disconnected".to_string(),
    };
    assert_eq!(answer, Err(expected.clone()));
    assert!(expected.is_retryable());
    // the killed querier's work was dropped with it
    wait_until("the read to be dropped", || {
        source.abandoned.load(Ordering::SeqCst) == 1
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_job_is_cancelled_on_the_querier() {
    let queue = Arc::new(RequestQueue::new(100, 0));
    let cancels = counter();
    let server = TestServer::start(queue.clone(), cancels.clone(), any_port()).await;
    let (querier, source) = slow_querier(Duration::from_secs(3600));
    let worker = spawn_worker(server.addr, querier, 1);

    let (job, rx) = Job::new(TENANT, metric_request());
    queue.enqueue(job).unwrap();
    wait_until("the querier to start reading", || {
        source.started.load(Ordering::SeqCst) > 0
    })
    .await;
    assert_eq!(cancels.get(), 0);
    drop(rx);

    wait_until("the cancel to be sent", || cancels.get() == 1).await;
    wait_until("the querier to drop the read", || {
        source.abandoned.load(Ordering::SeqCst) == 1
    })
    .await;
    // the same stream serves the next job (label names read no entries)
    let names = ask(&queue, label_names()).await;
    assert_eq!(
        names,
        Ok(SubResponse::Strings(vec![
            "app".to_string(),
            "level".to_string()
        ]))
    );
    assert_eq!(cancels.get(), 1);

    worker.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_reconnects_after_the_frontend_restarts() {
    let queue = Arc::new(RequestQueue::new(100, 0));
    let server = TestServer::start(queue.clone(), counter(), any_port()).await;
    let addr = server.addr;
    let querier = fast_querier();
    let worker = spawn_worker(addr, querier.clone(), 1);
    let expected = execute(&querier, TENANT, &label_names()).await;
    assert_eq!(ask(&queue, label_names()).await, expected);

    server.stop().await;
    // the frontend is down for a while: the worker keeps retrying
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queue = Arc::new(RequestQueue::new(100, 0));
    let server = TestServer::start(queue.clone(), counter(), addr).await;
    let remote = without_exec_time(ask(&queue, metric_request()).await);
    let local = without_exec_time(execute(&querier, TENANT, &metric_request()).await);
    assert_eq!(remote, local);

    worker.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_returns_on_shutdown() {
    let queue = Arc::new(RequestQueue::new(100, 0));
    let server = TestServer::start(queue.clone(), counter(), any_port()).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(run_querier_worker(
        server.addr.to_string(),
        "querier-1".to_string(),
        2,
        fast_querier(),
        async {
            let _ = stopped.await;
        },
    ));
    assert!(ask(&queue, label_names()).await.is_ok());
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, worker).await.unwrap().unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_not_opened_with_hello_is_refused_and_gets_no_work() {
    use frontend::grpc::PROCESS_PATH;
    use frontend::wire::{
        FrontendToQuerier, QuerierToFrontend, QueryAnswer, WireResult, querier_to_frontend,
    };

    let queue = Arc::new(RequestQueue::new(100, 0));
    let server = TestServer::start(queue.clone(), counter(), any_port()).await;
    let (job, _rx) = Job::new(TENANT, label_names());
    queue.enqueue(job).unwrap();

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let not_hello = QuerierToFrontend {
        kind: Some(querier_to_frontend::Kind::Response(QueryAnswer {
            id: 1,
            result: Some(WireResult::from_result(Ok(SubResponse::Strings(vec![])))),
        })),
    };
    let response = client
        .streaming(
            tonic::Request::new(tokio_stream::iter(vec![not_hello])),
            tonic::codegen::http::uri::PathAndQuery::from_static(PROCESS_PATH),
            tonic_prost::ProstCodec::<QuerierToFrontend, FrontendToQuerier>::default(),
        )
        .await
        .unwrap();
    let status = response.into_inner().message().await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "the first message of a process stream must be a hello with a querier id"
    );
    // the job is still waiting for a real querier
    assert_eq!(queue.len(TENANT), 1);
    server.stop().await;
}

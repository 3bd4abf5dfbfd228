//! gRPC transport between the frontend and remote querier workers, shaped like Loki's
//! frontend v1 `Frontend.Process` stream: queriers pull work.
//!
//! A `-target=querier` process opens `max_concurrent` bidirectional `Process` streams to
//! the frontend ([`run_querier_worker`]). Each stream starts with `Hello{querier_id}`;
//! from then on the frontend ([`FrontendGrpc`]) takes one job at a time from the
//! [`RequestQueue`] as that querier, sends it down as `Request{id}`, and waits for the
//! `Response{id}` coming up. When the query waiting for the job goes away, the frontend
//! sends `Cancel{id}` and the querier drops the running work without answering. When the
//! stream breaks while a job is out, the job is answered with a 500 so the frontend
//! retries it on another querier.
//!
//! Service `fenrir.frontend.Frontend`, method `Process`; messages in [`crate::wire`].
//! The server and client below are what `tonic-build` would generate, written by hand
//! because there is no `protoc` at build time.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus::IntCounter;
use querier::Querier;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use crate::execute::execute;
use crate::queue::{Job, RequestQueue};
use crate::request::SubError;
use crate::wire::{
    Cancel, DecodeError, FrontendToQuerier, Hello, QuerierToFrontend, QueryAnswer, QueryRequest,
    WireRequest, WireResult, frontend_to_querier, querier_to_frontend,
};

/// The gRPC service name.
pub const SERVICE_NAME: &str = "fenrir.frontend.Frontend";

/// The HTTP/2 path of the `Process` method.
pub const PROCESS_PATH: &str = "/fenrir.frontend.Frontend/Process";

/// Largest message either side sends or accepts: a log query answer can be large.
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// First wait before reconnecting to an unreachable frontend.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Messages buffered per direction of one stream (one request is in flight at a time).
const STREAM_BUFFER: usize = 4;

/// The frontend's side of `Process`: hands queued jobs to the remote queriers that
/// connect. Mount it with [`FrontendGrpc::into_service`].
#[derive(Clone)]
pub struct FrontendGrpc {
    queue: Arc<RequestQueue>,
    cancels_sent: Option<IntCounter>,
    stop: Arc<watch::Sender<bool>>,
}

impl FrontendGrpc {
    /// Serves `queue` to remote queriers; `cancels_sent` (if any) counts the `Cancel`
    /// messages sent for jobs whose query went away while a querier ran them.
    pub fn new(queue: Arc<RequestQueue>, cancels_sent: Option<IntCounter>) -> Self {
        Self {
            queue,
            cancels_sent,
            stop: Arc::new(watch::Sender::new(false)),
        }
    }

    /// A handle that ends every `Process` stream of this service, for shutdown: a tonic
    /// server's graceful shutdown waits for open streams, and these never end by
    /// themselves.
    pub fn stopper(&self) -> StopSessions {
        StopSessions(self.stop.clone())
    }

    /// The tower service to mount on a tonic server:
    /// `Server::builder().add_service(grpc.into_service())`, or
    /// `tonic::service::Routes::new(grpc.into_service())` next to other services.
    pub fn into_service(self) -> FrontendServer {
        FrontendServer {
            inner: Arc::new(self),
        }
    }
}

/// Ends the `Process` streams of a [`FrontendGrpc`]: idle streams end at once, a stream
/// with a job out ends once that job is answered or cancelled. Queriers then reconnect.
#[derive(Clone)]
pub struct StopSessions(Arc<watch::Sender<bool>>);

impl StopSessions {
    /// Ends the streams, current and future.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// [`FrontendGrpc`] as a tonic service (`fenrir.frontend.Frontend`).
#[derive(Clone)]
pub struct FrontendServer {
    inner: Arc<FrontendGrpc>,
}

impl NamedService for FrontendServer {
    const NAME: &'static str = SERVICE_NAME;
}

impl Service<http::Request<Body>> for FrontendServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if req.uri().path() != PROCESS_PATH {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let method = ProcessMethod(self.inner.clone());
        Box::pin(async move {
            let codec = ProstCodec::<FrontendToQuerier, QuerierToFrontend>::default();
            let mut grpc = Grpc::new(codec)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE);
            Ok(grpc.streaming(method, req).await)
        })
    }
}

/// The messages going down one `Process` stream.
type DownStream = ReceiverStream<Result<FrontendToQuerier, Status>>;

/// One call of `Process`.
struct ProcessMethod(Arc<FrontendGrpc>);

impl StreamingService<QuerierToFrontend> for ProcessMethod {
    type Response = FrontendToQuerier;
    type ResponseStream = DownStream;
    type Future = BoxFuture<Response<DownStream>, Status>;

    fn call(&mut self, request: Request<Streaming<QuerierToFrontend>>) -> Self::Future {
        let grpc = self.0.clone();
        Box::pin(async move {
            let (down, rx) = mpsc::channel(STREAM_BUFFER);
            tokio::spawn(serve_querier(grpc, request.into_inner(), down));
            Ok(Response::new(ReceiverStream::new(rx)))
        })
    }
}

/// Sender of the messages going down one stream.
type Down = mpsc::Sender<Result<FrontendToQuerier, Status>>;

/// Runs one `Process` stream: hello, then jobs one at a time until the stream ends.
async fn serve_querier(grpc: Arc<FrontendGrpc>, mut up: Streaming<QuerierToFrontend>, down: Down) {
    let querier_id = match up.message().await {
        Ok(Some(QuerierToFrontend {
            kind: Some(querier_to_frontend::Kind::Hello(Hello { querier_id })),
        })) if !querier_id.is_empty() => querier_id,
        Ok(Some(_)) => {
            let refusal = Status::invalid_argument(
                "the first message of a process stream must be a hello with a querier id",
            );
            let _ = down.send(Err(refusal)).await;
            return;
        }
        Ok(None) | Err(_) => return,
    };
    let _registered = Registered::new(&grpc.queue, &querier_id);
    tracing::debug!(querier = %querier_id, "querier connected");
    let mut stop = grpc.stop.subscribe();
    let mut next_id = 0u64;
    loop {
        // the queue last: a stream that is ending must not take a job
        let job = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => break,
            _ = down.closed() => break,
            msg = up.message() => match msg {
                // a late answer to a cancelled request
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            },
            job = grpc.queue.next(&querier_id) => job,
        };
        next_id += 1;
        let session = Session {
            grpc: &grpc,
            querier_id: &querier_id,
            up: &mut up,
            down: &down,
        };
        if session.run(next_id, job).await == StreamState::Broken {
            break;
        }
    }
    tracing::debug!(querier = %querier_id, "querier disconnected");
}

/// Whether a stream can take the next job.
#[derive(Debug, PartialEq, Eq)]
enum StreamState {
    Open,
    Broken,
}

/// One stream of one querier, while it holds a job.
struct Session<'a> {
    grpc: &'a FrontendGrpc,
    querier_id: &'a str,
    up: &'a mut Streaming<QuerierToFrontend>,
    down: &'a Down,
}

impl Session<'_> {
    /// Sends `job` as request `id` and waits for its answer, its cancellation or the
    /// stream breaking; the job is answered in every case except cancellation.
    async fn run(self, id: u64, mut job: Job) -> StreamState {
        let request = FrontendToQuerier {
            kind: Some(frontend_to_querier::Kind::Request(QueryRequest {
                id,
                tenant: job.tenant.clone(),
                request: Some(WireRequest::from_request(&job.request)),
            })),
        };
        if self.down.send(Ok(request)).await.is_err() {
            job.answer(Err(self.disconnected()));
            return StreamState::Broken;
        }
        loop {
            tokio::select! {
                biased;
                msg = self.up.message() => match msg {
                    Ok(Some(QuerierToFrontend {
                        kind: Some(querier_to_frontend::Kind::Response(answer)),
                    })) if answer.id == id => {
                        job.answer(self.decode(answer));
                        return StreamState::Open;
                    }
                    // a late answer to an earlier, cancelled request
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => {
                        job.answer(Err(self.disconnected()));
                        return StreamState::Broken;
                    }
                },
                _ = job.cancelled() => {
                    let cancel = FrontendToQuerier {
                        kind: Some(frontend_to_querier::Kind::Cancel(Cancel { id })),
                    };
                    if self.down.send(Ok(cancel)).await.is_err() {
                        return StreamState::Broken;
                    }
                    if let Some(counter) = &self.grpc.cancels_sent {
                        counter.inc();
                    }
                    tracing::debug!(querier = self.querier_id, id, "sub-query cancelled");
                    return StreamState::Open;
                }
            }
        }
    }

    /// The answer a querier sent, or a retryable error when it cannot be read.
    fn decode(&self, answer: QueryAnswer) -> crate::request::SubResult {
        answer
            .result
            .ok_or(DecodeError::Missing("result"))
            .and_then(WireResult::into_result)
            .unwrap_or_else(|e| {
                Err(SubError {
                    status: 500,
                    message: format!("querier {}: {e}", self.querier_id),
                })
            })
    }

    /// The answer of a job whose querier went away: retryable elsewhere.
    fn disconnected(&self) -> SubError {
        SubError {
            status: 500,
            message: format!("querier {} disconnected", self.querier_id),
        }
    }
}

/// Keeps a querier registered with the queue while its stream is open.
struct Registered<'a> {
    queue: &'a RequestQueue,
    querier_id: &'a str,
}

impl<'a> Registered<'a> {
    fn new(queue: &'a RequestQueue, querier_id: &'a str) -> Self {
        queue.register_querier(querier_id);
        Self { queue, querier_id }
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.queue.unregister_querier(self.querier_id);
    }
}

/// The querier's side of `Process`: opens `max_concurrent` streams to the frontend at
/// `frontend_address` (`host:port`, or a full `http://` URI) as `querier_id`, answers
/// each request with [`execute`] on `querier`, drops work the frontend cancels, and
/// reconnects with backoff (100ms doubling to 2s) whenever the frontend is unreachable
/// or a stream ends. Returns when `shutdown` completes; work still running is dropped
/// and the frontend retries it elsewhere. An address that is not a valid URI is logged
/// and the worker returns at once.
pub async fn run_querier_worker(
    frontend_address: String,
    querier_id: String,
    max_concurrent: usize,
    querier: Arc<Querier>,
    shutdown: impl Future<Output = ()>,
) {
    let uri = if frontend_address.contains("://") {
        frontend_address
    } else {
        format!("http://{frontend_address}")
    };
    let endpoint = match Endpoint::from_shared(uri.clone()) {
        Ok(e) => e
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true),
        Err(e) => {
            tracing::error!(address = %uri, error = %e, "invalid frontend address");
            return;
        }
    };
    let channel = endpoint.connect_lazy();
    let streams = futures::future::join_all(
        (0..max_concurrent.max(1))
            .map(|_| keep_streaming(channel.clone(), &querier_id, &querier, &uri)),
    );
    tokio::select! {
        _ = streams => {}
        _ = shutdown => {}
    }
}

/// Keeps one `Process` stream open, reconnecting with backoff; never returns.
async fn keep_streaming(channel: Channel, querier_id: &str, querier: &Arc<Querier>, uri: &str) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match process(channel.clone(), querier_id, querier, &mut backoff).await {
            Ok(()) => tracing::debug!(frontend = uri, "frontend ended the process stream"),
            Err(e) => {
                tracing::warn!(frontend = uri, error = %e, "process stream to the frontend failed")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One `Process` stream, from hello until the frontend ends it or it breaks; resets
/// `backoff` once the frontend has accepted the stream.
async fn process(
    channel: Channel,
    querier_id: &str,
    querier: &Arc<Querier>,
    backoff: &mut Duration,
) -> Result<(), Status> {
    let (up, up_rx) = mpsc::channel(STREAM_BUFFER);
    let hello = QuerierToFrontend {
        kind: Some(querier_to_frontend::Kind::Hello(Hello {
            querier_id: querier_id.to_string(),
        })),
    };
    up.try_send(hello)
        .map_err(|e| Status::internal(format!("cannot queue hello: {e}")))?;
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("frontend not reachable: {e}")))?;
    let codec = ProstCodec::<QuerierToFrontend, FrontendToQuerier>::default();
    let response = grpc
        .streaming(
            Request::new(ReceiverStream::new(up_rx)),
            http::uri::PathAndQuery::from_static(PROCESS_PATH),
            codec,
        )
        .await?;
    *backoff = MIN_BACKOFF;
    let mut down = response.into_inner();
    // the request being worked on; replacing or dropping it aborts the work
    let mut running: Option<Running> = None;
    while let Some(msg) = down.message().await? {
        match msg.kind {
            Some(frontend_to_querier::Kind::Request(request)) => {
                let id = request.id;
                let task = tokio::spawn(answer_request(querier.clone(), request, up.clone()));
                running = Some(Running { id, task });
            }
            Some(frontend_to_querier::Kind::Cancel(Cancel { id }))
                if running.as_ref().is_some_and(|r| r.id == id) =>
            {
                running = None;
            }
            // a cancel for work already answered, or a message kind from a newer frontend
            Some(frontend_to_querier::Kind::Cancel(_)) | None => {}
        }
    }
    Ok(())
}

/// A request being answered on its own task; dropping it aborts the work.
struct Running {
    id: u64,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs one request and sends its answer up.
async fn answer_request(
    querier: Arc<Querier>,
    request: QueryRequest,
    up: mpsc::Sender<QuerierToFrontend>,
) {
    let decoded = request
        .request
        .ok_or(DecodeError::Missing("request"))
        .and_then(WireRequest::into_request);
    let result = match decoded {
        Ok(req) => execute(&querier, &request.tenant, &req).await,
        // most likely a newer frontend: another querier may understand it
        Err(e) => Err(SubError {
            status: 500,
            message: e.to_string(),
        }),
    };
    let message = QuerierToFrontend {
        kind: Some(querier_to_frontend::Kind::Response(QueryAnswer {
            id: request.id,
            result: Some(WireResult::from_result(result)),
        })),
    };
    // a closed stream means the frontend went away; it retries the job elsewhere
    let _ = up.send(message).await;
}

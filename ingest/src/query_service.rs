//! Reading an ingester's memory over gRPC: the service a write process serves and the
//! client a querier process uses, as Loki's queriers query its ingesters.
//!
//! The service is `fenrir.ingester.Querier` with two unary methods that mirror
//! [`Ingester::series`] and [`Ingester::read`]:
//!
//! ```text
//! service Querier {
//!   rpc Series(SeriesRequest) returns (SeriesResponse);
//!   rpc Read(ReadRequest) returns (ReadResponse);
//! }
//! message SeriesRequest { string tenant = 1; repeated Matcher matchers = 2; int64 start = 3; int64 end = 4; }
//! message Matcher { string name = 1; MatchType op = 2; string value = 3; }
//! enum MatchType { EQ = 0; NEQ = 1; RE = 2; NRE = 3; }
//! message SeriesResponse { repeated Stream streams = 1; }
//! message Stream { uint64 fingerprint = 1; repeated LabelPair labels = 2; }
//! message LabelPair { string name = 1; string value = 2; }
//! message ReadRequest { string tenant = 1; repeated uint64 fingerprints = 2; int64 start = 3; int64 end = 4; }
//! message ReadResponse { bytes arrow_ipc = 1; }
//! ```
//!
//! Matchers travel as text (name, op, value); the server recompiles regexes with
//! [`LabelMatcher::new`], so both sides agree on Loki's regex semantics. Entries travel as
//! one Arrow IPC stream of [`storage::log_schema`] batches (empty bytes: no batches), so the
//! querier gets exactly the batches the local [`Ingester::read`] would return.
//!
//! Errors: the server maps each [`IngestError`] to a gRPC status and names its variant in
//! the `fenrir-ingest-error` metadata key; the client rebuilds `BadRequest`, `RateLimited`
//! and `Wal` with the same text. `IngestError` has no variant for a failed call, so a
//! server's storage error (its text is not rebuildable as a `StorageError`) and failures
//! of the call itself (transport, deadlines, message size; Go gRPC's wording
//! `rpc error: code = Unavailable desc = ...`) become [`IngestError::Wal`] carrying a
//! [`RemoteError`] with the full text; [`RemoteError::find`] extracts it.
//!
//! The messages and the service are written by hand in the shape `tonic-build` generates
//! (there is no `protoc` in the build).

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use logql::{LabelMatcher, LabelSet, MatchOp};
use storage::arrow::buffer::Buffer;
use storage::arrow::error::ArrowError;
use storage::arrow::ipc::reader::StreamDecoder;
use storage::arrow::ipc::writer::StreamWriter;
use storage::arrow::record_batch::RecordBatch;
use storage::{StorageError, StreamInfo};
use tonic::body::Body as TonicBody;
use tonic::codegen::http;
use tonic::codegen::{BoxFuture, StdError};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::ingester::Ingester;
use crate::{IngestError, Result};

/// The gRPC service name.
pub const SERVICE_NAME: &str = "fenrir.ingester.Querier";

/// Largest message either side encodes or decodes (a `Read` answer is one message).
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// How long the client waits for a TCP connection before failing the call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a call may take by default before it fails with `DeadlineExceeded` (Loki's
/// default query timeout); see [`RemoteIngester::with_timeout`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Metadata key naming the [`IngestError`] variant of a server-side error.
const ERROR_KIND_KEY: &str = "fenrir-ingest-error";

const SERIES_PATH: &str = "/fenrir.ingester.Querier/Series";
const READ_PATH: &str = "/fenrir.ingester.Querier/Read";

/// Protobuf messages of the service.
pub mod proto {
    /// How a matcher compares (`=`, `!=`, `=~`, `!~`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum MatchType {
        /// `=`
        Eq = 0,
        /// `!=`
        Neq = 1,
        /// `=~`
        Re = 2,
        /// `!~`
        Nre = 3,
    }

    /// One `name op "value"` term, as written.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Matcher {
        /// Label name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Comparison.
        #[prost(enumeration = "MatchType", tag = "2")]
        pub op: i32,
        /// Value or regex source.
        #[prost(string, tag = "3")]
        pub value: String,
    }

    /// Which streams of a tenant match, with data in `[start, end)`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SeriesRequest {
        /// Tenant id.
        #[prost(string, tag = "1")]
        pub tenant: String,
        /// All must match.
        #[prost(message, repeated, tag = "2")]
        pub matchers: Vec<Matcher>,
        /// Inclusive start, ns.
        #[prost(int64, tag = "3")]
        pub start: i64,
        /// Exclusive end, ns.
        #[prost(int64, tag = "4")]
        pub end: i64,
    }

    /// One label of a stream.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LabelPair {
        /// Label name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Label value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// One matching stream.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Stream {
        /// `labels.fingerprint()`.
        #[prost(uint64, tag = "1")]
        pub fingerprint: u64,
        /// Sorted labels.
        #[prost(message, repeated, tag = "2")]
        pub labels: Vec<LabelPair>,
    }

    /// The answer to [`SeriesRequest`], sorted by fingerprint.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SeriesResponse {
        /// Matching streams.
        #[prost(message, repeated, tag = "1")]
        pub streams: Vec<Stream>,
    }

    /// Entries of the given streams with `start <= ts < end`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ReadRequest {
        /// Tenant id.
        #[prost(string, tag = "1")]
        pub tenant: String,
        /// Stream fingerprints.
        #[prost(uint64, repeated, tag = "2")]
        pub fingerprints: Vec<u64>,
        /// Inclusive start, ns.
        #[prost(int64, tag = "3")]
        pub start: i64,
        /// Exclusive end, ns.
        #[prost(int64, tag = "4")]
        pub end: i64,
    }

    /// The answer to [`ReadRequest`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ReadResponse {
        /// An Arrow IPC stream of `storage::log_schema` batches; empty when there are none.
        #[prost(bytes = "bytes", tag = "1")]
        pub arrow_ipc: bytes::Bytes,
    }
}

// ---------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------

fn op_to_proto(op: MatchOp) -> proto::MatchType {
    match op {
        MatchOp::Eq => proto::MatchType::Eq,
        MatchOp::Neq => proto::MatchType::Neq,
        MatchOp::Re => proto::MatchType::Re,
        MatchOp::Nre => proto::MatchType::Nre,
    }
}

fn matcher_to_proto(m: &LabelMatcher) -> proto::Matcher {
    proto::Matcher {
        name: m.name.clone(),
        op: op_to_proto(m.op) as i32,
        value: m.value.clone(),
    }
}

/// Rebuilds a matcher, recompiling its regex; a bad op or regex is a bad request.
fn matcher_from_proto(m: proto::Matcher) -> Result<LabelMatcher> {
    let op = match proto::MatchType::try_from(m.op) {
        Ok(proto::MatchType::Eq) => MatchOp::Eq,
        Ok(proto::MatchType::Neq) => MatchOp::Neq,
        Ok(proto::MatchType::Re) => MatchOp::Re,
        Ok(proto::MatchType::Nre) => MatchOp::Nre,
        Err(_) => {
            return Err(IngestError::BadRequest(format!(
                "unknown matcher type {} for label {:?}",
                m.op, m.name
            )));
        }
    };
    LabelMatcher::new(m.name, op, m.value).map_err(|e| IngestError::BadRequest(e.to_string()))
}

fn stream_to_proto(s: &StreamInfo) -> proto::Stream {
    proto::Stream {
        fingerprint: s.fingerprint,
        labels: s
            .labels
            .iter()
            .map(|(name, value)| proto::LabelPair {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect(),
    }
}

fn stream_from_proto(s: proto::Stream) -> StreamInfo {
    StreamInfo {
        fingerprint: s.fingerprint,
        labels: LabelSet::from_pairs(s.labels.into_iter().map(|p| (p.name, p.value))),
    }
}

/// Encodes batches as one Arrow IPC stream; no batches give empty bytes.
fn encode_batches(batches: &[RecordBatch]) -> std::result::Result<Bytes, ArrowError> {
    let Some(first) = batches.first() else {
        return Ok(Bytes::new());
    };
    let size: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
    let mut writer = StreamWriter::try_new(Vec::with_capacity(size + 1024), &first.schema())?;
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    Ok(Bytes::from(writer.into_inner()?))
}

/// Decodes an Arrow IPC stream without copying aligned buffers.
fn decode_batches(bytes: Bytes) -> std::result::Result<Vec<RecordBatch>, ArrowError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut buf = Buffer::from(bytes);
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    while !buf.is_empty() {
        match decoder.decode(&mut buf)? {
            Some(batch) => out.push(batch),
            None if buf.is_empty() => break,
            None => {}
        }
    }
    decoder.finish()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Maps a server-side error to the status sent to the client.
fn error_to_status(e: &IngestError) -> Status {
    let (code, kind) = match e {
        IngestError::BadRequest(_) => (Code::InvalidArgument, "bad_request"),
        IngestError::RateLimited(_) => (Code::ResourceExhausted, "rate_limited"),
        IngestError::Wal(_) => (Code::Internal, "wal"),
        IngestError::Storage(s) if s.is_retryable() => (Code::Unavailable, "storage"),
        IngestError::Storage(_) => (Code::Internal, "storage"),
    };
    let mut status = Status::new(code, e.to_string());
    status
        .metadata_mut()
        .insert(ERROR_KIND_KEY, MetadataValue::from_static(kind));
    status
}

/// A failure of a remote call that is not one of the ingester's own errors: the
/// connection failed, the deadline passed, a message was too large, or the server's error
/// had no exact local counterpart. Carried inside [`IngestError::Wal`]'s `io::Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// The gRPC status code.
    pub code: Code,
    /// The full text, Go gRPC style where the failure is the transport's.
    pub message: String,
}

impl RemoteError {
    /// The [`RemoteError`] inside `e`, if `e` came from a failed remote call.
    pub fn find(e: &IngestError) -> Option<&RemoteError> {
        match e {
            IngestError::Wal(io) => io.get_ref().and_then(|r| r.downcast_ref::<RemoteError>()),
            _ => None,
        }
    }

    /// True when the same call may succeed if retried (connection loss, overload).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code,
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::Cancelled
        )
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {}

/// Go's name of a gRPC code (`codes.Code.String()`), used in `rpc error:` texts.
fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Rebuilds the error a status carries (see the module docs).
fn status_to_error(status: &Status, addr: &str) -> IngestError {
    let kind = status
        .metadata()
        .get(ERROR_KIND_KEY)
        .and_then(|v| v.to_str().ok());
    let message = status.message();
    match kind {
        Some("bad_request") => return IngestError::BadRequest(message.to_string()),
        Some("rate_limited") => return IngestError::RateLimited(message.to_string()),
        Some("wal") => {
            // `IngestError::Wal` prints "wal: {io}": strip it so the text round-trips
            let inner = message.strip_prefix("wal: ").unwrap_or(message);
            return IngestError::Wal(std::io::Error::other(inner.to_string()));
        }
        Some(_) => return remote_io(status.code(), message.to_string()),
        None => {}
    }
    // a failure of the call itself: name the ingester and the transport's reason
    let mut desc = message.to_string();
    let mut source = std::error::Error::source(status);
    while let Some(s) = source {
        let text = s.to_string();
        if !desc.contains(&text) {
            desc.push_str(": ");
            desc.push_str(&text);
        }
        source = s.source();
    }
    remote_io(
        status.code(),
        format!(
            "rpc error: code = {} desc = ingester {addr}: {desc}",
            go_code_name(status.code())
        ),
    )
}

fn remote_io(code: Code, message: String) -> IngestError {
    let kind = match code {
        Code::Unavailable => std::io::ErrorKind::ConnectionRefused,
        Code::DeadlineExceeded => std::io::ErrorKind::TimedOut,
        _ => std::io::ErrorKind::Other,
    };
    IngestError::Wal(std::io::Error::new(kind, RemoteError { code, message }))
}

/// A failed blocking task (panic or runtime shutdown) as a server-side error.
fn task_error(e: tokio::task::JoinError) -> IngestError {
    IngestError::Storage(StorageError::Task(e.to_string()))
}

// ---------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------

/// Serves an ingester's in-memory streams to remote queriers (`fenrir.ingester.Querier`).
/// Mount it with `tonic::transport::Server::builder().add_service(server)`.
#[derive(Clone)]
pub struct IngesterQueryServer {
    ingester: Arc<Ingester>,
}

impl IngesterQueryServer {
    /// A service answering from `ingester`.
    pub fn new(ingester: Arc<Ingester>) -> Self {
        Self { ingester }
    }

    /// `Series`: matching streams, computed off the async runtime.
    async fn series(&self, req: proto::SeriesRequest) -> Result<proto::SeriesResponse> {
        let ingester = Arc::clone(&self.ingester);
        tokio::task::spawn_blocking(move || {
            let matchers = req
                .matchers
                .into_iter()
                .map(matcher_from_proto)
                .collect::<Result<Vec<_>>>()?;
            let streams = ingester.series(&req.tenant, &matchers, req.start, req.end);
            Ok(proto::SeriesResponse {
                streams: streams.iter().map(stream_to_proto).collect(),
            })
        })
        .await
        .map_err(task_error)?
    }

    /// `Read`: the entries as Arrow IPC, read and encoded off the async runtime.
    async fn read(&self, req: proto::ReadRequest) -> Result<proto::ReadResponse> {
        let ingester = Arc::clone(&self.ingester);
        tokio::task::spawn_blocking(move || {
            let batches = ingester.read(&req.tenant, &req.fingerprints, req.start, req.end)?;
            let arrow_ipc = encode_batches(&batches).map_err(StorageError::from)?;
            Ok(proto::ReadResponse { arrow_ipc })
        })
        .await
        .map_err(task_error)?
    }
}

impl tonic::server::NamedService for IngesterQueryServer {
    const NAME: &'static str = SERVICE_NAME;
}

/// One unary method of [`IngesterQueryServer`], as tonic's server drives it.
struct Method<F> {
    server: IngesterQueryServer,
    handler: F,
}

impl<Req, Resp, F, Fut> tonic::server::UnaryService<Req> for Method<F>
where
    F: Fn(IngesterQueryServer, Req) -> Fut,
    Fut: Future<Output = Result<Resp>> + Send + 'static,
{
    type Response = Resp;
    type Future = BoxFuture<tonic::Response<Resp>, Status>;

    fn call(&mut self, request: tonic::Request<Req>) -> Self::Future {
        let fut = (self.handler)(self.server.clone(), request.into_inner());
        Box::pin(async move {
            fut.await
                .map(tonic::Response::new)
                .map_err(|e| error_to_status(&e))
        })
    }
}

/// Handles one unary call with the prost codec and the size limits.
async fn unary<Req, Resp, F, Fut, B>(
    server: IngesterQueryServer,
    handler: F,
    req: http::Request<B>,
) -> http::Response<TonicBody>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: Fn(IngesterQueryServer, Req) -> Fut,
    Fut: Future<Output = Result<Resp>> + Send + 'static,
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    let codec = tonic_prost::ProstCodec::<Resp, Req>::default();
    let mut grpc = tonic::server::Grpc::new(codec)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    grpc.unary(Method { server, handler }, req).await
}

impl<B> tonic::codegen::Service<http::Request<B>> for IngesterQueryServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<TonicBody>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::result::Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let server = self.clone();
        match req.uri().path() {
            SERIES_PATH => Box::pin(async move {
                Ok(unary(server, |s, r| async move { s.series(r).await }, req).await)
            }),
            READ_PATH => Box::pin(async move {
                Ok(unary(server, |s, r| async move { s.read(r).await }, req).await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------

/// A querier's handle on a remote ingester's memory: the client of
/// [`IngesterQueryServer`]. Cheap to clone; calls share one HTTP/2 connection.
#[derive(Clone, Debug)]
pub struct RemoteIngester {
    grpc: tonic::client::Grpc<Channel>,
    addr: String,
    timeout: Duration,
}

impl RemoteIngester {
    /// A client for the ingester at `addr` (`host:port` or `http://host:port`) that
    /// connects on first use and reconnects after failures, so a querier can start before
    /// its ingester. Connecting gives up after [`CONNECT_TIMEOUT`].
    pub fn connect_lazy(addr: &str) -> Result<Self> {
        let uri = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let endpoint = Endpoint::from_shared(uri).map_err(|e| {
            IngestError::BadRequest(format!("invalid ingester address {addr:?}: {e}"))
        })?;
        let channel = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(20))
            .keep_alive_timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Self::from_channel(channel, addr))
    }

    /// A client over an existing channel (custom TLS, timeouts or load balancing);
    /// `addr` names the ingester in error messages.
    pub fn from_channel(channel: Channel, addr: &str) -> Self {
        let grpc = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        Self {
            grpc,
            addr: addr.to_string(),
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// The same client with another per-call deadline (default [`REQUEST_TIMEOUT`]); it
    /// also bounds a connection that was accepted but never answers.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The address this client talks to, as given.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The remote [`Ingester::series`]: streams of `tenant` matching all `matchers` with
    /// entries in `[start, end)`, sorted by fingerprint.
    pub async fn series(
        &self,
        tenant: &str,
        matchers: &[LabelMatcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<StreamInfo>> {
        let req = proto::SeriesRequest {
            tenant: tenant.to_string(),
            matchers: matchers.iter().map(matcher_to_proto).collect(),
            start,
            end,
        };
        let resp: proto::SeriesResponse = self.call(req, SERIES_PATH, "Series").await?;
        Ok(resp.streams.into_iter().map(stream_from_proto).collect())
    }

    /// The remote [`Ingester::read`]: entries of `fingerprints` with `start <= ts < end`
    /// in `storage::log_schema`, sorted by (fingerprint, ts).
    pub async fn read(
        &self,
        tenant: &str,
        fingerprints: &[u64],
        start: i64,
        end: i64,
    ) -> Result<Vec<RecordBatch>> {
        let req = proto::ReadRequest {
            tenant: tenant.to_string(),
            fingerprints: fingerprints.to_vec(),
            start,
            end,
        };
        let resp: proto::ReadResponse = self.call(req, READ_PATH, "Read").await?;
        if resp.arrow_ipc.is_empty() {
            return Ok(Vec::new());
        }
        tokio::task::spawn_blocking(move || decode_batches(resp.arrow_ipc))
            .await
            .map_err(task_error)?
            .map_err(|e| IngestError::Storage(StorageError::from(e)))
    }

    /// One unary call on a clone of the shared channel.
    async fn call<Req, Resp>(
        &self,
        req: Req,
        path: &'static str,
        method: &'static str,
    ) -> Result<Resp>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = self.grpc.clone();
        let mut request = tonic::Request::new(req);
        request
            .extensions_mut()
            .insert(tonic::codegen::GrpcMethod::new(SERVICE_NAME, method));
        let call = async move {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            grpc.unary(request, http::uri::PathAndQuery::from_static(path), codec)
                .await
        };
        // the deadline is enforced here rather than by a `grpc-timeout` header, whose
        // client-side expiry tonic reports as `Cancelled`; dropping the call resets the
        // stream, which drops the handler on the server
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(resp)) => Ok(resp.into_inner()),
            Ok(Err(status)) => Err(status_to_error(&status, &self.addr)),
            // Go's wording for a passed deadline
            Err(_) => Err(status_to_error(
                &Status::deadline_exceeded("context deadline exceeded"),
                &self.addr,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::log_schema;

    #[test]
    fn ipc_round_trip_keeps_batches() {
        use std::sync::Arc as A;
        use storage::arrow::array::{
            ArrayRef, Int64Array, StringArray, StringViewArray, UInt64Array,
        };
        // lines past 12 bytes live in data buffers, shorter ones in the views
        let cols: Vec<ArrayRef> = vec![
            A::new(UInt64Array::from(vec![1, 1, 2])),
            A::new(Int64Array::from(vec![10, 20, 5])),
            A::new(StringViewArray::from(vec![
                "a",
                "a line longer than a view",
                "c",
            ])),
            A::new(StringArray::from(vec![None, Some(r#"[["k","v"]]"#), None])),
        ];
        let b1 = RecordBatch::try_new(log_schema(), cols).unwrap();
        let b2 = b1.slice(1, 2);
        let bytes = encode_batches(&[b1.clone(), b2.clone()]).unwrap();
        assert_eq!(decode_batches(bytes).unwrap(), vec![b1, b2]);
        assert!(encode_batches(&[]).unwrap().is_empty());
        assert!(decode_batches(Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn truncated_ipc_is_an_error() {
        use storage::arrow::array::{
            ArrayRef, Int64Array, StringArray, StringViewArray, UInt64Array,
        };
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![10])),
            Arc::new(StringViewArray::from(vec!["a"])),
            Arc::new(StringArray::from(vec![None::<&str>])),
        ];
        let b = RecordBatch::try_new(log_schema(), cols).unwrap();
        let bytes = encode_batches(&[b]).unwrap();
        let cut = bytes.slice(..bytes.len() - 12);
        assert!(decode_batches(cut).is_err());
    }

    #[test]
    fn errors_round_trip_with_their_text() {
        let cases = [
            IngestError::BadRequest("error parsing regexp: x".into()),
            IngestError::RateLimited("ingestion rate limit exceeded".into()),
            IngestError::Wal(std::io::Error::other("disk full")),
        ];
        for e in cases {
            let back = status_to_error(&error_to_status(&e), "h:1");
            assert_eq!(back.to_string(), e.to_string());
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&e));
            assert!(RemoteError::find(&back).is_none());
        }
    }

    #[test]
    fn storage_errors_arrive_as_remote_errors_with_their_text() {
        let e = IngestError::Storage(StorageError::Task("boom".into()));
        let status = error_to_status(&e);
        assert_eq!(status.code(), Code::Unavailable);
        let back = status_to_error(&status, "h:1");
        let r = RemoteError::find(&back).unwrap();
        assert_eq!(r.message, "flush: storage task failed: boom");
        assert_eq!(r.code, Code::Unavailable);
    }

    #[test]
    fn transport_errors_use_go_grpc_wording() {
        let e = status_to_error(&Status::unavailable("connection refused"), "h:1");
        assert_eq!(
            e.to_string(),
            "wal: rpc error: code = Unavailable desc = ingester h:1: connection refused"
        );
        let r = RemoteError::find(&e).unwrap();
        assert_eq!(r.code, Code::Unavailable);
        assert_eq!(
            r.message,
            "rpc error: code = Unavailable desc = ingester h:1: connection refused"
        );
        assert!(r.is_retryable());
    }
}

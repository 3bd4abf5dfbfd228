//! Protobuf messages between the frontend and remote querier workers, and lossless
//! conversions to and from [`SubRequest`] and [`SubResult`].
//!
//! There is no `protoc` at build time, so the messages are written by hand with
//! `prost` derives. Their `.proto` equivalent (package `fenrir.frontend`):
//!
//! ```text
//! message FrontendToQuerier { oneof kind { QueryRequest request = 1; Cancel cancel = 2; } }
//! message QueryRequest      { uint64 id = 1; string tenant = 2; WireRequest request = 3; }
//! message Cancel            { uint64 id = 1; }
//! message QuerierToFrontend { oneof kind { Hello hello = 1; QueryAnswer response = 2; } }
//! message Hello             { string querier_id = 1; }
//! message QueryAnswer       { uint64 id = 1; WireResult result = 2; }
//!
//! message WireRequest { oneof kind { WireRange range = 1; WireInstant instant = 2;
//!   WireLabelNames label_names = 3; WireLabelValues label_values = 4; WireSeriesRequest series = 5; } }
//! message WireRange   { string query = 1; int64 start = 2; int64 end = 3; int64 step = 4;
//!   optional int64 interval = 5; uint32 limit = 6; WireDirection direction = 7; WireShard shard = 8;
//!   bool through_end = 9; }
//! message WireInstant { string query = 1; int64 time = 2; uint32 limit = 3;
//!   WireDirection direction = 4; WireShard shard = 5; }
//! message WireShard   { uint32 index = 1; uint32 of = 2; }
//! message WireLabelNames  { int64 start = 1; int64 end = 2; optional string query = 3; }
//! message WireLabelValues { string name = 1; int64 start = 2; int64 end = 3; optional string query = 4; }
//! message WireSeriesRequest { repeated string selectors = 1; int64 start = 2; int64 end = 3; }
//! enum WireDirection { BACKWARD = 0; FORWARD = 1; }
//!
//! message WireResult { oneof kind { WireQueryResponse query = 1; WireStrings strings = 2;
//!   WireSeriesList series = 3; WireSubError error = 4; } }
//! message WireQueryResponse { oneof data { WireStreams streams = 1; WireMatrix matrix = 2;
//!   WireVector vector = 3; WireScalar scalar = 4; } WireStats stats = 5; }
//! message WireStreams { repeated WireStream streams = 1; }
//! message WireStream  { repeated LabelPair labels = 1; repeated int64 timestamps = 2; repeated string lines = 3; }
//! message WireMatrix  { repeated WireSeries series = 1; }
//! message WireSeries  { repeated LabelPair labels = 1; repeated int64 timestamps = 2; repeated double values = 3; }
//! message WireVector  { repeated WireSample samples = 1; }
//! message WireSample  { repeated LabelPair labels = 1; int64 ts = 2; double value = 3; }
//! message WireScalar  { int64 ts = 1; double value = 2; }
//! message WireStats   { uint64 bytes_processed = 1; uint64 lines_processed = 2; double exec_time_secs = 3; }
//! message WireStrings { repeated string values = 1; }
//! message WireSeriesList { repeated WireLabels series = 1; }
//! message WireLabels  { repeated LabelPair labels = 1; }
//! message LabelPair   { string name = 1; string value = 2; }
//! message WireSubError { uint32 status = 1; string message = 2; }
//! ```
//!
//! Entries and points travel column-wise (packed timestamps, packed doubles) so a large
//! log or matrix answer costs no per-entry message framing. Doubles are sent as their
//! IEEE-754 bits, so NaN and ±Inf arrive exactly; timestamps are i64 nanoseconds.

use logql::LabelSet;
use querier::{
    Direction, InstantQuery, QueryData, QueryResponse, QueryStats, RangeQuery, Sample, Series,
    Stream,
};

use crate::request::{Shard, SubError, SubRequest, SubResponse, SubResult};

/// A message the frontend sends down a `Process` stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FrontendToQuerier {
    /// What this message is.
    #[prost(oneof = "frontend_to_querier::Kind", tags = "1, 2")]
    pub kind: Option<frontend_to_querier::Kind>,
}

/// The variants of [`FrontendToQuerier`].
pub mod frontend_to_querier {
    /// What the frontend asks of the querier.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// Run a sub-request.
        #[prost(message, tag = "1")]
        Request(super::QueryRequest),
        /// Stop running a sub-request: nobody waits for its answer any more.
        #[prost(message, tag = "2")]
        Cancel(super::Cancel),
    }
}

/// A sub-request for a querier, numbered within its stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRequest {
    /// Number of the request within its stream; the answer carries it back.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Tenant the request runs for.
    #[prost(string, tag = "2")]
    pub tenant: String,
    /// What to run.
    #[prost(message, optional, tag = "3")]
    pub request: Option<WireRequest>,
}

/// Abandons the request with this id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Cancel {
    /// Id of the abandoned request.
    #[prost(uint64, tag = "1")]
    pub id: u64,
}

/// A message a querier worker sends up a `Process` stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QuerierToFrontend {
    /// What this message is.
    #[prost(oneof = "querier_to_frontend::Kind", tags = "1, 2")]
    pub kind: Option<querier_to_frontend::Kind>,
}

/// The variants of [`QuerierToFrontend`].
pub mod querier_to_frontend {
    /// What the querier tells the frontend.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// First message of every stream: who is asking for work.
        #[prost(message, tag = "1")]
        Hello(super::Hello),
        /// The answer to a request.
        #[prost(message, tag = "2")]
        Response(super::QueryAnswer),
    }
}

/// Opens a `Process` stream: the querier's id, used for per-tenant querier subsets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Hello {
    /// The querier's id (the same on every stream of one querier process).
    #[prost(string, tag = "1")]
    pub querier_id: String,
}

/// A querier's answer to the [`QueryRequest`] with the same id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryAnswer {
    /// Id of the answered request.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The answer.
    #[prost(message, optional, tag = "2")]
    pub result: Option<WireResult>,
}

/// A [`SubRequest`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireRequest {
    /// Which request.
    #[prost(oneof = "wire_request::Kind", tags = "1, 2, 3, 4, 5")]
    pub kind: Option<wire_request::Kind>,
}

/// The variants of [`WireRequest`].
pub mod wire_request {
    /// One [`SubRequest`](crate::request::SubRequest) variant each.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// `SubRequest::Range`.
        #[prost(message, tag = "1")]
        Range(super::WireRange),
        /// `SubRequest::Instant`.
        #[prost(message, tag = "2")]
        Instant(super::WireInstant),
        /// `SubRequest::LabelNames`.
        #[prost(message, tag = "3")]
        LabelNames(super::WireLabelNames),
        /// `SubRequest::LabelValues`.
        #[prost(message, tag = "4")]
        LabelValues(super::WireLabelValues),
        /// `SubRequest::Series`.
        #[prost(message, tag = "5")]
        Series(super::WireSeriesRequest),
    }
}

/// A range query with its shard.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireRange {
    /// LogQL text.
    #[prost(string, tag = "1")]
    pub query: String,
    /// Start (ns).
    #[prost(int64, tag = "2")]
    pub start: i64,
    /// End (ns).
    #[prost(int64, tag = "3")]
    pub end: i64,
    /// Step (ns).
    #[prost(int64, tag = "4")]
    pub step: i64,
    /// Optional log `interval` (ns).
    #[prost(int64, optional, tag = "5")]
    pub interval: Option<i64>,
    /// Maximum entries.
    #[prost(uint32, tag = "6")]
    pub limit: u32,
    /// Entry order.
    #[prost(enumeration = "WireDirection", tag = "7")]
    pub direction: i32,
    /// Streams to read; absent reads all.
    #[prost(message, optional, tag = "8")]
    pub shard: Option<WireShard>,
    /// Not the query's last split: also read entries at its last step.
    #[prost(bool, tag = "9")]
    pub through_end: bool,
}

/// An instant query with its shard.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireInstant {
    /// LogQL text.
    #[prost(string, tag = "1")]
    pub query: String,
    /// Evaluation time (ns).
    #[prost(int64, tag = "2")]
    pub time: i64,
    /// Maximum entries.
    #[prost(uint32, tag = "3")]
    pub limit: u32,
    /// Entry order.
    #[prost(enumeration = "WireDirection", tag = "4")]
    pub direction: i32,
    /// Streams to read; absent reads all.
    #[prost(message, optional, tag = "5")]
    pub shard: Option<WireShard>,
}

/// A [`Shard`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireShard {
    /// This shard.
    #[prost(uint32, tag = "1")]
    pub index: u32,
    /// Number of shards.
    #[prost(uint32, tag = "2")]
    pub of: u32,
}

/// A label names request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireLabelNames {
    /// Start (ns).
    #[prost(int64, tag = "1")]
    pub start: i64,
    /// End (ns).
    #[prost(int64, tag = "2")]
    pub end: i64,
    /// Optional selector.
    #[prost(string, optional, tag = "3")]
    pub query: Option<String>,
}

/// A label values request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireLabelValues {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Start (ns).
    #[prost(int64, tag = "2")]
    pub start: i64,
    /// End (ns).
    #[prost(int64, tag = "3")]
    pub end: i64,
    /// Optional selector.
    #[prost(string, optional, tag = "4")]
    pub query: Option<String>,
}

/// A series request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireSeriesRequest {
    /// `match[]` selectors.
    #[prost(string, repeated, tag = "1")]
    pub selectors: Vec<String>,
    /// Start (ns).
    #[prost(int64, tag = "2")]
    pub start: i64,
    /// End (ns).
    #[prost(int64, tag = "3")]
    pub end: i64,
}

/// A [`Direction`] on the wire (Loki's default, backward, is zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WireDirection {
    /// Newest first.
    Backward = 0,
    /// Oldest first.
    Forward = 1,
}

/// A [`SubResult`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireResult {
    /// Which answer.
    #[prost(oneof = "wire_result::Kind", tags = "1, 2, 3, 4")]
    pub kind: Option<wire_result::Kind>,
}

/// The variants of [`WireResult`].
pub mod wire_result {
    /// One [`SubResponse`](crate::request::SubResponse) variant each, or the error.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// `SubResponse::Query`.
        #[prost(message, tag = "1")]
        Query(super::WireQueryResponse),
        /// `SubResponse::Strings`.
        #[prost(message, tag = "2")]
        Strings(super::WireStrings),
        /// `SubResponse::Series`.
        #[prost(message, tag = "3")]
        Series(super::WireSeriesList),
        /// `SubError`.
        #[prost(message, tag = "4")]
        Error(super::WireSubError),
    }
}

/// A [`QueryResponse`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireQueryResponse {
    /// The result, by result type.
    #[prost(oneof = "wire_query_response::Data", tags = "1, 2, 3, 4")]
    pub data: Option<wire_query_response::Data>,
    /// Execution statistics.
    #[prost(message, optional, tag = "5")]
    pub stats: Option<WireStats>,
}

/// The variants of [`WireQueryResponse`].
pub mod wire_query_response {
    /// One [`QueryData`](querier::QueryData) variant each.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        /// `streams`.
        #[prost(message, tag = "1")]
        Streams(super::WireStreams),
        /// `matrix`.
        #[prost(message, tag = "2")]
        Matrix(super::WireMatrix),
        /// `vector`.
        #[prost(message, tag = "3")]
        Vector(super::WireVector),
        /// `scalar`.
        #[prost(message, tag = "4")]
        Scalar(super::WireScalar),
    }
}

/// A `streams` result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireStreams {
    /// The streams in result order.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<WireStream>,
}

/// One stream, its entries column-wise.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireStream {
    /// Stream labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<LabelPair>,
    /// Entry timestamps (ns).
    #[prost(int64, repeated, tag = "2")]
    pub timestamps: Vec<i64>,
    /// Entry lines, as many as timestamps.
    #[prost(string, repeated, tag = "3")]
    pub lines: Vec<String>,
}

/// A `matrix` result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireMatrix {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<WireSeries>,
}

/// One series, its points column-wise.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireSeries {
    /// Series labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<LabelPair>,
    /// Point timestamps (ns).
    #[prost(int64, repeated, tag = "2")]
    pub timestamps: Vec<i64>,
    /// Point values, as many as timestamps.
    #[prost(double, repeated, tag = "3")]
    pub values: Vec<f64>,
}

/// A `vector` result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireVector {
    /// Samples in result order.
    #[prost(message, repeated, tag = "1")]
    pub samples: Vec<WireSample>,
}

/// One sample of a vector.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireSample {
    /// Series labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<LabelPair>,
    /// Evaluation time (ns).
    #[prost(int64, tag = "2")]
    pub ts: i64,
    /// Value.
    #[prost(double, tag = "3")]
    pub value: f64,
}

/// A `scalar` result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireScalar {
    /// Evaluation time (ns).
    #[prost(int64, tag = "1")]
    pub ts: i64,
    /// Value.
    #[prost(double, tag = "2")]
    pub value: f64,
}

/// [`QueryStats`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireStats {
    /// Raw bytes scanned.
    #[prost(uint64, tag = "1")]
    pub bytes_processed: u64,
    /// Lines scanned.
    #[prost(uint64, tag = "2")]
    pub lines_processed: u64,
    /// Wall time in seconds.
    #[prost(double, tag = "3")]
    pub exec_time_secs: f64,
}

/// Label names or values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireStrings {
    /// The strings in answer order.
    #[prost(string, repeated, tag = "1")]
    pub values: Vec<String>,
}

/// A series answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireSeriesList {
    /// One label set per series.
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<WireLabels>,
}

/// A [`LabelSet`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireLabels {
    /// Pairs sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<LabelPair>,
}

/// One label.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A [`SubError`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireSubError {
    /// HTTP status.
    #[prost(uint32, tag = "1")]
    pub status: u32,
    /// Error text.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Why a message from the other side could not be turned back into a request or answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A required field or oneof is absent.
    #[error("malformed frontend message: missing {0}")]
    Missing(&'static str),
    /// A direction value this version does not know.
    #[error("malformed frontend message: unknown direction {0}")]
    Direction(i32),
    /// An HTTP status that does not fit in u16.
    #[error("malformed frontend message: status {0} out of range")]
    Status(u32),
    /// Column lengths of a stream or series differ.
    #[error("malformed frontend message: {what} has {timestamps} timestamps but {values} values")]
    Columns {
        /// `stream` or `series`.
        what: &'static str,
        /// Number of timestamps.
        timestamps: usize,
        /// Number of lines or values.
        values: usize,
    },
}

impl WireRequest {
    /// The wire form of `req`.
    pub fn from_request(req: &SubRequest) -> Self {
        use wire_request::Kind;
        let kind = match req {
            SubRequest::Range {
                query,
                shard,
                through_end,
            } => Kind::Range(WireRange {
                query: query.query.clone(),
                start: query.start,
                end: query.end,
                step: query.step,
                interval: query.interval,
                limit: query.limit,
                direction: encode_direction(query.direction) as i32,
                shard: shard.map(encode_shard),
                through_end: *through_end,
            }),
            SubRequest::Instant { query, shard } => Kind::Instant(WireInstant {
                query: query.query.clone(),
                time: query.time,
                limit: query.limit,
                direction: encode_direction(query.direction) as i32,
                shard: shard.map(encode_shard),
            }),
            SubRequest::LabelNames { start, end, query } => Kind::LabelNames(WireLabelNames {
                start: *start,
                end: *end,
                query: query.clone(),
            }),
            SubRequest::LabelValues {
                name,
                start,
                end,
                query,
            } => Kind::LabelValues(WireLabelValues {
                name: name.clone(),
                start: *start,
                end: *end,
                query: query.clone(),
            }),
            SubRequest::Series {
                selectors,
                start,
                end,
            } => Kind::Series(WireSeriesRequest {
                selectors: selectors.clone(),
                start: *start,
                end: *end,
            }),
        };
        Self { kind: Some(kind) }
    }

    /// The request this message carries.
    pub fn into_request(self) -> Result<SubRequest, DecodeError> {
        use wire_request::Kind;
        Ok(
            match self.kind.ok_or(DecodeError::Missing("request kind"))? {
                Kind::Range(r) => SubRequest::Range {
                    query: RangeQuery {
                        query: r.query,
                        start: r.start,
                        end: r.end,
                        step: r.step,
                        interval: r.interval,
                        limit: r.limit,
                        direction: decode_direction(r.direction)?,
                    },
                    shard: r.shard.map(decode_shard),
                    through_end: r.through_end,
                },
                Kind::Instant(r) => SubRequest::Instant {
                    query: InstantQuery {
                        query: r.query,
                        time: r.time,
                        limit: r.limit,
                        direction: decode_direction(r.direction)?,
                    },
                    shard: r.shard.map(decode_shard),
                },
                Kind::LabelNames(r) => SubRequest::LabelNames {
                    start: r.start,
                    end: r.end,
                    query: r.query,
                },
                Kind::LabelValues(r) => SubRequest::LabelValues {
                    name: r.name,
                    start: r.start,
                    end: r.end,
                    query: r.query,
                },
                Kind::Series(r) => SubRequest::Series {
                    selectors: r.selectors,
                    start: r.start,
                    end: r.end,
                },
            },
        )
    }
}

impl WireResult {
    /// The wire form of `result`; takes it by value so lines and labels move, not copy.
    pub fn from_result(result: SubResult) -> Self {
        use wire_result::Kind;
        let kind = match result {
            Ok(SubResponse::Query(r)) => Kind::Query(encode_query_response(r)),
            Ok(SubResponse::Strings(values)) => Kind::Strings(WireStrings { values }),
            Ok(SubResponse::Series(series)) => Kind::Series(WireSeriesList {
                series: series
                    .iter()
                    .map(|l| WireLabels {
                        labels: encode_labels(l),
                    })
                    .collect(),
            }),
            Err(e) => Kind::Error(WireSubError {
                status: u32::from(e.status),
                message: e.message,
            }),
        };
        Self { kind: Some(kind) }
    }

    /// The answer this message carries.
    pub fn into_result(self) -> Result<SubResult, DecodeError> {
        use wire_result::Kind;
        Ok(
            match self.kind.ok_or(DecodeError::Missing("result kind"))? {
                Kind::Query(r) => Ok(SubResponse::Query(decode_query_response(r)?)),
                Kind::Strings(s) => Ok(SubResponse::Strings(s.values)),
                Kind::Series(s) => Ok(SubResponse::Series(
                    s.series
                        .into_iter()
                        .map(|l| decode_labels(l.labels))
                        .collect(),
                )),
                Kind::Error(e) => Err(SubError {
                    status: u16::try_from(e.status).map_err(|_| DecodeError::Status(e.status))?,
                    message: e.message,
                }),
            },
        )
    }
}

fn encode_direction(d: Direction) -> WireDirection {
    match d {
        Direction::Backward => WireDirection::Backward,
        Direction::Forward => WireDirection::Forward,
    }
}

fn decode_direction(d: i32) -> Result<Direction, DecodeError> {
    match WireDirection::try_from(d) {
        Ok(WireDirection::Backward) => Ok(Direction::Backward),
        Ok(WireDirection::Forward) => Ok(Direction::Forward),
        Err(_) => Err(DecodeError::Direction(d)),
    }
}

fn encode_shard(s: Shard) -> WireShard {
    WireShard {
        index: s.index,
        of: s.of,
    }
}

fn decode_shard(s: WireShard) -> Shard {
    Shard {
        index: s.index,
        of: s.of,
    }
}

fn encode_labels(l: &LabelSet) -> Vec<LabelPair> {
    l.iter()
        .map(|(name, value)| LabelPair {
            name: name.to_string(),
            value: value.to_string(),
        })
        .collect()
}

fn decode_labels(pairs: Vec<LabelPair>) -> LabelSet {
    LabelSet::from_pairs(pairs.into_iter().map(|p| (p.name, p.value)))
}

fn encode_query_response(r: QueryResponse) -> WireQueryResponse {
    use wire_query_response::Data;
    let data = match r.data {
        QueryData::Streams(streams) => Data::Streams(WireStreams {
            streams: streams
                .into_iter()
                .map(|s| {
                    let (timestamps, lines) = s.entries.into_iter().unzip();
                    WireStream {
                        labels: encode_labels(&s.labels),
                        timestamps,
                        lines,
                    }
                })
                .collect(),
        }),
        QueryData::Matrix(series) => Data::Matrix(WireMatrix {
            series: series
                .into_iter()
                .map(|s| {
                    let (timestamps, values) = s.points.into_iter().unzip();
                    WireSeries {
                        labels: encode_labels(&s.labels),
                        timestamps,
                        values,
                    }
                })
                .collect(),
        }),
        QueryData::Vector(samples) => Data::Vector(WireVector {
            samples: samples
                .into_iter()
                .map(|s| WireSample {
                    labels: encode_labels(&s.labels),
                    ts: s.ts,
                    value: s.value,
                })
                .collect(),
        }),
        QueryData::Scalar(ts, value) => Data::Scalar(WireScalar { ts, value }),
    };
    WireQueryResponse {
        data: Some(data),
        stats: Some(WireStats {
            bytes_processed: r.stats.bytes_processed,
            lines_processed: r.stats.lines_processed,
            exec_time_secs: r.stats.exec_time_secs,
        }),
    }
}

fn decode_query_response(r: WireQueryResponse) -> Result<QueryResponse, DecodeError> {
    use wire_query_response::Data;
    let data = match r.data.ok_or(DecodeError::Missing("query result data"))? {
        Data::Streams(s) => QueryData::Streams(
            s.streams
                .into_iter()
                .map(|s| {
                    check_columns("stream", s.timestamps.len(), s.lines.len())?;
                    Ok(Stream {
                        labels: decode_labels(s.labels),
                        entries: s.timestamps.into_iter().zip(s.lines).collect(),
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        ),
        Data::Matrix(m) => QueryData::Matrix(
            m.series
                .into_iter()
                .map(|s| {
                    check_columns("series", s.timestamps.len(), s.values.len())?;
                    Ok(Series {
                        labels: decode_labels(s.labels),
                        points: s.timestamps.into_iter().zip(s.values).collect(),
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        ),
        Data::Vector(v) => QueryData::Vector(
            v.samples
                .into_iter()
                .map(|s| Sample {
                    labels: decode_labels(s.labels),
                    ts: s.ts,
                    value: s.value,
                })
                .collect(),
        ),
        Data::Scalar(s) => QueryData::Scalar(s.ts, s.value),
    };
    let stats = r.stats.ok_or(DecodeError::Missing("query stats"))?;
    Ok(QueryResponse {
        data,
        stats: QueryStats {
            bytes_processed: stats.bytes_processed,
            lines_processed: stats.lines_processed,
            exec_time_secs: stats.exec_time_secs,
        },
    })
}

fn check_columns(what: &'static str, timestamps: usize, values: usize) -> Result<(), DecodeError> {
    if timestamps == values {
        Ok(())
    } else {
        Err(DecodeError::Columns {
            what,
            timestamps,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        LabelSet::from_pairs(pairs.iter().copied())
    }

    /// Encodes to bytes and back, as the transport does.
    fn result_round_trip(r: &SubResult) -> SubResult {
        let bytes = WireResult::from_result(r.clone()).encode_to_vec();
        WireResult::decode(bytes.as_slice())
            .unwrap()
            .into_result()
            .unwrap()
    }

    fn request_round_trip(r: &SubRequest) -> SubRequest {
        let bytes = WireRequest::from_request(r).encode_to_vec();
        WireRequest::decode(bytes.as_slice())
            .unwrap()
            .into_request()
            .unwrap()
    }

    /// `SubRequest` has no `PartialEq`; its `Debug` text shows every field.
    fn assert_same_request(r: SubRequest) {
        assert_eq!(format!("{:?}", request_round_trip(&r)), format!("{r:?}"));
    }

    fn query_result(data: QueryData) -> SubResult {
        Ok(SubResponse::Query(QueryResponse {
            data,
            stats: QueryStats {
                bytes_processed: u64::MAX,
                lines_processed: 42,
                exec_time_secs: 0.125,
            },
        }))
    }

    #[test]
    fn every_request_variant_round_trips() {
        assert_same_request(SubRequest::Range {
            query: RangeQuery {
                query: r#"sum by (app) (rate({app="a"} |= "é\n" [5m]))"#.to_string(),
                start: i64::MIN,
                end: i64::MAX,
                step: 15_000_000_000,
                interval: Some(-3),
                limit: u32::MAX,
                direction: Direction::Forward,
            },
            shard: Some(Shard { index: 3, of: 16 }),
            through_end: true,
        });
        assert_same_request(SubRequest::Range {
            query: RangeQuery {
                query: String::new(),
                start: 0,
                end: 0,
                step: 0,
                interval: None,
                limit: 0,
                direction: Direction::Backward,
            },
            shard: None,
            through_end: false,
        });
        assert_same_request(SubRequest::Instant {
            query: InstantQuery {
                query: "vector(1)".to_string(),
                time: -1,
                limit: 100,
                direction: Direction::Forward,
            },
            shard: Some(Shard { index: 0, of: 1 }),
        });
        assert_same_request(SubRequest::Instant {
            query: InstantQuery {
                query: "{a=\"b\"}".to_string(),
                time: 1_700_000_000_000_000_001,
                limit: 5000,
                direction: Direction::Backward,
            },
            shard: None,
        });
        assert_same_request(SubRequest::LabelNames {
            start: 1,
            end: 2,
            query: Some("{a=~\".+\"}".to_string()),
        });
        assert_same_request(SubRequest::LabelNames {
            start: 1,
            end: 2,
            query: None,
        });
        // an empty selector is not the absent one
        assert_same_request(SubRequest::LabelValues {
            name: "app".to_string(),
            start: 3,
            end: 4,
            query: Some(String::new()),
        });
        assert_same_request(SubRequest::LabelValues {
            name: "app".to_string(),
            start: 3,
            end: 4,
            query: None,
        });
        assert_same_request(SubRequest::Series {
            selectors: vec!["{a=\"b\"}".to_string(), "{c!=\"\"}".to_string()],
            start: 5,
            end: 6,
        });
        assert_same_request(SubRequest::Series {
            selectors: vec![],
            start: 5,
            end: 6,
        });
    }

    #[test]
    fn every_result_variant_round_trips() {
        let ab = labels(&[("a", "1"), ("b", "x\"y")]);
        let cases = vec![
            query_result(QueryData::Streams(vec![
                Stream {
                    labels: ab.clone(),
                    entries: vec![(i64::MAX, "line ü".to_string()), (-5, String::new())],
                },
                Stream {
                    labels: LabelSet::new(),
                    entries: vec![],
                },
            ])),
            query_result(QueryData::Streams(vec![])),
            query_result(QueryData::Matrix(vec![
                Series {
                    labels: ab.clone(),
                    points: vec![
                        (1, f64::INFINITY),
                        (2, f64::NEG_INFINITY),
                        (3, -0.0),
                        (4, f64::MIN_POSITIVE),
                        (5, 1e300),
                    ],
                },
                Series {
                    labels: labels(&[("empty", "")]),
                    points: vec![],
                },
            ])),
            query_result(QueryData::Matrix(vec![])),
            query_result(QueryData::Vector(vec![
                Sample {
                    labels: ab.clone(),
                    ts: 10,
                    value: 2.5,
                },
                Sample {
                    labels: LabelSet::new(),
                    ts: i64::MIN,
                    value: f64::NEG_INFINITY,
                },
            ])),
            query_result(QueryData::Vector(vec![])),
            query_result(QueryData::Scalar(7, 0.1 + 0.2)),
            Ok(SubResponse::Strings(vec!["a".to_string(), String::new()])),
            Ok(SubResponse::Strings(vec![])),
            Ok(SubResponse::Series(vec![ab, LabelSet::new()])),
            Ok(SubResponse::Series(vec![])),
            Err(SubError {
                status: 400,
                message: "parse error at line 1, col 1: syntax error: unexpected $end".to_string(),
            }),
            Err(SubError {
                status: 500,
                message: String::new(),
            }),
        ];
        for case in cases {
            assert_eq!(result_round_trip(&case), case);
        }
    }

    #[test]
    fn nan_values_keep_their_exact_bits() {
        let quiet = f64::NAN;
        let payload = f64::from_bits(0x7ff8_0000_dead_beef);
        let negative = f64::from_bits(0xfff8_0000_0000_0001);
        let back = result_round_trip(&query_result(QueryData::Matrix(vec![Series {
            labels: LabelSet::new(),
            points: vec![(1, quiet), (2, payload), (3, negative)],
        }])));
        let Ok(SubResponse::Query(QueryResponse {
            data: QueryData::Matrix(series),
            ..
        })) = back
        else {
            panic!("not a matrix: {back:?}");
        };
        let bits: Vec<u64> = series[0].points.iter().map(|p| p.1.to_bits()).collect();
        assert_eq!(
            bits,
            [quiet.to_bits(), payload.to_bits(), negative.to_bits()]
        );

        let back = result_round_trip(&query_result(QueryData::Scalar(1, payload)));
        let Ok(SubResponse::Query(QueryResponse {
            data: QueryData::Scalar(_, v),
            ..
        })) = back
        else {
            panic!("not a scalar: {back:?}");
        };
        assert_eq!(v.to_bits(), payload.to_bits());
    }

    #[test]
    fn protocol_messages_round_trip() {
        let down = FrontendToQuerier {
            kind: Some(frontend_to_querier::Kind::Request(QueryRequest {
                id: 9,
                tenant: "t1".to_string(),
                request: Some(WireRequest::from_request(&SubRequest::LabelNames {
                    start: 1,
                    end: 2,
                    query: None,
                })),
            })),
        };
        let bytes = down.encode_to_vec();
        assert_eq!(FrontendToQuerier::decode(bytes.as_slice()).unwrap(), down);
        let cancel = FrontendToQuerier {
            kind: Some(frontend_to_querier::Kind::Cancel(Cancel { id: 9 })),
        };
        assert_eq!(
            FrontendToQuerier::decode(cancel.encode_to_vec().as_slice()).unwrap(),
            cancel
        );
        for up in [
            QuerierToFrontend {
                kind: Some(querier_to_frontend::Kind::Hello(Hello {
                    querier_id: "q-1".to_string(),
                })),
            },
            QuerierToFrontend {
                kind: Some(querier_to_frontend::Kind::Response(QueryAnswer {
                    id: u64::MAX,
                    result: Some(WireResult::from_result(Ok(SubResponse::Strings(vec![
                        "x".to_string(),
                    ])))),
                })),
            },
        ] {
            assert_eq!(
                QuerierToFrontend::decode(up.encode_to_vec().as_slice()).unwrap(),
                up
            );
        }
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        assert_eq!(
            WireRequest { kind: None }.into_request().unwrap_err(),
            DecodeError::Missing("request kind")
        );
        assert_eq!(
            WireResult { kind: None }.into_result().unwrap_err(),
            DecodeError::Missing("result kind")
        );
        let bad_direction = WireRequest {
            kind: Some(wire_request::Kind::Instant(WireInstant {
                query: "x".to_string(),
                time: 0,
                limit: 0,
                direction: 7,
                shard: None,
            })),
        };
        assert_eq!(
            bad_direction.into_request().unwrap_err(),
            DecodeError::Direction(7)
        );
        let bad_status = WireResult {
            kind: Some(wire_result::Kind::Error(WireSubError {
                status: 70_000,
                message: String::new(),
            })),
        };
        assert_eq!(
            bad_status.into_result().unwrap_err(),
            DecodeError::Status(70_000)
        );
        let ragged = WireResult {
            kind: Some(wire_result::Kind::Query(WireQueryResponse {
                data: Some(wire_query_response::Data::Streams(WireStreams {
                    streams: vec![WireStream {
                        labels: vec![],
                        timestamps: vec![1, 2],
                        lines: vec!["a".to_string()],
                    }],
                })),
                stats: Some(WireStats::default()),
            })),
        };
        assert_eq!(
            ragged.into_result().unwrap_err().to_string(),
            "malformed frontend message: stream has 2 timestamps but 1 values"
        );
    }
}
